//! Blocking calls on a thread pool: the port of `asyncio_executor_thread.py`.
//!
//! `run_in_executor` runs a blocking function on a worker thread and gives
//! a future of its result, which a coroutine awaits without blocking the
//! loop. The pool has at most three workers, so the six calls run three at
//! a time. Each line is logged as the chapter's `logging` format does:
//! the thread's name right-aligned in 10 columns, the logger's name in 18.
// end of header

use std::error::Error;
use std::thread;
use std::time::Duration;

use asyncio::{EventLoop, LoopHandle, ThreadPool};

/// `logging.getLogger(name).info(message)` with the chapter's format.
fn log(name: &str, message: &str) {
    let current = thread::current();
    let thread = current.name().unwrap_or("unnamed");
    println!("{thread:>10} {name:>18}: {message}");
}

fn blocks(n: u64) -> u64 {
    let name = format!("blocks({n})");
    log(&name, "running");
    thread::sleep(Duration::from_millis(100));
    log(&name, "done");
    n * n
}

async fn run_blocking_tasks(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    let name = "run_blocking_tasks";
    log(name, "starting");
    log(name, "creating executor tasks");
    let blocking_tasks = (0..6)
        .map(|n| event_loop.run_in_executor(move || blocks(n)))
        .collect::<Result<Vec<_>, _>>()?;
    log(name, "waiting for executor tasks");
    let mut results = Vec::new();
    for task in &blocking_tasks {
        results.push(task.wait().await?);
    }
    log(name, &format!("results: {results:?}"));
    log(name, "exiting");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    // Python passes `ThreadPoolExecutor(max_workers=3)` to each call; here
    // it becomes the loop's default executor.
    event_loop.set_default_executor(ThreadPool::new(3))?;
    let outcome = event_loop.run_until_complete(run_blocking_tasks(event_loop.handle()));
    // Closing joins the pool's workers: no thread outlives the loop.
    event_loop.close()?;
    outcome?
}
