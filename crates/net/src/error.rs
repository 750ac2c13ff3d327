//! `NetError`: every way a transport, a connection or a server can fail.

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

use asyncio_core::propagated::Walk;
use asyncio_core::Exception;
use asyncio_loop::LoopError;

/// The error of a transport, connection or server operation, and what
/// [`Protocol::connection_lost`](crate::Protocol::connection_lost) is given
/// when a connection ends in one.
///
/// | asyncio | [`kind()`](Self::kind) | query |
/// |---|---|---|
/// | `OSError` and its subclasses (`ConnectionRefusedError`, `ConnectionResetError`, ...) | [`Io(kind)`](NetErrorKind::Io) | [`io_error`](Self::io_error) |
/// | `OSError('Multiple exceptions: ...')` from `create_connection` | [`Io(kind)`](NetErrorKind::Io) of the first | [`io_errors`](Self::io_errors) |
/// | `RuntimeError('Cannot call write() after write_eof()')` | [`InvalidState`](NetErrorKind::InvalidState) | [`is_invalid_state`](Self::is_invalid_state) |
/// | `ValueError('high (...) must be >= low (...) must be >= 0')` | [`InvalidArgument`](NetErrorKind::InvalidArgument) | [`is_invalid_argument`](Self::is_invalid_argument) |
/// | `IncompleteReadError(partial, expected)` from a stream read | [`IncompleteRead`](NetErrorKind::IncompleteRead) | [`partial`](Self::partial), [`expected`](Self::expected) |
/// | `LimitOverrunError(message, consumed)` from `readuntil` (`readline`'s `ValueError`) | [`LimitOverrun`](NetErrorKind::LimitOverrun) | [`consumed`](Self::consumed) |
/// | `socket.gaierror(code, message)` from a name lookup | [`Resolve`](NetErrorKind::Resolve) | [`resolver_code`](Self::resolver_code) |
/// | an exception raised by a protocol callback (a fatal error) | [`Protocol`](NetErrorKind::Protocol) | [`exception`](Self::exception) |
/// | `RuntimeError('Event loop is closed')` and the loop's other errors | [`Loop`](NetErrorKind::Loop) | [`loop_error`](Self::loop_error) |
///
/// `Send + Sync + 'static`, and cheap to clone (a connection's error is
/// given to its protocol and kept for later readers). A cancellation
/// propagated into it with `?` is still one: the task ends cancelled.
///
/// # Examples
///
/// ```
/// use asyncio_net::{NetError, NetErrorKind};
///
/// let error = NetError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
/// assert_eq!(error.kind(), NetErrorKind::Io(std::io::ErrorKind::ConnectionReset));
/// ```
#[derive(Clone)]
pub struct NetError {
    repr: Arc<Repr>,
}

/// What a [`NetError`] is, for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetErrorKind {
    /// An OS error (of the socket, a connect, a name lookup).
    Io(io::ErrorKind),
    /// An operation the transport's state does not allow.
    InvalidState,
    /// A bad argument (write-buffer limits).
    InvalidArgument,
    /// A protocol callback panicked: the connection was closed with this
    /// error (asyncio's fatal error).
    Protocol,
    /// The event loop refused (closed, gone).
    Loop,
    /// A stream ended before a read got what it needed (asyncio's
    /// `IncompleteReadError`): the bytes it got are in
    /// [`partial`](NetError::partial).
    IncompleteRead,
    /// A stream's separator was not found within its limit (asyncio's
    /// `LimitOverrunError`); how far the search got is in
    /// [`consumed`](NetError::consumed).
    LimitOverrun,
    /// The resolver failed (asyncio's `socket.gaierror`): its `EAI_*`
    /// code is [`resolver_code`](NetError::resolver_code).
    Resolve,
}

