//! `EventLoop`, the owner, and `LoopHandle`, the reference callbacks keep.

use std::fmt;
use std::future::Future as StdFuture;
use std::rc::{Rc, Weak};
use std::time::Instant;

use asyncio_core::{ExceptionContext, Future, IntoAwaitable, IntoThunk};

use crate::clock::{self, Clock, Delay, ManualClock, When};
use crate::registry;
use crate::shared::Shared;
use crate::task::{create_task_on, AnyTask, IntoTask, Task, TaskOutput};
use crate::{Completer, Executor, Handle, LoopError, Sleep, ThreadsafeHandle, TimerHandle};

/// A single-threaded event loop: asyncio's loop, without I/O (yet).
///
/// Callbacks queued with [`call_soon`](Self::call_soon) run in FIFO order,
/// one iteration at a time: an iteration runs exactly the callbacks that
/// were queued when it began, and anything queued meanwhile runs in the
/// next. [`run_until_complete`](Self::run_until_complete) runs iterations
/// until a future or a coroutine is done and returns its result;
/// [`run_forever`](Self::run_forever) until [`stop`](Self::stop).
///
/// `EventLoop` owns the loop: it is neither `Clone` nor `Send`, and dropping
/// it drops every queued callback and task without running any. Callbacks and
/// coroutines that need the loop capture a [`LoopHandle`] (from
/// [`handle`](Self::handle)), which refers to it weakly, so nothing a callback
/// captures can keep the loop alive.
///
/// A panic inside a callback or a task does not stop the loop: it goes to
/// the exception handler (see [`set_exception_handler`](Self::set_exception_handler)),
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
    shared: Rc<Shared>,
}

