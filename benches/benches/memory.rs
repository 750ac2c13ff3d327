//! Memory per pending callback and per pending future, and allocations per
//! operation in steady state, measured with a counting global allocator.
//!
//! `cargo bench --bench memory` measures at N = 1,000,000 and prints one
//! `memory` record per figure (see `asyncio_benches::report`; `cargo xtask
//! bench` reads them). Under
//! `cargo test --benches` it runs once at a tiny size as a smoke test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use asyncio_benches::{
    check_work, report, sync, w1_asyncio, w1_expected, w1_floor, w2_asyncio, w3_asyncio,
    w3_expected,
};
use asyncio_core::Future;
use asyncio_loop::EventLoop;

/// Counts allocations and live bytes on top of the system allocator.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        LIVE_BYTES.fetch_add(layout.size(), Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        LIVE_BYTES.fetch_add(new_size, Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Relaxed)
}

fn live_bytes() -> usize {
    LIVE_BYTES.load(Relaxed)
}

/// Peak resident set size in KiB, from `/proc/self/status` (Linux).
fn peak_rss_kib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Allocations per operation of `workload(n)` after a warm-up run.
fn allocations_per_op(n: usize, mut workload: impl FnMut(usize)) -> f64 {
    workload(n);
    let before = allocations();
    workload(n);
    (allocations() - before) as f64 / n as f64
}

