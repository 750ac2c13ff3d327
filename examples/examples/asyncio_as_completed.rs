//! Results as they come: the port of `asyncio_as_completed.py`.
//!
//! `as_completed` runs the phases as tasks, made in list order, and is a
//! stream of their results in the order they finish.
// end of header

use std::error::Error;

use asyncio::{as_completed, EventLoop, FutureError, LoopHandle};
use futures::StreamExt;

async fn phase(event_loop: LoopHandle, i: u32) -> Result<String, FutureError> {
    println!("in phase {i}");
    event_loop.sleep(0.5 - 0.1 * f64::from(i)).await?;
    println!("done with phase {i}");
    Ok(format!("phase {i} result"))
}

async fn main_coroutine(
    event_loop: LoopHandle,
    num_phases: u32,
) -> Result<Vec<String>, Box<dyn Error>> {
    println!("starting main");
    let phases: Vec<_> = (0..num_phases)
        .map(|i| phase(event_loop.clone(), i))
        .collect();
    println!("waiting for phases to complete");
    let mut results = Vec::new();
    let mut completed = as_completed(phases)?;
    while let Some(answer) = completed.next().await {
        let answer = answer?;
        println!("received answer '{answer}'");
        results.push(answer);
    }
    let shown: Vec<String> = results.iter().map(|r| format!("'{r}'")).collect();
    println!("results: [{}]", shown.join(", "));
    Ok(results)
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle(), 3));
    event_loop.close()?;
    let _results = outcome??;
    Ok(())
}