impl EventLoop {
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
        EventLoop {
            shared: Shared::new(Clock::System),
        }
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
        EventLoop {
            shared: Shared::new(Clock::Manual(clock.clone())),
        }
    }

    /// A handle other threads can use to reach this loop: to queue
    /// callbacks ([`call_soon_threadsafe`](ThreadsafeHandle::call_soon_threadsafe))
    /// and to stop it. It is `Send + Sync + Clone`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let remote = event_loop.threadsafe_handle();
    /// std::thread::spawn(move || remote.stop().unwrap()).join().unwrap();
    /// event_loop.run_forever().unwrap(); // stops at once: the stop was queued
    /// ```
    pub fn threadsafe_handle(&self) -> ThreadsafeHandle {
        ThreadsafeHandle::new(std::sync::Arc::clone(self.shared.remote()))
    }

    /// A `Send` completer for `future`, which another thread uses to set its
    /// result or exception (asyncio's `call_soon_threadsafe(future.set_result,
    /// value)`); see [`Completer`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop;
    /// [`is_foreign_future`](LoopError::is_foreign_future) for a future of
    /// another loop.
    pub fn completer<T: Send + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<Completer<T>, LoopError> {
        self.shared.completer(future)
    }

    /// Runs the blocking `call` on a worker thread of the loop's executor
    /// and returns a future of its result (asyncio's `run_in_executor`). A
    /// panic in `call` becomes the future's exception (a
    /// [`Panic`](asyncio_core::Panic)). The default executor is a
    /// [`ThreadPool`](crate::ThreadPool) of `min(32, cores + 4)` threads,
    /// made on first use; [`close`](Self::close) lets its jobs finish and
    /// joins its threads, so none outlives the loop.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let squares: Vec<_> = (0..4u64)
    ///     .map(|n| event_loop.run_in_executor(move || n * n).unwrap())
    ///     .collect();
    /// let all = event_loop
    ///     .run_until_complete(futures::future::join_all(squares.iter().map(|f| f.wait())))
    ///     .unwrap();
    /// let all: Vec<u64> = all.into_iter().map(Result::unwrap).collect();
    /// assert_eq!(all, [0, 1, 4, 9]);
    /// ```
    pub fn run_in_executor<F, T>(&self, call: F) -> Result<Future<T>, LoopError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared.run_in_executor(call)
    }

    /// Makes `executor` the one [`run_in_executor`](Self::run_in_executor)
    /// uses (asyncio's `set_default_executor`); the previous one is shut
    /// down.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop.
    pub fn set_default_executor(&self, executor: impl Executor) -> Result<(), LoopError> {
        self.shared
            .set_default_executor(std::sync::Arc::new(executor))
    }

    /// Lets the default executor's jobs finish and joins its threads
    /// (asyncio's `shutdown_default_executor`, which `close` also does); a
    /// later `run_in_executor` starts a new pool.
    pub fn shutdown_default_executor(&self) {
        self.shared.shutdown_default_executor();
    }

    /// The loop's time in seconds (asyncio's `loop.time()`): a monotonic
    /// clock, counted from a fixed point of this process, or the manual
    /// clock the loop was made with. Deadlines of
    /// [`call_at`](Self::call_at) are on this clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let (before, after) = (event_loop.time(), event_loop.time());
    /// assert!(before <= after);
    /// ```
    pub fn time(&self) -> f64 {
        clock::seconds(self.shared.now())
    }

    /// The loop's time as an `Instant`: [`time`](Self::time) for Rust code.
    pub fn now(&self) -> Instant {
        clock::instant(self.shared.now())
    }

    /// Schedules `callback` to run once `delay` has passed (asyncio's
    /// `call_later`): a `Duration`, or seconds as an `f64`. Timers that
    /// come due join the ready queue after what is already there, in
    /// deadline order, and timers with the same deadline in the order they
    /// were scheduled; a delay of zero runs on the next iteration.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed; the
    /// callback is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// event_loop.call_later(Duration::from_millis(200), move || handle.stop()).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(event_loop.time(), 0.2);
    /// ```
    #[inline]
    pub fn call_later<C: IntoThunk>(
        &self,
        delay: impl Into<Delay>,
        callback: C,
    ) -> Result<TimerHandle, LoopError> {
        let when = self.shared.after(delay.into());
        TimerHandle::schedule(&self.shared, when, callback)
    }

    /// Schedules `callback` to run at `when` (asyncio's `call_at`): seconds
    /// on the loop's clock as an `f64` (`event_loop.time() + 0.2`), or an
    /// `Instant`. A deadline in the past runs on the next iteration.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed; the
    /// callback is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let now = event_loop.time();
    /// let handle = event_loop.handle();
    /// event_loop.call_at(now + 1.5, move || handle.stop()).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(event_loop.time(), now + 1.5);
    /// ```
    #[inline]
    pub fn call_at<C: IntoThunk>(
        &self,
        when: impl Into<When>,
        callback: C,
    ) -> Result<TimerHandle, LoopError> {
        TimerHandle::schedule(&self.shared, when.into().nanos(), callback)
    }

    /// A future that completes `delay` after it is first awaited (asyncio's
    /// `sleep`); see [`Sleep`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// event_loop.run_until_complete(event_loop.sleep(2.0)).unwrap().unwrap();
    /// assert_eq!(event_loop.time(), 2.0);
    /// ```
    pub fn sleep(&self, delay: impl Into<Delay>) -> Sleep {
        Sleep::new(Rc::downgrade(&self.shared), delay.into(), ())
    }

    /// A future that completes with `value` `delay` after it is first
    /// awaited (asyncio's `sleep(delay, result)`); see [`Sleep`].
    pub fn sleep_with<T>(&self, delay: impl Into<Delay>, value: T) -> Sleep<T> {
        Sleep::new(Rc::downgrade(&self.shared), delay.into(), value)
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
        LoopHandle {
            shared: Rc::downgrade(&self.shared),
        }
    }

    /// Queues `callback` to run on a later iteration, after everything
    /// queued before it (asyncio's `call_soon`), and returns a [`Handle`]
    /// that can cancel it.
    ///
    /// Arguments are bound by capture, or with
    /// `asyncio_callbacks::partial`; the callback's return value
    /// is ignored, as in asyncio. A closure of up to three words (an index, a
    /// handle, a future) is stored in the queue itself, so queueing it
    /// allocates nothing in steady state; a larger one is boxed once.
    ///
    /// The handle's `Debug` and the report of a panic name the callback by
    /// its type: a function's path, or for a closure the path of the
    /// function that defines it and `{{closure}}`. Wrap a closure in
    /// [`named`](asyncio_core::named) to give it a readable name, as
    /// [`call_later`](Self::call_later) and [`call_at`](Self::call_at) also
    /// accept (anything [`IntoThunk`]).
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed; the
    /// callback is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::named;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.call_soon(named("greet", || println!("hi"))).unwrap();
    /// assert_eq!(format!("{handle:?}"), "<Handle greet>");
    /// ```
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// for n in 1..=3 {
    ///     let log = log.clone();
    ///     event_loop.call_soon(move || log.borrow_mut().push(n)).unwrap();
    /// }
    /// event_loop.stop();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), [1, 2, 3]);
    /// ```
    #[inline]
    pub fn call_soon<C: IntoThunk>(&self, callback: C) -> Result<Handle, LoopError> {
        let seq = self.shared.call_soon(callback)?;
        Ok(Handle::new(self.shared.id, seq))
    }

    /// Creates a pending future bound to this loop: its done-callbacks run
    /// here, and its unretrieved exception is reported to this loop's
    /// exception handler. Works on a closed loop too, as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let future = event_loop.create_future::<u32>();
    /// assert!(!future.done());
    /// ```
    pub fn create_future<T: 'static>(&self) -> Future<T> {
        self.shared.create_future()
    }

    /// Wraps `coroutine` in a [`Task`] and schedules its first step, which
    /// runs on a later iteration, after what is queued now (asyncio's
    /// `create_task`).
    ///
    /// The coroutine returns a [`TaskOutput`]: a `Result` whose error
    /// fails the task (or cancels it, for a propagated cancellation), or a
    /// plain value.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop (the coroutine
    /// is dropped unrun).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { "the result" }).unwrap();
    /// assert_eq!(event_loop.run_until_complete(&task).unwrap(), "the result");
    /// ```
    pub fn create_task<F>(
        &self,
        coroutine: F,
    ) -> Result<Task<<F::Output as TaskOutput>::Value>, LoopError>
    where
        F: StdFuture + 'static,
        F::Output: TaskOutput,
    {
        create_task_on(&self.shared, coroutine)
    }

    /// asyncio's `ensure_future`: a coroutine becomes a new task (as
    /// [`create_task`](Self::create_task)); a task of this loop is given
    /// back as it is.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop;
    /// [`is_foreign_future`](LoopError::is_foreign_future) for a task of
    /// another loop.
    ///
    /// # Examples
    ///
    /// See [`IntoTask`].
    pub fn ensure_future<A: IntoTask>(&self, awaitable: A) -> Result<Task<A::Value>, LoopError> {
        awaitable.into_task(&self.handle())
    }

    /// The tasks of this loop that are not done, in creation order
    /// (asyncio's `all_tasks`).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert_eq!(event_loop.all_tasks().len(), 1);
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert!(event_loop.all_tasks().is_empty());
    /// ```
    pub fn all_tasks(&self) -> Vec<AnyTask> {
        self.shared.all_tasks()
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
    /// [`ThreadsafeHandle`] or a [`Completer`](crate::Completer) (every
    /// [`run_in_executor`](Self::run_in_executor) job holds one), or a waker
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
        self.shared.run_until_complete(awaitable)
    }

    /// Runs iterations until [`stop`](Self::stop) is called. At least one
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
        self.shared.run_forever()
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
        self.shared.run_one_iteration(timeout)
    }

    /// Asks the loop to stop: the current iteration runs to its end, then
    /// `run_forever` returns. Callbacks queued during that iteration stay
    /// queued for the next run. Idempotent; before a run, it makes that run
    /// a single iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.stop();
    /// event_loop.run_forever().unwrap();
    /// ```
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// Whether the loop is running (true inside its callbacks).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// let seen = Rc::new(Cell::new(false));
    /// let flag = seen.clone();
    /// event_loop.call_soon(move || flag.set(handle.is_running())).unwrap();
    /// event_loop.stop();
    /// event_loop.run_forever().unwrap();
    /// assert!(seen.get() && !event_loop.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.close().unwrap();
    /// assert!(event_loop.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the loop: queued callbacks and pending tasks are dropped
    /// without running, and every later `call_soon` and run fails with
    /// [`is_closed`](LoopError::is_closed). Idempotent. Futures stay
    /// readable: a future completed before keeps its result.
    ///
    /// # Errors
    ///
    /// [`is_running`](LoopError::is_running) when called while the loop runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.call_soon(|| unreachable!()).unwrap();
    /// event_loop.close().unwrap();
    /// event_loop.close().unwrap();
    /// ```
    pub fn close(&self) -> Result<(), LoopError> {
        self.shared.close()
    }

    /// Sets the function that receives errors no caller can: panics in
    /// callbacks and tasks, exceptions nobody retrieved. `None` restores the
    /// default, which prints the context to stderr in asyncio's format. A
    /// handler that panics is reported by the default handler.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let messages = Rc::new(RefCell::new(Vec::new()));
    /// let sink = messages.clone();
    /// event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
    ///     sink.borrow_mut().push(context.exception.as_ref().unwrap().to_string());
    /// }));
    /// event_loop.call_soon(|| panic!("boom")).unwrap();
    /// event_loop.call_soon(|| {}).unwrap();
    /// event_loop.stop();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(*messages.borrow(), ["panicked: boom"]);
    /// ```
    pub fn set_exception_handler<H>(&self, handler: Option<H>)
    where
        H: Fn(&ExceptionContext) + 'static,
    {
        self.shared
            .set_exception_handler(handler.map(|handler| Rc::new(handler) as _));
    }

    /// The exception handler set with
    /// [`set_exception_handler`](Self::set_exception_handler), or `None`
    /// when the default handler is in use (asyncio's
    /// `get_exception_handler`).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// assert!(event_loop.exception_handler().is_none());
    /// event_loop.set_exception_handler(Some(|_: &asyncio_core::ExceptionContext| {}));
    /// let handler = event_loop.exception_handler().unwrap();
    /// handler(&asyncio_core::ExceptionContext::new("called directly"));
    /// ```
    #[doc(alias = "get_exception_handler")]
    pub fn exception_handler(&self) -> Option<crate::ExceptionHandler> {
        self.shared.exception_handler()
    }

    /// Sends `context` to the exception handler, as the loop does for a
    /// panicking callback.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::ExceptionContext;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.set_exception_handler(Some(|context: &ExceptionContext| {
    ///     assert_eq!(context.message, "custom");
    /// }));
    /// event_loop.call_exception_handler(ExceptionContext::new("custom"));
    /// ```
    pub fn call_exception_handler(&self, context: ExceptionContext) {
        self.shared.call_exception_handler(context);
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
        let _ = self.shared.close();
        self.shared.take_exception_handler();
        registry::deregister(self.shared.id);
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

/// A weak, cloneable reference to an [`EventLoop`], for callbacks and
/// coroutines.
///
/// It has the loop's scheduling methods. Once the loop is dropped, the
/// handle behaves as a handle to a closed loop: `call_soon` fails with
/// [`is_closed`](LoopError::is_closed), `stop` does nothing.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let result = event_loop
///     .run_until_complete(async move {
///         let future = handle.create_future();
///         let setter = future.clone();
///         handle.call_soon(move || setter.set_result(7).unwrap()).unwrap();
///         future.await.unwrap()
///     })
///     .unwrap();
/// assert_eq!(result, 7);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Weak<Shared>,
}

