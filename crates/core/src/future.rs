//! `Future<T>`: asyncio's future, a shared handle to one result.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll};

use asyncio_callbacks::{Callback, CallbackKey, CallbackList, Panicked};

use crate::cancel::{self, Awaited};
use crate::census::{self, HeldWaker};
use crate::context::{self, Captured};
use crate::schedule::print_to_stderr;
use crate::{BoxError, Exception, ExceptionContext, FutureError, Schedule};

/// The result of work that has not completed yet: asyncio's `Future`.
///
/// A `Future<T>` is a handle to shared state; clones are cheap (one reference
/// count) and all see the same state. It moves through asyncio's states, and
/// only forward:
///
/// ```text
/// pending ──set_result──────▶ finished (result)
///    │    ──set_exception───▶ finished (exception)
///    └────cancel────────────▶ cancelled
/// ```
///
/// - [`set_result`](Self::set_result), [`set_exception`](Self::set_exception)
///   and [`cancel`](Self::cancel) complete it; [`done`](Self::done) and
///   [`cancelled`](Self::cancelled) ask where it is.
/// - [`result`](Self::result) and [`exception`](Self::exception) read the
///   outcome, which stays in place: `result()` works again and again, even
///   after the loop is closed.
/// - Awaiting it (`future.await`, `(&future).await`, or [`wait`](Self::wait))
///   waits for the outcome and gives a clone of the result, under the loop of
///   `asyncio-loop` or under any other executor;
///   [`wait_take`](Self::wait_take) moves a result that is not `Clone` out.
///   An awaiter that gives up leaves nothing behind (see [`Wait`]).
/// - [`add_done_callback`](Self::add_done_callback) registers callbacks that
///   the future's loop runs, in order, on a later iteration after completion.
///
/// A future belongs to one thread (it is neither `Send` nor `Sync`), as an
/// asyncio future belongs to one loop. Make one with [`Future::new`] (no loop:
/// awaitable anywhere, but it cannot take done-callbacks) or with the loop's
/// `create_future()`, which binds it to the loop through
/// [`with_scheduler`](Self::with_scheduler).
///
/// A future that finished with an exception nobody retrieved (through
/// `result`, `exception`, awaiting, or a later `cancel`) reports
/// `Future exception was never retrieved` when its last handle is dropped:
/// to its loop's exception handler, or to stderr when it has no loop.
///
/// # Examples
///
/// ```
/// use asyncio_core::Future;
///
/// let future = Future::new();
/// assert!(!future.done());
/// future.set_result("the result").unwrap();
/// assert!(future.done());
/// assert_eq!(future.result().unwrap(), "the result");
/// assert_eq!(future.result().unwrap(), "the result");
///
/// // Awaitable under any executor.
/// assert_eq!(futures::executor::block_on(future.wait()).unwrap(), "the result");
/// ```
pub struct Future<T: 'static> {
    shared: Rc<Shared<T>>,
}

struct Shared<T: 'static> {
    /// The loop that runs done-callbacks; `None` for a future made by `Future::new`.
    /// Weak, so that futures captured by the loop's callbacks never keep the loop alive.
    scheduler: Option<Weak<dyn Schedule>>,
    /// Borrowed only for short, non-reentrant steps: never across user code.
    inner: RefCell<Inner<T>>,
}

struct Inner<T: 'static> {
    state: State<T>,
    /// Done-callbacks and wakers in registration order. Once the state is
    /// not `Pending`, it is empty, or (while `due`) holds the done-callbacks
    /// that a queued `DueJob` will run.
    listeners: CallbackList<Listener<T>>,
    /// Set at completion when `listeners` were left in place for a queued
    /// `DueJob` instead of being moved into a job of their own.
    due: bool,
    /// How many of `listeners` are wakers (an awaiter adds its one, and
    /// removes it when dropped): with none, completion leaves the list for
    /// one `DueJob`; otherwise it wakes each at its place. Spares a scan of
    /// the list per completion.
    wakers: u32,
    /// asyncio's `__log_traceback`: set by `set_exception`, cleared by
    /// `result`, `exception` and `cancel`; if still set at drop, the exception
    /// is reported as never retrieved.
    unretrieved: bool,
}

/// The state machine. `Pending` is the only state that can change.
enum State<T> {
    /// No outcome yet. Can become `Finished`, `Failed` or `Cancelled`.
    Pending,
    /// Finished with a result; `None` once `take_result` has moved it out. Final.
    Finished(Option<T>),
    /// Finished with an exception. Final.
    Failed(Exception),
    /// Cancelled, with the message given to `cancel_with_message`. Final.
    Cancelled(Option<Arc<str>>),
}

impl<T> State<T> {
    /// The error for completing a future that is already in this state.
    #[cold]
    fn already_done(&self) -> FutureError {
        FutureError::invalid_state(match self {
            State::Finished(_) => "result is already set",
            State::Failed(_) => "exception is already set",
            State::Cancelled(_) => "future is cancelled",
            State::Pending => "future is pending",
        })
    }
}

enum Listener<T: 'static> {
    Callback(Callback<Future<T>>),
    Waker(HeldWaker),
}

