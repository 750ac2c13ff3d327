//! Waiting with a timeout: the port of `asyncio_wait_timeout.py`.
//!
//! `wait` returns when its timeout passes, cancelling nothing; `main`
//! cancels what is still pending. Each cancelled phase sees the
//! cancellation at its sleep, reports it and propagates it.
// end of header

use std::error::Error;

use asyncio::{wait, EventLoop, FutureError, LoopHandle};

async fn phase(event_loop: LoopHandle, i: u32) -> Result<String, FutureError> {
    println!("in phase {i}");
    if let Err(error) = event_loop.sleep(0.1 * f64::from(i)).await {
        if error.is_cancelled() {
            println!("phase {i} canceled");
        }
        return Err(error);
    }
    println!("done with phase {i}");
    Ok(format!("phase {i} result"))
}

async fn main_coroutine(event_loop: LoopHandle, num_phases: u32) -> Result<(), Box<dyn Error>> {
    println!("starting main");
    let phases: Vec<_> = (0..num_phases)
        .map(|i| phase(event_loop.clone(), i))
        .collect();
    println!("waiting 0.1 for phases to complete");
    let (completed, pending) = wait(phases).timeout(0.1).await?;
    println!(
        "{} completed and {} pending",
        completed.len(),
        pending.len()
    );
    // Cancel the remaining tasks so they do not complete when we exit.
    if !pending.is_empty() {
        println!("canceling tasks");
        for task in &pending {
            task.cancel();
        }
    }
    println!("exiting main");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle(), 3));
    event_loop.close()?;
    outcome?
}
