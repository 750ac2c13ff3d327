//! `?` between the crates' errors: a coroutine that returns `FutureError`
//! takes a `LoopError`, a `SyncError` and a `PutError` with `?`, and a
//! cancellation carried by any of them still cancels its task.

use asyncio_core::FutureError;
use asyncio_loop::{get_running_loop, EventLoop, LoopError, ManualClock};
use asyncio_sync::{Barrier, Lock, Queue, SyncError};

/// Uses each crate once, propagating every error with `?`.
async fn mixed(queue: Queue<u32>, lock: Lock) -> Result<u32, FutureError> {
    let event_loop = get_running_loop()?; // LoopError
    let future = event_loop.create_future::<u32>();
    future.set_result(2)?; // FutureError
    let two = future.await?;
    let _guard = lock.acquire().await?; // FutureError
    queue.put(two).await?; // PutError<u32>
    let got = queue.get_nowait()?; // SyncError
    event_loop.sleep(1.0).await?; // FutureError
    Ok(got + 1)
}

#[test]
fn a_coroutine_returning_future_error_takes_every_crates_error_with_the_question_mark() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let result = event_loop
        .run_until_complete(mixed(Queue::new(), Lock::new()))
        .unwrap()
        .unwrap();
    assert_eq!(result, 3);
}

#[test]
fn a_non_cancellation_keeps_its_type_inside_the_future_error() {
    let queue: Queue<u8> = Queue::new();
    let error = FutureError::from(queue.get_nowait().unwrap_err());
    assert!(!error.is_cancelled());
    assert!(error
        .exception()
        .unwrap()
        .downcast_ref::<SyncError>()
        .is_some());
    let error = FutureError::from(get_running_loop().unwrap_err());
    let loop_error = error
        .exception()
        .unwrap()
        .downcast_ref::<LoopError>()
        .unwrap();
    assert!(loop_error.is_no_running_loop());
}

#[test]
fn a_cancellation_through_a_sync_or_loop_error_cancels_the_task() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let lock = Lock::new();
    let holder = lock.clone();
    let handle = event_loop.handle();
    let waiters = [
        event_loop
            .create_task(async move {
                let _held = holder.acquire().await?;
                handle.sleep(10.0).await?;
                Ok::<_, FutureError>(())
            })
            .unwrap(),
        event_loop
            .create_task(async move {
                // A SyncError carrying the cancellation, converted by `?`.
                let barrier = Barrier::new(2)?;
                barrier.wait().await?;
                Ok::<_, FutureError>(())
            })
            .unwrap(),
    ];
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    for waiter in &waiters {
        assert!(waiter.cancel_with_message("stop"));
    }
    for waiter in &waiters {
        let error = event_loop.run_until_complete(waiter).unwrap_err();
        assert!(error.is_cancelled(), "{error:?}");
        assert!(waiter.cancelled());
    }
}
