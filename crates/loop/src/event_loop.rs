//! `EventLoop`, the owner: it makes the loop, runs it, and closes it when
//! dropped. Its other operations are [`LoopHandle`]'s, which it
//! dereferences to.

use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use asyncio_core::{Awaitable, Future, IntoAwaitable};

use crate::clock::{Clock, ManualClock};
use crate::loop_handle::LoopHandle;
use crate::shared::{registry, Shared};
use crate::task::{coroutine_label, run_task_on};
use crate::LoopError;

/// A single-threaded event loop: asyncio's loop, without I/O (yet).
///
/// Callbacks queued with [`call_soon`](LoopHandle::call_soon) run in FIFO order,
/// one iteration at a time: an iteration runs exactly the callbacks that
/// were queued when it began, and anything queued meanwhile runs in the
/// next. [`run_until_complete`](Self::run_until_complete) runs iterations
/// until a future or a coroutine is done and returns its result;
/// [`run_forever`](Self::run_forever) until [`stop`](LoopHandle::stop).
///
/// `EventLoop` owns the loop: it is not `Send`, it runs the loop, and
/// dropping it drops every queued callback and task without running any.
/// Everything else the loop does (scheduling, tasks, futures, time, threads,
/// the exception handler) is [`LoopHandle`]'s, which `EventLoop`
/// dereferences to: `event_loop.call_soon(..)` is
/// [`LoopHandle::call_soon`]. Callbacks and coroutines that need the loop
/// capture a `LoopHandle` (from [`handle`](Self::handle)), which refers to
/// it weakly, so nothing a callback captures can keep the loop alive.
///
/// A panic inside a callback or a task does not stop the loop: it goes to
/// the exception handler (see [`set_exception_handler`](LoopHandle::set_exception_handler)),
/// and the loop goes on with the next callback.
///
/// # Examples
///
/// The chapter's first example:
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let all_done = event_loop.create_future();
/// let future = all_done.clone();
/// event_loop.call_soon(move || future.set_result("the result").unwrap()).unwrap();
/// let result = event_loop.run_until_complete(&all_done).unwrap();
/// assert_eq!(result, "the result");
/// event_loop.close().unwrap();
/// assert_eq!(all_done.result().unwrap(), "the result");
/// ```
pub struct EventLoop {
    /// The owner's handle: it holds the loop's state strongly.
    handle: LoopHandle,
}

impl EventLoop {
    fn on(shared: Rc<Shared>) -> Self {
        EventLoop {
            handle: LoopHandle::owner(shared),
        }
    }

    /// The loop's state, which the owner's handle holds (`on` makes no
    /// other kind).
    fn shared(&self) -> &Rc<Shared> {
        self.handle
            .owned()
            .expect("an event loop's own handle holds the loop")
    }

    /// Creates an event loop for this thread. Several loops may exist on one
    /// thread, but only one runs at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// assert!(!event_loop.is_running());
    /// assert!(!event_loop.is_closed());
    /// ```
    pub fn new() -> Self {
        EventLoop::on(Shared::new(Clock::System))
    }

    /// Creates an event loop whose time is `clock`'s: it never sleeps for
    /// real, its time moves only when the clock is advanced, or, when
    /// nothing is ready to run, jumps to the next timer's deadline. For
    /// tests of timed code, which then run in no time and in exact order
    /// (see [`ManualClock`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// for delay in [3.0, 1.0, 2.0] {
    ///     let log = log.clone();
    ///     event_loop.call_later(delay, move || log.borrow_mut().push(delay)).unwrap();
    /// }
    /// let handle = event_loop.handle();
    /// event_loop.call_later(10.0, move || handle.stop()).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), [1.0, 2.0, 3.0]);
    /// assert_eq!(event_loop.time(), 10.0);
    /// ```
    pub fn with_clock(clock: &ManualClock) -> Self {
        EventLoop::on(Shared::new(Clock::Manual(clock.clone())))
    }

