//! Chaining coroutines: the port of `asyncio_coroutine_chain.py`.
//!
//! A coroutine awaits others in turn. They run inline, inside the task of
//! `outer`: awaiting a coroutine creates no task of its own.
// end of header

use std::error::Error;

use asyncio::EventLoop;

async fn outer() -> (String, String) {
    println!("in outer");
    println!("waiting for result1");
    let result1 = phase1().await;
    println!("waiting for result2");
    let result2 = phase2(&result1).await;
    (result1, result2)
}

async fn phase1() -> String {
    println!("in phase1");
    "result1".to_owned()
}

async fn phase2(arg: &str) -> String {
    println!("in phase2");
    format!("result2 derived from {arg}")
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(outer());
    event_loop.close()?;
    let (result1, result2) = outcome?;
    println!("return value: ('{result1}', '{result2}')");
    Ok(())
}