impl<T: 'static> Future<T> {
    /// Creates a pending future that belongs to no loop.
    ///
    /// It can be completed, read and awaited under any executor, but
    /// [`add_done_callback`](Self::add_done_callback) fails on it, since
    /// nothing would run the callbacks. Use the loop's `create_future()` for a
    /// future with callbacks.
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<i32> = asyncio_core::Future::new();
    /// assert!(!future.done());
    /// assert!(future.scheduler().is_none());
    /// ```
    pub fn new() -> Self {
        Future::from_scheduler(None)
    }

    /// Creates a pending future whose done-callbacks and error reports go to
    /// `scheduler` (an event loop, usually through its `create_future()`).
    ///
    /// The future holds `scheduler` weakly: once the loop is gone, scheduling
    /// callbacks fails with [`is_loop_closed`](FutureError::is_loop_closed).
    ///
    /// # Examples
    ///
    /// See [`Schedule`] for a complete scheduler.
    pub fn with_scheduler(scheduler: Weak<dyn Schedule>) -> Self {
        Future::from_scheduler(Some(scheduler))
    }

    fn from_scheduler(scheduler: Option<Weak<dyn Schedule>>) -> Self {
        Future {
            shared: Rc::new(Shared {
                scheduler,
                inner: RefCell::new(Inner {
                    state: State::Pending,
                    listeners: CallbackList::new(),
                    due: false,
                    wakers: 0,
                    unretrieved: false,
                }),
            }),
        }
    }

    /// The scheduler this future reports to, if it has one.
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(future.scheduler().is_none());
    /// ```
    pub fn scheduler(&self) -> Option<&Weak<dyn Schedule>> {
        self.shared.scheduler.as_ref()
    }

    /// Whether the future is done: finished with a result or an exception,
    /// or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(!future.done());
    /// future.cancel();
    /// assert!(future.done());
    /// ```
    pub fn done(&self) -> bool {
        !matches!(self.shared.inner.borrow().state, State::Pending)
    }

    /// Whether the future was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(!future.cancelled());
    /// assert!(future.cancel());
    /// assert!(future.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        matches!(self.shared.inner.borrow().state, State::Cancelled(_))
    }

    /// Finishes the future with `value` and schedules its done-callbacks
    /// (they run on a later loop iteration, never inside this call).
    ///
    /// # Errors
    ///
    /// - [`is_invalid_state`](FutureError::is_invalid_state) when the future
    ///   is already done; nothing changes and `value` is dropped.
    /// - [`is_loop_closed`](FutureError::is_loop_closed) when the future has
    ///   done-callbacks and its loop is closed or gone. As in asyncio, the
    ///   future is finished all the same and the callbacks are dropped unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// future.set_result(42).unwrap();
    /// assert_eq!(future.result().unwrap(), 42);
    /// assert!(future.set_result(43).unwrap_err().is_invalid_state());
    /// assert_eq!(future.result().unwrap(), 42);
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), FutureError> {
        self.complete(|| State::Finished(Some(value)))
    }

    /// Finishes the future with `exception` and schedules its
    /// done-callbacks.
    ///
    /// `exception` is anything that converts into a
    /// [`BoxError`] (`Box<dyn Error + Send + Sync>`): an [`Exception`] (kept
    /// as it is), any `Error + Send + Sync + 'static`, a boxed error, an
    /// `anyhow::Error`, or a message (`&str`, `String`).
    /// [`Exception::downcast_ref`] finds the original error's type, except
    /// through an `anyhow::Error`: anyhow's conversion into a boxed error
    /// wraps the error in a type of its own, so the message and the `source`
    /// chain survive but the type does not (downcast with anyhow first).
    ///
    /// Until somebody reads the exception (`result`, `exception`, awaiting)
    /// or cancels the future, dropping the last handle reports it as never
    /// retrieved.
    ///
    /// # Errors
    ///
    /// As for [`set_result`](Self::set_result).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, Future};
    ///
    /// let future: Future<()> = Future::new();
    /// future.set_exception(Exception::msg("boom")).unwrap();
    /// assert!(future.done() && !future.cancelled());
    /// assert_eq!(future.exception().unwrap().unwrap().to_string(), "boom");
    /// ```
    pub fn set_exception(&self, exception: impl Into<BoxError>) -> Result<(), FutureError> {
        let exception = Exception::from_boxed(exception.into());
        self.complete(|| State::Failed(exception))
    }

    /// Cancels the future and schedules its done-callbacks; returns whether
    /// the state changed (`false` when the future was already done).
    ///
    /// Cancelling also marks an exception the future holds as retrieved, even
    /// when it returns `false`, as in asyncio. If the loop is closed, the
    /// done-callbacks are dropped unrun (asyncio raises `RuntimeError` here;
    /// this method keeps asyncio's `bool` instead).
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(future.cancel());
    /// assert!(!future.cancel());
    /// assert!(future.result().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_inner(None)
    }

    /// Cancels the future with `message`, which the cancellation error
    /// carries ([`FutureError::cancel_message`]); otherwise as
    /// [`cancel`](Self::cancel).
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(future.cancel_with_message("no longer needed"));
    /// let error = future.exception().unwrap_err();
    /// assert_eq!(error.cancel_message(), Some("no longer needed"));
    /// ```
    pub fn cancel_with_message(&self, message: impl Into<String>) -> bool {
        self.cancel_inner(Some(Arc::from(message.into())))
    }

    fn cancel_inner(&self, message: Option<Arc<str>>) -> bool {
        self.shared.inner.borrow_mut().unretrieved = false;
        // A closed loop loses the callbacks; `cancel` reports only the state change.
        match self.complete(|| State::Cancelled(message)) {
            Ok(()) => true,
            Err(error) => !error.is_invalid_state(),
        }
    }

    /// The future's result, cloned; the future keeps it.
    ///
    /// For results that are not `Clone`, see [`take_result`](Self::take_result).
    ///
    /// # Errors
    ///
    /// - the exception the future finished with ([`FutureError::exception`]),
    ///   which counts as retrieving it;
    /// - [`is_cancelled`](FutureError::is_cancelled) if it was cancelled;
    /// - [`is_invalid_state`](FutureError::is_invalid_state) while pending, or
    ///   after `take_result` moved the result out.
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// assert!(future.result().unwrap_err().is_invalid_state());
    /// future.set_result(String::from("the result")).unwrap();
    /// assert_eq!(future.result().unwrap(), "the result");
    /// ```
    pub fn result(&self) -> Result<T, FutureError>
    where
        T: Clone,
    {
        self.read_result(|value| value.clone())
    }

    /// Moves the result out of the future, for results that are not `Clone`.
    ///
    /// This is a Rust addition: asyncio results are shared objects. After it,
    /// the future is still finished, and `result` and `take_result` fail with
    /// an invalid-state error (`result was taken`).
    ///
    /// # Errors
    ///
    /// As for [`result`](Self::result).
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// future.set_result(vec![1, 2, 3]).unwrap();
    /// assert_eq!(future.take_result().unwrap(), [1, 2, 3]);
    /// assert!(future.take_result().unwrap_err().is_invalid_state());
    /// ```
    pub fn take_result(&self) -> Result<T, FutureError> {
        self.read_result(|value| value.take())
    }

    /// Reads the outcome: `read` gets the result slot of a finished future.
    fn read_result<R>(
        &self,
        read: impl FnOnce(&mut Option<T>) -> Option<R>,
    ) -> Result<R, FutureError> {
        self.shared.inner.borrow_mut().read_result(read)
    }

    /// The exception the future finished with, or `None` if it finished
    /// with a result. Reading it marks it as retrieved.
    ///
    /// # Errors
    ///
    /// [`is_cancelled`](FutureError::is_cancelled) if the future was
    /// cancelled; [`is_invalid_state`](FutureError::is_invalid_state) while it
    /// is pending.
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// assert!(future.exception().unwrap_err().is_invalid_state());
    /// future.set_result(1).unwrap();
    /// assert!(future.exception().unwrap().is_none());
    /// ```
    pub fn exception(&self) -> Result<Option<Exception>, FutureError> {
        let mut inner = self.shared.inner.borrow_mut();
        match &inner.state {
            State::Pending => Err(FutureError::invalid_state("exception is not set")),
            State::Cancelled(message) => Err(FutureError::cancelled(message.clone())),
            State::Finished(_) => Ok(None),
            State::Failed(exception) => {
                let exception = exception.clone();
                inner.unretrieved = false;
                Ok(Some(exception))
            }
        }
    }

    /// Adds a callback that the future's loop runs once the future is done,
    /// and returns the key that [`remove_done_callback`](Self::remove_done_callback)
    /// takes.
    ///
    /// Callbacks run in the order they were added, each with the future as
    /// its argument, on a loop iteration after the one that completed the
    /// future (they are queued with the loop's `call_soon` at completion,
    /// FIFO with every other callback). Added to a future that is already
    /// done, the callback is queued at once. A panic inside a callback goes to
    /// the loop's exception handler, and the next callback still runs. To pass
    /// more data, capture it or bind it with [`partial`](asyncio_callbacks::partial).
    ///
    /// **Cycles.** A callback that captures a clone of its own future (or
    /// anything holding one) makes a reference cycle: until the future
    /// completes, the future keeps the callback and the callback keeps the
    /// future. If it never completes, neither is freed, and closing or
    /// dropping the loop does not help (the loop holds no pending futures;
    /// tracking them would cost every `add_done_callback`). The callback is
    /// handed the future as its argument, so it need not capture it; or
    /// remove the callback with its key to break the cycle.
    ///
    /// # Errors
    ///
    /// - [`is_unbound`](FutureError::is_unbound) for a future made by
    ///   [`Future::new`], which has no loop to run callbacks on;
    /// - [`is_loop_closed`](FutureError::is_loop_closed) when the future is
    ///   already done and its loop is closed or gone (the callback is dropped).
    ///
    /// # Examples
    ///
    /// See [`Schedule`] for a future with a scheduler; with none:
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(future.add_done_callback(|_| {}).unwrap_err().is_unbound());
    /// ```
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&Future<T>) + 'static,
    ) -> Result<CallbackKey, FutureError> {
        // asyncio runs a done-callback in a copy of the context current
        // when it was added.
        if context::in_use() {
            let name = std::any::type_name_of_val(&callback);
            return self.add_callback(|| in_current_context(name, callback));
        }
        self.add_callback(|| Callback::new(callback))
    }

    /// [`add_done_callback`](Self::add_done_callback), for a callback that
    /// wraps another, of type `N`: reprs (`cb=[...]`) and panic reports
    /// name it after `N` (a task's done-callback wraps the one it was
    /// given, to hand it the task).
    ///
    /// # Errors
    ///
    /// As [`add_done_callback`](Self::add_done_callback).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Future;
    ///
    /// fn announce(_: &Future<u8>) {}
    ///
    /// // A future of no loop refuses callbacks; see `add_done_callback`.
    /// let future: Future<u8> = Future::new();
    /// assert!(future
    ///     .add_done_callback_named_after::<fn(&Future<u8>), _>(announce)
    ///     .unwrap_err()
    ///     .is_unbound());
    /// ```
    pub fn add_done_callback_named_after<N: ?Sized + 'static, F>(
        &self,
        callback: F,
    ) -> Result<CallbackKey, FutureError>
    where
        F: FnOnce(&Future<T>) + 'static,
    {
        if context::in_use() {
            let name = std::any::type_name::<N>();
            return self.add_callback(|| in_current_context(name, callback));
        }
        self.add_callback(|| Callback::named_after::<N, F>(callback))
    }

    /// Writes asyncio's ` cb=[...]` part of a repr (nothing when there is
    /// no done-callback or waiting task), for the repr of something built
    /// on a future, as a task's: all names up to two, else the first, how
    /// many more, and the last.
    ///
    /// # Errors
    ///
    /// The formatter's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::fmt;
    /// use asyncio_core::Future;
    ///
    /// struct Callbacks<'a>(&'a Future<u8>);
    /// impl fmt::Display for Callbacks<'_> {
    ///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    ///         self.0.write_callbacks(f)
    ///     }
    /// }
    /// let future = Future::new();
    /// assert_eq!(Callbacks(&future).to_string(), "");
    /// ```
    pub fn write_callbacks(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.inner.try_borrow() {
            Ok(inner) => write_callbacks(f, &inner.listeners),
            Err(_) => Ok(()),
        }
    }

    /// `add_done_callback` of the callback `make` makes.
    #[inline(always)]
    fn add_callback(
        &self,
        make: impl FnOnce() -> Callback<Future<T>>,
    ) -> Result<CallbackKey, FutureError> {
        if self.shared.scheduler.is_none() {
            return Err(FutureError::unbound());
        }
        let listener = || Listener::Callback(make());
        let mut inner = self.shared.inner.borrow_mut();
        if let State::Pending = inner.state {
            return Ok(inner.listeners.push_with(listener));
        }
        // Already done: queue it now, behind whatever was queued since
        // completion (so not with the callbacks a `DueJob` will run).
        let mut late = CallbackList::new();
        let key = late.push_with(listener);
        drop(inner);
        self.schedule_list(late).map(|()| key)
    }

    /// Removes the done-callback that `key` names and returns how many
    /// callbacks it removed: `1`, or `0` if it was already removed or
    /// already scheduled (a done future has no callbacks left to remove, as in
    /// asyncio).
    ///
    /// The removed callback is dropped before this returns, releasing
    /// whatever it captured.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use asyncio_core::{Closed, ExceptionContext, Future, Schedule};
    ///
    /// struct Never;
    /// impl Schedule for Never {
    ///     fn schedule(&self, _job: asyncio_callbacks::Callback<()>) -> Result<(), Closed> { Ok(()) }
    ///     fn call_exception_handler(&self, _context: ExceptionContext) {}
    /// }
    /// let scheduler: Rc<dyn Schedule> = Rc::new(Never);
    /// let future: Future<()> = Future::with_scheduler(Rc::downgrade(&scheduler));
    ///
    /// let key = future.add_done_callback(|_| unreachable!()).unwrap();
    /// assert_eq!(future.remove_done_callback(key), 1);
    /// assert_eq!(future.remove_done_callback(key), 0);
    /// ```
    pub fn remove_done_callback(&self, key: CallbackKey) -> usize {
        let removed = {
            let mut inner = self.shared.inner.borrow_mut();
            match inner.state {
                State::Pending => inner.listeners.remove(key),
                // Done: the callbacks are scheduled, and stay scheduled.
                _ => None,
            }
        };
        // Dropped here, after the borrow: the callback's captures may run user code.
        usize::from(removed.is_some())
    }

    /// Calls `inspect` with a reference to the result, without cloning or
    /// moving it: to show or measure a result that is not `Clone`.
    /// `inspect` must not use this future (it is borrowed meanwhile).
    ///
    /// # Errors
    ///
    /// As for [`result`](Self::result).
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// future.set_result(vec![1, 2, 3]).unwrap();
    /// assert_eq!(future.inspect_result(Vec::len).unwrap(), 3);
    /// ```
    pub fn inspect_result<R>(&self, inspect: impl FnOnce(&T) -> R) -> Result<R, FutureError> {
        let mut inner = self.shared.inner.borrow_mut();
        inner.read_result(|slot| slot.as_ref().map(inspect))
    }

    /// Whether `self` and `other` are handles to the same future.
    ///
    /// # Examples
    ///
    /// ```
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// assert!(future.ptr_eq(&future.clone()));
    /// assert!(!future.ptr_eq(&asyncio_core::Future::new()));
    /// ```
    pub fn ptr_eq(&self, other: &Future<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }

    /// Moves the future out of `Pending` into the state `outcome` makes, and
    /// dispatches its listeners.
    ///
    /// `outcome` runs only once the future is known to be pending, so the
    /// new state is built where it is stored, not on the stack and copied.
    #[inline]
    fn complete(&self, outcome: impl FnOnce() -> State<T>) -> Result<(), FutureError> {
        let mut inner = self.shared.inner.borrow_mut();
        if !matches!(inner.state, State::Pending) {
            return Err(inner.state.already_done());
        }
        inner.state = outcome();
        inner.unretrieved = matches!(inner.state, State::Failed(_));
        if inner.listeners.is_empty() {
            return Ok(());
        }
        if inner.wakers == 0 {
            // Done-callbacks alone, the common case: they stay where they
            // are, and one small job, holding only this future, runs them.
            inner.due = true;
            drop(inner);
            return self.schedule_due();
        }
        if inner.listeners.len() == 1 {
            // One task awaits this future and nothing else listens: wake it,
            // with no job and no list to build.
            let waker = inner.listeners.pop();
            drop(inner);
            if let Some(Listener::Waker(waker)) = waker {
                waker.wake();
            }
            return Ok(());
        }
        let listeners = mem::take(&mut inner.listeners);
        drop(inner);
        self.dispatch_mixed(listeners)
    }

    /// Queues the job that runs the callbacks left in place by `complete`.
    fn schedule_due(&self) -> Result<(), FutureError> {
        let job = DueJob(Some(self.clone()));
        self.schedule(Callback::from_thunk(move || job.run()))
    }

    /// Hands the listeners of a just-completed future to the loop, keeping
    /// registration order between callbacks and wakers: every run of
    /// consecutive callbacks becomes one loop job, and each waker is woken at
    /// its place (a task's waker queues the task with `call_soon`, so it lands
    /// between the callbacks registered around it, as in asyncio).
    #[inline(never)]
    fn dispatch_mixed(&self, listeners: CallbackList<Listener<T>>) -> Result<(), FutureError> {
        let mut outcome = Ok(());
        let mut batch = CallbackList::new();
        for listener in listeners {
            match listener {
                Listener::Callback(_) => {
                    batch.push(listener);
                }
                Listener::Waker(waker) => {
                    if !batch.is_empty() {
                        outcome = outcome.and(self.schedule_list(mem::take(&mut batch)));
                    }
                    waker.wake();
                }
            }
        }
        if !batch.is_empty() {
            outcome = outcome.and(self.schedule_list(batch));
        }
        outcome
    }

    /// Queues one loop job that runs `listeners` in order.
    fn schedule_list(&self, listeners: CallbackList<Listener<T>>) -> Result<(), FutureError> {
        let job = ListJob(self.clone(), listeners);
        self.schedule(Callback::from_thunk(move || job.run()))
    }

    fn schedule(&self, job: Callback<()>) -> Result<(), FutureError> {
        let scheduler = self
            .shared
            .scheduler
            .as_ref()
            .and_then(Weak::upgrade)
            .ok_or_else(FutureError::loop_closed)?;
        scheduler
            .schedule(job)
            .map_err(|_| FutureError::loop_closed())
    }

    /// Takes the callbacks a `DueJob` runs (or drops, if never run).
    fn take_due(&self) -> CallbackList<Listener<T>> {
        let mut inner = self.shared.inner.borrow_mut();
        if !mem::take(&mut inner.due) {
            return CallbackList::new();
        }
        mem::take(&mut inner.listeners)
    }

    /// Reports a done-callback's panic to the loop's exception handler.
    #[inline(always)]
    fn report_if_panicked(&self, called: Result<(), Panicked>) {
        if let Err(panicked) = called {
            self.report_panicked(panicked);
        }
    }

    #[cold]
    fn report_panicked(&self, panicked: Panicked) {
        let name = panicked.name();
        self.shared.report(
            ExceptionContext::new(format!("Exception in callback {name}"))
                .with_callback(name)
                .with_future(self.shared.describe())
                .with_exception(Exception::from_panic(panicked.into_payload())),
        );
    }

    /// Runs done-callbacks (inside a loop job), catching each one's panic,
    /// each in its own context (a fresh empty one if it captured none).
    fn run_listeners(&self, listeners: CallbackList<Listener<T>>) {
        for listener in listeners {
            match listener {
                // (Each branch reports its own panic: a `Result` carried out
                // of the `if` went through memory, and reading it back stalled
                // store forwarding, a third of W3's time.)
                Listener::Callback(callback) if context::in_use() => {
                    self.report_if_panicked(context::isolated(|| callback.call_catch_unwind(self)));
                }
                Listener::Callback(callback) => {
                    // (`call_catch_unwind` never unwinds.)
                    self.report_if_panicked(callback.call_catch_unwind(self));
                    context::forget_made();
                }
                Listener::Waker(waker) => waker.wake(),
            }
        }
    }
}

