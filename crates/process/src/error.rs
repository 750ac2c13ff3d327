//! `ProcessError`: every way a subprocess operation can fail.

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

use asyncio_loop::LoopError;

/// The error of a subprocess operation.
///
/// | asyncio | [`kind()`](Self::kind) |
/// |---|---|
/// | `FileNotFoundError`, `PermissionError` from `Popen` | [`Spawn(kind)`](ProcessErrorKind::Spawn) |
/// | `ProcessLookupError` (a signal to a process that has exited) | [`ProcessLookup`](ProcessErrorKind::ProcessLookup) |
/// | `ValueError` (`bufsize`, an empty program, ...) | [`InvalidArgument`](ProcessErrorKind::InvalidArgument) |
/// | `BrokenPipeError`, other `OSError`s of a pipe | [`Io(kind)`](ProcessErrorKind::Io) |
/// | `RuntimeError('Event loop is closed')` and the loop's other errors | [`Loop`](ProcessErrorKind::Loop) |
///
/// `Send + Sync + 'static` and cheap to clone.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_process::{subprocess_exec, ProcessErrorKind, SubprocessProtocol};
///
/// struct Quiet;
/// impl SubprocessProtocol for Quiet {}
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let error = event_loop
///     .run_until_complete(async move {
///         subprocess_exec(&handle, || Quiet, "no-such-program-here", &[] as &[&str]).await
///     })
///     .unwrap()
///     .unwrap_err();
/// assert_eq!(error.kind(), ProcessErrorKind::Spawn(std::io::ErrorKind::NotFound));
/// ```
#[derive(Clone)]
pub struct ProcessError {
    repr: Repr,
}

/// What a [`ProcessError`] is, for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProcessErrorKind {
    /// The program could not be started: the OS error's kind (`NotFound`
    /// for a program that does not exist).
    Spawn(io::ErrorKind),
    /// The process has exited and was reaped: it can take no signal.
    ProcessLookup,
    /// An argument no process could be started with.
    InvalidArgument,
    /// An OS error of a pipe (`BrokenPipe` once the child closed its end).
    Io(io::ErrorKind),
    /// The loop's error: it is closed, or the awaiting task was
    /// cancelled.
    Loop,
    /// A [`ProcessPool`](crate::ProcessPool) worker died while it ran the
    /// job (asyncio's `BrokenProcessPool`); the pool replaced it.
    WorkerDied,
    /// A pool job failed in its worker: the function panicked, or no
    /// function has that name there; the message says which.
    Job,
}

#[derive(Clone)]
enum Repr {
    Spawn(Arc<io::Error>),
    ProcessLookup,
    InvalidArgument(String),
    Io(Arc<io::Error>),
    Loop(LoopError),
    WorkerDied,
    Job(String),
}

impl ProcessError {
    pub(crate) fn spawn(error: io::Error) -> Self {
        ProcessError {
            repr: Repr::Spawn(Arc::new(error)),
        }
    }