impl LoopHandle {
    fn upgrade(&self) -> Result<Rc<Shared>, LoopError> {
        self.shared.upgrade().ok_or_else(LoopError::closed)
    }

    /// The loop's id, while it lives.
    pub(crate) fn id(&self) -> Option<u64> {
        self.shared.upgrade().map(|shared| shared.id)
    }

    /// [`EventLoop::call_soon`] through the handle.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// handle.call_soon(|| {}).unwrap().cancel();
    /// ```
    #[inline]
    pub fn call_soon<C: IntoThunk>(&self, callback: C) -> Result<Handle, LoopError> {
        let shared = self.upgrade()?;
        let seq = shared.call_soon(callback)?;
        Ok(Handle::new(shared.id, seq))
    }

    /// [`EventLoop::create_task`] through the handle.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// let sum = event_loop
    ///     .run_until_complete(async move {
    ///         let first = handle.create_task(async { 1 })?;
    ///         let second = handle.create_task(async { 2 })?;
    ///         Ok::<_, asyncio_loop::LoopError>(first.await? + second.await?)
    ///     })
    ///     .unwrap();
    /// assert_eq!(sum.unwrap(), 3);
    /// ```
    pub fn create_task<F>(
        &self,
        coroutine: F,
    ) -> Result<Task<<F::Output as TaskOutput>::Value>, LoopError>
    where
        F: StdFuture + 'static,
        F::Output: TaskOutput,
    {
        create_task_on(&*self.upgrade()?, coroutine)
    }