enum Repr {
    Io(io::Error),
    /// Several connect attempts failed, each with its address (each an
    /// `Io` error).
    Multiple(Vec<(String, NetError)>),
    InvalidState(&'static str),
    InvalidArgument(String),
    Protocol(Exception),
    Loop(LoopError),
    IncompleteRead {
        partial: Vec<u8>,
        expected: Option<usize>,
        /// The connection's error, when the stream ended in one.
        cause: Option<NetError>,
    },
    LimitOverrun {
        message: &'static str,
        consumed: usize,
    },
    Resolve {
        code: i32,
        message: String,
    },
}

impl NetError {
    fn new(repr: Repr) -> Self {
        NetError {
            repr: Arc::new(repr),
        }
    }

    pub(crate) fn invalid_state(what: &'static str) -> Self {
        NetError::new(Repr::InvalidState(what))
    }

    pub(crate) fn invalid_argument(what: String) -> Self {
        NetError::new(Repr::InvalidArgument(what))
    }

    pub(crate) fn protocol(exception: Exception) -> Self {
        NetError::new(Repr::Protocol(exception))
    }

    pub(crate) fn multiple(errors: Vec<(String, NetError)>) -> Self {
        NetError::new(Repr::Multiple(errors))
    }

    pub(crate) fn incomplete_read(
        partial: Vec<u8>,
        expected: Option<usize>,
        cause: Option<NetError>,
    ) -> Self {
        NetError::new(Repr::IncompleteRead {
            partial,
            expected,
            cause,
        })
    }

    pub(crate) fn limit_overrun(message: &'static str, consumed: usize) -> Self {
        NetError::new(Repr::LimitOverrun { message, consumed })
    }

    pub(crate) fn resolve(code: i32, message: String) -> Self {
        NetError::new(Repr::Resolve { code, message })
    }

    pub(crate) fn other(message: &str) -> Self {
        NetError::from(io::Error::other(message.to_owned()))
    }

    /// What this error is.
    pub fn kind(&self) -> NetErrorKind {
        match &*self.repr {
            Repr::Io(error) => NetErrorKind::Io(error.kind()),
            Repr::Multiple(errors) => errors
                .first()
                .map_or(NetErrorKind::Io(io::ErrorKind::Other), |(_, e)| e.kind()),
            Repr::InvalidState(_) => NetErrorKind::InvalidState,
            Repr::InvalidArgument(_) => NetErrorKind::InvalidArgument,
            Repr::Protocol(_) => NetErrorKind::Protocol,
            Repr::Loop(_) => NetErrorKind::Loop,
            Repr::IncompleteRead { .. } => NetErrorKind::IncompleteRead,
            Repr::LimitOverrun { .. } => NetErrorKind::LimitOverrun,
            Repr::Resolve { .. } => NetErrorKind::Resolve,
        }
    }

