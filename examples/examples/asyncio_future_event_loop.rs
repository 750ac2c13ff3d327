//! Waiting for a future: the port of `asyncio_future_event_loop.py`.
//!
//! A callback queued with `call_soon` sets the future's result, and
//! `run_until_complete` runs the loop until it has one.
// end of header

use std::error::Error;

use asyncio::{EventLoop, Future};

fn mark_done(future: &Future<String>, result: &str) {
    println!("setting future result to '{result}'");
    if let Err(error) = future.set_result(result.to_owned()) {
        println!("could not set the result: {error}");
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let all_done = event_loop.create_future();

    // Python's try/finally: close the loop whatever `run` returns.
    let outcome = run(&event_loop, &all_done);
    println!("closing event loop");
    event_loop.close()?;
    outcome?;

    // The future keeps its result after the loop is closed.
    println!("future result: '{}'", all_done.result()?);
    Ok(())
}

fn run(event_loop: &EventLoop, all_done: &Future<String>) -> Result<(), Box<dyn Error>> {
    println!("scheduling mark_done");
    let future = all_done.clone();
    event_loop.call_soon(move || mark_done(&future, "the result"))?;

    println!("entering event loop");
    let result = event_loop.run_until_complete(all_done)?;
    println!("returned result: '{result}'");
    Ok(())
}
