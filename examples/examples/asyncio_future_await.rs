//! Awaiting a future: the port of `asyncio_future_await.py`.
//!
//! The coroutine awaits the future, and `await` hands back its result.
// end of header

use std::error::Error;

use asyncio::{EventLoop, Future, LoopHandle};

fn mark_done(future: &Future<String>, result: &str) {
    println!("setting future result to '{result}'");
    if let Err(error) = future.set_result(result.to_owned()) {
        println!("could not set the result: {error}");
    }
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    let all_done = event_loop.create_future();

    println!("scheduling mark_done");
    let future = all_done.clone();
    event_loop.call_soon(move || mark_done(&future, "the result"))?;

    let result = all_done.await?;
    println!("returned result: '{result}'");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    // The loop wraps the coroutine in a task, as asyncio does.
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
