//! Runs one workload in a loop, for a profiler:
//! `profile w1|w2|w3|w4|w5|timers|sleepers|timers-floor|cancel|cancel-floor|queue|queue-16|lock|handoff [rounds] [n]`
//! (`n` callbacks or round trips per round, 10,000 unless given), or
//! `profile latency [wakes]`: the wake-up latency of an idle loop, printed
//! as its median and p99 in µs (for `strace -c` or `perf trace`).
//!
//! For W3, profile with `n` = 1000 or with `MALLOC_TRIM_THRESHOLD_` set
//! high: from `n` = 10,000 up, glibc trims the heap after each round frees
//! its futures, and a third of the time goes to faulting the pages back in
//! (see the fifth-session entry of `docs/benchmarks.md`'s history).
use asyncio_benches::{sync, w1_expected};

fn main() {
    let mut arguments = std::env::args().skip(1);
    let workload = arguments.next().unwrap_or_default();
    let rounds: usize = arguments.next().and_then(|r| r.parse().ok()).unwrap_or(200);
    let n: usize = arguments
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    if workload == "latency" {
        let mut latencies = asyncio_benches::wake_latency_asyncio(rounds);
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize] / 1e3;
        println!("median {:.1} µs, p99 {:.1} µs", at(0.5), at(0.99));
        return;
    }
    let event_loop = if workload == "timers" || workload == "sleepers" || workload == "cancel" {
        asyncio_loop::EventLoop::with_clock(&asyncio_loop::ManualClock::new())
    } else {
        asyncio_loop::EventLoop::new()
    };
    for _ in 0..rounds {
        let (got, expected) = match workload.as_str() {
            "w1" => (
                asyncio_benches::w1_asyncio(&event_loop, n),
                asyncio_benches::w1_expected(n),
            ),
            "w2" => (asyncio_benches::w2_asyncio(&event_loop, n), n * (n - 1) / 2),
            "w4" => (
                asyncio_benches::w4_asyncio(&event_loop, n),
                asyncio_benches::w1_expected(n),
            ),
            "w5" => (asyncio_benches::w5_asyncio(&event_loop, n), n * (n - 1) / 2),
            "timers" => (
                asyncio_benches::timers_asyncio(&event_loop, n),
                asyncio_benches::w1_expected(n),
            ),
            "sleepers" => (
                asyncio_benches::sleepers_asyncio(&event_loop, n),
                asyncio_benches::w1_expected(n),
            ),
            "timers-floor" => (
                asyncio_benches::timers_floor(n),
                asyncio_benches::w1_expected(n),
            ),
            "cancel" => (asyncio_benches::timers_cancel_asyncio(&event_loop, n), n),
            "cancel-floor" => (asyncio_benches::timers_cancel_floor(n), n),
            "queue" => (sync::queue_asyncio(&event_loop, n, 0), w1_expected(n)),
            "queue-16" => (
                sync::queue_asyncio(&event_loop, n, sync::BOUND),
                w1_expected(n),
            ),
            "lock" => (sync::lock_asyncio(&event_loop, n, n), w1_expected(n)),
            "handoff" => (
                sync::lock_asyncio(&event_loop, n, sync::HANDOFF_TASKS),
                w1_expected(n),
            ),
            _ => (
                asyncio_benches::w3_asyncio(&event_loop, n),
                asyncio_benches::w3_expected(n),
            ),
        };
        asyncio_benches::check_work(&workload, got, expected);
    }
}
