//! Errors of user code and the exception handler: every panic the loop
//! catches (callbacks, steps, drops of what the user gave it) ends here,
//! reported to the handler as asyncio's `call_exception_handler` context.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use asyncio_core::{Exception, ExceptionContext, Panicked};

use super::Shared;
use crate::clock;

/// An exception handler as the loop keeps it: shared, so that it can be
/// cloned out before it runs (a handler may replace itself).
pub type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

impl Shared {
    /// Drops `value`, which may run user code (a `Drop` of something a
    /// callback or a coroutine captured), reporting a panic in it to the
    /// exception handler instead of unwinding into the loop.
    pub(crate) fn drop_reporting<V>(&self, what: &'static str, value: V) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
            self.report_drop_panic(what, payload);
        }
    }

    #[cold]
    fn report_drop_panic(&self, what: &'static str, payload: Box<dyn std::any::Any + Send>) {
        self.report_panic(format!("Exception in dropping {what}"), payload);
    }

    /// The `Debug` text of the handle of the job that runs now, named `name`:
    /// a `TimerHandle` if a timer queued it, a `Handle` otherwise.
    #[cold]
    fn describe_running(&self, name: &str) -> String {
        let seq = self.ready.borrow().last_popped();
        let when = seq.and_then(|seq| self.timers.borrow().queued_as(seq));
        match when {
            Some(when) => crate::timers::describe(clock::seconds(when), name),
            None => format!("<Handle {name}>"),
        }
    }

    /// Reports a panic of user code that no callback's or task's own report
    /// covers, with `message` saying where it happened.
    #[cold]
    pub(crate) fn report_panic(&self, message: String, payload: Box<dyn std::any::Any + Send>) {
        self.call_exception_handler(
            ExceptionContext::new(message).with_exception(Exception::from_panic(payload)),
        );
    }

    #[cold]
    pub(super) fn report_callback_panic(&self, panicked: Panicked) {
        let name = panicked.name();
        let payload = panicked.into_payload();
        self.call_exception_handler(
            ExceptionContext::new(format!("Exception in callback {name}"))
                .with_callback(name)
                .with_handle(self.describe_running(name))
                .with_exception(Exception::from_panic(payload)),
        );
    }

    /// asyncio's `Task exception was never retrieved`.
    pub(crate) fn report_unretrieved(&self, task: String, exception: Exception) {
        self.call_exception_handler(
            ExceptionContext::new("Task exception was never retrieved")
                .with_future(task)
                .with_exception(exception),
        );
    }

    pub(crate) fn set_exception_handler(&self, handler: Option<ExceptionHandler>) {
        let previous = std::mem::replace(&mut *self.handler.borrow_mut(), handler);
        // Dropped under the new handler, which hears of a panic in it.
        self.drop_reporting("an exception handler", previous);
    }

    /// The handler, if one is set.
    pub(crate) fn exception_handler(&self) -> Option<ExceptionHandler> {
        self.handler.borrow().clone()
    }

    /// Removes the handler and drops it, printing a panic in that to stderr.
    pub(crate) fn take_exception_handler(&self) {
        let handler = self.handler.borrow_mut().take();
        drop_to_stderr(handler);
    }

    /// Runs the handler on `context`. Nothing here unwinds: a panic in the
    /// handler, in dropping the context (the last clone of a user's
    /// exception) or in dropping the handler (replaced meanwhile) goes to the
    /// default handler, stderr.
    pub(crate) fn call_exception_handler(&self, context: ExceptionContext) {
        let handler = self.handler.borrow().clone();
        let Some(handler) = handler else {
            default_exception_handler(&context);
            drop_to_stderr(context);
            return;
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(&context))) {
            // asyncio falls back to its default handler, naming both errors.
            eprintln!(
                "{}\ncontext: {}",
                ExceptionContext::new("Unhandled error in exception handler")
                    .with_exception(Exception::from_panic(payload)),
                context.to_string().replace('\n', "\n    "),
            );
        }
        drop_to_stderr(context);
        drop_to_stderr(handler);
    }
}

/// What the loop does with an error when no exception handler is set
/// (asyncio's `loop.default_exception_handler`): prints the context to
/// stderr, in asyncio's format. A custom handler may call it too, for the
/// errors it does not handle itself.
///
/// # Examples
///
/// ```
/// use asyncio_core::ExceptionContext;
/// use asyncio_loop::{default_exception_handler, EventLoop};
///
/// let event_loop = EventLoop::new();
/// event_loop.set_exception_handler(Some(|context: &ExceptionContext| {
///     if context.callback.is_some() {
///         // Our own handling of failed callbacks would go here.
///     }
///     default_exception_handler(context);
/// }));
/// ```
pub fn default_exception_handler(context: &ExceptionContext) {
    eprintln!("{context}");
}

/// Drops `value`, printing a panic in its `Drop` to stderr: for what the
/// exception handler itself holds, whose panics cannot go to the handler.
pub(crate) fn drop_to_stderr<V>(value: V) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        eprintln!(
            "{}",
            ExceptionContext::new("Exception in dropping an exception handler's value")
                .with_exception(Exception::from_panic(payload))
        );
    }
}
