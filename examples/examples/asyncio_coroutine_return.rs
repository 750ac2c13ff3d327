//! Returning values from coroutines: the port of `asyncio_coroutine_return.py`.
//!
//! What the coroutine returns is what `run_until_complete` returns.
// end of header

use std::error::Error;

use asyncio::EventLoop;

async fn coroutine() -> &'static str {
    println!("in coroutine");
    "result"
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(coroutine());
    event_loop.close()?;
    let return_value = outcome?;
    println!("it returned: '{return_value}'");
    Ok(())
}
