//! Chaining coroutines without `async`: the second rendering of
//! `asyncio_coroutine_chain.py`, standing in for `asyncio_generator.py`.
//!
//! Python's pre-3.5 style built coroutines from generators and `yield from`
//! (and 3.11 removed its decorator). Rust's older style is the one before
//! `async fn`: futures built from combinators, each step a closure that
//! returns the next future. The loop runs them the same way, and the
//! program prints what the `async` version prints.
// end of header

use std::error::Error;
use std::future::Future;

use asyncio::EventLoop;
use futures::future::{self, FutureExt};

fn outer() -> impl Future<Output = (String, String)> {
    future::lazy(|_| {
        println!("in outer");
        println!("waiting for result1");
    })
    .then(|()| phase1())
    .then(|result1| {
        println!("waiting for result2");
        phase2(result1.clone()).map(move |result2| (result1, result2))
    })
}

fn phase1() -> impl Future<Output = String> {
    future::lazy(|_| {
        println!("in phase1");
        "result1".to_owned()
    })
}

fn phase2(arg: String) -> impl Future<Output = String> {
    future::lazy(move |_| {
        println!("in phase2");
        format!("result2 derived from {arg}")
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(outer());
    event_loop.close()?;
    let (result1, result2) = outcome?;
    println!("return value: ('{result1}', '{result2}')");
    Ok(())
}
