//! A cancellation that comes out of a primitive as a `SyncError` (a
//! barrier's wait) is still a cancellation when a coroutine propagates it:
//! the task ends cancelled, and `Timeout` and `wait_for` turn it into a
//! timeout (see `crates/loop/tests/cancellation_errors.rs` for the other
//! error types).

use std::error::Error;
use std::time::Duration;

use asyncio_core::FutureError;
use asyncio_loop::{wait_for, EventLoop, LoopError, ManualClock, Timeout};
use asyncio_sync::{Barrier, SyncError};

/// Waits at a barrier of two that nobody else reaches.
async fn lonely(barrier: Barrier) -> Result<usize, SyncError> {
    let index = barrier.wait().await?;
    Ok(index)
}

fn caused_by_cancellation(error: &LoopError) -> bool {
    error.is_timeout()
        && error
            .source()
            .and_then(|cause| cause.downcast_ref::<FutureError>())
            .is_some_and(FutureError::is_cancelled)
}

#[test]
fn a_task_whose_barrier_wait_was_cancelled_ends_cancelled() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let task = event_loop
        .create_task(lonely(Barrier::new(2).unwrap()))
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    task.cancel_with_message("stop");
    assert!(event_loop
        .run_until_complete(&task)
        .unwrap_err()
        .is_cancelled());
    assert!(task.cancelled());
    assert_eq!(task.result().unwrap_err().cancel_message(), Some("stop"));
}

#[test]
fn a_timeout_block_around_a_barrier_wait_times_out() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let error = event_loop
        .run_until_complete(async {
            let timeout = Timeout::after(1.0)?;
            let error = timeout
                .run(lonely(Barrier::new(2).unwrap()))
                .await
                .unwrap_err();
            Ok::<_, LoopError>(error)
        })
        .unwrap()
        .unwrap();
    assert!(caused_by_cancellation(&error), "{error:?}");
    assert_eq!(event_loop.time(), 1.0);
}

#[test]
fn wait_for_around_a_barrier_wait_times_out() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let error = event_loop
        .run_until_complete(wait_for(lonely(Barrier::new(2).unwrap()), 1.0))
        .unwrap()
        .unwrap_err();
    assert!(caused_by_cancellation(&error), "{error:?}");
}
