//! Waiting for several tasks: the port of `asyncio_wait.py`.
//!
//! `wait` runs the phases as tasks, made in list order, and returns once
//! all are done, with the tasks that are done and those still pending.
// end of header

use std::error::Error;

use asyncio::{wait, EventLoop, FutureError, LoopHandle};

async fn phase(event_loop: LoopHandle, i: u32) -> Result<String, FutureError> {
    println!("in phase {i}");
    event_loop.sleep(0.1 * f64::from(i)).await?;
    println!("done with phase {i}");
    Ok(format!("phase {i} result"))
}

async fn main_coroutine(event_loop: LoopHandle, num_phases: u32) -> Result<(), Box<dyn Error>> {
    println!("starting main");
    let phases: Vec<_> = (0..num_phases)
        .map(|i| phase(event_loop.clone(), i))
        .collect();
    println!("waiting for phases to complete");
    let (completed, _pending) = wait(phases).await?;
    let results = completed
        .iter()
        .map(|task| Ok(format!("'{}'", task.result()?)))
        .collect::<Result<Vec<_>, FutureError>>()?;
    println!("results: [{}]", results.join(", "));
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle(), 3));
    event_loop.close()?;
    outcome?
}
