//! The error a future can finish with, and the panic that becomes one.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The error a boxed exception is made from: what
/// [`Future::set_exception`](crate::Future::set_exception) takes.
///
/// Anything that converts into it works: any `Error + Send + Sync + 'static`
/// (std's blanket conversion boxes it), a `Box<dyn Error + Send + Sync>`, an
/// `anyhow::Error`, a `String` or a `&str`, and an [`Exception`] itself.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// The exception a future finished with: any error, shared.
///
/// asyncio's `set_exception` stores an exception object that every later
/// `result()` and `exception()` call hands back. `Exception` is the Rust
/// equivalent: a cheaply cloned, reference-counted `dyn Error + Send + Sync`,
/// so one future can report the same error to every awaiter, and the error
/// can leave the loop's thread (in a [`FutureError`](crate::FutureError), an
/// `anyhow::Error` or a `Box<dyn Error + Send + Sync>`).
///
/// It is a transparent wrapper: its `Display` and
/// [`source`](Error::source) are those of the error inside, and
/// [`downcast_ref`](Exception::downcast_ref) finds that error's own type.
/// Make one with [`Exception::new`] (any error), [`Exception::msg`] (a
/// message), [`Exception::from_boxed`] (a boxed error); a panic caught by the
/// event loop becomes a [`Panic`].
///
/// # Examples
///
/// ```
/// use asyncio_core::Exception;
///
/// let parse = "x".parse::<i32>().unwrap_err();
/// let exception = Exception::new(parse);
/// assert!(exception.is::<std::num::ParseIntError>());
/// assert_eq!(exception.to_string(), "invalid digit found in string");
///
/// // It is an error that travels.
/// let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(exception);
/// assert_eq!(boxed.to_string(), "invalid digit found in string");
/// ```
#[derive(Clone)]
pub struct Exception {
    error: Arc<dyn Error + Send + Sync + 'static>,
}

impl Exception {
    /// Wraps `error`. An `Exception` given here comes back as it is, not
    /// wrapped twice.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let exception = Exception::new(std::fmt::Error);
    /// assert!(exception.is::<std::fmt::Error>());
    /// assert!(Exception::new(exception.clone()).ptr_eq(&exception));
    /// ```
    pub fn new<E: Error + Send + Sync + 'static>(error: E) -> Self {
        // Through a box, which `from_boxed` unwraps when it holds an
        // `Exception`: errors are the rare path, the second allocation theirs.
        Exception::from_boxed(Box::new(error))
    }

    /// Wraps a boxed error, keeping its concrete type for
    /// [`downcast_ref`](Exception::downcast_ref). A boxed `Exception` is
    /// unwrapped, not wrapped twice.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{BoxError, Exception};
    ///
    /// let boxed: BoxError = Box::new(std::fmt::Error);
    /// let exception = Exception::from_boxed(boxed);
    /// assert!(exception.is::<std::fmt::Error>());
    ///
    /// let exception = Exception::from_boxed("plain text".into());
    /// assert_eq!(exception.to_string(), "plain text");
    /// ```
    pub fn from_boxed(error: BoxError) -> Self {
        match error.downcast::<Exception>() {
            Ok(exception) => *exception,
            Err(error) => Exception {
                error: Arc::from(error),
            },
        }
    }

    /// An exception that carries only `message`, like `RuntimeError("...")`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// assert_eq!(Exception::msg("boom").to_string(), "boom");
    /// ```
    pub fn msg(message: impl Into<String>) -> Self {
        Exception::new(Message(message.into()))
    }

    /// Turns the payload of a caught panic into a [`Panic`] exception.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::{Exception, Panic};
    ///
    /// let payload = std::panic::catch_unwind(|| panic!("bad {}", 1)).unwrap_err();
    /// let exception = Exception::from_panic(payload);
    /// assert_eq!(exception.downcast_ref::<Panic>().unwrap().message(), "bad 1");
    /// ```
    pub fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        Exception::new(Panic::from_payload(payload))
    }

    /// Whether the error inside is an `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// assert!(!Exception::msg("no").is::<std::fmt::Error>());
    /// ```
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.error.is::<E>()
    }

    /// The error inside, if it is an `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let exception = Exception::new(std::fmt::Error);
    /// assert_eq!(exception.downcast_ref::<std::fmt::Error>(), Some(&std::fmt::Error));
    /// ```
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// The error inside, as a trait object (not the `Exception` itself, which
    /// is transparent: its own `source` is this error's `source`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let exception = Exception::msg("inner");
    /// assert!(exception.as_error().source().is_none());
    /// ```
    pub fn as_error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// Whether `self` and `other` are clones of the same exception (asyncio's `is`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let first = Exception::msg("same text");
    /// assert!(first.ptr_eq(&first.clone()));
    /// assert!(!first.ptr_eq(&Exception::msg("same text")));
    /// ```
    pub fn ptr_eq(&self, other: &Exception) -> bool {
        Arc::ptr_eq(&self.error, &other.error)
    }
}

impl From<BoxError> for Exception {
    /// [`Exception::from_boxed`].
    fn from(error: BoxError) -> Self {
        Exception::from_boxed(error)
    }
}

impl From<Panic> for Exception {
    fn from(panic: Panic) -> Self {
        Exception::new(panic)
    }
}

impl Error for Exception {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.error, f)
    }
}

impl fmt::Debug for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.error, f)
    }
}

/// The error made by [`Exception::msg`].
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exception({:?})", self.0)
    }
}

impl Error for Message {}

/// A panic caught while running user code (a callback or a task), kept as an
/// error: the Rust counterpart of an exception raised inside a callback.
///
/// # Examples
///
/// ```
/// use asyncio_core::Panic;
///
/// let payload = std::panic::catch_unwind(|| panic!("oops")).unwrap_err();
/// let panic = Panic::from_payload(payload);
/// assert_eq!(panic.message(), "oops");
/// assert_eq!(panic.to_string(), "panicked: oops");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    message: String,
}

impl Panic {
    /// Reads the message out of a panic payload (`&str` or `String`, as
    /// `panic!` makes them; anything else gives `Box<dyn Any>`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Panic;
    ///
    /// let payload = std::panic::catch_unwind(|| std::panic::panic_any(7)).unwrap_err();
    /// assert_eq!(Panic::from_payload(payload).message(), "Box<dyn Any>");
    /// ```
    ///
    /// A payload of another type is dropped here, and its `Drop` may panic
    /// in turn: that second panic is caught and its payload leaked, so
    /// reading a panic never panics.
    pub fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(message) => (*message).to_owned(),
                Err(payload) => {
                    drop_payload(payload);
                    "Box<dyn Any>".to_owned()
                }
            },
        };
        Panic { message }
    }

    /// The panic's message.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Panic;
    ///
    /// let payload = std::panic::catch_unwind(|| panic!("{}", "formatted")).unwrap_err();
    /// assert_eq!(Panic::from_payload(payload).message(), "formatted");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl Error for Panic {}

/// Drops a panic payload of unknown type. Its `Drop` is user code and may
/// panic; the payload of that panic is leaked rather than dropped, since its
/// `Drop` could panic again, without end.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}