impl<T: 'static> Inner<T> {
    /// The outcome, for `result`, `take_result` and `poll`: `read` gets the
    /// result slot of a finished future.
    fn read_result<R>(
        &mut self,
        read: impl FnOnce(&mut Option<T>) -> Option<R>,
    ) -> Result<R, FutureError> {
        match &mut self.state {
            State::Pending => Err(FutureError::invalid_state("result is not ready")),
            State::Cancelled(message) => Err(FutureError::cancelled(message.clone())),
            State::Finished(slot) => {
                read(slot).ok_or_else(|| FutureError::invalid_state("result was taken"))
            }
            State::Failed(exception) => {
                let exception = exception.clone();
                self.unretrieved = false;
                Err(FutureError::from_exception(exception))
            }
        }
    }
}

/// The loop job of a completed future whose done-callbacks stayed in its
/// listener list. Dropped unrun (the loop closed), it drops them, so a
/// callback holding its own future cannot keep it alive.
struct DueJob<T: 'static>(Option<Future<T>>);

impl<T: 'static> DueJob<T> {
    fn run(mut self) {
        if let Some(future) = self.0.take() {
            let due = future.take_due();
            future.run_listeners(due);
        }
    }
}

impl<T: 'static> Drop for DueJob<T> {
    fn drop(&mut self) {
        if let Some(future) = self.0.take() {
            future.shared.drop_listeners(future.take_due());
        }
    }
}

