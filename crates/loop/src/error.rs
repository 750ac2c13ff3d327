//! `LoopError`: every way a loop operation can fail.

use std::error::Error;
use std::fmt;

use asyncio_core::propagated::Walk;
use asyncio_core::{Exception, FutureError, FutureErrorKind};

/// The error of an [`EventLoop`](crate::EventLoop) operation.
///
/// asyncio raises `RuntimeError` with different messages for these; here each
/// has a query method, and the future's own outcome (its exception, or its
/// cancellation) comes through as a [`FutureError`].
///
/// | asyncio | [`kind()`](Self::kind) | query |
/// |---|---|---|
/// | `RuntimeError('Event loop is closed')` | [`Closed`](LoopErrorKind::Closed) | [`is_closed`](Self::is_closed) |
/// | `RuntimeError('This event loop is already running')` | [`AlreadyRunning`](LoopErrorKind::AlreadyRunning) | [`is_running`](Self::is_running) |
/// | `RuntimeError('Cannot close a running event loop')` | [`CloseRunning`](LoopErrorKind::CloseRunning) | [`is_running`](Self::is_running) |
/// | `RuntimeError('Cannot run the event loop while another loop is running')` | [`AnotherLoopRunning`](LoopErrorKind::AnotherLoopRunning) | [`is_another_loop_running`](Self::is_another_loop_running) |
/// | `RuntimeError('Event loop stopped before Future completed.')` | [`Stopped`](LoopErrorKind::Stopped) | [`is_stopped`](Self::is_stopped) |
/// | (asyncio waits forever) | [`Stuck`](LoopErrorKind::Stuck) | [`is_stuck`](Self::is_stuck) |
/// | `ValueError('The future belongs to a different loop ...')` | [`ForeignFuture`](LoopErrorKind::ForeignFuture) | [`is_foreign_future`](Self::is_foreign_future) |
/// | `RuntimeError('no running event loop')` | [`NoRunningLoop`](LoopErrorKind::NoRunningLoop) | [`is_no_running_loop`](Self::is_no_running_loop) |
/// | the future's exception, `CancelledError`, ... | [`Future(kind)`](LoopErrorKind::Future) | [`future_error`](Self::future_error) |
/// | `RuntimeError('File descriptor ... is used by transport ...')` | [`FdInUse`](LoopErrorKind::FdInUse) | [`is_fd_in_use`](Self::is_fd_in_use) |
/// | `OSError` from registering a descriptor (`PermissionError` for a regular file) | [`Io(kind)`](LoopErrorKind::Io) | [`io_error`](Self::io_error) |
/// | `KeyboardInterrupt` (Ctrl-C in [`run`](crate::run) or [`EventLoop::run_forever_interruptible`](crate::EventLoop::run_forever_interruptible)) | [`Interrupted`](LoopErrorKind::Interrupted) | [`is_interrupted`](Self::is_interrupted) |
/// | `ValueError('invalid signal number 0')`, `RuntimeError('sig 9 cannot be caught')` | [`Signal`](LoopErrorKind::Signal) | [`signal`](Self::signal) |
///
/// It is `Send + Sync + 'static`, so `?` turns it into an `anyhow::Error` or
/// a `Box<dyn Error + Send + Sync>`. For a future's failure it is
/// transparent: `Display` and [`source`](Error::source) are the
/// [`FutureError`]'s.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// event_loop.close().unwrap();
/// let error = event_loop.call_soon(|| {}).unwrap_err();
/// assert!(error.is_closed());
/// assert_eq!(error.to_string(), "event loop is closed");
/// ```
///
/// A function (`main` too) can return it through `anyhow` or a boxed error:
///
/// ```
/// fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let event_loop = asyncio_loop::EventLoop::new();
///     event_loop.call_soon(|| {})?;
///     event_loop.stop();
///     event_loop.run_forever()?;
///     Ok(())
/// }
/// run().unwrap();
/// ```
#[derive(Clone)]
pub struct LoopError {
    repr: Repr,
}

