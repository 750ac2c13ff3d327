//! `FutureError`: every way a future operation can fail.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::Exception;

/// The error of a [`Future`](crate::Future) operation.
///
/// One opaque type covers what asyncio raises from the same methods, each
/// with a query method:
///
/// | asyncio | [`kind()`](Self::kind) | query |
/// |---|---|---|
/// | `CancelledError(msg)` from `result()`, `exception()` or `await` | [`Cancelled`](FutureErrorKind::Cancelled) | [`is_cancelled`](Self::is_cancelled), [`cancel_message`](Self::cancel_message) |
/// | `InvalidStateError` (result twice, result not ready) | [`InvalidState`](FutureErrorKind::InvalidState) | [`is_invalid_state`](Self::is_invalid_state) |
/// | the exception the future finished with | [`Exception`](FutureErrorKind::Exception) | [`exception`](Self::exception) |
/// | `RuntimeError('Event loop is closed')` when callbacks cannot be scheduled | [`LoopClosed`](FutureErrorKind::LoopClosed) | [`is_loop_closed`](Self::is_loop_closed) |
/// | `RuntimeError('no running event loop')` (a future made without a loop has no asyncio equivalent) | [`Unbound`](FutureErrorKind::Unbound) | [`is_unbound`](Self::is_unbound) |
///
/// It is `Send + Sync + 'static` and cheap to clone (one reference count),
/// so `?` turns it into an `anyhow::Error` or a `Box<dyn Error + Send + Sync>`.
/// `Display` is a lowercase sentence with no trailing period. For an
/// exception the error is transparent: `Display` is the exception's own
/// message and [`source`](Error::source) is the exception's source, so an
/// error chain names each cause once.
///
/// # Examples
///
/// ```
/// use asyncio_core::{Future, FutureErrorKind};
///
/// let future: Future<u8> = Future::new();
/// let error = future.result().unwrap_err();
/// assert!(error.is_invalid_state());
/// assert_eq!(error.to_string(), "invalid state: result is not ready");
///
/// match error.kind() {
///     FutureErrorKind::InvalidState => {}
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
///
/// It travels across threads and into the ecosystem's error types:
///
/// ```
/// use asyncio_core::Future;
///
/// fn read(future: &Future<u8>) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
///     Ok(future.result()?)
/// }
/// let error = read(&Future::new()).unwrap_err();
/// let error = std::thread::spawn(move || error.to_string()).join().unwrap();
/// assert_eq!(error, "invalid state: result is not ready");
/// ```
#[derive(Clone)]
pub struct FutureError {
    /// Behind one pointer, so that `Result<T, FutureError>` (what awaiting a
    /// future yields) stays small: for a word-sized `T`, two words, returned
    /// in registers. Errors are the rare path; the allocation is theirs.
    repr: Arc<Repr>,
}

/// What a [`FutureError`] is, for `match`: one variant per asyncio condition.
///
/// Like [`std::io::ErrorKind`], it is `#[non_exhaustive]`: later versions may
/// add variants, so a `match` needs a catch-all arm.
///
/// # Examples
///
/// ```
/// use asyncio_core::{Future, FutureErrorKind};
///
/// let future: Future<()> = Future::new();
/// future.cancel();
/// assert_eq!(future.result().unwrap_err().kind(), FutureErrorKind::Cancelled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FutureErrorKind {
    /// The future was cancelled (asyncio's `CancelledError`).
    Cancelled,
    /// The operation is not allowed in the future's state (asyncio's
    /// `InvalidStateError`).
    InvalidState,
    /// The future finished with an exception; [`FutureError::exception`] has it.
    Exception,
    /// Done-callbacks could not be scheduled: the future's loop is closed or
    /// gone (asyncio's `RuntimeError('Event loop is closed')`).
    LoopClosed,
    /// No event loop to run it: a done-callback was added to a future
    /// made without one, or an awaitable that binds to the running loop
    /// was awaited where none runs (asyncio's `RuntimeError('no running
    /// event loop')`).
    Unbound,
    /// A task awaited a future of another event loop (asyncio's
    /// `RuntimeError`, "attached to a different loop").
    ForeignLoop,
}

enum Repr {
    Cancelled(Option<Arc<str>>),
    InvalidState(&'static str),
    Exception(Exception),
    LoopClosed,
    Unbound,
    ForeignLoop,
}

impl FutureError {
    fn new(repr: Repr) -> Self {
        FutureError {
            repr: Arc::new(repr),
        }
    }

    pub(crate) fn cancelled(message: Option<Arc<str>>) -> Self {
        FutureError::new(Repr::Cancelled(message))
    }

