//! Scheduling callbacks at a point in time: the port of `asyncio_call_at.py`.
//!
//! `call_at` takes a deadline on the loop's own clock, `time()`: a
//! monotonic clock, unlike the wall clock, which can jump. The values vary
//! from run to run; the order does not.
// end of header

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use asyncio::{EventLoop, LoopHandle};

fn callback(n: u32, event_loop: &LoopHandle) {
    // `{:?}` prints an `f64` as Python's `repr` does: `0.0`, not `0`.
    println!("callback {n} invoked at {:?}", event_loop.time());
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    let now = event_loop.time();
    let wall_clock = SystemTime::now().duration_since(UNIX_EPOCH)?;
    println!("clock time: {:?}", wall_clock.as_secs_f64());
    println!("loop  time: {now:?}");

    println!("registering callbacks");
    let handle = event_loop.clone();
    event_loop.call_at(now + 0.2, move || callback(1, &handle))?;
    let handle = event_loop.clone();
    event_loop.call_at(now + 0.1, move || callback(2, &handle))?;
    let handle = event_loop.clone();
    event_loop.call_soon(move || callback(3, &handle))?;

    event_loop.sleep(1.0).await?;
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
