//! Runs one workload in a loop, for a profiler: `profile w1|w2|w3|timers|timers-floor [rounds] [n]`
//! (`n` callbacks or round trips per round, 10,000 unless given).
//!
//! For W3, profile with `n` = 1000 or with `MALLOC_TRIM_THRESHOLD_` set
//! high: from `n` = 10,000 up, glibc trims the heap after each round frees
//! its futures, and a third of the time goes to faulting the pages back in
//! (see the fifth-session entry of `docs/benchmarks.md`'s history).
fn main() {
    let mut arguments = std::env::args().skip(1);
    let workload = arguments.next().unwrap_or_default();
    let rounds: usize = arguments.next().and_then(|r| r.parse().ok()).unwrap_or(200);
    let n: usize = arguments
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let event_loop = if workload == "timers" {
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
            "timers" => (
                asyncio_benches::timers_asyncio(&event_loop, n),
                asyncio_benches::w1_expected(n),
            ),
            "timers-floor" => (
                asyncio_benches::timers_floor(n),
                asyncio_benches::w1_expected(n),
            ),
            _ => (
                asyncio_benches::w3_asyncio(&event_loop, n),
                asyncio_benches::w3_expected(n),
            ),
        };
        asyncio_benches::check_work(&workload, got, expected);
    }
}