/// `value` rounded to `digits` decimals, as the page shows it.
fn rounded(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Heap bytes per idle accepted connection of an `asyncio-net` server
/// (its transport, protocol, registration and source entry; nothing
/// buffered): 1,000 connections from blocking clients of this thread,
/// after one that warms the server up (so the tables' growth is averaged
/// over many).
fn idle_connection_bytes() -> f64 {
    use asyncio_net::{create_server, Protocol, Transport};
    use std::cell::Cell;
    use std::rc::Rc;

    struct Idle(Rc<Cell<usize>>, Option<Transport>);
    impl Protocol for Idle {
        fn connection_made(&mut self, transport: &Transport) {
            self.0.set(self.0.get() + 1);
            self.1 = Some(transport.clone());
        }
    }
    let made = Rc::new(Cell::new(0));
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let counter = made.clone();
    let server = event_loop
        .run_until_complete(async move {
            create_server(&handle, move || Idle(counter.clone(), None), "127.0.0.1", 0).await
        })
        .unwrap()
        .unwrap();
    let port = server.sockets()[0].as_socket().unwrap().port();
    // In batches below the listen backlog (100), each accepted before the
    // next connects: a full backlog would leave connects waiting.
    let accept = |count: usize, clients: &mut Vec<std::net::TcpStream>| {
        let mut left = count;
        while left > 0 {
            let batch = left.min(50);
            left -= batch;
            let target = made.get() + batch;
            for _ in 0..batch {
                clients.push(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while made.get() < target && std::time::Instant::now() < deadline {
                event_loop
                    .run_once(Some(std::time::Duration::from_millis(10)))
                    .unwrap();
            }
            assert_eq!(made.get(), target, "every connection was accepted");
        }
    };
    let mut clients = Vec::new();
    accept(1, &mut clients);
    let before = live_bytes();
    accept(1000, &mut clients);
    let per_connection = (live_bytes() - before) as f64 / 1000.0;
    drop(clients);
    server.close();
    rounded(per_connection, 1)
}

/// Allocations per request of a stream echo server (`read(n)` or
/// `readline`, then `write` and `drain`) answering 1 KiB messages from a
/// blocking client thread, which allocates nothing while it runs: the
/// requests after `warm_up` of `requests` (bounded by a 60 s deadline),
/// each answer checked.
fn stream_echo_allocations(lines: bool, warm_up: usize, requests: usize) -> f64 {
    use asyncio_net::{start_server, StreamReader, StreamWriter};
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let server = event_loop
        .run_until_complete(async move {
            let serve = move |reader: StreamReader, writer: StreamWriter| {
                asyncio_benches::stream_echo(reader, writer, lines)
            };
            start_server(&handle, serve, "127.0.0.1", 0).await
        })
        .unwrap()
        .unwrap();
    let port = server.sockets()[0].as_socket().unwrap().port();
    let done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&done);
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut message = vec![b'x'; 1024];
        message[1023] = b'\n';
        let mut answer = vec![0; 1024];
        for _ in 0..requests {
            stream.write_all(&message).unwrap();
            stream.read_exact(&mut answer).unwrap();
            assert!(answer == message, "the server echoed the message");
            progress.fetch_add(1, Relaxed);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_until = |count: usize| {
        while done.load(Relaxed) < count && Instant::now() < deadline {
            event_loop
                .run_once(Some(Duration::from_millis(10)))
                .unwrap();
        }
        assert!(done.load(Relaxed) >= count, "the client made its requests");
    };
    run_until(warm_up);
    let (before, at) = (allocations(), done.load(Relaxed));
    run_until(requests);
    let per_request = (allocations() - before) as f64 / (requests - at) as f64;
    client.join().unwrap();
    server.close();
    per_request
}

fn main() {
    let full = std::env::args().any(|argument| argument == "--bench");
    let n: usize = if full { 1_000_000 } else { 1_000 };
    report::memory("n", n);

    // Heap bytes per pending callback, beyond the closure's own 8-byte box.
    let event_loop = EventLoop::new();
    let before = live_bytes();
    let handles_dropped: usize = (0..n)
        .map(|i| {
            let _ = event_loop.call_soon(move || {
                std::hint::black_box(i);
            });
            1
        })
        .sum();
    let per_callback = (live_bytes() - before) as f64 / handles_dropped as f64 - 8.0;
    report::memory("bytes_per_pending_callback", rounded(per_callback, 1));
    event_loop.close().ok();
    drop(event_loop);

    let mut floor: VecDeque<Box<dyn FnOnce()>> = VecDeque::new();
    let before = live_bytes();
    for i in 0..n {
        floor.push_back(Box::new(move || {
            std::hint::black_box(i);
        }));
    }
    let per_floor = (live_bytes() - before) as f64 / n as f64 - 8.0;
    report::memory("bytes_per_pending_callback_floor", rounded(per_floor, 1));
    drop(floor);

    // Heap bytes per pending future.
    let event_loop = EventLoop::new();
    let before = live_bytes();
    let futures: Vec<Future<u64>> = (0..n).map(|_| event_loop.create_future()).collect();
    let per_future =
        (live_bytes() - before) as f64 / n as f64 - std::mem::size_of::<Future<u64>>() as f64;
    report::memory("bytes_per_pending_future", rounded(per_future, 1));
    drop(futures);

    // Heap bytes per pending task beyond its coroutine: N tasks suspended
    // at an await that holds nothing (`pending()`), their first steps run.
    let event_loop = EventLoop::new();
    let coroutine = || futures::future::pending::<()>();
    let coroutine_size = std::mem::size_of_val(&coroutine());
    // Warm the loop's queues first, so that their growth is not counted.
    for _ in 0..n {
        let _ = event_loop.create_task(coroutine());
    }
    event_loop.stop();
    event_loop.run_forever().ok();
    let before = live_bytes();
    let tasks: Vec<_> = (0..n)
        .map(|_| event_loop.create_task(coroutine()).expect("an open loop"))
        .collect();
    event_loop.stop();
    event_loop.run_forever().ok();
    assert!(
        tasks.iter().all(|task| !task.done()),
        "the tasks are pending"
    );
    let handles = std::mem::size_of::<asyncio_loop::Task<()>>();
    let per_task = (live_bytes() - before) as f64 / n as f64 - (handles + coroutine_size) as f64;
    report::memory("bytes_per_pending_task", rounded(per_task, 1));
    drop(tasks);
    event_loop.close().ok();
    drop(event_loop);

    // A burst grows the ready queue; once drained, the loop gives the memory
    // back after a few quiet iterations (`crates/loop/src/ready.rs`).
    let event_loop = EventLoop::new();
    let before = live_bytes();
    let burst = n * 10;
    check_work("burst", w1_asyncio(&event_loop, burst), w1_expected(burst));
    let after_burst = live_bytes() - before;
    for _ in 0..8 {
        event_loop.stop();
        event_loop.run_forever().ok();
    }
    let drained = live_bytes() - before;
    report::memory("burst_callbacks", burst);
    report::memory("bytes_kept_after_burst", after_burst);
    report::memory("bytes_kept_after_drain", drained);
    drop(event_loop);

    // Scheduling and cancelling 10n timers, one after another, then a burst
    // of n live timers all cancelled: the timer heap keeps no more than a
    // few hundred stale entries (`crates/loop/src/timers.rs`).
    let event_loop = EventLoop::new();
    let before = live_bytes();
    let mut peak = 0;
    let churn = n * 10;
    for i in 0..churn {
        let timer = event_loop
            .call_later(1.0 + i as f64, || {})
            .expect("an open loop");
        timer.cancel();
        peak = peak.max(live_bytes() - before);
    }
    let live: Vec<_> = (0..n)
        .map(|i| {
            event_loop
                .call_later(1.0 + i as f64, || {})
                .expect("an open loop")
        })
        .collect();
    let with_live = live_bytes() - before;
    for timer in &live {
        timer.cancel();
    }
    drop(live);
    report::memory("cancelled_timers", churn);
    report::memory("timer_bytes_peak_while_cancelling", peak);
    report::memory("timer_bytes_with_n_live", with_live);
    report::memory("timer_bytes_after_cancelling_all", live_bytes() - before);
    drop(event_loop);

    report::memory("bytes_per_idle_connection", idle_connection_bytes());

    if let Some(peak) = peak_rss_kib() {
        report::memory("peak_rss_kib", peak);
    }

    // Allocations per operation in steady state.
    let requests = n.clamp(200, 20_000);
    for (key, lines) in [
        ("allocations_per_stream_echo_request", false),
        ("allocations_per_stream_line_echo_request", true),
    ] {
        report::memory(
            key,
            rounded(stream_echo_allocations(lines, requests / 10, requests), 3),
        );
    }
    let event_loop = EventLoop::new();
    let steady = n.min(100_000);
    report::memory(
        "allocations_per_call_soon",
        rounded(
            allocations_per_op(steady, |n| {
                check_work("w1", w1_asyncio(&event_loop, n), w1_expected(n))
            }),
            3,
        ),
    );
    let mut queue = VecDeque::new();
    report::memory(
        "allocations_per_floor_callback",
        rounded(
            allocations_per_op(steady, |n| {
                check_work("w1 floor", w1_floor(&mut queue, n), w1_expected(n))
            }),
            3,
        ),
    );
    report::memory(
        "allocations_per_ping_pong",
        rounded(
            allocations_per_op(steady, |n| {
                check_work("w2", w2_asyncio(&event_loop, n), w1_expected(n))
            }),
            3,
        ),
    );
    report::memory(
        "allocations_per_fan_out_callback",
        rounded(
            allocations_per_op(steady, |n| {
                check_work("w3", w3_asyncio(&event_loop, n), w3_expected(n))
            }),
            3,
        ),
    );
    // A queue made per run, its two tasks and the run's own: a fixed few,
    // spread over the items.
    for (key, bound) in [
        ("allocations_per_queue_item", 0),
        ("allocations_per_bounded_queue_item", sync::BOUND),
    ] {
        report::memory(
            key,
            rounded(
                allocations_per_op(steady, |n| {
                    check_work(
                        key,
                        sync::queue_asyncio(&event_loop, n, bound),
                        w1_expected(n),
                    )
                }),
                3,
            ),
        );
    }
}