/// The loop job of listeners split off at completion (see `dispatch_mixed`).
/// Dropped unrun, it drops them one by one, as a `DueJob` does.
struct ListJob<T: 'static>(Future<T>, CallbackList<Listener<T>>);

impl<T: 'static> ListJob<T> {
    fn run(mut self) {
        let listeners = mem::take(&mut self.1);
        self.0.run_listeners(listeners);
    }
}

impl<T: 'static> Drop for ListJob<T> {
    fn drop(&mut self) {
        let listeners = mem::take(&mut self.1);
        self.0.shared.drop_listeners(listeners);
    }
}

impl<T: 'static> Listener<T> {
    fn name(&self) -> &'static str {
        match self {
            Listener::Callback(callback) => callback.name(),
            Listener::Waker(_) => "<waker>",
        }
    }
}

impl<T: 'static> Shared<T> {
    /// Drops unrun listeners one at a time, each under its own
    /// `catch_unwind`: a callback's captures are user values whose `Drop` may
    /// panic. Each panic is reported, the rest are still dropped, and two
    /// panics never meet in one unwind (which would abort the process).
    fn drop_listeners(&self, listeners: CallbackList<Listener<T>>) {
        let scheduler = self.scheduler.clone();
        deferred_drops::run(move || drop_each(scheduler.as_ref(), listeners));
    }

    /// Sends `context` to the loop's exception handler, or to stderr when
    /// there is no loop.
    fn report(&self, context: ExceptionContext) {
        report_to(self.scheduler.as_ref(), context);
    }

    /// asyncio's repr without the result value, which needs `T: Debug`.
    fn describe(&self) -> String {
        struct Describe<'a, T: 'static>(&'a Shared<T>);
        impl<T: 'static> fmt::Display for Describe<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_repr(f, |_, _| Ok(()))
            }
        }
        Describe(self).to_string()
    }

    /// Writes `<Future STATE ...>`; `result` writes the ` result=...` part.
    fn write_repr(
        &self,
        f: &mut fmt::Formatter<'_>,
        result: impl FnOnce(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let Ok(inner) = self.inner.try_borrow() else {
            return f.write_str("<Future (being updated)>");
        };
        match &inner.state {
            State::Pending => {
                f.write_str("<Future pending")?;
                write_callbacks(f, &inner.listeners)?;
            }
            State::Cancelled(_) => f.write_str("<Future cancelled")?,
            State::Finished(Some(value)) => {
                f.write_str("<Future finished")?;
                result(value, f)?;
            }
            State::Finished(None) => f.write_str("<Future finished result=<taken>")?,
            State::Failed(exception) => write!(f, "<Future finished exception={exception:?}")?,
        }
        f.write_str(">")
    }
}