    /// The resolver's `EAI_*` code (negative on Linux: `EAI_NONAME` is
    /// -2), for a [`Resolve`](NetErrorKind::Resolve) error.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    /// use asyncio_net::{getaddrinfo, AddrInfoHints, NetErrorKind};
    ///
    /// let event_loop = EventLoop::new();
    /// let handle = event_loop.handle();
    /// let error = event_loop
    ///     .run_until_complete(async move {
    ///         let numeric_only = AddrInfoHints::new().flags(libc::AI_NUMERICHOST);
    ///         getaddrinfo(&handle, Some("not-a-number"), None, &numeric_only).await
    ///     })
    ///     .unwrap()
    ///     .unwrap_err();
    /// assert_eq!(error.kind(), NetErrorKind::Resolve);
    /// assert_eq!(error.resolver_code(), Some(libc::EAI_NONAME));
    /// assert_eq!(error.to_string(), "[Errno -2] Name or service not known");
    /// ```
    pub fn resolver_code(&self) -> Option<i32> {
        match &*self.repr {
            Repr::Resolve { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The bytes an incomplete read got before the stream ended (asyncio's
    /// `IncompleteReadError.partial`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_net::StreamReader;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let reader = StreamReader::new();
    /// reader.feed_data(b"abc").unwrap();
    /// reader.feed_eof();
    /// let error = event_loop.run_until_complete(async move { reader.readexactly(5).await })
    ///     .unwrap()
    ///     .unwrap_err();
    /// assert_eq!(error.partial(), Some(&b"abc"[..]));
    /// assert_eq!(error.expected(), Some(5));
    /// ```
    pub fn partial(&self) -> Option<&[u8]> {
        match &*self.repr {
            Repr::IncompleteRead { partial, .. } => Some(partial),
            _ => None,
        }
    }

    /// How many bytes an incomplete read expected: `Some(n)` from
    /// `readexactly(n)`, `None` from `readuntil` (asyncio's `expected`).
    pub fn expected(&self) -> Option<usize> {
        match &*self.repr {
            Repr::IncompleteRead { expected, .. } => *expected,
            _ => None,
        }
    }

    /// How many bytes a limit overrun covered (asyncio's
    /// `LimitOverrunError.consumed`).
    pub fn consumed(&self) -> Option<usize> {
        match &*self.repr {
            Repr::LimitOverrun { consumed, .. } => Some(*consumed),
            _ => None,
        }
    }

    /// The OS error (for several failed connects, the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_net::NetError;
    ///
    /// let error = NetError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    /// assert_eq!(error.io_error().unwrap().kind(), std::io::ErrorKind::BrokenPipe);
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        match &*self.repr {
            Repr::Io(error) => Some(error),
            Repr::Multiple(errors) => errors.first().and_then(|(_, error)| error.io_error()),
            _ => None,
        }
    }

    /// Every OS error with what it was about: one for an ordinary error,
    /// each address's for a `create_connection` whose attempts all failed
    /// differently (asyncio's `Multiple exceptions`).
    pub fn io_errors(&self) -> Vec<&io::Error> {
        match &*self.repr {
            Repr::Io(error) => vec![error],
            Repr::Multiple(errors) => errors
                .iter()
                .filter_map(|(_, error)| error.io_error())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the transport's state refused the operation.
    pub fn is_invalid_state(&self) -> bool {
        matches!(&*self.repr, Repr::InvalidState(_))
    }

    /// Whether an argument was refused.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(&*self.repr, Repr::InvalidArgument(_))
    }

    /// The panic (or other exception) of a protocol callback that ended the
    /// connection.
    pub fn exception(&self) -> Option<&Exception> {
        match &*self.repr {
            Repr::Protocol(exception) => Some(exception),
            _ => None,
        }
    }

    /// The loop's error, when the loop refused.
    pub fn loop_error(&self) -> Option<&LoopError> {
        match &*self.repr {
            Repr::Loop(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for NetError {
    /// An OS error; one that carries a [`LoopError`] (the loop's I/O
    /// operations report a closed loop so) becomes that.
    fn from(error: io::Error) -> Self {
        if error.get_ref().is_some_and(|inner| inner.is::<LoopError>()) {
            let inner = error.into_inner().expect("checked above");
            let loop_error = inner.downcast::<LoopError>().expect("checked above");
            return NetError::from(*loop_error);
        }
        NetError::new(Repr::Io(error))
    }
}

impl From<LoopError> for NetError {
    /// The loop's error; a cancellation stays one: a task whose coroutine
    /// propagates it in a `NetError` ends cancelled.
    fn from(error: LoopError) -> Self {
        register();
        NetError::new(Repr::Loop(error))
    }
}

/// Tells `asyncio_core::propagated` how to look into a `NetError`: one
/// that carries the loop's error is that error (a cancellation, when it
/// is one); the others are not cancellations. Registered once, when the
/// first error that needs it is made.
fn register() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        asyncio_core::propagated::recognise::<NetError>(|error| match &*error.repr {
            Repr::Loop(inner) => Walk::Inner(inner),
            _ => Walk::NotCancelled,
        });
    });
}

impl From<asyncio_core::FutureError> for NetError {
    fn from(error: asyncio_core::FutureError) -> Self {
        NetError::from(LoopError::from(error))
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Io(error) => fmt::Display::fmt(error, f),
            Repr::Multiple(errors) => {
                f.write_str("multiple exceptions: ")?;
                for (i, (address, error)) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "[{address}] {error}")?;
                }
                Ok(())
            }
            Repr::InvalidState(what) => f.write_str(what),
            Repr::InvalidArgument(what) => f.write_str(what),
            Repr::Protocol(exception) => write!(f, "protocol callback failed: {exception}"),
            Repr::Loop(error) => fmt::Display::fmt(error, f),
            Repr::IncompleteRead {
                partial, expected, ..
            } => match expected {
                Some(expected) => write!(
                    f,
                    "{} bytes read on a total of {expected} expected bytes",
                    partial.len()
                ),
                None => write!(
                    f,
                    "{} bytes read on a total of undefined expected bytes",
                    partial.len()
                ),
            },
            Repr::LimitOverrun { message, .. } => f.write_str(message),
            Repr::Resolve { code, message } => write!(f, "[Errno {code}] {message}"),
        }
    }
}

impl fmt::Debug for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Io(error) => f.debug_tuple("Io").field(error).finish(),
            Repr::Multiple(errors) => f.debug_tuple("Multiple").field(errors).finish(),
            Repr::InvalidState(what) => f.debug_tuple("InvalidState").field(what).finish(),
            Repr::InvalidArgument(what) => f.debug_tuple("InvalidArgument").field(what).finish(),
            Repr::Protocol(exception) => f.debug_tuple("Protocol").field(exception).finish(),
            Repr::Loop(error) => f.debug_tuple("Loop").field(error).finish(),
            Repr::IncompleteRead {
                partial,
                expected,
                cause,
            } => f
                .debug_struct("IncompleteRead")
                .field("partial", &partial.len())
                .field("expected", expected)
                .field("cause", cause)
                .finish(),
            Repr::LimitOverrun { message, consumed } => f
                .debug_struct("LimitOverrun")
                .field("message", message)
                .field("consumed", consumed)
                .finish(),
            Repr::Resolve { code, message } => f
                .debug_struct("Resolve")
                .field("code", code)
                .field("message", message)
                .finish(),
        }
    }
}

