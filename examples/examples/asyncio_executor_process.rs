//! Blocking calls in worker processes: the port of
//! `asyncio_executor_process.py`.
//!
//! A `ProcessPool` of three workers runs the registered function `blocks`
//! six times, three at a time. The workers are copies of this program:
//! `serve_if_worker` at the top of `main` makes a copy started by the pool
//! serve jobs instead of running the example. Each line is logged as the
//! chapter's `logging` format does, to stderr: the process id in 5
//! columns, the logger's name in 18, so the `blocks` lines show which
//! worker ran them.
// end of header

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use asyncio::{serve_if_worker, EventLoop, LoopHandle, ProcessPool, Registry};

/// `logging.getLogger(name).info(message)` with the chapter's format, in
/// one write, as `logging` writes a record: the workers share stderr, and
/// `eprintln!` writes its pieces one by one.
fn log(name: &str, message: &str) {
    let line = format!("PID {:>5} {name:>18}: {message}\n", std::process::id());
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn blocks(n: u64) -> u64 {
    let name = format!("blocks({n})");
    log(&name, "running");
    std::thread::sleep(Duration::from_millis(100));
    log(&name, "done");
    n * n
}

async fn run_blocking_tasks(
    event_loop: LoopHandle,
    pool: ProcessPool,
) -> Result<(), Box<dyn Error>> {
    let name = "run_blocking_tasks";
    log(name, "starting");
    log(name, "creating executor tasks");
    let blocking_tasks = (0..6u64)
        .map(|n| {
            let pool = pool.clone();
            event_loop.create_task(async move { pool.submit::<u64, u64>("blocks", &n).await })
        })
        .collect::<Result<Vec<_>, _>>()?;
    log(name, "waiting for executor tasks");
    let mut results = Vec::new();
    for task in blocking_tasks {
        results.push(task.await?);
    }
    log(name, &format!("results: {results:?}"));
    log(name, "exiting");
    pool.shutdown().await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut registry = Registry::new();
    registry.register("blocks", blocks);
    // In a worker the pool started, this serves jobs and never returns.
    serve_if_worker(&registry);

    let event_loop = EventLoop::new();
    let pool = ProcessPool::new(&event_loop, 3);
    let outcome = event_loop.run_until_complete(run_blocking_tasks(event_loop.handle(), pool));
    event_loop.close()?;
    outcome?
}
