//! What `docs/benchmarks.md` shows, declared once: the workloads (their
//! contenders come from whatever measured them), the targets, the tables of
//! the other measurements, and the memory figures. `render.rs` turns these
//! into the page with shared code; a new workload is an entry here (and its
//! measuring code in `benches/`), not new rendering code.

/// The sizes the workloads run at.
pub(crate) const SIZES: &[u64] = &[1_000, 10_000, 100_000];

/// The one size of the cross-thread workloads: below it, starting the
/// producer threads is most of what a round measures.
const THREADS: &[u64] = &[100_000];

/// The contender every ratio is taken against.
pub(crate) const OURS: &str = "asyncio-rs";

/// Which bench measures a workload's Rust contenders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Source {
    /// `benches/benches/workloads.rs`, under criterion.
    Criterion,
    /// `benches/benches/paired.rs`: the median over its paired rounds.
    Paired,
}

/// One workload: a table of every contender that measured it (Rust and
/// Python), one column per size.
pub(crate) struct Workload {
    pub(crate) key: &'static str,
    pub(crate) title: &'static str,
    /// What each contender does, when the title does not say it all.
    pub(crate) note: &'static str,
    pub(crate) source: Source,
    /// The sizes it is measured at (the columns of its table).
    pub(crate) sizes: &'static [u64],
}

pub(crate) const WORKLOADS: &[Workload] = &[
    Workload {
        key: "w1_dispatch",
        title: "W1 dispatch: `call_soon` N trivial callbacks, run until all ran",
        note: "",
        sizes: SIZES,
        source: Source::Criterion,
    },
    Workload {
        key: "w2_ping_pong",
        title: "W2 ping-pong: a task awaits a fresh future that a `call_soon` callback completes, N times",
        note: "",
        sizes: SIZES,
        source: Source::Criterion,
    },
    Workload {
        key: "w3_fan_out",
        title: "W3 fan-out: N/10 futures with 10 done-callbacks each, completed (ns per callback)",
        note: "The Rust peers have no done-callbacks, so W3 compares asyncio-rs with the Python loops only.",
        sizes: SIZES,
        source: Source::Criterion,
    },
    Workload {
        key: "w4_spawn",
        title: "W4 spawn: create N trivial tasks, run them all",
        note: "asyncio-rs `create_task`, then one iteration; tokio `spawn_local` on a `LocalSet` (tokio's \
               `LocalRuntime` is not stable); async-executor `spawn(..).detach()` and `try_tick`; \
               `LocalPool` `spawn_local` and `run_until_stalled`; Python `loop.create_task`. asyncio-rs \
               both on a reused loop and on a fresh one each round. Medians over paired rounds.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "w5_gather",
        title: "W5 gather: gather N tasks, each awaiting one future that a callback completes",
        note: "asyncio-rs `gather` of N coroutines, each awaiting a fresh loop future that a `call_soon` \
               callback sets; the Rust peers have no callbacks: each task awaits a oneshot that a freshly \
               spawned task sends on, and `join_all` collects them (async-executor spawns the sender \
               beside the task); Python `asyncio.gather` with `call_soon(future.set_result, i)`.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "queue_unbounded",
        title: "Queue, unbounded: a producer task passes N items to a consumer task",
        note: "asyncio-rs `Queue::new()`, `put`/`get` in two tasks; tokio `mpsc::unbounded_channel` on a \
               `LocalSet`; `async-channel` `unbounded` on async-executor; `futures::channel::mpsc::unbounded` \
               on `LocalPool`; Python `asyncio.Queue()`. The floor pushes the items into a bare `VecDeque` \
               and pops them. ns per item; asyncio-rs both on a reused loop and on a fresh one each round.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "queue_bounded",
        title: "Queue, bounded to 16: a producer task passes N items to a consumer task",
        note: "As above with room for 16 items: `Queue::with_maxsize(16)`, tokio `mpsc::channel(16)`, \
               `async_channel::bounded(16)`, futures `mpsc::channel(15)` (it adds one slot per sender), \
               `asyncio.Queue(16)`; the floor pushes and pops batches of 16.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "lock",
        title: "Lock: N tasks contend for one lock, each holding it over one yield",
        note: "asyncio-rs `Lock` and `sleep(0)`; tokio `Mutex` and `yield_now` on a `LocalSet`; \
               `async-lock`'s `Mutex` and futures-lite's `yield_now` on async-executor; \
               `futures::lock::Mutex` on `LocalPool` with a one-poll yield; Python `asyncio.Lock` and \
               `sleep(0)`. Each task is spawned, so spawning (W4) is part of the time. ns per task.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "lock_handoff",
        title: "Lock hand-off: 16 tasks take one lock N times in all, each time over one yield",
        note: "The lock workload without the spawning: the same contenders, 16 long-lived tasks. ns per \
               acquisition.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "timers",
        title: "Timers: N timers with spread deadlines over one second, scheduled, then run",
        note: "asyncio-rs on a `ManualClock` (the loop jumps from deadline to deadline), tokio with paused \
               time (`sleep` in N spawned tasks); the floor is a `BinaryHeap` of `(deadline, seq, boxed \
               closure)`. Python loops cannot be given a manual clock (uvloop's cannot be patched), so \
               there the same deadlines are a second in the past and all N run in one iteration: CPython \
               pops them from its heap in deadline order, uvloop clamps the delays to zero. Medians over \
               paired rounds (± half the quartile range).",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "timers_cancel",
        title: "Schedule then cancel: N timers scheduled, every one cancelled, then one iteration",
        note: "Nothing may run. The floor is a `BinaryHeap` of `(deadline, key)` beside a `slab::Slab` of \
               the boxed closures (cancelling removes the closure; the heap is drained); tokio aborts N \
               tasks sleeping in paused time; Python calls `handle.cancel()`. asyncio-rs both on a reused \
               loop and on a fresh one each round.",
        sizes: SIZES,
        source: Source::Paired,
    },
    Workload {
        key: "threadsafe_1",
        title: "Across threads, 1 producer: N `call_soon_threadsafe` callbacks from another thread",
        note: "The loop runs until the producer's stop. The floor is a bare `crossbeam_queue::SegQueue` \
               of boxed closures that the consumer polls in a spin loop (no wake-ups); tokio's shape is \
               `Handle::spawn` onto a current-thread runtime. ns per callback.",
        sizes: THREADS,
        source: Source::Paired,
    },
    Workload {
        key: "threadsafe_3",
        title: "Across threads, 3 producers: N callbacks in all, from three threads",
        note: "As above, with three producer threads (Python's share the GIL).",
        sizes: THREADS,
        source: Source::Paired,
    },
];