/// What a [`LoopError`] is, for `match`: one variant per asyncio condition.
///
/// `#[non_exhaustive]`, like [`std::io::ErrorKind`]: a `match` needs a
/// catch-all arm.
///
/// # Examples
///
/// ```
/// use asyncio_core::FutureErrorKind;
/// use asyncio_loop::{EventLoop, LoopErrorKind};
///
/// let event_loop = EventLoop::new();
/// let future = event_loop.create_future::<()>();
/// future.cancel();
/// match event_loop.run_until_complete(&future).unwrap_err().kind() {
///     LoopErrorKind::Future(FutureErrorKind::Cancelled) => {}
///     other => panic!("unexpected {other:?}"),
/// }
/// event_loop.close().unwrap();
/// assert_eq!(event_loop.run_forever().unwrap_err().kind(), LoopErrorKind::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoopErrorKind {
    /// The loop is closed (or dropped) and refuses the operation.
    Closed,
    /// Running a loop that is already running (from one of its callbacks).
    AlreadyRunning,
    /// Closing a loop while it runs.
    CloseRunning,
    /// Running a loop while another loop runs on the same thread.
    AnotherLoopRunning,
    /// The loop stopped before the future given to `run_until_complete` was done.
    Stopped,
    /// Nothing could ever complete the future given to `run_until_complete`:
    /// the loop had nothing ready, no timer and nothing outside it that could
    /// wake it (see [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)).
    Stuck,
    /// `run_until_complete` was given a future of another loop, or of none.
    ForeignFuture,
    /// `get_running_loop` outside a running loop.
    NoRunningLoop,
    /// A deadline passed first: `wait_for`, `timeout`, `as_completed`
    /// (asyncio's `TimeoutError`).
    Timeout,
    /// An operation its object's state does not allow: a [`Timeout`](crate::Timeout)
    /// rescheduled outside its block or after it expired, or run twice; a
    /// task made in a [`TaskGroup`](crate::TaskGroup) that is finished or
    /// shutting down (asyncio's `RuntimeError`).
    InvalidState,
    /// Tasks of a [`TaskGroup`](crate::TaskGroup) (or its body) failed:
    /// [`LoopError::exceptions`] has their exceptions (asyncio's
    /// `ExceptionGroup`).
    TaskGroup,
    /// The future's own failure: its exception, its cancellation, or another
    /// [`FutureError`], whose kind this carries.
    Future(FutureErrorKind),
    /// `add_reader`, `add_writer` or [`Registered::new`](crate::Registered::new)
    /// was given a descriptor that a registered source (a socket of the
    /// `sock_*` coroutines, a transport) already owns.
    FdInUse,
    /// The OS refused to register a descriptor with the loop's poller
    /// (a regular file, a closed descriptor): the I/O error's kind.
    Io(std::io::ErrorKind),
    /// [`add_signal_handler`](crate::LoopHandle::add_signal_handler) or
    /// `remove_signal_handler` was given a number that is no signal, a
    /// signal no handler may catch, or one another loop handles.
    Signal,
    /// Ctrl-C (`SIGINT`) ended [`run`](crate::run) or
    /// [`EventLoop::run_forever_interruptible`](crate::EventLoop::run_forever_interruptible)
    /// (asyncio's `KeyboardInterrupt`).
    Interrupted,
}