/// asyncio's `cb=[...]`: all names up to two, else first, count, last.
fn write_callbacks<T>(
    f: &mut fmt::Formatter<'_>,
    listeners: &CallbackList<Listener<T>>,
) -> fmt::Result {
    let names: Vec<&'static str> = listeners
        .iter()
        .map(|(_, listener)| listener.name())
        .collect();
    match names.as_slice() {
        [] => Ok(()),
        [one] => write!(f, " cb=[{one}]"),
        [first, second] => write!(f, " cb=[{first}, {second}]"),
        [first, .., last] => write!(f, " cb=[{first}, <{} more>, {last}]", names.len() - 2),
    }
}

/// `callback` as a done-callback that runs in a copy of the current context
/// (made while contexts are in use), under the callback's own name.
#[cold]
fn in_current_context<T: 'static>(
    name: &'static str,
    callback: impl FnOnce(&Future<T>) + 'static,
) -> Callback<Future<T>> {
    let captured = Captured::now();
    Callback::with_name(name, move |future: &Future<T>| {
        let mut captured = captured;
        captured.run(|| callback(future));
    })
}

/// Drops `listeners` one by one, each under its own `catch_unwind`, so
/// that a panic in one is reported and the others are still dropped.
fn drop_each<T: 'static>(
    scheduler: Option<&Weak<dyn Schedule>>,
    listeners: CallbackList<Listener<T>>,
) {
    for listener in listeners {
        let name = listener.name();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(listener))) {
            report_to(
                scheduler,
                ExceptionContext::new(format!("Exception in dropping callback {name}"))
                    .with_callback(name)
                    .with_exception(Exception::from_panic(payload)),
            );
        }
    }
}

