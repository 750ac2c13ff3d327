//! The one trait an event loop implements for futures: `Schedule`.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use asyncio_callbacks::Callback;

use crate::Exception;

/// What a future needs from its event loop: a FIFO queue for callbacks, and
/// somewhere to report errors nobody else will see.
///
/// `asyncio-loop` implements it; a future made with
/// [`Future::with_scheduler`](crate::Future::with_scheduler) holds a weak
/// reference to one, so a future never keeps its loop alive. `asyncio-core`
/// never names the loop crate: this trait is the whole boundary.
///
/// # Examples
///
/// A scheduler that queues jobs in a `VecDeque` and runs them on demand:
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::VecDeque;
/// use std::rc::Rc;
/// use asyncio_callbacks::Callback;
/// use asyncio_core::{Closed, ExceptionContext, Future, Schedule};
///
/// #[derive(Default)]
/// struct Queue(RefCell<VecDeque<Callback<()>>>);
///
/// impl Schedule for Queue {
///     fn schedule(&self, job: Callback<()>) -> Result<(), Closed> {
///         self.0.borrow_mut().push_back(job);
///         Ok(())
///     }
///     fn call_exception_handler(&self, context: ExceptionContext) {
///         eprintln!("{context}");
///     }
/// }
///
/// let queue = Rc::new(Queue::default());
/// let scheduler: Rc<dyn Schedule> = queue.clone();
/// let future = Future::with_scheduler(Rc::downgrade(&scheduler));
/// let seen = Rc::new(RefCell::new(None));
/// let sink = seen.clone();
/// future.add_done_callback(move |f: &Future<i32>| *sink.borrow_mut() = f.result().ok()).unwrap();
///
/// future.set_result(7).unwrap();
/// assert_eq!(*seen.borrow(), None, "callbacks never run inside set_result");
/// let job = queue.0.borrow_mut().pop_front().unwrap();
/// job.call(&());
/// assert_eq!(*seen.borrow(), Some(7));
/// ```
pub trait Schedule {
    /// Queues `job` to run later (with `job.call(&())`), after everything
    /// queued before it.
    ///
    /// # Errors
    ///
    /// [`Closed`] when the loop is closed; the job is dropped.
    fn schedule(&self, job: Callback<()>) -> Result<(), Closed>;

    /// Reports an error that no caller can receive: a panic in a
    /// done-callback, an exception nobody retrieved.
    fn call_exception_handler(&self, context: ExceptionContext);
}

/// The error of [`Schedule::schedule`] on a closed loop.
///
/// # Examples
///
/// ```
/// assert_eq!(asyncio_core::Closed.to_string(), "event loop is closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("event loop is closed")
    }
}

impl Error for Closed {}

/// What an exception handler is told: asyncio's `context` dict, typed.
///
/// asyncio passes a dict with a `message` and optional keys; the ones that
/// apply to this crate's errors are fields here. Its `Display` is the text of
/// asyncio's default exception handler: the message, then one `key: value`
/// line per field that is set (sorted by key, as asyncio sorts them), then the
/// exception. The default handler prints exactly that to stderr.
///
/// # Examples
///
/// ```
/// use asyncio_core::{Exception, ExceptionContext};
///
/// let context = ExceptionContext::new("Future exception was never retrieved")
///     .with_future("<Future finished exception=Exception(\"never\")>")
///     .with_exception(Exception::msg("never"));
/// assert_eq!(
///     context.to_string(),
///     "Future exception was never retrieved\n\
///      future: <Future finished exception=Exception(\"never\")>\n\
///      exception: never"
/// );
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExceptionContext {
    /// What happened, in asyncio's words (`Exception in callback ...`).
    pub message: Cow<'static, str>,
    /// The error, when there is one.
    pub exception: Option<Exception>,
    /// The name of the callback that failed, when one did.
    pub callback: Option<&'static str>,
    /// The `Debug` text of the future involved, when there is one.
    pub future: Option<String>,
    /// The `Debug` text of the loop's handle whose callback failed
    /// (`<Handle NAME>`, `<TimerHandle when=... NAME>`), asyncio's `handle`.
    pub handle: Option<String>,
}

impl ExceptionContext {
    /// A context with only a message.
    ///
    /// # Examples
    ///
    /// ```
    /// let context = asyncio_core::ExceptionContext::new("something odd");
    /// assert_eq!(context.to_string(), "something odd");
    /// ```
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        ExceptionContext {
            message: message.into(),
            exception: None,
            callback: None,
            future: None,
            handle: None,
        }
    }

    /// Sets the exception.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, ExceptionContext};
    ///
    /// let context = ExceptionContext::new("failed").with_exception(Exception::msg("why"));
    /// assert_eq!(context.exception.unwrap().to_string(), "why");
    /// ```
    pub fn with_exception(mut self, exception: Exception) -> Self {
        self.exception = Some(exception);
        self
    }

    /// Sets the name of the callback involved.
    ///
    /// # Examples
    ///
    /// ```
    /// let context = asyncio_core::ExceptionContext::new("failed").with_callback("my_callback");
    /// assert_eq!(context.to_string(), "failed\ncallback: my_callback");
    /// ```
    pub fn with_callback(mut self, callback: &'static str) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Sets the `Debug` text of the future involved.
    ///
    /// # Examples
    ///
    /// ```
    /// let context = asyncio_core::ExceptionContext::new("failed").with_future("<Future cancelled>");
    /// assert_eq!(context.future.as_deref(), Some("<Future cancelled>"));
    /// ```
    pub fn with_future(mut self, future: impl Into<String>) -> Self {
        self.future = Some(future.into());
        self
    }

    /// Sets the `Debug` text of the handle whose callback failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let context = asyncio_core::ExceptionContext::new("failed")
    ///     .with_callback("tick")
    ///     .with_handle("<TimerHandle when=2.5 tick>");
    /// assert_eq!(
    ///     context.to_string(),
    ///     "failed\ncallback: tick\nhandle: <TimerHandle when=2.5 tick>"
    /// );
    /// ```
    pub fn with_handle(mut self, handle: impl Into<String>) -> Self {
        self.handle = Some(handle.into());
        self
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str("Unhandled exception in event loop")?;
        } else {
            f.write_str(&self.message)?;
        }
        if let Some(callback) = self.callback {
            write!(f, "\ncallback: {callback}")?;
        }
        if let Some(future) = &self.future {
            write!(f, "\nfuture: {future}")?;
        }
        if let Some(handle) = &self.handle {
            write!(f, "\nhandle: {handle}")?;
        }
        if let Some(exception) = &self.exception {
            write!(f, "\nexception: {exception}")?;
        }
        Ok(())
    }
}

/// Prints `context` to stderr the way asyncio's default exception handler
/// logs it. Loops use it when no handler is set, and futures use it when
/// their loop is gone.
pub(crate) fn print_to_stderr(context: &ExceptionContext) {
    eprintln!("{context}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_reads_as_asyncio_default() {
        let context = ExceptionContext::new("").with_callback("cb");
        assert_eq!(
            context.to_string(),
            "Unhandled exception in event loop\ncallback: cb"
        );
    }
}