#[derive(Clone)]
enum Repr {
    Closed,
    AlreadyRunning,
    CloseWhileRunning,
    AnotherLoopRunning,
    Stopped,
    Stuck,
    ForeignFuture,
    NoRunningLoop,
    /// With the cancellation it replaced, its `source()` (asyncio's
    /// `__cause__`), when there was one.
    Timeout(Option<FutureError>),
    InvalidState(&'static str),
    /// The rarer errors that carry data, behind one pointer: one more
    /// variant with drop glue made `LoopError`'s drop an outlined call on
    /// every `call_soon` (W1 +9 instructions per callback).
    Rare(std::sync::Arc<Rare>),
    Future(FutureError),
    FdInUse(i32),
    Signal(i32, SignalProblem),
    Interrupted,
}

/// Why a signal was refused.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignalProblem {
    /// Not a signal of this OS.
    Invalid,
    /// `SIGKILL`, `SIGSTOP`, or a fault signal a handler must not catch.
    Uncatchable,
    /// Another loop of the process handles it.
    OtherLoop,
}

/// What `Repr::Rare` carries.
enum Rare {
    Group(Box<[Exception]>),
    Io(std::io::Error),
}

impl LoopError {
    pub(crate) fn closed() -> Self {
        LoopError { repr: Repr::Closed }
    }

    pub(crate) fn already_running() -> Self {
        LoopError {
            repr: Repr::AlreadyRunning,
        }
    }

    pub(crate) fn close_while_running() -> Self {
        LoopError {
            repr: Repr::CloseWhileRunning,
        }
    }

    pub(crate) fn another_loop_running() -> Self {
        LoopError {
            repr: Repr::AnotherLoopRunning,
        }
    }

    pub(crate) fn stopped() -> Self {
        LoopError {
            repr: Repr::Stopped,
        }
    }

    pub(crate) fn stuck() -> Self {
        LoopError { repr: Repr::Stuck }
    }

    pub(crate) fn foreign_future() -> Self {
        LoopError {
            repr: Repr::ForeignFuture,
        }
    }

    pub(crate) fn no_running_loop() -> Self {
        LoopError {
            repr: Repr::NoRunningLoop,
        }
    }

    /// A timeout that replaced `cancellation` (asyncio's `raise
    /// TimeoutError from exc`), or that cut nothing short.
    pub(crate) fn timeout(cancellation: Option<FutureError>) -> Self {
        register();
        LoopError {
            repr: Repr::Timeout(cancellation),
        }
    }

    pub(crate) fn group(exceptions: Vec<Exception>) -> Self {
        LoopError {
            repr: Repr::Rare(std::sync::Arc::new(Rare::Group(exceptions.into()))),
        }
    }

    /// The exceptions of a [`TaskGroup`](crate::TaskGroup)'s failed tasks,
    /// in the order they failed (the body's own error last); empty for
    /// every other error.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, LoopErrorKind, TaskGroup};
    ///
    /// let event_loop = EventLoop::new();
    /// let error = event_loop
    ///     .run_until_complete(TaskGroup::run(|group| async move {
    ///         group.create_task(async { Err::<(), _>("first") })?;
    ///         group.create_task(async { Err::<(), _>("second") })?;
    ///         Ok::<_, asyncio_loop::LoopError>(())
    ///     }))
    ///     .unwrap()
    ///     .unwrap_err();
    /// assert_eq!(error.kind(), LoopErrorKind::TaskGroup);
    /// let messages: Vec<String> = error.exceptions().iter().map(ToString::to_string).collect();
    /// assert_eq!(messages, ["first", "second"]);
    /// ```
    pub fn exceptions(&self) -> &[Exception] {
        match &self.repr {
            Repr::Rare(rare) => match &**rare {
                Rare::Group(exceptions) => exceptions,
                Rare::Io(_) => &[],
            },
            _ => &[],
        }
    }

    pub(crate) fn fd_in_use(fd: i32) -> Self {
        LoopError {
            repr: Repr::FdInUse(fd),
        }
    }

    pub(crate) fn io(error: std::io::Error) -> Self {
        LoopError {
            repr: Repr::Rare(std::sync::Arc::new(Rare::Io(error))),
        }
    }