impl Error for NetError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &*self.repr {
            Repr::Io(error) => error.source(),
            Repr::Protocol(exception) => Some(exception),
            Repr::Loop(error) => error.source(),
            Repr::IncompleteRead {
                cause: Some(cause), ..
            } => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_between_threads_and_a_loop_error_inside_io_is_found() {
        fn travels<E: Error + Send + Sync + 'static>() {}
        travels::<NetError>();
        let closed = asyncio_loop::EventLoop::new();
        closed.close().unwrap();
        let loop_error = closed.call_soon(|| {}).unwrap_err();
        let error = NetError::from(io::Error::other(loop_error));
        assert_eq!(error.kind(), NetErrorKind::Loop);
        assert!(error.loop_error().unwrap().is_closed());
    }

    #[test]
    fn a_cancellation_inside_stays_one() {
        let event_loop = asyncio_loop::EventLoop::new();
        let future = event_loop.create_future::<()>();
        future.cancel();
        let cancelled = future.result().unwrap_err();
        let error = NetError::from(cancelled);
        assert!(asyncio_core::propagated::cancellation_in(&error).is_some());
        let plain = NetError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(asyncio_core::propagated::cancellation_in(&plain).is_none());
    }

    #[test]
    fn several_connect_errors_are_listed() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let unavailable = io::Error::from(io::ErrorKind::AddrNotAvailable);
        let error = NetError::multiple(vec![
            ("127.0.0.1:1".into(), refused.into()),
            ("[::1]:1".into(), unavailable.into()),
        ]);
        assert_eq!(error.io_errors().len(), 2);
        assert_eq!(
            error.kind(),
            NetErrorKind::Io(io::ErrorKind::ConnectionRefused)
        );
        assert!(error
            .to_string()
            .starts_with("multiple exceptions: [127.0.0.1:1]"));
    }
}