/// Sends `context` to the exception handler of the loop `scheduler` points
/// to, or to stderr when there is none.
fn report_to(scheduler: Option<&Weak<dyn Schedule>>, context: ExceptionContext) {
    match scheduler.and_then(Weak::upgrade) {
        Some(scheduler) => scheduler.call_exception_handler(context),
        None => print_to_stderr(&context),
    }
}

/// Drops of done-callbacks that drop futures whose done-callbacks drop
/// futures...: a chain of a million futures, each held by the previous
/// one's callback, would recurse a million levels deep and overflow the
/// stack. The outermost drop on a thread runs the nested ones one after
/// another instead, from a queue (a nested drop costs one allocation).
mod deferred_drops {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    thread_local! {
        /// Set while this thread runs drops of listeners.
        static RUNNING: Cell<bool> = const { Cell::new(false) };
        /// Drops that came up while `RUNNING`, waiting their turn.
        static QUEUE: RefCell<VecDeque<Box<dyn FnOnce()>>> = const { RefCell::new(VecDeque::new()) };
    }

    /// Runs `drops` now, or, inside another run on this thread, after it.
    /// `drops` must not panic (each drop in it is caught).
    pub(super) fn run(drops: impl FnOnce() + 'static) {
        if RUNNING.with(|running| running.replace(true)) {
            let mut drops = Some(Box::new(drops) as Box<dyn FnOnce()>);
            // While the thread's locals are torn down the queue may be gone:
            // then the drops run here, recursively.
            let _ = QUEUE.try_with(|queue| queue.borrow_mut().push_back(drops.take().unwrap()));
            if let Some(drops) = drops {
                drops();
            }
            return;
        }
        drops();
        while let Some(next) = QUEUE
            .try_with(|queue| queue.borrow_mut().pop_front())
            .ok()
            .flatten()
        {
            next();
        }
        RUNNING.with(|running| running.set(false));
    }
}

