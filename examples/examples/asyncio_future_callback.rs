//! Future callbacks: the port of `asyncio_future_callback.py`.
//!
//! Done-callbacks run in the order they were added, each receiving the
//! future; `partial` binds the extra argument, as `functools.partial` does.
// end of header

use std::error::Error;

use asyncio::{partial, EventLoop, Future};

fn callback(future: &Future<String>, n: u32) {
    match future.result() {
        Ok(result) => println!("{n}: future done: {result}"),
        Err(error) => println!("{n}: future failed: {error}"),
    }
}

async fn register_callbacks(all_done: &Future<String>) -> Result<(), Box<dyn Error>> {
    println!("registering callbacks on future");
    all_done.add_done_callback(partial(callback, 1))?;
    all_done.add_done_callback(partial(callback, 2))?;
    Ok(())
}

async fn main_coroutine(all_done: Future<String>) -> Result<(), Box<dyn Error>> {
    register_callbacks(&all_done).await?;
    println!("setting result of future");
    all_done.set_result("the result".to_owned())?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let all_done = event_loop.create_future();
    let outcome = event_loop.run_until_complete(main_coroutine(all_done));
    event_loop.close()?;
    outcome?
}