    /// A cancellation error with `message` (asyncio's `CancelledError(msg)`),
    /// for awaitables of other crates that end with a cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = asyncio_core::FutureError::cancellation(Some("stop"));
    /// assert!(error.is_cancelled());
    /// assert_eq!(error.cancel_message(), Some("stop"));
    /// ```
    pub fn cancellation(message: Option<&str>) -> Self {
        FutureError::cancelled(message.map(Arc::from))
    }

    /// asyncio's `InvalidStateError`, for awaitables built on this crate
    /// (a wait polled again after it completed); `what` says what was
    /// wrong, as the rest of the sentence after "invalid state: ".
    ///
    /// # Examples
    ///
    /// ```
    /// let error = asyncio_core::FutureError::invalid_state("polled after it completed");
    /// assert!(error.is_invalid_state());
    /// assert_eq!(error.to_string(), "invalid state: polled after it completed");
    /// ```
    pub fn invalid_state(what: &'static str) -> Self {
        FutureError::new(Repr::InvalidState(what))
    }

    pub(crate) fn from_exception(exception: Exception) -> Self {
        FutureError::new(Repr::Exception(exception))
    }

    /// The error of an operation whose loop is closed or gone, for the
    /// loop's own awaitables (a sleep on a dropped loop).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_core::FutureError::loop_closed().is_loop_closed());
    /// ```
    pub fn loop_closed() -> Self {
        FutureError::new(Repr::LoopClosed)
    }

    pub(crate) fn foreign_loop() -> Self {
        FutureError::new(Repr::ForeignLoop)
    }

    /// The error of an awaitable that has no event loop to run it on: a
    /// done-callback added to a future made by
    /// [`Future::new`](crate::Future::new), or, for the loop's own
    /// awaitables, one bound to the running loop when first awaited (the
    /// facade's `sleep`) and awaited where no loop runs.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_core::FutureError::unbound().is_unbound());
    /// ```
    pub fn unbound() -> Self {
        FutureError::new(Repr::Unbound)
    }

    /// What this error is, for `match`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, Future, FutureErrorKind};
    ///
    /// let future: Future<()> = Future::new();
    /// future.set_exception(Exception::msg("boom")).unwrap();
    /// assert_eq!(future.result().unwrap_err().kind(), FutureErrorKind::Exception);
    /// ```
    pub fn kind(&self) -> FutureErrorKind {
        match &*self.repr {
            Repr::Cancelled(_) => FutureErrorKind::Cancelled,
            Repr::InvalidState(_) => FutureErrorKind::InvalidState,
            Repr::Exception(_) => FutureErrorKind::Exception,
            Repr::LoopClosed => FutureErrorKind::LoopClosed,
            Repr::Unbound => FutureErrorKind::Unbound,
            Repr::ForeignLoop => FutureErrorKind::ForeignLoop,
        }
    }

    /// Whether the future was cancelled (asyncio's `CancelledError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Future;
    ///
    /// let future: Future<()> = Future::new();
    /// future.cancel();
    /// assert!(future.result().unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(*self.repr, Repr::Cancelled(_))
    }

    /// The message given to [`cancel_with_message`](crate::Future::cancel_with_message),
    /// if the future was cancelled with one.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Future;
    ///
    /// let future: Future<()> = Future::new();
    /// future.cancel_with_message("shutting down");
    /// let error = future.result().unwrap_err();
    /// assert_eq!(error.cancel_message(), Some("shutting down"));
    /// assert_eq!(error.to_string(), "future was cancelled: shutting down");
    /// ```
    pub fn cancel_message(&self) -> Option<&str> {
        match &*self.repr {
            Repr::Cancelled(message) => message.as_deref(),
            _ => None,
        }
    }

    /// Whether the operation is not allowed in the future's state
    /// (asyncio's `InvalidStateError`): setting a result or exception twice,
    /// or reading the result or exception of a pending future.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Future;
    ///
    /// let future = Future::new();
    /// future.set_result(1).unwrap();
    /// assert!(future.set_result(2).unwrap_err().is_invalid_state());
    /// ```
    pub fn is_invalid_state(&self) -> bool {
        matches!(*self.repr, Repr::InvalidState(_))
    }

    /// The exception the future finished with, if that is what this error is.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, Future};
    ///
    /// let future: Future<()> = Future::new();
    /// future.set_exception(Exception::msg("boom")).unwrap();
    /// let error = future.result().unwrap_err();
    /// assert_eq!(error.exception().unwrap().to_string(), "boom");
    /// ```
    pub fn exception(&self) -> Option<&Exception> {
        match &*self.repr {
            Repr::Exception(exception) => Some(exception),
            _ => None,
        }
    }

    /// Converts into the exception the future finished with, or gives the
    /// error back when it is something else.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, Future};
    ///
    /// let future: Future<()> = Future::new();
    /// future.set_exception(Exception::msg("boom")).unwrap();
    /// let exception = future.result().unwrap_err().into_exception().unwrap();
    /// assert_eq!(exception.to_string(), "boom");
    /// ```
    pub fn into_exception(self) -> Result<Exception, FutureError> {
        match &*self.repr {
            Repr::Exception(exception) => Ok(exception.clone()),
            _ => Err(self),
        }
    }