impl<T: 'static> Drop for Shared<T> {
    /// Reports an exception nobody retrieved. Pending listeners are dropped
    /// first, one by one (see `drop_listeners`), so that a panic in one of
    /// them and one in the result's own `Drop` never meet.
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        if !inner.listeners.is_empty() {
            let listeners = mem::take(&mut inner.listeners);
            self.drop_listeners(listeners);
        }
        let inner = self.inner.get_mut();
        let exception = match &inner.state {
            State::Failed(exception) if inner.unretrieved => exception.clone(),
            _ => return,
        };
        self.report(
            ExceptionContext::new("Future exception was never retrieved")
                .with_future(self.describe())
                .with_exception(exception),
        );
    }
}

impl<T: 'static> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            shared: Rc::clone(&self.shared),
        }
    }
}

impl<T: 'static> Default for Future<T> {
    fn default() -> Self {
        Future::new()
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Future<T> {
    /// asyncio's repr: `<Future pending cb=[...]>`, `<Future cancelled>`,
    /// `<Future finished result="the result">`,
    /// `<Future finished exception=...>`.
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// assert_eq!(format!("{future:?}"), "<Future pending>");
    /// future.set_result("the result").unwrap();
    /// assert_eq!(format!("{future:?}"), r#"<Future finished result="the result">"#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared
            .write_repr(f, |value, f| write!(f, " result={value:?}"))
    }
}

impl<T: Clone + 'static> IntoFuture for Future<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = Wait<T>;

    /// `future.await`: [`Future::wait`] on this handle.
    fn into_future(self) -> Wait<T> {
        Wait(Awaiter::new(self))
    }
}

impl<T: Clone + 'static> IntoFuture for &Future<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = Wait<T>;

    /// `(&future).await`: [`Future::wait`], keeping the handle.
    fn into_future(self) -> Wait<T> {
        self.wait()
    }
}

/// What awaiting a [`Future`] polls: the future, and the key of the waker it
/// registered, if any.
///
/// **Invariant:** `key` names this awaiter's one waker in the future's
/// listener list while the future is pending; dropping the awaiter removes
/// it, so an awaiter that gives up (a `select!` loser, a timed-out wait)
/// leaves nothing behind.
struct Awaiter<T: 'static> {
    future: Future<T>,
    key: Option<CallbackKey>,
    /// Set once `poll` returned `Ready`, for `FusedFuture`.
    terminated: bool,
}

impl<T: 'static> Awaiter<T> {
    fn new(future: Future<T>) -> Self {
        Awaiter {
            future,
            key: None,
            terminated: false,
        }
    }

    /// Ready with what `read` makes of the result slot once the future is
    /// done; otherwise registers `context`'s waker, or updates the one
    /// registered before, in its place among the done-callbacks.
    #[inline]
    fn poll_read<R>(
        &mut self,
        context: &mut Context<'_>,
        read: impl FnOnce(&mut Option<T>) -> Option<R>,
    ) -> Poll<Result<R, FutureError>> {
        if let Some(cancelled) = cancel::take() {
            return Poll::Ready(Err(self.take_cancel(cancelled)));
        }
        let mut inner = self.future.shared.inner.borrow_mut();
        if !matches!(inner.state, State::Pending) {
            self.key = None;
            self.terminated = true;
            return Poll::Ready(inner.read_result(read));
        }
        let waker = context.waker();
        // Polled by a task (under its scope): a future of another loop
        // refuses the await, as asyncio throws `RuntimeError` into it;
        // otherwise the wait is noted as what the task awaits.
        let scope = census::scope_owner(waker);
        if scope.is_some_and(|owner| self.belongs_elsewhere(owner)) {
            drop(inner);
            return Poll::Ready(Err(FutureError::foreign_loop()));
        }
        let known = self.key.and_then(|key| inner.listeners.get_mut(key));
        if let Some(Listener::Waker(known)) = known {
            if known.will_wake(waker) {
                drop(inner);
                self.note_awaited(scope.is_some());
                return Poll::Pending;
            }
            // Polled by another task: the old waker goes, dropped after the
            // borrow (an executor's waker may run code when dropped).
            let old = mem::replace(known, HeldWaker::new(waker));
            drop(inner);
            drop(old);
            self.note_awaited(scope.is_some());
            return Poll::Pending;
        }
        self.key = Some(inner.listeners.push(Listener::Waker(HeldWaker::new(waker))));
        inner.wakers += 1;
        drop(inner);
        self.note_awaited(scope.is_some());
        Poll::Pending
    }

    /// Whether the task whose loop is at address `owner` (0: unknown) is
    /// not of this future's loop.
    #[inline]
    fn belongs_elsewhere(&self, owner: usize) -> bool {
        owner != 0
            && self
                .future
                .shared
                .scheduler
                .as_ref()
                .is_some_and(|scheduler| scheduler.as_ptr().cast::<()>() as usize != owner)
    }

    /// Tells the task polling us, if any (`in_scope`: this poll is its
    /// own), that it waits on this future, so that cancelling the task
    /// cancels it (see [`cancel`]).
    #[inline]
    fn note_awaited(&self, in_scope: bool) {
        if in_scope {
            cancel::note_in_scope(0, || {
                let shared: Rc<dyn Awaited> = self.future.shared.clone();
                shared
            });
        }
    }

    /// The task's cancellation was delivered here: this await ends with it,
    /// and the future, if still pending, is cancelled with it (asyncio
    /// cancels what a cancelled task awaits). Our waker goes first, so
    /// that cancelling does not wake the task that is running.
    #[cold]
    fn take_cancel(&mut self, cancelled: FutureError) -> FutureError {
        if let Some(key) = self.key.take() {
            self.remove_waker(key);
        }
        self.terminated = true;
        let message = cancelled.cancel_message().map(Arc::from);
        self.future.cancel_inner(message);
        cancelled
    }
}

