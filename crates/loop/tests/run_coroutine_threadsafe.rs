//! `run_coroutine_threadsafe` and `to_thread`: CPython's
//! `RunCoroutineThreadsafeTests` (test_tasks.py) and `ToThreadTests`
//! (test_threads.py), where they apply. Each test runs the loop on this
//! thread and the submitting side on another, under a watchdog.

mod support;
use support::watchdog;

use std::time::Duration;

use asyncio_core::{FutureError, Panic};
use asyncio_loop::{
    get_running_loop, to_thread, ConcurrentFuture, EventLoop, LoopError, ThreadsafeHandle,
};

/// CPython's `add`: sleeps, then adds, fails, or cancels itself.
async fn add(a: u32, b: u32, fail: bool, cancel: bool) -> Result<u32, LoopError> {
    let event_loop = get_running_loop()?;
    event_loop.sleep(0.05).await?;
    if fail {
        return Err(FutureError::from(asyncio_core::Exception::msg("Fail!")).into());
    }
    if cancel {
        asyncio_loop::current_task().unwrap().cancel();
        event_loop.sleep(0.0).await?;
    }
    Ok(a + b)
}

/// Runs the loop until `target`, on another thread with a handle to it,
/// returns (and stops the loop, also if it panics).
fn on_another_thread<R: Send + 'static>(
    target: impl FnOnce(&ThreadsafeHandle) -> R + Send + 'static,
) -> R {
    let _watchdog = watchdog(60);
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let worker = std::thread::spawn(move || {
        struct StopOnDrop(ThreadsafeHandle);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                let _ = self.0.stop();
            }
        }
        let stop = StopOnDrop(remote);
        target(&stop.0)
    });
    event_loop.run_forever().unwrap();
    let outcome = worker.join();
    event_loop.close().unwrap();
    outcome.unwrap()
}

/// CPython's `target`: submits `add(1, 2)`, waits for it with `timeout`,
/// and cancels it if it did not end.
fn target(
    remote: &ThreadsafeHandle,
    fail: bool,
    cancel: bool,
    timeout: Option<Duration>,
) -> Result<u32, LoopError> {
    let future = remote
        .run_coroutine_threadsafe(move || add(1, 2, fail, cancel))
        .unwrap();
    if let Some(timeout) = timeout {
        if !future.wait_timeout(timeout) {
            assert!(future.cancel());
            return Err(LoopError::from(FutureError::cancellation(Some(
                "timed out",
            ))));
        }
    }
    future.result()
}

/// `test_run_coroutine_threadsafe`.
#[test]
fn a_coroutine_submitted_from_another_thread_gives_its_result() {
    let result = on_another_thread(|remote| target(remote, false, false, None));
    assert_eq!(result.unwrap(), 3);
}

/// `test_run_coroutine_threadsafe_with_exception`.
#[test]
fn its_failure_comes_back() {
    let error = on_another_thread(|remote| target(remote, true, false, None)).unwrap_err();
    assert_eq!(error.exception().unwrap().to_string(), "Fail!");
}

/// `test_run_coroutine_threadsafe_with_timeout`: the thread stops waiting
/// and cancels; the task, cancelled on the loop, ends cancelled.
#[test]
fn a_wait_that_times_out_cancels_the_task() {
    let (error, cancelled) = on_another_thread(|remote| {
        let future = remote
            .run_coroutine_threadsafe(|| async {
                get_running_loop()?.sleep(10.0).await?;
                Ok::<_, LoopError>(1)
            })
            .unwrap();
        assert!(!future.wait_timeout(Duration::from_millis(20)));
        assert!(future.cancel());
        assert!(!future.cancel(), "cancelled once");
        // The loop side sees the cancellation: a second coroutine reads it.
        let seen = remote
            .run_coroutine_threadsafe(|| async {
                let event_loop = get_running_loop()?;
                event_loop.sleep(0.0).await?;
                let tasks = asyncio_loop::all_tasks();
                Ok::<_, LoopError>(tasks.iter().filter(|task| task.cancelling() > 0).count())
            })
            .unwrap()
            .result();
        (future.result().unwrap_err(), seen)
    });
    assert!(error.is_cancelled());
    assert_eq!(cancelled.unwrap(), 0, "the cancelled task is gone");
}

/// `test_run_coroutine_threadsafe_task_cancelled`: a task cancelled on the
/// loop's side cancels the future.
#[test]
fn a_task_cancelled_on_the_loop_cancels_the_future() {
    let error = on_another_thread(|remote| target(remote, false, true, None)).unwrap_err();
    assert!(error.is_cancelled(), "{error:?}");
}

/// `test_run_coroutine_threadsafe_task_factory_exception`-like: a panic
/// making the coroutine is the future's exception.
#[test]
fn a_panic_making_the_coroutine_is_the_futures_exception() {
    let error = on_another_thread(|remote| {
        remote
            .run_coroutine_threadsafe(|| -> std::future::Ready<Result<u8, LoopError>> {
                panic!("no coroutine")
            })
            .unwrap()
            .result()
    })
    .unwrap_err();
    let panic = error.exception().unwrap().downcast_ref::<Panic>().unwrap();
    assert_eq!(panic.message(), "no coroutine");
}

/// A closed loop refuses; one that closes before the task ends ends the
/// future with the closed error; a future cancelled before the loop ran
/// its submission never runs the coroutine.
#[test]
fn a_closed_loop_refuses_and_closing_ends_the_future() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    let never: ConcurrentFuture<()> = remote
        .run_coroutine_threadsafe(move || async move {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, LoopError>(())
        })
        .unwrap();
    assert!(never.cancel());
    let pending = remote
        .run_coroutine_threadsafe(|| async {
            get_running_loop()?.sleep(3600.0).await?;
            Ok::<_, LoopError>(())
        })
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert!(!pending.done());
    event_loop.close().unwrap();
    assert!(pending.result().unwrap_err().is_closed());
    let refused = remote.run_coroutine_threadsafe(|| async { Ok::<_, LoopError>(()) });
    assert!(refused.unwrap_err().is_closed());
}

/// The future is a Rust future: awaited under another executor.
#[test]
fn the_future_can_be_awaited_under_another_executor() {
    let result = on_another_thread(|remote| {
        let future = remote
            .run_coroutine_threadsafe(|| add(20, 22, false, false))
            .unwrap();
        futures::executor::block_on(future)
    });
    assert_eq!(result.unwrap(), 42);
}

/// test_threads.py `test_to_thread` and `test_to_thread_exception`.
#[test]
fn to_thread_runs_a_blocking_call_and_gives_its_result_or_its_panic() {
    let event_loop = EventLoop::new();
    let (here, there) = event_loop
        .run_until_complete(async {
            let there = to_thread(|| std::thread::current().id()).await?;
            Ok::<_, LoopError>((std::thread::current().id(), there))
        })
        .unwrap()
        .unwrap();
    assert_ne!(here, there);
    let error = event_loop
        .run_until_complete(to_thread(|| -> u8 { panic!("blocking failure") }))
        .unwrap()
        .unwrap_err();
    let panic = error.exception().unwrap().downcast_ref::<Panic>().unwrap();
    assert_eq!(panic.message(), "blocking failure");
    assert!(futures::executor::block_on(to_thread(|| 1))
        .unwrap_err()
        .is_no_running_loop());
}
