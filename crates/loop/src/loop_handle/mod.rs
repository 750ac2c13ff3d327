//! `LoopHandle`: the loop's operations, written once. [`EventLoop`](crate::EventLoop) owns
//! the loop and dereferences to a `LoopHandle` that holds it strongly;
//! every other `LoopHandle` (from [`EventLoop::handle`](crate::EventLoop::handle), a clone, or
//! [`get_running_loop`]) holds it weakly. See ARCHITECTURE.md, "One API
//! surface".

#[cfg(unix)]
mod io;
#[cfg(unix)]
mod signals;

#[cfg(unix)]
pub use io::{Readiness, Registered};

use std::fmt;
use std::future::Future as StdFuture;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Instant;

use asyncio_core::{ExceptionContext, Future, IntoThunk};

use crate::clock::{self, Delay, When};
use crate::completer::{self, Completer};
use crate::shared::{
    default_exception_handler, drop_to_stderr, registry, ExceptionHandler, Shared,
};
use crate::task::{create_task_on, AnyTask, Task, TaskOutput};
use crate::{Executor, Handle, LoopError, Sleep, ThreadsafeHandle, TimerHandle};

/// A reference to an event loop, with its scheduling methods: what
/// callbacks and coroutines keep, and what [`EventLoop`](crate::EventLoop) dereferences to,
/// so that every operation of the loop is written (and documented) once.
///
/// A `LoopHandle` from [`EventLoop::handle`](crate::EventLoop::handle), from `clone`, or from
/// [`get_running_loop`] refers to the loop weakly: nothing a callback
/// captures keeps the loop alive. Once the loop is dropped, such a handle
/// behaves as a handle to a closed loop: `call_soon` fails with
/// [`is_closed`](LoopError::is_closed), `stop` does nothing, and each
/// method says what it does.
///
/// Running the loop and owning it are not here: `run_until_complete`,
/// `run_forever` and `run_once` are [`EventLoop`](crate::EventLoop)'s, whose owner decides
/// when the loop runs and when it goes.
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
pub struct LoopHandle {
    state: State,
}

/// How a handle refers to the loop's state.
enum State {
    /// The owner's own handle (inside [`EventLoop`](crate::EventLoop)).
    Owner(Rc<Shared>),
    /// Everyone else's.
    Weak(Weak<Shared>),
}

impl LoopHandle {
    /// The owner's handle, holding `shared` strongly.
    pub(crate) fn owner(shared: Rc<Shared>) -> Self {
        LoopHandle {
            state: State::Owner(shared),
        }
    }

    /// The state the owner's handle holds (`None` for a weak handle).
    pub(crate) fn owned(&self) -> Option<&Rc<Shared>> {
        match &self.state {
            State::Owner(shared) => Some(shared),
            State::Weak(_) => None,
        }
    }

    /// A weak handle to `shared`.
    pub(crate) fn weak_to(shared: &Rc<Shared>) -> Self {
        LoopHandle {
            state: State::Weak(Rc::downgrade(shared)),
        }
    }

    /// The loop's state, while the loop lives (for the operations off the
    /// hot paths, which take `with`).
    fn live(&self) -> Option<Rc<Shared>> {
        match &self.state {
            State::Owner(shared) => Some(Rc::clone(shared)),
            State::Weak(shared) => shared.upgrade(),
        }
    }

    /// `op` on the loop's state, while the loop lives: the hot paths' form
    /// of [`live`](Self::live). The owner's call is `op` on its state,
    /// inlined, with no reference count and nothing to drop; a weak
    /// handle's goes through [`upgraded`], a call of its own. (Measured on
    /// W1's `call_soon`: one call site of `op` on a reference either borrowed
    /// or upgraded cost 17 instructions more, keeping the outcome on the
    /// stack across the upgrade's drop; `op` called in both arms, or the
    /// body written out in both, is not inlined at all: 28 more.)
    #[inline(always)]
    fn with<R>(&self, op: impl FnOnce(&Shared) -> Result<R, LoopError>) -> Result<R, LoopError> {
        match &self.state {
            State::Owner(shared) => op(shared),
            State::Weak(shared) => upgraded(shared, op),
        }
    }

