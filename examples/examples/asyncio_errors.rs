//! Which error type a coroutine returns. Any works: a task fails with the
//! coroutine's `Err`, and a cancellation propagated into it with `?` still
//! cancels the task. A coroutine that uses only these crates returns
//! `FutureError`, which `?` takes a `LoopError`, a `SyncError` and a
//! `PutError` into; an application's coroutines return `anyhow::Result` or
//! a `Box<dyn Error + Send + Sync>` (`BoxError`), which take everything.
// end of header

use asyncio::{get_running_loop, BoxError, EventLoop, FutureError, LoopError, Queue, SyncError};

/// Only this workspace's errors: `FutureError`.
async fn transfer(queue: Queue<u32>, amount: u32) -> Result<u32, FutureError> {
    let event_loop = get_running_loop()?; // a LoopError
    event_loop.sleep(0.01).await?; // a FutureError
    queue.put(amount).await?; // a PutError
    Ok(queue.get_nowait()?) // a SyncError
}

/// Anyone's errors too: `BoxError`.
async fn parse_and_wait(text: &str) -> Result<u32, BoxError> {
    let number: u32 = text.parse()?; // a ParseIntError
    get_running_loop()?.sleep(0.01).await?;
    Ok(number)
}

fn main() -> Result<(), LoopError> {
    let event_loop = EventLoop::new();
    let moved = event_loop.run_until_complete(transfer(Queue::new(), 7))?;
    println!("transfer: {moved:?}");

    // Another error keeps its type inside the FutureError.
    let empty: Queue<u32> = Queue::new();
    let error = FutureError::from(empty.get_nowait().unwrap_err());
    let typed = error
        .exception()
        .and_then(|exception| exception.downcast_ref::<SyncError>());
    println!(
        "a queue error inside a FutureError: {error} (kind {:?})",
        typed.map(SyncError::kind)
    );

    println!(
        "parse_and_wait(\"12\"): {:?}",
        event_loop.run_until_complete(parse_and_wait("12"))?.ok()
    );
    let failed = event_loop
        .run_until_complete(parse_and_wait("twelve"))?
        .unwrap_err();
    println!("parse_and_wait(\"twelve\"): {failed}");

    // A cancellation inside either error type still cancels the task.
    let task = event_loop.create_task(parse_and_wait("3"))?;
    task.cancel();
    let ended = event_loop.run_until_complete(&task).unwrap_err();
    println!(
        "cancelled: task.cancelled() = {}, error: {ended}",
        task.cancelled()
    );
    Ok(())
}
