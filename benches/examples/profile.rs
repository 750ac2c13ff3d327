//! Runs one workload in a loop, for a profiler: `profile w2|w3`.
fn main() {
    let workload = std::env::args().nth(1).unwrap_or_default();
    let event_loop = asyncio_loop::EventLoop::new();
    for _ in 0..200 {
        match workload.as_str() {
            "w2" => {
                asyncio_benches::w2_asyncio(&event_loop, 10_000);
            }
            _ => asyncio_benches::w3_asyncio(&event_loop, 10_000),
        }
    }
}
