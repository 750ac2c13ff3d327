//! Canceling a task while it waits: the port of `asyncio_cancel_task2.py`.
//!
//! A plain callback cancels the task while it sleeps. The sleep ends with
//! a cancelled error; the coroutine reports it and propagates it with `?`,
//! so the task ends cancelled, and `main_coroutine`, awaiting it, sees that.
// end of header

use std::error::Error;

use asyncio::{EventLoop, FutureError, LoopHandle, Task};

async fn task_func(event_loop: LoopHandle) -> Result<&'static str, FutureError> {
    println!("in task_func, sleeping");
    if let Err(error) = event_loop.sleep(1.0).await {
        if error.is_cancelled() {
            println!("task_func was canceled");
        }
        return Err(error);
    }
    Ok("the result")
}

fn task_canceller(task: &Task<&'static str>) {
    println!("in task_canceller");
    task.cancel();
    println!("canceled the task");
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    println!("creating task");
    let task = event_loop.create_task(task_func(event_loop.clone()))?;
    let target = task.clone();
    event_loop.call_soon(move || task_canceller(&target))?;
    match task.await {
        Err(error) if error.is_cancelled() => println!("main() also sees task as canceled"),
        Err(error) => return Err(error.into()),
        Ok(_) => {}
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