    /// A weak pointer to the loop's state.
    pub(crate) fn weak(&self) -> Weak<Shared> {
        match &self.state {
            State::Owner(shared) => Rc::downgrade(shared),
            State::Weak(shared) => shared.clone(),
        }
    }

    /// The loop's id, while it lives.
    pub(crate) fn id(&self) -> Option<u64> {
        self.live().map(|shared| shared.id)
    }

    fn now_nanos(&self) -> clock::Nanos {
        self.live()
            .map_or_else(|| clock::nanos(Instant::now()), |shared| shared.now())
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
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone; the
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
        self.with(|shared| {
            let seq = shared.call_soon(callback)?;
            Ok(Handle::new(shared.id, seq))
        })
    }

    /// Schedules `callback` to run once `delay` has passed (asyncio's
    /// `call_later`): a `Duration`, or seconds as an `f64`. Timers that
    /// come due join the ready queue after what is already there, in
    /// deadline order, and timers with the same deadline in the order they
    /// were scheduled; a delay of zero runs on the next iteration.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone; the
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
        self.with(|shared| {
            let when = shared.after(delay.into());
            TimerHandle::schedule(shared, when, callback)
        })
    }

    /// Schedules `callback` to run at `when` (asyncio's `call_at`): seconds
    /// on the loop's clock as an `f64` (`event_loop.time() + 0.2`), or an
    /// `Instant`. A deadline in the past runs on the next iteration.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone; the
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
        self.with(|shared| TimerHandle::schedule(shared, when.into().nanos(), callback))
    }

    /// The loop's time in seconds (asyncio's `loop.time()`): a monotonic
    /// clock, counted from a fixed point of this process, or the manual
    /// clock the loop was made with. Deadlines of
    /// [`call_at`](Self::call_at) are on this clock. Once the loop is
    /// gone, this reads the real monotonic clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let (before, after) = (event_loop.time(), event_loop.time());
    /// assert!(before <= after);
    /// ```
    pub fn time(&self) -> f64 {
        clock::seconds(self.now_nanos())
    }

    /// The loop's time as an `Instant`: [`time`](Self::time) for Rust code.
    pub fn now(&self) -> Instant {
        clock::instant(self.now_nanos())
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
        Sleep::new(self.weak(), delay.into(), ())
    }

    /// A future that completes with `value` `delay` after it is first
    /// awaited (asyncio's `sleep(delay, result)`); see [`Sleep`].
    pub fn sleep_with<T>(&self, delay: impl Into<Delay>, value: T) -> Sleep<T> {
        Sleep::new(self.weak(), delay.into(), value)
    }

    /// Creates a pending future bound to this loop: its done-callbacks run
    /// here, and its unretrieved exception is reported to this loop's
    /// exception handler. Works on a closed loop too, as in asyncio (and
    /// on one that is gone: the future behaves as one of a closed loop).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let future = event_loop.create_future::<u32>();
    /// assert!(!future.done());
    /// ```
    pub fn create_future<T: 'static>(&self) -> Future<T> {
        match &self.state {
            State::Owner(shared) => shared.create_future(),
            State::Weak(shared) => Shared::future_on(shared),
        }
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
    /// [`is_closed`](LoopError::is_closed) on a closed loop, or one that is
    /// gone (the coroutine is dropped unrun).
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
        self.with(|shared| create_task_on(shared, coroutine))
    }

    /// asyncio's `ensure_future`: a coroutine becomes a new task (as
    /// [`create_task`](Self::create_task)); a task of this loop is given
    /// back as it is.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop (or one that is gone);
    /// [`is_foreign_future`](LoopError::is_foreign_future) for a task of
    /// another loop.
    ///
    /// # Examples
    ///
    /// See [`IntoTask`].
    pub fn ensure_future<A: IntoTask>(&self, awaitable: A) -> Result<Task<A::Value>, LoopError> {
        awaitable.into_task(self)
    }

    /// The tasks of this loop that are not done, in creation order
    /// (asyncio's `all_tasks`); none once the loop is gone.
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
        self.live()
            .map_or_else(Vec::new, |shared| any_tasks(&shared))
    }

    /// A handle other threads can use to reach this loop: to queue
    /// callbacks ([`call_soon_threadsafe`](ThreadsafeHandle::call_soon_threadsafe))
    /// and to stop it. It is `Send + Sync + Clone`. Once the loop is gone,
    /// it is a handle of a closed loop: it refuses everything sent.
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
        match self.live() {
            Some(shared) => ThreadsafeHandle::new(Arc::clone(shared.remote())),
            None => ThreadsafeHandle::closed(),
        }
    }

    /// A `Send` completer for `future`, which another thread uses to set its
    /// result or exception (asyncio's `call_soon_threadsafe(future.set_result,
    /// value)`); see [`Completer`].
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop (or one that is gone);
    /// [`is_foreign_future`](LoopError::is_foreign_future) for a future of
    /// another loop.
    pub fn completer<T: Send + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<Completer<T>, LoopError> {
        self.with(|shared| Completer::for_future(shared, future))
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
    /// [`is_closed`](LoopError::is_closed) on a closed loop (or one that is gone).
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
        self.with(|shared| completer::run_in_executor(shared, call))
    }

    /// Makes `executor` the one [`run_in_executor`](Self::run_in_executor)
    /// uses (asyncio's `set_default_executor`); the previous one is shut
    /// down.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop (or one that is gone).
    pub fn set_default_executor(&self, executor: impl Executor) -> Result<(), LoopError> {
        self.with(|shared| shared.set_default_executor(Arc::new(executor)))
    }

    /// Lets the default executor's jobs finish and joins its threads
    /// (asyncio's `shutdown_default_executor`, which `close` also does); a
    /// later `run_in_executor` starts a new pool.
    pub fn shutdown_default_executor(&self) {
        if let Some(shared) = self.live() {
            shared.shutdown_default_executor();
        }
    }

    /// Asks the loop to stop (nothing, once it is gone): the current iteration runs to its end, then
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
        if let Some(shared) = self.live() {
            shared.stop();
        }
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
        self.live().is_some_and(|shared| shared.is_running())
    }

    /// Whether [`close`](Self::close) was called; true once the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.close().unwrap();
    /// assert!(event_loop.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.live().map_or(true, |shared| shared.is_closed())
    }

    /// Closes the loop: queued callbacks and pending tasks are dropped
    /// without running, and every later `call_soon` and run fails with
    /// [`is_closed`](LoopError::is_closed). Idempotent. Futures stay
    /// readable: a future completed before keeps its result. Once the loop
    /// is gone, there is nothing to close.
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
        match self.live() {
            Some(shared) => shared.close(),
            None => Ok(()),
        }
    }

    /// Sets the function that receives errors no caller can: panics in
    /// callbacks and tasks, exceptions nobody retrieved. `None` restores the
    /// default, which prints the context to stderr in asyncio's format. A
    /// handler that panics is reported by the default handler. Once the
    /// loop is gone, the handler is dropped unused.
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
        let handler = handler.map(|handler| Rc::new(handler) as ExceptionHandler);
        match self.live() {
            Some(shared) => shared.set_exception_handler(handler),
            None => drop_to_stderr(handler),
        }
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
    pub fn exception_handler(&self) -> Option<ExceptionHandler> {
        self.live()?.exception_handler()
    }

    /// Sends `context` to the exception handler, as the loop does for a
    /// panicking callback; once the loop is gone, to the default handler.
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
        match self.live() {
            Some(shared) => shared.call_exception_handler(context),
            None => default_exception_handler(&context),
        }
    }
}

