//! The target ratios measured in paired rounds (see `asyncio_benches::paired`):
//! every contender of a workload runs once per round, and each ratio is taken
//! within a round, so load that drifts between criterion's measurements of
//! one contender and the next cancels out.
//!
//! `cargo bench --bench paired` prints one JSON record per line (see
//! `asyncio_benches::report`): per target and size the quartiles and median
//! of the per-round ratio, per contender its time per operation, and the rows
//! of the tables that `cargo xtask bench` declares. Under
//! `cargo test --benches` it runs three rounds at a tiny size as a smoke test.

use std::collections::VecDeque;

use asyncio_benches::paired::{ratios, rounds, Summary};
use asyncio_benches::report;
use serde_json::json;
use std::time::{Duration, Instant};

use asyncio_benches::{
    check_work, peers, racing_awaiters, threadsafe_asyncio, threadsafe_floor, timers_asyncio,
    timers_cancel_asyncio, timers_cancel_floor, timers_floor, w1_asyncio, w1_expected, w1_floor,
    w2_asyncio, w3_asyncio, w3_expected, w4_asyncio, w5_asyncio, wake_latency_asyncio, SIZES,
};
use asyncio_loop::EventLoop;

/// The Rust peers' executors, one set per workload, as criterion's groups have.
struct Peers {
    executor: async_executor::LocalExecutor<'static>,
    pool: futures::executor::LocalPool,
    runtime: tokio::runtime::Runtime,
}