    /// Whether a descriptor given to `add_reader`, `add_writer` or
    /// [`Registered::new`](crate::Registered::new) is already owned by a
    /// registered source.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::fd::AsRawFd;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let ours = Registered::new(&event_loop, ours).unwrap();
    /// let error = event_loop.add_reader(ours.as_raw_fd(), || {}).unwrap_err();
    /// assert!(error.is_fd_in_use());
    /// # }
    /// ```
    pub fn is_fd_in_use(&self) -> bool {
        matches!(self.repr, Repr::FdInUse(_))
    }

    /// The OS error that refused a registration with the loop's poller.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::os::fd::AsRawFd;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// // epoll refuses regular files, as asyncio's selector does.
    /// let file = std::fs::File::open("Cargo.toml").unwrap();
    /// let error = event_loop.add_reader(file.as_raw_fd(), || {}).unwrap_err();
    /// assert_eq!(error.io_error().unwrap().kind(), std::io::ErrorKind::PermissionDenied);
    /// # }
    /// ```
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match &self.repr {
            Repr::Rare(rare) => match &**rare {
                Rare::Io(error) => Some(error),
                Rare::Group(_) => None,
            },
            _ => None,
        }
    }

    pub(crate) fn refused_signal(signal: i32, problem: SignalProblem) -> Self {
        LoopError {
            repr: Repr::Signal(signal, problem),
        }
    }

    /// The signal number that [`add_signal_handler`](crate::LoopHandle::add_signal_handler)
    /// or `remove_signal_handler` refused.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let error = event_loop.add_signal_handler(9, || {}).unwrap_err();
    /// assert_eq!(error.signal(), Some(9));
    /// assert_eq!(error.to_string(), "sig 9 cannot be caught");
    /// let error = event_loop.remove_signal_handler(0).unwrap_err();
    /// assert_eq!(error.to_string(), "invalid signal number 0");
    /// # }
    /// ```
    pub fn signal(&self) -> Option<i32> {
        match self.repr {
            Repr::Signal(signal, _) => Some(signal),
            _ => None,
        }
    }

    pub(crate) fn interrupted() -> Self {
        LoopError {
            repr: Repr::Interrupted,
        }
    }

    /// Whether Ctrl-C (`SIGINT`) ended [`run`](crate::run) or
    /// [`EventLoop::run_forever_interruptible`](crate::EventLoop::run_forever_interruptible)
    /// (asyncio's `KeyboardInterrupt`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// event_loop.call_soon(|| signal_hook::low_level::raise(libc::SIGINT).unwrap()).unwrap();
    /// let error = event_loop.run_forever_interruptible().unwrap_err();
    /// assert!(error.is_interrupted());
    /// assert_eq!(error.to_string(), "interrupted by SIGINT (Ctrl-C)");
    /// # }
    /// ```
    pub fn is_interrupted(&self) -> bool {
        matches!(self.repr, Repr::Interrupted)
    }

    pub(crate) fn invalid_state(what: &'static str) -> Self {
        LoopError {
            repr: Repr::InvalidState(what),
        }
    }

    /// What this error is, for `match`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{get_running_loop, LoopErrorKind};
    ///
    /// assert_eq!(get_running_loop().unwrap_err().kind(), LoopErrorKind::NoRunningLoop);
    /// ```
    pub fn kind(&self) -> LoopErrorKind {
        match &self.repr {
            Repr::Closed => LoopErrorKind::Closed,
            Repr::AlreadyRunning => LoopErrorKind::AlreadyRunning,
            Repr::CloseWhileRunning => LoopErrorKind::CloseRunning,
            Repr::AnotherLoopRunning => LoopErrorKind::AnotherLoopRunning,
            Repr::Stopped => LoopErrorKind::Stopped,
            Repr::Stuck => LoopErrorKind::Stuck,
            Repr::ForeignFuture => LoopErrorKind::ForeignFuture,
            Repr::NoRunningLoop => LoopErrorKind::NoRunningLoop,
            Repr::Timeout(_) => LoopErrorKind::Timeout,
            Repr::InvalidState(_) => LoopErrorKind::InvalidState,
            Repr::Rare(rare) => match &**rare {
                Rare::Group(_) => LoopErrorKind::TaskGroup,
                Rare::Io(error) => LoopErrorKind::Io(error.kind()),
            },
            Repr::Future(error) => LoopErrorKind::Future(error.kind()),
            Repr::FdInUse(_) => LoopErrorKind::FdInUse,
            Repr::Signal(..) => LoopErrorKind::Signal,
            Repr::Interrupted => LoopErrorKind::Interrupted,
        }
    }

    /// Whether the loop is closed (or dropped) and refuses the operation.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// event_loop.close().unwrap();
    /// assert!(event_loop.run_forever().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self.repr, Repr::Closed)
    }

    /// Whether the operation needs a loop that is not running: running it
    /// again from one of its own callbacks
    /// ([`AlreadyRunning`](LoopErrorKind::AlreadyRunning)), or closing it
    /// while it runs ([`CloseRunning`](LoopErrorKind::CloseRunning));
    /// [`kind`](Self::kind) tells the two apart.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let handle = event_loop.handle();
    /// let seen = Rc::new(RefCell::new(None));
    /// let sink = seen.clone();
    /// event_loop
    ///     .call_soon(move || {
    ///         *sink.borrow_mut() = handle.close().err();
    ///         handle.stop();
    ///     })
    ///     .unwrap();
    /// event_loop.run_forever().unwrap();
    /// let error = seen.borrow_mut().take().unwrap();
    /// assert!(error.is_running());
    /// assert_eq!(error.kind(), asyncio_loop::LoopErrorKind::CloseRunning);
    /// assert_eq!(error.to_string(), "cannot close a running event loop");
    /// ```
    pub fn is_running(&self) -> bool {
        matches!(self.repr, Repr::AlreadyRunning | Repr::CloseWhileRunning)
    }

    /// Whether another loop is already running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use asyncio_loop::EventLoop;
    ///
    /// let outer = EventLoop::new();
    /// let refused = Rc::new(Cell::new(false));
    /// let flag = refused.clone();
    /// outer
    ///     .call_soon(move || {
    ///         let inner = EventLoop::new();
    ///         flag.set(inner.run_forever().unwrap_err().is_another_loop_running());
    ///     })
    ///     .unwrap();
    /// outer.stop();
    /// outer.run_forever().unwrap();
    /// assert!(refused.get());
    /// ```
    pub fn is_another_loop_running(&self) -> bool {
        matches!(self.repr, Repr::AnotherLoopRunning)
    }

    /// Whether the loop stopped before the future given to
    /// `run_until_complete` was done. The future stays pending and can be
    /// run again.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let future = event_loop.create_future::<()>();
    /// event_loop.stop();
    /// assert!(event_loop.run_until_complete(&future).unwrap_err().is_stopped());
    /// assert!(!future.done());
    /// ```
    pub fn is_stopped(&self) -> bool {
        matches!(self.repr, Repr::Stopped)
    }

    /// Whether `run_until_complete` gave up on a future that nothing could
    /// ever complete (asyncio would wait forever): the loop had nothing
    /// ready, no timer, no [`ThreadsafeHandle`](crate::ThreadsafeHandle) or
    /// [`Completer`](crate::Completer) alive, and no waker of its tasks held
    /// outside its own futures.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let forgotten = event_loop.create_future::<()>(); // nobody sets it
    /// let error = event_loop.run_until_complete(&forgotten).unwrap_err();
    /// assert!(error.is_stuck());
    /// assert!(!forgotten.done());
    /// ```
    pub fn is_stuck(&self) -> bool {
        matches!(self.repr, Repr::Stuck)
    }

    /// Whether a deadline passed first (asyncio's `TimeoutError`), from
    /// [`wait_for`](crate::wait_for), [`Timeout`](crate::Timeout) or
    /// [`as_completed`](crate::as_completed).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{wait_for, EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let slow = async move { handle.sleep(10.0).await };
    /// let error = event_loop.run_until_complete(wait_for(slow, 1.0)).unwrap().unwrap_err();
    /// assert!(error.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.repr, Repr::Timeout(_))
    }

    /// Whether `run_until_complete` was given a future of another loop (or
    /// one made by `Future::new`, which has none).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let first = EventLoop::new();
    /// let second = EventLoop::new();
    /// let future = first.create_future::<()>();
    /// assert!(second.run_until_complete(&future).unwrap_err().is_foreign_future());
    /// ```
    pub fn is_foreign_future(&self) -> bool {
        match &self.repr {
            Repr::ForeignFuture => true,
            // A task's await of another loop's future, propagated.
            Repr::Future(error) => error.is_foreign_loop(),
            _ => false,
        }
    }

    /// Whether [`get_running_loop`](crate::get_running_loop) found no running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_loop::get_running_loop().unwrap_err().is_no_running_loop());
    /// ```
    pub fn is_no_running_loop(&self) -> bool {
        matches!(self.repr, Repr::NoRunningLoop)
    }

    /// The future's own failure, when that is what stopped
    /// `run_until_complete`: its exception, or its cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let future = event_loop.create_future::<()>();
    /// future.cancel_with_message("not needed");
    /// let error = event_loop.run_until_complete(&future).unwrap_err();
    /// assert_eq!(error.future_error().unwrap().cancel_message(), Some("not needed"));
    /// ```
    pub fn future_error(&self) -> Option<&FutureError> {
        match &self.repr {
            Repr::Future(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the future run to completion was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let future = event_loop.create_future::<()>();
    /// future.cancel();
    /// assert!(event_loop.run_until_complete(&future).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.future_error().is_some_and(FutureError::is_cancelled)
    }

    /// The exception the future run to completion finished with (for a
    /// coroutine, a [`Panic`](asyncio_core::Panic) if it panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Panic;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let error = event_loop.run_until_complete(async { panic!("inside") }).unwrap_err();
    /// let panic = error.exception().unwrap().downcast_ref::<Panic>().unwrap().clone();
    /// assert_eq!(panic.message(), "inside");
    /// ```
    pub fn exception(&self) -> Option<&Exception> {
        self.future_error().and_then(FutureError::exception)
    }
}

impl From<FutureError> for LoopError {
    fn from(error: FutureError) -> Self {
        register();
        LoopError {
            repr: Repr::Future(error),
        }
    }
}

impl From<LoopError> for FutureError {
    /// The [`FutureError`] the loop error carries (a cancellation, or a
    /// failed future's exception, propagated with `?`), or else one whose
    /// exception is the loop error: so that `?` takes a `LoopError` in a
    /// coroutine that returns `FutureError`, and a cancellation stays one.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::FutureError;
    /// use asyncio_loop::{get_running_loop, LoopError};
    ///
    /// // Outside a running loop.
    /// let error = FutureError::from(get_running_loop().unwrap_err());
    /// let loop_error = error.exception().unwrap().downcast_ref::<LoopError>().unwrap();
    /// assert!(loop_error.is_no_running_loop());
    /// ```
    fn from(error: LoopError) -> Self {
        match error.repr {
            Repr::Future(inner) => inner,
            _ => FutureError::from(Exception::new(error)),
        }
    }
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.repr {
            Repr::Closed => "event loop is closed",
            Repr::AlreadyRunning => "this event loop is already running",
            Repr::CloseWhileRunning => "cannot close a running event loop",
            Repr::AnotherLoopRunning => "cannot run the event loop while another loop is running",
            Repr::Stopped => "event loop stopped before future completed",
            Repr::Stuck => {
                "nothing can complete the future: the event loop has nothing ready, \
                 no timer and nothing outside it that could wake it"
            }
            Repr::ForeignFuture => "the future belongs to a different event loop",
            Repr::NoRunningLoop => "no running event loop",
            Repr::Timeout(_) => "timed out",
            Repr::InvalidState(what) => what,
            Repr::Interrupted => "interrupted by SIGINT (Ctrl-C)",
            Repr::Rare(rare) => match &**rare {
                Rare::Group(exceptions) => {
                    let plural = if exceptions.len() == 1 { "" } else { "s" };
                    return write!(
                        f,
                        "unhandled errors in a TaskGroup ({} sub-exception{plural})",
                        exceptions.len()
                    );
                }
                Rare::Io(error) => return write!(f, "cannot watch the file descriptor: {error}"),
            },
            Repr::Future(error) => return fmt::Display::fmt(error, f),
            Repr::FdInUse(fd) => {
                return write!(f, "file descriptor {fd} is used by a registered source")
            }
            Repr::Signal(signal, problem) => {
                return match problem {
                    SignalProblem::Invalid => write!(f, "invalid signal number {signal}"),
                    SignalProblem::Uncatchable => write!(f, "sig {signal} cannot be caught"),
                    SignalProblem::OtherLoop => {
                        write!(f, "sig {signal} is handled by another event loop")
                    }
                }
            }
        })
    }
}

