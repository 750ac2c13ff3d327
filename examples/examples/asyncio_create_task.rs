//! Starting a task: the port of `asyncio_create_task.py`.
//!
//! `create_task` schedules a coroutine to run concurrently; its first step
//! runs only once `main_coroutine` suspends, at its `await` of the task.
//! The task's `Debug` is asyncio's repr, with the coroutine's name.
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
    println!("waiting for {task:?}");
    let return_value = (&task).await?;
    println!("task completed {task:?}");
    println!("return value: '{return_value}'");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
