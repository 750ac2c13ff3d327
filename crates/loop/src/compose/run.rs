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
/// Ctrl-C (Unix), as `asyncio.run` handles it: while `main` runs, a first
/// `SIGINT` cancels `main`'s task: the cancellation reaches `main` at its
/// await, as an error it may clean up after and return (what `main`
/// returns, `run` returns: asyncio raises `KeyboardInterrupt` when the
/// task ends cancelled; a Rust coroutine returns its cancellation as a
/// value instead). A second `SIGINT` stops the loop, and `run` returns an
/// [`is_interrupted`](LoopError::is_interrupted) error after the cleanup
/// above. This handler does not keep
/// a `main` that nothing else can wake from being reported stuck, and is
/// not installed when another loop of the process handles `SIGINT`; once
/// `run` returns, Ctrl-C ends the process again.
///
/// # Errors
///
/// As [`EventLoop::run_until_complete`], for `main`:
/// [`is_another_loop_running`](LoopError::is_another_loop_running) when
/// called from a running loop (asyncio's `RuntimeError`), `main`'s panic as
/// an exception, [`is_stuck`](LoopError::is_stuck); an interrupted error
/// after Ctrl-C.
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
    let task = event_loop.spawn_main(main)?;
    #[cfg(unix)]
    let interrupts = on_ctrl_c(&event_loop, &task);
    let outcome = event_loop.run_until_complete(task);
    // Stopped by a second Ctrl-C (or cancelled unrun by the first).
    #[cfg(unix)]
    let outcome = match outcome {
        Err(error) if interrupts.get() > 0 && (error.is_cancelled() || error.is_stopped()) => {
            Err(LoopError::interrupted())
        }
        outcome => outcome,
    };
    cancel_all_tasks(&event_loop);
    event_loop.shutdown_default_executor();
    // Not running, not closed yet: closing cannot fail here.
    let _ = event_loop.close();
    outcome
}

/// asyncio.run's `_on_sigint`: the first Ctrl-C cancels `main`, the next
/// stops the loop. Returns the count of interrupts seen.
#[cfg(unix)]
fn on_ctrl_c<T: 'static>(
    event_loop: &EventLoop,
    main: &crate::Task<T>,
) -> std::rc::Rc<std::cell::Cell<u32>> {
    let interrupts = std::rc::Rc::new(std::cell::Cell::new(0));
    // Miri runs no signal handler (nor the poller its socket needs).
    if cfg!(miri) || event_loop.handles_signal(libc::SIGINT) {
        return interrupts;
    }
    let (count, main, stopper) = (
        std::rc::Rc::clone(&interrupts),
        main.clone(),
        event_loop.handle(),
    );
    let on_sigint = move || {
        count.set(count.get() + 1);
        if count.get() == 1 && !main.done() {
            main.cancel();
        } else {
            stopper.stop();
        }
    };
    // Another loop handles SIGINT: Ctrl-C is that loop's.
    let _ = event_loop.add_handler(libc::SIGINT, Box::new(on_sigint), true);
    interrupts
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