    /// [`EventLoop::ensure_future`] through the handle.
    ///
    /// # Errors
    ///
    /// As [`EventLoop::ensure_future`], and [`is_closed`](LoopError::is_closed)
    /// when the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// let task = handle.ensure_future(async { "wrapped" }).unwrap();
    /// assert_eq!(event_loop.run_until_complete(task).unwrap(), "wrapped");
    /// ```
    pub fn ensure_future<A: IntoTask>(&self, awaitable: A) -> Result<Task<A::Value>, LoopError> {
        awaitable.into_task(self)
    }

    /// [`EventLoop::all_tasks`] through the handle (empty once the loop is gone).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// let seen = event_loop
    ///     .run_until_complete(async move { handle.all_tasks().len() })
    ///     .unwrap();
    /// assert_eq!(seen, 1, "the task of run_until_complete itself");
    /// ```
    pub fn all_tasks(&self) -> Vec<AnyTask> {
        self.shared
            .upgrade()
            .map(|shared| shared.all_tasks())
            .unwrap_or_default()
    }

    /// A handle other threads can use to reach the loop; see
    /// [`EventLoop::threadsafe_handle`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is gone.
    pub fn threadsafe_handle(&self) -> Result<ThreadsafeHandle, LoopError> {
        let shared = self.shared.upgrade().ok_or_else(LoopError::closed)?;
        Ok(ThreadsafeHandle::new(std::sync::Arc::clone(
            shared.remote(),
        )))
    }

