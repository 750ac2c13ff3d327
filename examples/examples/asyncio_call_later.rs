//! Scheduling callbacks with a delay: the port of `asyncio_call_later.py`.
//!
//! `call_later` runs a callback once a delay (seconds, or a `Duration`) has
//! passed; the order callbacks run in follows their deadlines, not the
//! order they were scheduled in, and `call_soon` comes before any delay.
// end of header

use std::error::Error;

use asyncio::{EventLoop, LoopHandle};

fn callback(n: u32) {
    println!("callback {n} invoked");
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("registering callbacks");
    event_loop.call_later(0.2, || callback(1))?;
    event_loop.call_later(0.1, || callback(2))?;
    event_loop.call_soon(|| callback(3))?;
    event_loop.sleep(0.4).await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    println!("entering event loop");
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    println!("closing event loop");
    event_loop.close()?;
    outcome?
}