    /// A weak, cloneable reference to this loop, for callbacks and coroutines.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// handle.call_soon(|| {}).unwrap();
    /// drop(event_loop);
    /// assert!(handle.call_soon(|| {}).unwrap_err().is_closed());
    /// ```
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// Runs iterations until `awaitable` is done and returns its result.
    ///
    /// `awaitable` is a `&Future<T>` of this loop, or any
    /// `std::future::Future` (an `async fn` call, an `async` block), which is
    /// wrapped in a task whose first step is queued behind everything already
    /// queued, as asyncio wraps a coroutine. Once the future is done, the loop
    /// finishes the iteration after the one that completed it, so
    /// done-callbacks queued at completion still run before this returns.
    ///
    /// Unlike CPython, a stop queued for a future that completed in a run
    /// that was stopped early never stops a later run (CPython's "stale stop").
    ///
    /// # A future nothing can complete
    ///
    /// Where asyncio would wait forever, this returns
    /// [`is_stuck`](LoopError::is_stuck): when the loop would wait with
    /// nothing ready, no pending timer, and nothing outside it that could
    /// bring it work. Outside means another thread holding a
    /// [`ThreadsafeHandle`](crate::ThreadsafeHandle) or a [`Completer`](crate::Completer) (every
    /// [`run_in_executor`](LoopHandle::run_in_executor) job holds one), or a waker
    /// of one of its tasks held by anything but this thread's
    /// [`Future`]s (another crate's channel, timer or I/O source). A waker
    /// that one of our futures holds does not count: only code the loop runs
    /// could complete such a future, and the loop has none left to run. The
    /// rule errs towards waiting: a waker that a combinator wraps in its own
    /// (`FuturesUnordered`) counts as outside, and dropping an outside waker
    /// does not wake the loop to look again (dropping the last
    /// `ThreadsafeHandle` does). The future stays pending, the loop can run it
    /// again, and tasks that were waiting still wait.
    ///
    /// # Errors
    ///
    /// - the future's exception or cancellation, as
    ///   [`future_error`](LoopError::future_error); a coroutine that
    ///   panicked gives its [`Panic`](asyncio_core::Panic) as the exception;
    /// - [`is_stopped`](LoopError::is_stopped) when the loop was stopped
    ///   first (the future stays pending and can be run again);
    /// - [`is_stuck`](LoopError::is_stuck) when nothing could ever complete
    ///   it (above);
    /// - [`is_closed`](LoopError::is_closed), [`is_running`](LoopError::is_running),
    ///   [`is_another_loop_running`](LoopError::is_another_loop_running);
    /// - [`is_foreign_future`](LoopError::is_foreign_future) for a future of
    ///   another loop, or of none.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let answer = event_loop.run_until_complete(async { 6 * 7 }).unwrap();
    /// assert_eq!(answer, 42);
    /// ```
    pub fn run_until_complete<A>(&self, awaitable: A) -> Result<A::Output, LoopError>
    where
        A: IntoAwaitable,
        A::Output: 'static,
    {
        let shared = self.shared();
        shared.check_can_run()?;
        match awaitable.into_awaitable() {
            Awaitable::Future { future, read } => {
                if !shared.owns(&future) {
                    return Err(LoopError::foreign_future());
                }
                shared.run_until_done(future, read)
            }
            Awaitable::Coroutine(coroutine) => {
                let task = run_task_on(shared, coroutine, coroutine_label::<A>)?;
                shared.run_until_done(task.future().clone(), Future::take_result)
            }
        }
    }

    /// Runs iterations until [`stop`](LoopHandle::stop) is called. At least one
    /// iteration always runs: stopping before this call runs exactly one.
    ///
    /// When nothing is queued and no stop is pending, the loop waits in the
    /// operating system's readiness poller (as asyncio blocks in `select`)
    /// until its next timer is due or another thread wakes one of its tasks,
    /// using no CPU meanwhile. A loop on a [`ManualClock`] jumps to the next
    /// deadline instead.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed), [`is_running`](LoopError::is_running)
    /// (called from one of its own callbacks), or
    /// [`is_another_loop_running`](LoopError::is_another_loop_running).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// event_loop.call_soon(move || handle.stop()).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert!(!event_loop.is_running());
    /// ```
    pub fn run_forever(&self) -> Result<(), LoopError> {
        self.shared().run_forever()
    }