impl Peers {
    fn new() -> Self {
        Peers {
            executor: async_executor::LocalExecutor::new(),
            pool: futures::executor::LocalPool::new(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime"),
        }
    }
}

/// W1 against the floor and the Rust peers, and our W3 against our W1.
fn w1_and_w3(n: usize, warm_up: usize, count: usize) {
    let (ours_loop, w3_loop) = (EventLoop::new(), EventLoop::new());
    let mut queue = VecDeque::new();
    let mut rust = Peers::new();
    let w1 = w1_expected(n);
    let times = rounds(
        &mut [
            &mut || check_work("w1", w1_asyncio(&ours_loop, n), w1),
            &mut || check_work("w1 floor", w1_floor(&mut queue, n), w1),
            &mut || check_work("w1", peers::w1_async_executor(&rust.executor, n), w1),
            &mut || check_work("w1", peers::w1_local_pool(&mut rust.pool, n), w1),
            &mut || check_work("w1", peers::w1_tokio(&rust.runtime, n), w1),
            &mut || check_work("w3", w3_asyncio(&w3_loop, n), w3_expected(n)),
        ],
        warm_up,
        count,
    );
    report::ratio("w1_floor", n, ratios(&times, 0, &[1]));
    report::ratio("w1_rust_peers", n, ratios(&times, 0, &[2, 3, 4]));
    // W1 and W3 both run `n` callbacks, so per round this is W1 / W3 per callback.
    report::ratio("w1_over_w3", n, ratios(&times, 5, &[0]));
}

/// A loop on a manual clock and a tokio runtime with paused time: the timer
/// workloads' contenders never sleep for real.
fn manual_clocks() -> (EventLoop, tokio::runtime::Runtime) {
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime with paused time");
    (
        EventLoop::with_clock(&asyncio_loop::ManualClock::new()),
        paused,
    )
}

/// The timers workload against its floor and tokio (paused time).
fn timers(n: usize, warm_up: usize, count: usize) {
    let (event_loop, paused) = manual_clocks();
    let sum = w1_expected(n);
    let times = rounds(
        &mut [
            &mut || check_work("timers", timers_asyncio(&event_loop, n), sum),
            &mut || check_work("timers floor", timers_floor(n), sum),
            &mut || check_work("timers", peers::timers_tokio(&paused, n), sum),
        ],
        warm_up,
        count,
    );
    report::ratio("timers_floor", n, ratios(&times, 0, &[1]));
    report::ratio("timers_rust_peers", n, ratios(&times, 0, &[2]));
    for (contender, times) in ["asyncio-rs", "floor", "tokio"].iter().zip(&times) {
        report::time("timers", contender, n, n, times);
    }
}

/// Schedule-then-cancel against its floor and tokio (paused time), on a
/// reused loop and on a fresh one each round.
fn timers_cancel(n: usize, warm_up: usize, count: usize) {
    let (event_loop, paused) = manual_clocks();
    let times = rounds(
        &mut [
            &mut || check_work("cancel", timers_cancel_asyncio(&event_loop, n), n),
            &mut || check_work("cancel floor", timers_cancel_floor(n), n),
            &mut || check_work("cancel", peers::timers_cancel_tokio(&paused, n), n),
            &mut || {
                let fresh = EventLoop::with_clock(&asyncio_loop::ManualClock::new());
                check_work("cancel fresh", timers_cancel_asyncio(&fresh, n), n)
            },
        ],
        warm_up,
        count,
    );
    report::ratio("timers_cancel_floor", n, ratios(&times, 0, &[1]));
    report::ratio("timers_cancel_rust_peers", n, ratios(&times, 0, &[2]));
    report::ratio("timers_cancel_fresh_floor", n, ratios(&times, 3, &[1]));
    let contenders = ["asyncio-rs", "floor", "tokio", "asyncio-rs, fresh loop"];
    for (contender, times) in contenders.iter().zip(&times) {
        report::time("timers_cancel", contender, n, n, times);
    }
}

/// Cross-thread throughput, from 1 and 3 producer threads, against the
/// `SegQueue` floor and tokio's `Handle::spawn` (ratios and times per
/// callback), then the wake-up latency of an idle loop (a `latency` row per
/// contender: median and p99 in µs).
fn threads(n: usize, warm_up: usize, count: usize, latency_runs: usize) {
    for producers in [1, 3] {
        let per_producer = n / producers;
        let event_loop = EventLoop::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let sum = w1_expected(producers * per_producer);
        let times = rounds(
            &mut [
                &mut || {
                    check_work(
                        "threadsafe",
                        threadsafe_asyncio(&event_loop, producers, per_producer),
                        sum,
                    )
                },
                &mut || {
                    check_work(
                        "threadsafe floor",
                        threadsafe_floor(producers, per_producer),
                        sum,
                    )
                },
                &mut || {
                    check_work(
                        "threadsafe",
                        peers::threadsafe_tokio(&runtime, producers, per_producer),
                        sum,
                    )
                },
            ],
            warm_up,
            count,
        );
        let target = |peer: &str| format!("threadsafe_{producers}_{peer}");
        report::ratio(&target("floor"), n, ratios(&times, 0, &[1]));
        report::ratio(&target("rust_peers"), n, ratios(&times, 0, &[2]));
        let workload = format!("threadsafe_{producers}");
        for (contender, times) in ["asyncio-rs", "floor", "tokio"].iter().zip(&times) {
            report::time(&workload, contender, n, producers * per_producer, times);
        }
    }
    let quantile = |mut values: Vec<f64>, q: f64| -> f64 {
        values.sort_by(f64::total_cmp);
        values[((values.len() - 1) as f64 * q).round() as usize] / 1e3
    };
    // In rounds too, each starting with the next contender: whichever ran
    // first paid for the machine waking up (one order, ours always first,
    // gave ours the worst p99 in every run, and tokio the worst when
    // reversed). Each contender's samples of all rounds are pooled.
    // The first wakes of a fresh loop or runtime (its first allocations,
    // pages, the sender thread starting) are left out of every round.
    const LATENCY_ROUNDS: usize = 5;
    const WARM_UP: usize = 5;
    type Measure<'a> = &'a dyn Fn(usize) -> Vec<f64>;
    let per_round = latency_runs.div_ceil(LATENCY_ROUNDS);
    let contenders: [(&str, Measure<'_>); 3] = [
        ("asyncio-rs", &wake_latency_asyncio),
        ("tokio, `enable_all` (idles in epoll)", &|n| {
            peers::wake_latency_tokio(n, true)
        }),
        ("tokio, time driver only (idles on a futex)", &|n| {
            peers::wake_latency_tokio(n, false)
        }),
    ];
    let mut pooled: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..LATENCY_ROUNDS {
        for offset in 0..contenders.len() {
            let index = (round + offset) % contenders.len();
            let samples = (contenders[index].1)(per_round + WARM_UP);
            pooled[index].extend(samples.into_iter().skip(WARM_UP));
        }
    }
    for ((contender, _), latencies) in contenders.iter().zip(pooled) {
        report::row(
            "latency",
            json!({
                "contender": contender,
                "runs": latencies.len(),
                "median_us": quantile(latencies.clone(), 0.5),
                "p99_us": quantile(latencies, 0.99),
            }),
        );
    }
}

/// W2 against the Rust peers.
fn w2(n: usize, warm_up: usize, count: usize) {
    let event_loop = EventLoop::new();
    let sum = w1_expected(n);
    let mut rust = Peers::new();
    let times = rounds(
        &mut [
            &mut || check_work("w2", w2_asyncio(&event_loop, n), sum),
            &mut || check_work("w2", peers::w2_async_executor(&rust.executor, n), sum),
            &mut || check_work("w2", peers::w2_local_pool(&mut rust.pool, n), sum),
            &mut || check_work("w2", peers::w2_tokio(&rust.runtime, n), sum),
        ],
        warm_up,
        count,
    );
    report::ratio("w2_rust_peers", n, ratios(&times, 0, &[1, 2, 3]));
}

/// W4 spawn and W5 gather against the Rust peers, on a reused loop and on
/// a fresh one each round.
fn w4_and_w5(n: usize, warm_up: usize, count: usize) {
    let event_loop = EventLoop::new();
    let sum = w1_expected(n);
    let mut rust = Peers::new();
    let times = rounds(
        &mut [
            &mut || check_work("w4", w4_asyncio(&event_loop, n), sum),
            &mut || check_work("w4", peers::w1_async_executor(&rust.executor, n), sum),
            &mut || check_work("w4", peers::w1_local_pool(&mut rust.pool, n), sum),
            &mut || check_work("w4", peers::w1_tokio(&rust.runtime, n), sum),
            &mut || check_work("w4 fresh", w4_asyncio(&EventLoop::new(), n), sum),
        ],
        warm_up,
        count,
    );
    report::ratio("w4_rust_peers", n, ratios(&times, 0, &[1, 2, 3]));
    let contenders = [
        "asyncio-rs",
        "async-executor",
        "LocalPool",
        "tokio",
        "asyncio-rs, fresh loop",
    ];
    for (contender, times) in contenders.iter().zip(&times) {
        report::time("w4_spawn", contender, n, n, times);
    }
    let mut rust = Peers::new();
    let times = rounds(
        &mut [
            &mut || check_work("w5", w5_asyncio(&event_loop, n), sum),
            &mut || check_work("w5", peers::w5_async_executor(&rust.executor, n), sum),
            &mut || check_work("w5", peers::w5_local_pool(&mut rust.pool, n), sum),
            &mut || check_work("w5", peers::w5_tokio(&rust.runtime, n), sum),
            &mut || check_work("w5 fresh", w5_asyncio(&EventLoop::new(), n), sum),
        ],
        warm_up,
        count,
    );
    report::ratio("w5_rust_peers", n, ratios(&times, 0, &[1, 2, 3]));
    for (contender, times) in contenders.iter().zip(&times) {
        report::time("w5_gather", contender, n, n, times);
    }
}

/// The synchronization workloads (`asyncio_benches::sync`) against the
/// Rust peers (and the queue's floor), on a reused loop and on a fresh one
/// each round.
fn sync_workloads(n: usize, warm_up: usize, count: usize) {
    use asyncio_benches::sync::{self, BOUND, HANDOFF_TASKS};
    let event_loop = EventLoop::new();
    let sum = w1_expected(n);
    for (key, bound) in [("queue_unbounded", 0), ("queue_bounded", BOUND)] {
        let mut rust = Peers::new();
        let mut floor = VecDeque::new();
        let times = rounds(
            &mut [
                &mut || check_work(key, sync::queue_asyncio(&event_loop, n, bound), sum),
                &mut || check_work(key, sync::queue_floor(&mut floor, n, bound), sum),
                &mut || check_work(key, sync::peers::queue_tokio(&rust.runtime, n, bound), sum),
                &mut || {
                    let sent = sync::peers::queue_async_channel(&rust.executor, n, bound);
                    check_work(key, sent, sum)
                },
                &mut || {
                    check_work(
                        key,
                        sync::peers::queue_local_pool(&mut rust.pool, n, bound),
                        sum,
                    )
                },
                &mut || check_work(key, sync::queue_asyncio(&EventLoop::new(), n, bound), sum),
            ],
            warm_up,
            count,
        );
        report::ratio(&format!("{key}_floor"), n, ratios(&times, 0, &[1]));
        report::ratio(
            &format!("{key}_rust_peers"),
            n,
            ratios(&times, 0, &[2, 3, 4]),
        );
        let contenders = [
            "asyncio-rs",
            "floor",
            "tokio",
            "async-channel",
            "LocalPool",
            "asyncio-rs, fresh loop",
        ];
        for (contender, times) in contenders.iter().zip(&times) {
            report::time(key, contender, n, n, times);
        }
    }
    for (key, tasks) in [("lock", n), ("lock_handoff", HANDOFF_TASKS)] {
        let ours = |event_loop: &EventLoop| sync::lock_asyncio(event_loop, n, tasks);
        let mut rust = Peers::new();
        let times = rounds(
            &mut [
                &mut || check_work(key, ours(&event_loop), sum),
                &mut || check_work(key, sync::peers::lock_tokio(&rust.runtime, n, tasks), sum),
                &mut || {
                    let total = sync::peers::lock_async_lock(&rust.executor, n, tasks);
                    check_work(key, total, sum)
                },
                &mut || {
                    check_work(
                        key,
                        sync::peers::lock_local_pool(&mut rust.pool, n, tasks),
                        sum,
                    )
                },
                &mut || check_work(key, ours(&EventLoop::new()), sum),
            ],
            warm_up,
            count,
        );
        report::ratio(
            &format!("{key}_rust_peers"),
            n,
            ratios(&times, 0, &[1, 2, 3]),
        );
        let contenders = [
            "asyncio-rs",
            "tokio",
            "async-lock",
            "LocalPool",
            "asyncio-rs, fresh loop",
        ];
        for (contender, times) in contenders.iter().zip(&times) {
            report::time(key, contender, n, n, times);
        }
    }
}

/// W1 on a fresh loop (and a fresh floor queue) each round, beside the
/// reused ones: the first burst pays for growing the queue and for touching
/// new pages, which the reused loop has already paid. Reports the two floor
/// ratios and a `fresh` row of the median nanoseconds per callback.
fn w1_fresh(n: usize, warm_up: usize, count: usize) {
    let reused_loop = EventLoop::new();
    let mut reused_queue = VecDeque::new();
    let w1 = w1_expected(n);
    let times = rounds(
        &mut [
            &mut || check_work("w1 fresh", w1_asyncio(&EventLoop::new(), n), w1),
            &mut || check_work("w1", w1_asyncio(&reused_loop, n), w1),
            &mut || check_work("w1 floor fresh", w1_floor(&mut VecDeque::new(), n), w1),
            &mut || check_work("w1 floor", w1_floor(&mut reused_queue, n), w1),
        ],
        warm_up,
        count,
    );
    report::ratio("w1_fresh_floor", n, ratios(&times, 0, &[2]));
    report::ratio("w1_reused_floor", n, ratios(&times, 1, &[3]));
    let median = |times: &Vec<f64>| {
        Summary::of(times.clone()).map_or(f64::NAN, |summary| summary.median) / n as f64
    };
    report::row(
        "fresh",
        json!({
            "n": n,
            "rounds": count,
            "ours_fresh": median(&times[0]),
            "ours_reused": median(&times[1]),
            "floor_fresh": median(&times[2]),
            "floor_reused": median(&times[3]),
        }),
    );
}

/// The racing awaiters at each size, on a fresh loop each run: a `racing`
/// row with the median nanoseconds per race. Linear time means a flat
/// figure across sizes.
fn racing(n: usize, runs: usize) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let event_loop = EventLoop::new();
            let start = Instant::now();
            check_work("racing", racing_awaiters(&event_loop, n), n);
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    report::row(
        "racing",
        json!({"n": n, "runs": runs, "ns_per_race": times[times.len() / 2]}),
    );
}

/// CPU time this thread has used.
#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec`; the call writes only it.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// A loop idle until a timer `wait` ahead, `runs` times: an `idle` row with
/// the median CPU time and how late the timer's callback ran (median, max),
/// in µs.
#[cfg(unix)]
fn idle(runs: usize, wait: Duration) {
    let mut cpu = Vec::new();
    let mut late = Vec::new();
    for _ in 0..runs {
        let event_loop = EventLoop::new();
        let deadline = Instant::now() + wait;
        let ran_at = std::rc::Rc::new(std::cell::Cell::new(None));
        let (handle, at) = (event_loop.handle(), ran_at.clone());
        event_loop
            .call_at(deadline, move || {
                at.set(Some(Instant::now()));
                handle.stop();
            })
            .expect("an open loop");
        let cpu_before = thread_cpu_time();
        event_loop.run_forever().expect("the loop runs");
        cpu.push((thread_cpu_time() - cpu_before).as_secs_f64() * 1e6);
        let ran_at = ran_at.get().expect("the timer ran");
        assert!(ran_at >= deadline, "a timer ran before its deadline");
        late.push((ran_at - deadline).as_secs_f64() * 1e6);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let max = late.iter().copied().fold(0.0, f64::max);
    report::row(
        "idle",
        json!({
            "runs": runs,
            "wait_ms": wait.as_millis() as u64,
            "cpu_us": median(&mut cpu),
            "late_us": median(&mut late),
            "late_max_us": max,
        }),
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let full = arguments.iter().any(|argument| argument == "--bench");
    // `cargo bench --bench paired -- fresh` runs that group only (`ratios`,
    // `sync`, `fresh`, `racing`, `threads`, `idle`); with no name, all of
    // them.
    let groups: Vec<&str> = arguments
        .iter()
        .map(String::as_str)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let wanted = |group: &str| groups.is_empty() || groups.contains(&group);
    if wanted("ratios") {
        let sizes: &[usize] = if full { &SIZES } else { &[100] };
        for &n in sizes {
            // A few seconds per workload and size; never fewer than 60 rounds.
            let count = if full { (3_000_000 / n).max(60) } else { 3 };
            let warm_up = (count / 10).max(1);
            w1_and_w3(n, warm_up, count);
            w2(n, warm_up, count);
            timers(n, warm_up, count);
            timers_cancel(n, warm_up, count);
            w4_and_w5(n, warm_up, count);
        }
    }
    if wanted("sync") {
        let sizes: &[usize] = if full { &SIZES } else { &[100] };
        for &n in sizes {
            let count = if full { (3_000_000 / n).max(60) } else { 3 };
            sync_workloads(n, (count / 10).max(1), count);
        }
    }
    if wanted("fresh") {
        let fresh_sizes: &[usize] = if full {
            &[10_000, 100_000, 1_000_000, 10_000_000]
        } else {
            &[100]
        };
        for &n in fresh_sizes {
            // Ten rounds at 10^7, a few seconds in all per size.
            let count = if full {
                (100_000_000 / n).clamp(10, 1000)
            } else {
                3
            };
            w1_fresh(n, (count / 10).max(1), count);
        }
    }
    if wanted("threads") {
        if full {
            threads(100_000, 3, 30, 500);
        } else {
            threads(300, 1, 3, 5);
        }
    }
    #[cfg(unix)]
    if wanted("idle") {
        if full {
            idle(5, Duration::from_secs(1));
        } else {
            idle(1, Duration::from_millis(10));
        }
    }
    if wanted("racing") {
        let racing_sizes: &[usize] = if full {
            &[1_000, 10_000, 100_000]
        } else {
            &[100]
        };
        for &n in racing_sizes {
            racing(n, if full { 11 } else { 1 });
        }
    }
}