    /// Whether done-callbacks could not be scheduled because the future's
    /// event loop is closed or gone.
    ///
    /// As in asyncio, the state change that triggered the scheduling has
    /// already happened when this error is returned; the callbacks are lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use asyncio_core::{Closed, ExceptionContext, Future, Schedule};
    ///
    /// struct ClosedLoop;
    /// impl Schedule for ClosedLoop {
    ///     fn schedule(&self, _job: asyncio_callbacks::Callback<()>) -> Result<(), Closed> { Err(Closed) }
    ///     fn call_exception_handler(&self, _context: ExceptionContext) {}
    /// }
    ///
    /// let scheduler: Rc<dyn Schedule> = Rc::new(ClosedLoop);
    /// let future = Future::with_scheduler(Rc::downgrade(&scheduler));
    /// future.add_done_callback(|_| {}).unwrap();
    /// assert!(future.set_result(1).unwrap_err().is_loop_closed());
    /// assert!(future.done());
    /// ```
    pub fn is_loop_closed(&self) -> bool {
        matches!(*self.repr, Repr::LoopClosed)
    }

    /// Whether there was no event loop to run it: a done-callback added to
    /// a future made by [`Future::new`](crate::Future::new), or an awaitable
    /// that binds to the running loop awaited where none runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Future;
    ///
    /// let future: Future<()> = Future::new();
    /// assert!(future.add_done_callback(|_| {}).unwrap_err().is_unbound());
    /// ```
    pub fn is_unbound(&self) -> bool {
        matches!(*self.repr, Repr::Unbound)
    }

    /// Whether a task awaited a future of another event loop: the await
    /// ends with this error at once (asyncio throws `RuntimeError` into
    /// the coroutine), since nothing the task's own loop runs can complete
    /// that future.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::FutureErrorKind;
    ///
    /// assert_ne!(FutureErrorKind::ForeignLoop, FutureErrorKind::Unbound);
    /// ```
    pub fn is_foreign_loop(&self) -> bool {
        matches!(*self.repr, Repr::ForeignLoop)
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Cancelled(None) => f.write_str("future was cancelled"),
            Repr::Cancelled(Some(message)) => write!(f, "future was cancelled: {message}"),
            Repr::InvalidState(what) => write!(f, "invalid state: {what}"),
            Repr::Exception(exception) => fmt::Display::fmt(exception, f),
            Repr::LoopClosed => f.write_str("event loop is closed"),
            Repr::Unbound => f.write_str("future is not bound to an event loop"),
            Repr::ForeignLoop => f.write_str("the future belongs to a different event loop"),
        }
    }
}

impl fmt::Debug for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Cancelled(message) => f.debug_tuple("Cancelled").field(message).finish(),
            Repr::InvalidState(what) => f.debug_tuple("InvalidState").field(what).finish(),
            Repr::Exception(exception) => f.debug_tuple("Exception").field(exception).finish(),
            Repr::LoopClosed => f.write_str("LoopClosed"),
            Repr::Unbound => f.write_str("Unbound"),
            Repr::ForeignLoop => f.write_str("ForeignLoop"),
        }
    }
}

impl Error for FutureError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &*self.repr {
            // Transparent: the exception's message is this error's message.
            Repr::Exception(exception) => exception.source(),
            _ => None,
        }
    }
}

impl From<Exception> for FutureError {
    /// An error that is `exception`, as `result()` of a failed future returns.
    fn from(exception: Exception) -> Self {
        FutureError::from_exception(exception)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;
    use std::task::Poll;

    #[test]
    fn errors_travel_between_threads() {
        fn travels<E: Error + Send + Sync + 'static>() {}
        travels::<FutureError>();
        travels::<Exception>();
    }

    #[test]
    fn awaiting_a_word_sized_result_yields_two_words() {
        // Small enough to come back in registers, not through memory.
        assert_eq!(size_of::<FutureError>(), size_of::<usize>());
        assert_eq!(
            size_of::<Result<usize, FutureError>>(),
            2 * size_of::<usize>()
        );
        assert_eq!(
            size_of::<Poll<Result<usize, FutureError>>>(),
            2 * size_of::<usize>()
        );
    }

    #[test]
    fn into_exception_hands_back_other_errors_unchanged() {
        let error = FutureError::cancelled(Some(Arc::from("stop")));
        let error = error.into_exception().unwrap_err();
        assert_eq!(error.cancel_message(), Some("stop"));
        let exception = FutureError::from_exception(Exception::msg("boom"))
            .into_exception()
            .unwrap();
        assert_eq!(exception.to_string(), "boom");
    }
}