    /// [`run_forever`](Self::run_forever) that Ctrl-C also ends, as
    /// asyncio's does with a `KeyboardInterrupt` (Unix): while it runs, a
    /// `SIGINT` stops the loop (in the iteration after the loop reads it),
    /// and this returns an [`is_interrupted`](LoopError::is_interrupted)
    /// error, so that the program can shut down cleanly (close its
    /// servers, then the loop). A `stop()` ends it with `Ok(())`. A
    /// `SIGINT` handler this loop already has is used instead (it decides);
    /// otherwise the handler is removed on return, and Ctrl-C ends the
    /// process again.
    ///
    /// # Errors
    ///
    /// As [`run_forever`](Self::run_forever); an interrupted error after
    /// Ctrl-C; [`LoopErrorKind::Signal`](crate::LoopErrorKind::Signal) when
    /// another loop of the process handles `SIGINT`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// // ... start a server ...
    /// match event_loop.run_forever_interruptible() {
    ///     Err(error) if error.is_interrupted() => println!("closing"),
    ///     other => other.unwrap(),
    /// }
    /// // ... close the server, then the loop ...
    /// ```
    #[cfg(unix)]
    pub fn run_forever_interruptible(&self) -> Result<(), LoopError> {
        if self.handles_signal(libc::SIGINT) {
            return self.run_forever();
        }
        let interrupted = Rc::new(std::cell::Cell::new(false));
        let (flag, stopper) = (Rc::clone(&interrupted), self.handle());
        let on_sigint = move || {
            flag.set(true);
            stopper.stop();
        };
        self.add_handler(libc::SIGINT, Box::new(on_sigint), true)?;
        let outcome = self.run_forever();
        let _ = self.remove_signal_handler(libc::SIGINT);
        outcome?;
        if interrupted.get() {
            return Err(LoopError::interrupted());
        }
        Ok(())
    }

    /// `main` as the task of [`run`](crate::run), its first step queued.
    pub(crate) fn spawn_main<F>(&self, main: F) -> Result<crate::Task<F::Output>, LoopError>
    where
        F: std::future::Future + 'static,
    {
        let shared = self.shared();
        shared.check_can_run()?;
        run_task_on(shared, Box::pin(main), coroutine_label::<F>)
    }

    /// Runs exactly one iteration, for a host program that owns the thread
    /// (a GUI or a game loop) and drives the loop from its own, as calloop's
    /// `dispatch(timeout)`: if nothing is ready, wait for the next timer or
    /// a wake from another thread, but for at most `timeout` (`Some(ZERO)`
    /// polls without blocking; `None` waits as long as it takes), then run
    /// what is ready. A `stop()` during the iteration is consumed: it ends
    /// this call, as it would end `run_forever`.
    ///
    /// # Errors
    ///
    /// As [`run_forever`](Self::run_forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let ticks = Rc::new(Cell::new(0));
    /// let counter = ticks.clone();
    /// event_loop.call_later(Duration::from_millis(20), move || counter.set(1)).unwrap();
    /// // The host's frame loop: poll without blocking until the timer ran.
    /// while ticks.get() == 0 {
    ///     event_loop.run_once(Some(Duration::ZERO)).unwrap();
    ///     // ... draw a frame, read input ...
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// ```
    pub fn run_once(&self, timeout: Option<std::time::Duration>) -> Result<(), LoopError> {
        self.shared().run_one_iteration(timeout)
    }
}

impl Deref for EventLoop {
    type Target = LoopHandle;

    /// The loop's operations: see [`LoopHandle`].
    fn deref(&self) -> &LoopHandle {
        &self.handle
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

impl Drop for EventLoop {
    /// Closes the loop and drops everything queued, running nothing. A panic
    /// in dropping any of it goes to the exception handler, which is dropped
    /// last (a panic in that goes to stderr): nothing unwinds out of here.
    fn drop(&mut self) {
        // Not running: `run_forever` borrows `self` for as long as it runs.
        let shared = self.shared();
        let _ = shared.close();
        shared.take_exception_handler();
        registry::deregister(shared.id);
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<EventLoop running={} closed={}>",
            self.is_running(),
            self.is_closed()
        )
    }
}