    /// A `Send` completer for `future`; see [`EventLoop::completer`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone;
    /// [`is_foreign_future`](LoopError::is_foreign_future).
    pub fn completer<T: Send + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<Completer<T>, LoopError> {
        let shared = self.shared.upgrade().ok_or_else(LoopError::closed)?;
        shared.completer(future)
    }

    /// Runs a blocking call on the loop's executor; see
    /// [`EventLoop::run_in_executor`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone.
    pub fn run_in_executor<F, T>(&self, call: F) -> Result<Future<T>, LoopError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.upgrade().ok_or_else(LoopError::closed)?;
        shared.run_in_executor(call)
    }

    /// The loop's time in seconds; see [`EventLoop::time`]. Once the loop
    /// is dropped, this reads the real monotonic clock.
    pub fn time(&self) -> f64 {
        clock::seconds(self.now_nanos())
    }

    /// The loop's time as an `Instant`; see [`EventLoop::now`].
    pub fn now(&self) -> Instant {
        clock::instant(self.now_nanos())
    }

    fn now_nanos(&self) -> clock::Nanos {
        self.shared
            .upgrade()
            .map_or_else(|| clock::nanos(Instant::now()), |shared| shared.now())
    }

    /// Schedules `callback` after `delay`; see [`EventLoop::call_later`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let stopper = handle.clone();
    /// handle.call_later(0.5, move || stopper.stop()).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(handle.time(), 0.5);
    /// ```
    #[inline]
    pub fn call_later<C: IntoThunk>(
        &self,
        delay: impl Into<Delay>,
        callback: C,
    ) -> Result<TimerHandle, LoopError> {
        let shared = self.shared.upgrade().ok_or_else(LoopError::closed)?;
        let when = shared.after(delay.into());
        TimerHandle::schedule(&shared, when, callback)
    }

    /// Schedules `callback` at `when`; see [`EventLoop::call_at`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone.
    pub fn call_at<C: IntoThunk>(
        &self,
        when: impl Into<When>,
        callback: C,
    ) -> Result<TimerHandle, LoopError> {
        let shared = self.shared.upgrade().ok_or_else(LoopError::closed)?;
        TimerHandle::schedule(&shared, when.into().nanos(), callback)
    }

    /// A future that completes `delay` after it is first awaited; see
    /// [`Sleep`].
    pub fn sleep(&self, delay: impl Into<Delay>) -> Sleep {
        Sleep::new(self.shared.clone(), delay.into(), ())
    }

    /// A future that completes with `value` `delay` after it is first
    /// awaited; see [`Sleep`].
    pub fn sleep_with<T>(&self, delay: impl Into<Delay>, value: T) -> Sleep<T> {
        Sleep::new(self.shared.clone(), delay.into(), value)
    }

    /// [`EventLoop::create_future`] through the handle. If the loop is gone,
    /// the future behaves as one of a closed loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let future = event_loop.handle().create_future::<()>();
    /// assert!(future.add_done_callback(|_| {}).is_ok());
    /// ```
    pub fn create_future<T: 'static>(&self) -> Future<T> {
        Shared::future_on(&self.shared)
    }

    /// [`EventLoop::stop`] through the handle; does nothing once the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.handle().stop();
    /// event_loop.run_forever().unwrap();
    /// ```
    pub fn stop(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.stop();
        }
    }

    /// [`EventLoop::close`] through the handle (from a callback it fails,
    /// since the loop is running).
    ///
    /// # Errors
    ///
    /// [`is_running`](LoopError::is_running) while the loop runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.handle().close().unwrap();
    /// assert!(event_loop.is_closed());
    /// ```
    pub fn close(&self) -> Result<(), LoopError> {
        match self.shared.upgrade() {
            Some(shared) => shared.close(),
            None => Ok(()),
        }
    }

    /// [`EventLoop::is_running`] through the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// assert!(!event_loop.handle().is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|shared| shared.is_running())
    }

    /// [`EventLoop::is_closed`] through the handle; true once the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.handle();
    /// assert!(!handle.is_closed());
    /// drop(event_loop);
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared
            .upgrade()
            .map_or(true, |shared| shared.is_closed())
    }

    /// [`EventLoop::call_exception_handler`] through the handle; prints to
    /// stderr once the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::ExceptionContext;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.set_exception_handler(Some(|context: &ExceptionContext| {
    ///     assert_eq!(context.message, "from a handle");
    /// }));
    /// event_loop.handle().call_exception_handler(ExceptionContext::new("from a handle"));
    /// ```
    pub fn call_exception_handler(&self, context: ExceptionContext) {
        match self.shared.upgrade() {
            Some(shared) => shared.call_exception_handler(context),
            None => eprintln!("{context}"),
        }
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.upgrade() {
            Some(shared) => write!(
                f,
                "<LoopHandle running={} closed={}>",
                shared.is_running(),
                shared.is_closed()
            ),
            None => f.write_str("<LoopHandle dropped>"),
        }
    }
}

