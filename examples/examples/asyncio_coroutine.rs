//! Starting a coroutine: the port of `asyncio_coroutine.py`.
//!
//! Calling an `async fn` makes a coroutine and runs none of it; the event
//! loop runs it, here with `run_until_complete`, which wraps it in a task.
// end of header

use std::error::Error;

use asyncio::EventLoop;

async fn coroutine() {
    println!("in coroutine");
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    // Python's try/finally: close the loop whatever the run returns.
    let outcome = {
        println!("starting coroutine");
        let coro = coroutine();
        println!("entering event loop");
        event_loop.run_until_complete(coro)
    };
    println!("closing event loop");
    event_loop.close()?;
    outcome?;
    Ok(())
}