/// The tasks of `shared` not done yet, in creation order, as handles.
fn any_tasks(shared: &Shared) -> Vec<AnyTask> {
    shared
        .all_tasks()
        .into_iter()
        .map(AnyTask::from_step)
        .collect()
}

/// `op` on the state `shared` points to, if the loop lives (see
/// `LoopHandle::with`).
#[inline(never)]
fn upgraded<R>(
    shared: &Weak<Shared>,
    op: impl FnOnce(&Shared) -> Result<R, LoopError>,
) -> Result<R, LoopError> {
    match shared.upgrade() {
        Some(shared) => op(&shared),
        None => Err(LoopError::closed()),
    }
}

impl Clone for LoopHandle {
    /// Another handle to the same loop, always a weak one (a clone of the
    /// handle an [`EventLoop`](crate::EventLoop) dereferences to does not own the loop).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = (*event_loop).clone();
    /// drop(event_loop);
    /// assert!(handle.is_closed());
    /// ```
    fn clone(&self) -> Self {
        LoopHandle {
            state: State::Weak(self.weak()),
        }
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.live() {
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

/// What [`EventLoop::ensure_future`](crate::LoopHandle::ensure_future)
/// takes: a coroutine, wrapped in a new task, or a [`Task`], given back as
/// it is (asyncio's `ensure_future`).
///
/// A loop [`Future`] goes in as `future.wait()` (asyncio takes the future
/// itself; Rust's coherence rules forbid one trait for both it and every
/// coroutine): the task made awaits it, and cancelling that task cancels
/// the future, so `wait_for(future.wait(), t)` cancels the future when its
/// time is up, as asyncio's `wait_for(future, t)` does, and the future
/// keeps its result (cloned).
///
/// # Examples
///
/// ```
/// let event_loop = asyncio_loop::EventLoop::new();
/// let task = event_loop.ensure_future(async { 1 }).unwrap();
/// let same = event_loop.ensure_future(task.clone()).unwrap();
/// assert!(same.ptr_eq(&task));
/// ```
///
/// A future, timed out:
///
/// ```
/// use asyncio_loop::{wait_for, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let never = event_loop.create_future::<u8>();
/// let waited = never.clone();
/// let error = event_loop
///     .run_until_complete(async move { wait_for(waited.wait(), 1.0).await })
///     .unwrap()
///     .unwrap_err();
/// assert!(error.is_timeout());
/// assert!(never.cancelled());
/// ```
pub trait IntoTask {
    /// The task's result type.
    type Value: 'static;

    /// The task: made on `event_loop`, or `self` if it is one of its tasks.
    ///
    /// # Errors
    ///
    /// As [`EventLoop::ensure_future`](crate::LoopHandle::ensure_future).
    fn into_task(self, event_loop: &LoopHandle) -> Result<Task<Self::Value>, LoopError>;
}

impl<F> IntoTask for F
where
    F: StdFuture + 'static,
    F::Output: TaskOutput,
{
    type Value = <F::Output as TaskOutput>::Value;

    fn into_task(self, event_loop: &LoopHandle) -> Result<Task<Self::Value>, LoopError> {
        event_loop.create_task(self)
    }
}

impl<T: 'static> IntoTask for Task<T> {
    type Value = T;

    fn into_task(self, event_loop: &LoopHandle) -> Result<Task<T>, LoopError> {
        // asyncio refuses a task of another loop (`ValueError`).
        if event_loop.id() == Some(self.loop_id()) {
            Ok(self)
        } else {
            Err(LoopError::foreign_future())
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
    Ok(LoopHandle::weak_to(&shared))
}

/// Wraps `coroutine` in a task of the running loop: asyncio's
/// `asyncio.create_task(coro)`. See [`LoopHandle::create_task`].
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a running
/// loop (the coroutine is dropped unrun).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{create_task, EventLoop};
///
/// let event_loop = EventLoop::new();
/// let sum = event_loop
///     .run_until_complete(async {
///         let task = create_task(async { 40 + 2 })?;
///         task.await
///     })
///     .unwrap();
/// assert_eq!(sum.unwrap(), 42);
/// assert!(create_task(async {}).unwrap_err().is_no_running_loop());
/// ```
pub fn create_task<F>(coroutine: F) -> Result<Task<<F::Output as TaskOutput>::Value>, LoopError>
where
    F: StdFuture + 'static,
    F::Output: TaskOutput,
{
    get_running_loop()?.create_task(coroutine)
}

/// asyncio's `ensure_future` on the running loop: a coroutine becomes a
/// task of it, a task of it comes back as it is. See
/// [`LoopHandle::ensure_future`].
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a running
/// loop; as [`LoopHandle::ensure_future`] inside one.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{ensure_future, EventLoop};
///
/// let event_loop = EventLoop::new();
/// let value = event_loop
///     .run_until_complete(async { ensure_future(async { "made" })?.await })
///     .unwrap();
/// assert_eq!(value.unwrap(), "made");
/// ```
pub fn ensure_future<A: IntoTask>(awaitable: A) -> Result<Task<A::Value>, LoopError> {
    get_running_loop()?.ensure_future(awaitable)
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
    registry::find(id)?.current_task().map(AnyTask::from_step)
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
    registry::find(id).map_or_else(Vec::new, |shared| any_tasks(&shared))
}