impl fmt::Debug for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Closed => f.write_str("Closed"),
            Repr::AlreadyRunning => f.write_str("AlreadyRunning"),
            Repr::CloseWhileRunning => f.write_str("CloseWhileRunning"),
            Repr::AnotherLoopRunning => f.write_str("AnotherLoopRunning"),
            Repr::Stopped => f.write_str("Stopped"),
            Repr::Stuck => f.write_str("Stuck"),
            Repr::ForeignFuture => f.write_str("ForeignFuture"),
            Repr::NoRunningLoop => f.write_str("NoRunningLoop"),
            Repr::Timeout(_) => f.write_str("Timeout"),
            Repr::Interrupted => f.write_str("Interrupted"),
            Repr::InvalidState(what) => f.debug_tuple("InvalidState").field(what).finish(),
            Repr::Rare(rare) => match &**rare {
                Rare::Group(exceptions) => f.debug_tuple("TaskGroup").field(exceptions).finish(),
                Rare::Io(error) => f.debug_tuple("Io").field(error).finish(),
            },
            Repr::Future(error) => f.debug_tuple("Future").field(error).finish(),
            Repr::FdInUse(fd) => f.debug_tuple("FdInUse").field(fd).finish(),
            Repr::Signal(signal, problem) => f
                .debug_tuple("Signal")
                .field(signal)
                .field(problem)
                .finish(),
        }
    }
}

