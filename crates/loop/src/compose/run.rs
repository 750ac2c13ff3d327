//! `run`: asyncio's `asyncio.run()`, and the `futures` spawning traits.

use std::future::{Future as StdFuture, IntoFuture};

use asyncio_core::ExceptionContext;
use futures_task::{FutureObj, LocalFutureObj, LocalSpawn, Spawn, SpawnError};

use crate::{gather, EventLoop, LoopError, LoopHandle, ThreadsafeHandle};

/// Runs `main` on a fresh loop and cleans up after it: asyncio's
/// `asyncio.run()`.
///
/// The loop runs `main` to completion; then every task still pending is
/// cancelled and the loop runs until they are all done (a task that fails
/// other than by its cancellation is reported to the exception handler,
/// as `asyncio.run` reports it); then the default executor is shut down
/// (its threads joined) and the loop closed. `main`'s outcome is returned.
///
/// # Errors
///
/// As [`EventLoop::run_until_complete`], for `main`:
/// [`is_another_loop_running`](LoopError::is_another_loop_running) when
/// called from a running loop (asyncio's `RuntimeError`), `main`'s panic as
/// an exception, [`is_stuck`](LoopError::is_stuck).
///
/// # Examples
///
/// ```
/// use asyncio_loop::get_running_loop;
///
/// let answer = asyncio_loop::run(async {
///     let event_loop = get_running_loop()?;
///     // Left running when main returns: cancelled by `run`.
///     event_loop.create_task(event_loop.sleep(3600.0))?;
///     event_loop.sleep(0.01).await?;
///     Ok::<_, asyncio_loop::LoopError>(42)
/// })
/// .unwrap()
/// .unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn run<F>(main: F) -> Result<F::Output, LoopError>
where
    F: StdFuture + 'static,
{
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main);
    if outcome
        .as_ref()
        .is_err_and(|error| error.is_another_loop_running())
    {
        return outcome;
    }
    cancel_all_tasks(&event_loop);
    event_loop.shutdown_default_executor();
    // Not running, not closed yet: closing cannot fail here.
    let _ = event_loop.close();
    outcome
}

/// asyncio's `_cancel_all_tasks`: cancel what is left, let it finish, and
/// report failures that were not the cancellation.
fn cancel_all_tasks(event_loop: &EventLoop) {
    let left = event_loop.all_tasks();
    if left.is_empty() {
        return;
    }
    for task in &left {
        task.cancel();
    }
    let waited: Vec<_> = left
        .iter()
        .map(|task| task.done_future().wait_take())
        .collect();
    let _ = event_loop.run_until_complete(gather(waited).return_exceptions().into_future());
    for task in &left {
        if let Some(exception) = task.failure() {
            event_loop.call_exception_handler(
                ExceptionContext::new("unhandled exception during asyncio.run() shutdown")
                    .with_future(format!("{task:?}"))
                    .with_exception(exception),
            );
        }
    }
}

impl LocalSpawn for LoopHandle {
    /// Spawns `future` as a task of this loop ([`LoopHandle::create_task`]),
    /// so that crates written against `futures`' spawning traits run here.
    fn spawn_local_obj(&self, future: LocalFutureObj<'static, ()>) -> Result<(), SpawnError> {
        spawn_detached(self, future)
    }

    fn status_local(&self) -> Result<(), SpawnError> {
        status(self.is_closed())
    }
}

impl Spawn for LoopHandle {
    /// Spawns a `Send` future as a task of this loop, as
    /// [`LocalSpawn`] does.
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        spawn_detached(self, future)
    }

    fn status(&self) -> Result<(), SpawnError> {
        status(self.is_closed())
    }
}

impl Spawn for ThreadsafeHandle {
    /// Spawns a `Send` future on the loop from any thread: the task is
    /// made on the loop's thread, by a callback sent with
    /// [`call_soon_threadsafe`](ThreadsafeHandle::call_soon_threadsafe).
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.call_soon_threadsafe(move || {
            if let Ok(event_loop) = crate::get_running_loop() {
                let _ = event_loop.create_task(future);
            }
        })
        .map_err(|_| SpawnError::shutdown())
    }

    fn status(&self) -> Result<(), SpawnError> {
        status(self.is_closed())
    }
}

/// A task nobody holds (the loop keeps it running), as the spawning traits make.
fn spawn_detached<F>(event_loop: &LoopHandle, future: F) -> Result<(), SpawnError>
where
    F: StdFuture<Output = ()> + 'static,
{
    event_loop
        .create_task(future)
        .map(drop)
        .map_err(|_| SpawnError::shutdown())
}

/// The spawning traits' status: a closed loop is shut down.
fn status(closed: bool) -> Result<(), SpawnError> {
    if closed {
        Err(SpawnError::shutdown())
    } else {
        Ok(())
    }
}