/// The loop running on this thread, as asyncio's `get_running_loop()`:
/// what a callback or coroutine uses to reach its loop without capturing it.
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a running loop.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{get_running_loop, EventLoop};
///
/// assert!(get_running_loop().is_err());
/// let event_loop = EventLoop::new();
/// let running = event_loop
///     .run_until_complete(async { get_running_loop().unwrap().is_running() })
///     .unwrap();
/// assert!(running);
/// ```
pub fn get_running_loop() -> Result<LoopHandle, LoopError> {
    let id = registry::running();
    if id == 0 {
        return Err(LoopError::no_running_loop());
    }
    let shared = registry::find(id).ok_or_else(LoopError::no_running_loop)?;
    Ok(LoopHandle {
        shared: Rc::downgrade(&shared),
    })
}

/// The task whose step is running on this thread's running loop, as
/// asyncio's `current_task()`; `None` outside a task (in a plain callback,
/// or with no loop running).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{current_task, EventLoop};
///
/// assert!(current_task().is_none());
/// let event_loop = EventLoop::new();
/// let task = event_loop.create_task(async { current_task().unwrap().name() }).unwrap();
/// assert_eq!(event_loop.run_until_complete(task).unwrap(), "Task-1");
/// ```
pub fn current_task() -> Option<AnyTask> {
    let id = registry::running();
    if id == 0 {
        return None;
    }
    registry::find(id)?.current_task()
}

/// The tasks of this thread's running loop that are not done, in creation
/// order, as asyncio's `all_tasks()`; empty with no loop running.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{all_tasks, EventLoop};
///
/// let event_loop = EventLoop::new();
/// let names = event_loop
///     .run_until_complete(async { all_tasks().iter().map(|t| t.name()).collect::<Vec<_>>() })
///     .unwrap();
/// assert_eq!(names, ["Task-1"]);
/// ```
pub fn all_tasks() -> Vec<AnyTask> {
    let id = registry::running();
    if id == 0 {
        return Vec::new();
    }
    registry::find(id)
        .map(|shared| shared.all_tasks())
        .unwrap_or_default()
}
