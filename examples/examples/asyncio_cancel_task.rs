//! Canceling a task: the port of `asyncio_cancel_task.py`.
//!
//! A task cancelled before it ever ran never runs its coroutine; awaiting
//! it gives a cancelled error.
// end of header

use std::error::Error;

use asyncio::{EventLoop, LoopHandle};

async fn task_func() -> String {
    println!("in task_func");
    "the result".to_owned()
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("creating task");
    let task = event_loop.create_task(task_func())?;

    println!("canceling task");
    task.cancel();

    println!("canceled task {task:?}");
    match task.await {
        Err(error) if error.is_cancelled() => println!("caught error from canceled task"),
        Err(error) => return Err(error.into()),
        Ok(result) => println!("task result: '{result}'"),
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
