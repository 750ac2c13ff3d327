//! A cancellation propagated with `?` into whatever error type a coroutine
//! returns is still a cancellation: for tasks, `TaskGroup`, `wait_for`,
//! `Timeout` and `run`, and for each error type a coroutine may return
//! (`FutureError`, `LoopError`, a `Box<dyn Error + Send + Sync>`,
//! `anyhow::Error` with and without context; `SyncError` in
//! `crates/sync/tests/cancellation_errors.rs`).

use std::cell::RefCell;
use std::error::Error;
use std::rc::Rc;

use asyncio_core::{BoxError, FutureError};
use asyncio_loop::{
    wait_for, EventLoop, LoopError, LoopHandle, ManualClock, Task, TaskGroup, Timeout,
};

fn manual() -> (EventLoop, LoopHandle) {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    (event_loop, handle)
}

fn assert_timeout_caused_by_cancellation(error: &LoopError) {
    assert!(error.is_timeout(), "{error:?}");
    let cause = error.source().expect("the timeout's source");
    let cause = cause.downcast_ref::<FutureError>().expect("a FutureError");
    assert!(cause.is_cancelled());
}

macro_rules! for_error_type {
    ($name:ident, $error:ty, $convert:expr) => {
        mod $name {
            use super::*;

            type E = $error;

            /// Sleeps, propagating the sleep's error converted into `E`.
            async fn sleeper(handle: LoopHandle, seconds: f64) -> Result<u32, E> {
                let convert: fn(FutureError) -> E = $convert;
                handle.sleep(seconds).await.map_err(convert)?;
                Ok(1)
            }

            #[test]
            fn a_cancelled_task_ends_cancelled() {
                let (event_loop, handle) = manual();
                let task = event_loop.create_task(sleeper(handle, 10.0)).unwrap();
                event_loop
                    .run_once(Some(std::time::Duration::ZERO))
                    .unwrap();
                assert!(task.cancel_with_message("stop"));
                let error = event_loop.run_until_complete(&task).unwrap_err();
                assert!(error.is_cancelled(), "{error:?}");
                assert!(task.cancelled());
                assert_eq!(task.result().unwrap_err().cancel_message(), Some("stop"));
            }

            #[test]
            fn task_group_siblings_cancelled_by_a_failure_are_not_failures() {
                let (event_loop, handle) = manual();
                let error = event_loop
                    .run_until_complete(async move {
                        TaskGroup::run(|group| async move {
                            group.create_task(sleeper(handle.clone(), 10.0))?;
                            group.create_task(sleeper(handle.clone(), 10.0))?;
                            group.create_task(async move {
                                handle.sleep(1.0).await?;
                                Err::<(), _>(LoopError::from(FutureError::from(
                                    asyncio_core::Exception::msg("boom"),
                                )))
                            })?;
                            Ok::<_, LoopError>(())
                        })
                        .await
                    })
                    .unwrap()
                    .unwrap_err();
                assert_eq!(error.exceptions().len(), 1, "{error:?}");
                assert_eq!(error.exceptions()[0].to_string(), "boom");
            }

            #[test]
            fn wait_for_times_out() {
                let (event_loop, handle) = manual();
                let error = event_loop
                    .run_until_complete(async move { wait_for(sleeper(handle, 10.0), 1.0).await })
                    .unwrap()
                    .unwrap_err();
                assert_timeout_caused_by_cancellation(&error);
                assert_eq!(event_loop.time(), 1.0);
            }

            #[test]
            fn a_timeout_block_times_out() {
                let (event_loop, handle) = manual();
                let (error, expired) = event_loop
                    .run_until_complete(async move {
                        let timeout = Timeout::after(1.0)?;
                        let error = timeout.run(sleeper(handle, 10.0)).await.unwrap_err();
                        Ok::<_, LoopError>((error, timeout.expired()))
                    })
                    .unwrap()
                    .unwrap();
                assert_timeout_caused_by_cancellation(&error);
                assert!(expired);
            }

            #[test]
            fn run_cancels_what_is_left_and_it_ends_cancelled() {
                // `run` reports a leftover task only if it failed.
                let left: Rc<RefCell<Option<Task<u32>>>> = Rc::default();
                let keep = left.clone();
                asyncio_loop::run(async move {
                    let event_loop = asyncio_loop::get_running_loop()?;
                    let task = event_loop.create_task(sleeper(event_loop.clone(), 3600.0))?;
                    *keep.borrow_mut() = Some(task);
                    event_loop.sleep(0.01).await?;
                    Ok::<_, LoopError>(())
                })
                .unwrap()
                .unwrap();
                let task = left.borrow_mut().take().unwrap();
                assert!(task.cancelled(), "{task:?}");
            }
        }
    };
}

for_error_type!(future_error, FutureError, |error| error);
for_error_type!(loop_error, LoopError, LoopError::from);
for_error_type!(boxed, BoxError, |error| Box::new(error) as BoxError);
#[cfg(feature = "anyhow")]
for_error_type!(anyhow_plain, anyhow::Error, anyhow::Error::from);
#[cfg(feature = "anyhow")]
for_error_type!(anyhow_context, anyhow::Error, |error| anyhow::Error::from(
    error
)
.context("while sleeping"));

#[test]
fn a_body_that_turns_the_cancellation_into_another_failure_fails() {
    // asyncio: `except CancelledError: raise ValueError` fails the task
    // with the ValueError.
    let (event_loop, handle) = manual();
    let task = event_loop
        .create_task(async move {
            match handle.sleep(10.0).await {
                Err(_) => Err(anyhow::anyhow!("gave up")),
                Ok(()) => Ok(1),
            }
        })
        .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    task.cancel();
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert!(!task.cancelled());
    assert_eq!(error.exception().unwrap().to_string(), "gave up");
}

#[test]
fn a_task_returning_a_timeout_fails_with_it_and_is_not_cancelled() {
    // The timeout's source is a cancellation; the timeout is not one.
    let (event_loop, handle) = manual();
    let task = event_loop
        .create_task(async move { wait_for(handle.sleep(10.0), 1.0).await })
        .unwrap();
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert!(!task.cancelled(), "{error:?}");
    assert!(error
        .exception()
        .unwrap()
        .downcast_ref::<LoopError>()
        .unwrap()
        .is_timeout());
}