    pub(crate) fn process_lookup() -> Self {
        ProcessError {
            repr: Repr::ProcessLookup,
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        ProcessError {
            repr: Repr::InvalidArgument(message.into()),
        }
    }

    pub(crate) fn io(error: io::Error) -> Self {
        ProcessError {
            repr: Repr::Io(Arc::new(error)),
        }
    }

    pub(crate) fn worker_died() -> Self {
        ProcessError {
            repr: Repr::WorkerDied,
        }
    }

    pub(crate) fn job(message: String) -> Self {
        ProcessError {
            repr: Repr::Job(message),
        }
    }

    /// What this error is, for `match`.
    pub fn kind(&self) -> ProcessErrorKind {
        match &self.repr {
            Repr::Spawn(error) => ProcessErrorKind::Spawn(error.kind()),
            Repr::ProcessLookup => ProcessErrorKind::ProcessLookup,
            Repr::InvalidArgument(_) => ProcessErrorKind::InvalidArgument,
            Repr::Io(error) => ProcessErrorKind::Io(error.kind()),
            Repr::Loop(_) => ProcessErrorKind::Loop,
            Repr::WorkerDied => ProcessErrorKind::WorkerDied,
            Repr::Job(_) => ProcessErrorKind::Job,
        }
    }

    /// The OS error, for [`Spawn`](ProcessErrorKind::Spawn) and
    /// [`Io`](ProcessErrorKind::Io) errors.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.repr {
            Repr::Spawn(error) | Repr::Io(error) => Some(error),
            _ => None,
        }
    }

    /// Whether this is the cancellation of the awaiting task.
    pub fn is_cancelled(&self) -> bool {
        self.loop_error().is_some_and(LoopError::is_cancelled)
    }

    /// The loop's error, for [`Loop`](ProcessErrorKind::Loop) errors.
    pub fn loop_error(&self) -> Option<&LoopError> {
        match &self.repr {
            Repr::Loop(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the process had exited (asyncio's `ProcessLookupError`).
    pub fn is_process_lookup(&self) -> bool {
        matches!(self.repr, Repr::ProcessLookup)
    }
}

impl From<LoopError> for ProcessError {
    /// The loop's error; a cancellation stays one: a task whose coroutine
    /// propagates it in a `ProcessError` ends cancelled.
    fn from(error: LoopError) -> Self {
        register();
        ProcessError {
            repr: Repr::Loop(error),
        }
    }
}

impl From<asyncio_core::FutureError> for ProcessError {
    fn from(error: asyncio_core::FutureError) -> Self {
        ProcessError::from(LoopError::from(error))
    }
}

/// Tells `asyncio_core::propagated` how to look into a `ProcessError`:
/// one that carries the loop's error is that error (a cancellation, when
/// it is one). Registered once, when the first such error is made.
fn register() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        asyncio_core::propagated::recognise::<ProcessError>(|error| match &error.repr {
            Repr::Loop(inner) => asyncio_core::propagated::Walk::Inner(inner),
            _ => asyncio_core::propagated::Walk::NotCancelled,
        });
    });
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Spawn(error) => write!(f, "cannot start the program: {error}"),
            Repr::ProcessLookup => f.write_str("the process has exited"),
            Repr::InvalidArgument(message) => f.write_str(message),
            Repr::Io(error) => fmt::Display::fmt(error, f),
            Repr::Loop(error) => fmt::Display::fmt(error, f),
            Repr::WorkerDied => f.write_str(
                "a process in the process pool was terminated abruptly while the job ran",
            ),
            Repr::Job(message) => f.write_str(message),
        }
    }
}

impl fmt::Debug for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Spawn(error) => f.debug_tuple("Spawn").field(error).finish(),
            Repr::ProcessLookup => f.write_str("ProcessLookup"),
            Repr::InvalidArgument(message) => {
                f.debug_tuple("InvalidArgument").field(message).finish()
            }
            Repr::Io(error) => f.debug_tuple("Io").field(error).finish(),
            Repr::Loop(error) => f.debug_tuple("Loop").field(error).finish(),
            Repr::WorkerDied => f.write_str("WorkerDied"),
            Repr::Job(message) => f.debug_tuple("Job").field(message).finish(),
        }
    }
}

impl Error for ProcessError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            Repr::Spawn(error) | Repr::Io(error) => Some(&**error),
            Repr::Loop(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_messages_and_sources() {
        let error = ProcessError::spawn(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(
            error.kind(),
            ProcessErrorKind::Spawn(io::ErrorKind::NotFound)
        );
        assert!(error.to_string().starts_with("cannot start the program: "));
        assert!(error.source().is_some());
        let error = ProcessError::process_lookup();
        assert!(error.is_process_lookup());
        assert_eq!(error.to_string(), "the process has exited");
        let error = ProcessError::io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(
            error.kind(),
            ProcessErrorKind::Io(io::ErrorKind::BrokenPipe)
        );
        fn send_sync<T: Send + Sync + 'static>(_: &T) {}
        send_sync(&error);
    }
}