impl<T: 'static> Awaited for Shared<T> {
    fn cancel_awaited(self: Rc<Self>, _key: u64, message: Option<Arc<str>>) -> bool {
        Future { shared: self }.cancel_inner(message)
    }

    fn describe_awaited(&self, _key: u64) -> String {
        self.describe()
    }
}

impl<T: 'static> Drop for Awaiter<T> {
    #[inline]
    fn drop(&mut self) {
        // Almost always done by now (completion took the waker): inline
        // this test, keep the removal out of line.
        if let Some(key) = self.key.take() {
            self.remove_waker(key);
        }
    }
}

impl<T: 'static> Awaiter<T> {
    #[inline(never)]
    fn remove_waker(&mut self, key: CallbackKey) {
        let removed = match self.future.shared.inner.try_borrow_mut() {
            Ok(mut inner) if matches!(inner.state, State::Pending) => {
                let removed = inner.listeners.remove(key);
                inner.wakers -= u32::from(removed.is_some());
                removed
            }
            // Done: completion already took the waker. Borrowed: never, as no
            // borrow is held across user code, and then the waker stays
            // until completion wakes it, which is harmless.
            _ => None,
        };
        drop(removed);
    }
}

/// The future that awaiting a [`Future`] polls (from `future.await`, or
/// [`Future::wait`]): ready with [`Future::result`], a clone of the result,
/// once the future is done.
///
/// While it waits, the future holds one waker for it: polled again by another
/// task, it replaces that waker; dropped before the future is done (a
/// `select!` that another branch won, a cancelled wait), it removes it. So any
/// number of awaiters that come and go leave nothing behind, and completion
/// wakes each live awaiter exactly once. It is fused: after it returned
/// `Ready`, [`is_terminated`](futures_core::FusedFuture::is_terminated) is true.
///
/// Inside a task of an executor that speaks [`cancel`](crate::cancel)
/// (`asyncio-loop`'s tasks), cancelling the task while it waits here
/// cancels the future, and the wait ends with the cancelled error, as in
/// asyncio.
///
/// # Examples
///
/// ```
/// use asyncio_core::Future;
/// use futures::future::{select, Either};
///
/// let shutdown: Future<()> = Future::new();
/// let other = Future::new();
/// other.set_result(1).unwrap();
/// let first = futures::executor::block_on(select(shutdown.wait(), other.wait()));
/// let Either::Right((Ok(1), losing)) = first else { panic!("other wins") };
/// assert_eq!(format!("{shutdown:?}"), "<Future pending cb=[<waker>]>");
/// assert_eq!(format!("{losing:?}"), "Wait(<Future pending cb=[<waker>]>)");
/// // Dropping the losing wait removes its waker.
/// drop(losing);
/// assert_eq!(format!("{shutdown:?}"), "<Future pending>");
/// ```
pub struct Wait<T: 'static>(Awaiter<T>);

/// The future that [`Future::wait_take`] returns: ready with
/// [`Future::take_result`] once the future is done, for results that are not
/// `Clone`. Otherwise as [`Wait`].
///
/// # Examples
///
/// ```
/// use asyncio_core::Future;
///
/// #[derive(Debug)]
/// struct NotClone(u8);
/// let future = Future::new();
/// future.set_result(NotClone(7)).unwrap();
/// let taken = futures::executor::block_on(future.wait_take()).unwrap();
/// assert_eq!(taken.0, 7);
/// assert!(future.take_result().unwrap_err().is_invalid_state());
/// ```
pub struct WaitTake<T: 'static>(Awaiter<T>);

impl<T: 'static> Future<T> {
    /// Waits for the future and gives a clone of its result: what
    /// `future.await` does, without giving up the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let future = asyncio_core::Future::new();
    /// future.set_result("done").unwrap();
    /// assert_eq!(futures::executor::block_on(future.wait()).unwrap(), "done");
    /// assert_eq!(future.result().unwrap(), "done");
    /// ```
    pub fn wait(&self) -> Wait<T>
    where
        T: Clone,
    {
        Wait(Awaiter::new(self.clone()))
    }

    /// Waits for the future and moves its result out
    /// ([`take_result`](Self::take_result)): awaiting for results that are
    /// not `Clone`. Later reads of the result fail with an invalid-state
    /// error (`result was taken`).
    ///
    /// # Examples
    ///
    /// See [`WaitTake`].
    pub fn wait_take(&self) -> WaitTake<T> {
        WaitTake(Awaiter::new(self.clone()))
    }
}

impl<T: Clone + 'static> StdFuture for Wait<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_read(context, |value| value.clone())
    }
}

impl<T: 'static> StdFuture for WaitTake<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_read(context, Option::take)
    }
}

impl<T: Clone + 'static> futures_core::FusedFuture for Wait<T> {
    fn is_terminated(&self) -> bool {
        self.0.terminated
    }
}

impl<T: 'static> futures_core::FusedFuture for WaitTake<T> {
    fn is_terminated(&self) -> bool {
        self.0.terminated
    }
}

impl<T: 'static> fmt::Debug for Awaiter<T> {
    /// The awaited future as asyncio shows it (without its result).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.future.shared.describe())
    }
}

impl<T: 'static> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Wait").field(&self.0).finish()
    }
}

impl<T: 'static> fmt::Debug for WaitTake<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WaitTake").field(&self.0).finish()
    }
}