impl Error for LoopError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            // Transparent: the future's error is this error's message.
            Repr::Future(error) => error.source(),
            // asyncio's `__cause__`: the cancellation the timeout replaced.
            Repr::Timeout(Some(cancellation)) => Some(cancellation),
            Repr::Rare(rare) => match &**rare {
                Rare::Io(error) => Some(error),
                Rare::Group(_) => None,
            },
            _ => None,
        }
    }
}

/// Tells `asyncio_core::propagated` how to look into a `LoopError`: one
/// that carries a future's error is that error (its `source()` skips it, as
/// a transparent error's does), and a timeout is not a cancellation, though
/// its source is one. Registered once, when the first error that needs it
/// is made.
fn register() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        asyncio_core::propagated::recognise::<LoopError>(|error| match &error.repr {
            Repr::Future(inner) => Walk::Inner(inner),
            _ => Walk::NotCancelled,
        });
    });
}

/// The exception a future gets when its [`Completer`](crate::Completer) was dropped without
/// setting a result (a worker that gave up, a panic that unwound past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompleterDropped;

impl fmt::Display for CompleterDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future's completer was dropped without a result")
    }
}

impl std::error::Error for CompleterDropped {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_between_threads() {
        fn travels<E: Error + Send + Sync + 'static>() {}
        travels::<LoopError>();
    }
}
