//! Tasks from coroutines: the port of `asyncio_ensure_future.py`.
//!
//! `ensure_future` makes a task of a coroutine (and gives a task back as it
//! is). `inner` awaits the task that `starter` made, and `starter` awaits
//! `inner` directly, inside its own task.
// end of header

use std::error::Error;

use asyncio::{EventLoop, LoopHandle, Task};

async fn wrapped() -> String {
    println!("wrapped");
    "result".to_owned()
}

async fn inner(task: Task<String>) -> Result<(), Box<dyn Error>> {
    println!("inner: starting");
    println!("inner: waiting for {task:?}");
    let result = task.await?;
    println!("inner: task returned '{result}'");
    Ok(())
}

async fn starter(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("starter: creating task");
    let task = event_loop.ensure_future(wrapped())?;
    println!("starter: waiting for inner");
    inner(task).await?;
    println!("starter: inner returned");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    println!("entering event loop");
    let outcome = event_loop.run_until_complete(starter(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