/// How a target's value is computed.
pub(crate) enum Measure {
    /// A ratio the paired bench reports under this key, at each size.
    Paired(&'static str),
    /// The fastest of these contenders over ours on a workload's figures, at
    /// each size (their ratio of medians, not paired).
    Figures {
        workload: &'static str,
        contenders: &'static [&'static str],
    },
}

/// A goal on a ratio: met when it is at least `at_least` at every size.
pub(crate) struct Target {
    pub(crate) label: &'static str,
    pub(crate) measure: Measure,
    pub(crate) at_least: f64,
    /// The sizes it is measured and judged at.
    pub(crate) sizes: &'static [u64],
}

pub(crate) const TARGETS: &[Target] = &[
    Target {
        label: "W1: floor / ours",
        measure: Measure::Paired("w1_floor"),
        sizes: SIZES,
        at_least: 1.0,
    },
    Target {
        label: "W1: fastest Rust peer / ours",
        measure: Measure::Paired("w1_rust_peers"),
        sizes: SIZES,
        at_least: 3.0,
    },
    Target {
        label: "W1: uvloop / ours (not paired)",
        measure: Measure::Figures {
            workload: "w1_dispatch",
            contenders: &["uvloop"],
        },
        sizes: SIZES,
        at_least: 15.0,
    },
    Target {
        label: "W2: fastest Rust peer / ours",
        measure: Measure::Paired("w2_rust_peers"),
        sizes: SIZES,
        at_least: 2.5,
    },
    Target {
        label: "W4 spawn: fastest Rust peer / ours",
        measure: Measure::Paired("w4_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "W5 gather: fastest Rust peer / ours",
        measure: Measure::Paired("w5_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "Queue, unbounded: fastest Rust peer / ours",
        measure: Measure::Paired("queue_unbounded_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "Queue, bounded to 16: fastest Rust peer / ours",
        measure: Measure::Paired("queue_bounded_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "Lock, N tasks: fastest Rust peer / ours",
        measure: Measure::Paired("lock_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "Lock hand-off: fastest Rust peer / ours",
        measure: Measure::Paired("lock_handoff_rust_peers"),
        sizes: SIZES,
        at_least: 2.0,
    },
    Target {
        label: "W3: our W1 / our W3, per callback",
        measure: Measure::Paired("w1_over_w3"),
        sizes: SIZES,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Timers: floor / ours",
        measure: Measure::Paired("timers_floor"),
        sizes: SIZES,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Timers: tokio (paused time) / ours",
        measure: Measure::Paired("timers_rust_peers"),
        sizes: SIZES,
        at_least: 3.0,
    },
    Target {
        label: "Schedule then cancel: floor / ours",
        measure: Measure::Paired("timers_cancel_floor"),
        sizes: SIZES,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Schedule then cancel, fresh loop: floor / ours",
        measure: Measure::Paired("timers_cancel_fresh_floor"),
        sizes: SIZES,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Schedule then cancel: tokio (paused time) / ours",
        measure: Measure::Paired("timers_cancel_rust_peers"),
        sizes: SIZES,
        at_least: 3.0,
    },
    Target {
        label: "Across threads, 1 producer: floor / ours",
        measure: Measure::Paired("threadsafe_1_floor"),
        sizes: THREADS,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Across threads, 3 producers: floor / ours",
        measure: Measure::Paired("threadsafe_3_floor"),
        sizes: THREADS,
        at_least: 1.0 / 1.5,
    },
    Target {
        label: "Across threads, 1 producer: tokio / ours",
        measure: Measure::Paired("threadsafe_1_rust_peers"),
        sizes: THREADS,
        at_least: 1.0,
    },
    Target {
        label: "Across threads, 3 producers: tokio / ours",
        measure: Measure::Paired("threadsafe_3_rust_peers"),
        sizes: THREADS,
        at_least: 1.0,
    },
];

/// How a table cell is shown.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    /// A number with this many decimals, and a unit after it (or "").
    Number(usize, &'static str),
    /// The paired ratio with this key at the row's `n`: median (quartiles).
    RatioAt(&'static str),
    /// The cell as it is (a name).
    Text,
}

/// A table of rows that a bench reports under `key` (`report::row`).
pub(crate) struct Table {
    pub(crate) key: &'static str,
    pub(crate) title: &'static str,
    pub(crate) intro: &'static str,
    /// `(cell, header, format)`, in column order.
    pub(crate) columns: &'static [(&'static str, &'static str, Format)],
}

pub(crate) const TABLES: &[Table] = &[
    Table {
        key: "fresh",
        title: "W1 on a fresh loop and on a reused one",
        intro: "A fresh loop (or a fresh floor queue) each round pays for growing its queue and for \
                touching new pages; a reused one has paid already. Nanoseconds per callback (medians \
                over paired rounds), and the floor ratio of each, whose goal is ≥ 1 at every size.",
        columns: &[
            ("n", "N", Format::Number(0, "")),
            ("ours_fresh", "ours, fresh", Format::Number(2, "")),
            ("floor_fresh", "floor, fresh", Format::Number(2, "")),
            ("n", "floor / ours, fresh", Format::RatioAt("w1_fresh_floor")),
            ("ours_reused", "ours, reused", Format::Number(2, "")),
            ("floor_reused", "floor, reused", Format::Number(2, "")),
            ("n", "floor / ours, reused", Format::RatioAt("w1_reused_floor")),
        ],
    },
    Table {
        key: "racing",
        title: "Racing awaiters",
        intro: "N races, one after another, of one shutdown future against a fresh future (`select`), \
                each polled with a waker of its own, as separate tasks would; the fresh one always \
                wins. Each losing wait must leave nothing behind, so the time per race stays flat as \
                N grows (before, losers left their wakers: 1128 / 6700 / 16930 ns per race at N = \
                1000 / 10000 / 30000, quadratic overall). Median of the runs, fresh loop each run.",
        columns: &[
            ("n", "N", Format::Number(0, "")),
            ("ns_per_race", "ns per race", Format::Number(1, "")),
        ],
    },
    Table {
        key: "latency",
        title: "Wake-up latency of an idle loop",
        intro: "Another thread sends one callback every millisecond, stamped with the time; how long \
                until it runs on the loop's thread (tokio: a task spawned with `Handle::spawn`). tokio \
                twice: built as `#[tokio::main]` builds it (`enable_all`), it idles in epoll as our \
                loop does; with only a time driver it idles on a futex, which a loop that waits for \
                I/O cannot. Goal: no worse than tokio.",
        columns: &[
            ("contender", "", Format::Text),
            ("runs", "runs", Format::Number(0, "")),
            ("median_us", "median", Format::Number(1, " µs")),
            ("p99_us", "p99", Format::Number(1, " µs")),
        ],
    },
    Table {
        key: "idle",
        title: "An idle loop",
        intro: "A fresh loop with one timer ahead and nothing else to do waits in the OS poller \
                (mio: epoll and a timerfd here) with the deadline as its timeout. CPU time of \
                the loop's thread while it waits (median of the runs; making the poller included), \
                and how long after its deadline the timer's callback ran.",
        columns: &[
            ("wait_ms", "wait", Format::Number(0, " ms")),
            ("runs", "runs", Format::Number(0, "")),
            ("cpu_us", "CPU time", Format::Number(0, " µs")),
            ("late_us", "late, median", Format::Number(0, " µs")),
            ("late_max_us", "late, max", Format::Number(0, " µs")),
        ],
    },
    Table {
        key: "echo",
        title: "Echo server",
        intro: "vmbench's echo workload (`benches/benches/echo.rs`): 10 connections, closed loop, \
                one client (threads of the bench, pinned to CPU 1) and the server in a process of \
                its own pinned to CPU 0; paired rounds, the order rotating, medians. The server's \
                CPU time per request (its threads' `schedstat`, kernel included) is the figure to \
                compare: throughput is bounded by the client and the loopback stack here. `CPU / \
                floor` divides by the raw mio server's; system calls per request come from a \
                shorter run under `strace -c -f` (1 KiB only). Goals: our protocol server's CPU \
                within 1.05x the floor's at 1 and 10 KiB, our `sock_*` server's within 1.15x our \
                protocol server's, at most 2.2 (protocol) and 2.3 (`sock_*`) system calls per \
                request.",
        columns: &[
            ("contender", "", Format::Text),
            ("size", "message", Format::Text),
            ("req_s", "requests/s", Format::Number(0, "")),
            ("cpu_us", "server CPU", Format::Number(2, " µs")),
            ("cpu_vs_floor", "CPU / floor", Format::Number(2, "")),
            ("p99_us", "p99", Format::Number(0, " µs")),
            ("syscalls", "syscalls", Format::Number(2, "")),
        ],
    },
    Table {
        key: "echo_machine",
        title: "Echo server: the machine",
        intro: "Load average (1, 5, 15 minutes) when the echo rounds ended, and whether the server \
                and the client were pinned to CPUs of their own.",
        columns: &[
            ("load", "load", Format::Text),
            ("pinned", "pinned", Format::Text),
        ],
    },
    Table {
        key: "processes",
        title: "Subprocesses and signals",
        intro: "`benches/benches/processes.rs`: spawn-and-wait of short children (`true`, 200 a \
                round, one after another), 10 MB through `cat` and back (`communicate`, 5 a \
                round), and signal round trips (raise `SIGUSR1`, await the handler; 5,000 a round, \
                each Rust contender in a process of its own); paired rounds, the order rotating, \
                medians of the time per operation. asyncio and uvloop are timed inside the \
                interpreter (`benches/python/processes.py`). `threads` is the most threads our \
                process had with a child alive (read once per run for spawn, since reading it \
                costs about 12 µs; 1: exits are watched by pidfd, no thread per child). \
                Goals: at most tokio's time per child (spawn, and 10 MB through `cat`); signals \
                delivered faster than asyncio's.",
        columns: &[
            ("workload", "workload", Format::Text),
            ("contender", "", Format::Text),
            ("per_op_us", "per operation", Format::Number(1, " µs")),
            ("vs_ours", "time / ours", Format::Number(2, "")),
            ("threads", "threads", Format::Number(0, "")),
        ],
    },
];

/// The memory bench's figures, `(key, label)`, in the order shown.
pub(crate) const MEMORY: &[(&str, &str)] = &[
    (
        "bytes_per_pending_callback",
        "heap bytes per pending callback, beyond its 8-byte closure",
    ),
    (
        "bytes_per_pending_callback_floor",
        "the same for the floor (the closure's box only)",
    ),
    (
        "bytes_per_pending_future",
        "heap bytes per pending future, beyond its handle",
    ),
    (
        "bytes_per_pending_task",
        "heap bytes per pending task, beyond its coroutine and its handle",
    ),
    (
        "bytes_per_idle_connection",
        "heap bytes per idle connection of an `asyncio-net` server (transport, protocol, registration)",
    ),
    ("peak_rss_kib", "peak RSS of the whole memory bench, KiB"),
    (
        "allocations_per_call_soon",
        "allocations per `call_soon` (W1), steady state",
    ),
    (
        "allocations_per_floor_callback",
        "allocations per floor callback",
    ),
    (
        "allocations_per_ping_pong",
        "allocations per W2 round trip (the new future)",
    ),
    (
        "allocations_per_fan_out_callback",
        "allocations per W3 done-callback",
    ),
    (
        "allocations_per_queue_item",
        "allocations per item through an unbounded `Queue` (producer and consumer tasks)",
    ),
    (
        "allocations_per_bounded_queue_item",
        "allocations per item through a `Queue` bounded to 16",
    ),
    (
        "allocations_per_stream_echo_request",
        "allocations per request of a streams echo server (`read(n)`, `write`, `drain`; 1 KiB)",
    ),
    (
        "allocations_per_stream_line_echo_request",
        "allocations per request of the same with `readline`",
    ),
    ("burst_callbacks", "callbacks in one burst on a fresh loop"),
    (
        "bytes_kept_after_burst",
        "heap bytes the loop keeps right after running the burst",
    ),
    (
        "bytes_kept_after_drain",
        "heap bytes it keeps after eight more (quiet) iterations",
    ),
    (
        "cancelled_timers",
        "timers scheduled and cancelled, one after another",
    ),
    (
        "timer_bytes_peak_while_cancelling",
        "peak heap bytes of the timers meanwhile",
    ),
    ("timer_bytes_with_n_live", "heap bytes with N live timers"),
    (
        "timer_bytes_after_cancelling_all",
        "heap bytes once those N are cancelled",
    ),
];

/// A goal on a memory figure: met when it is at most `at_most`.
pub(crate) const MEMORY_TARGETS: &[(&str, &str, f64)] = &[
    (
        "≤ 1 KiB per idle connection beyond its socket",
        "bytes_per_idle_connection",
        1024.0,
    ),
    (
        "≤ 64 bytes per pending callback beyond its closure",
        "bytes_per_pending_callback",
        64.0,
    ),
    (
        "≤ 128 bytes per pending future",
        "bytes_per_pending_future",
        128.0,
    ),
    (
        "≤ 128 bytes per pending task beyond its coroutine",
        "bytes_per_pending_task",
        128.0,
    ),
    (
        "no allocation per `call_soon` for an inline closure",
        "allocations_per_call_soon",
        0.0,
    ),
    (
        "no allocation per item through a bounded `Queue`, steady state",
        "allocations_per_bounded_queue_item",
        0.0,
    ),
    (
        "no allocation per item through an unbounded `Queue`, steady state",
        "allocations_per_queue_item",
        0.0,
    ),
    (
        "no allocation per request of a `read(n)`/`write` streams echo, steady state",
        "allocations_per_stream_echo_request",
        0.0,
    ),
    (
        "scheduling and cancelling 10^7 timers keeps the timers' memory bounded (peak bytes)",
        "timer_bytes_peak_while_cancelling",
        65_536.0,
    ),
];
