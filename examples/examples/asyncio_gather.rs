//! Gathering results: the port of `asyncio_gather.py`.
//!
//! `gather` runs the phases as tasks, made in argument order, and gives
//! their results in that order, whatever order they finish in.
// end of header

use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use asyncio::{gather, EventLoop, FutureError, LoopHandle};

type Phase = Pin<Box<dyn Future<Output = Result<&'static str, FutureError>>>>;

async fn phase1(event_loop: LoopHandle) -> Result<&'static str, FutureError> {
    println!("in phase1");
    event_loop.sleep(2.0).await?;
    println!("done with phase1");
    Ok("phase1 result")
}

async fn phase2(event_loop: LoopHandle) -> Result<&'static str, FutureError> {
    println!("in phase2");
    event_loop.sleep(1.0).await?;
    println!("done with phase2");
    Ok("phase2 result")
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("starting main");
    println!("waiting for phases to complete");
    // Two different coroutine types: boxed, to gather them in one list.
    let phases: [Phase; 2] = [
        Box::pin(phase1(event_loop.clone())),
        Box::pin(phase2(event_loop.clone())),
    ];
    let completed = gather(phases).await?;
    let results: Vec<String> = completed.iter().map(|r| format!("'{r}'")).collect();
    println!("results: [{}]", results.join(", "));
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
