//! Scheduling a callback "soon": the port of `asyncio_call_soon.py`.
//!
//! `call_soon` queues a plain function to run on the next iteration of the
//! loop. Arguments are captured by the closure, or bound beforehand with
//! `partial`, as `functools.partial` binds a keyword argument.
// end of header

use std::error::Error;

use asyncio::{partial, EventLoop, LoopHandle};

fn callback(arg: &u32, kwarg: &str) {
    println!("callback invoked with {arg} and {kwarg}");
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("registering callbacks");
    event_loop.call_soon(|| callback(&1, "default"))?;
    let wrapped = partial(callback, "not default");
    event_loop.call_soon(move || wrapped(&2))?;
    event_loop.sleep(0.1).await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    println!("entering event loop");
    // Python's try/finally: close the loop whatever the coroutine returns.
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    println!("closing event loop");
    event_loop.close()?;
    outcome?
}
