//! The error a future can finish with, and the panic that becomes one.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// The exception a future finished with: any error, shared.
///
/// asyncio's `set_exception` stores an exception object that every later
/// `result()` and `exception()` call hands back. `Exception` is the Rust
/// equivalent: a cheaply cloned, reference-counted `dyn Error`, so one future
/// can report the same error to every awaiter. It is `!Send`, like the future
/// that holds it.
///
/// Any `std::error::Error + 'static` converts into it with `?` or `into()`;
/// [`Exception::msg`] makes one from a message, and a panic caught by the
/// event loop becomes a [`Panic`].
///
/// `Exception` deliberately does not implement `std::error::Error` itself (so
/// that the blanket `From` conversion can exist); use [`as_error`](Exception::as_error)
/// where a `&dyn Error` is needed.
///
/// # Examples
///
/// ```
/// use asyncio_core::Exception;
///
/// let parse = "x".parse::<i32>().unwrap_err();
/// let exception = Exception::from(parse);
/// assert!(exception.is::<std::num::ParseIntError>());
/// assert_eq!(exception.to_string(), "invalid digit found in string");
/// ```
#[derive(Clone)]
pub struct Exception {
    error: Rc<dyn Error + 'static>,
}

impl Exception {
    /// Wraps `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let exception = Exception::new(std::fmt::Error);
    /// assert!(exception.is::<std::fmt::Error>());
    /// ```
    pub fn new<E: Error + 'static>(error: E) -> Self {
        Exception {
            error: Rc::new(error),
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

    /// The error inside, as a trait object.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::Exception;
    ///
    /// let exception = Exception::msg("inner");
    /// assert!(exception.as_error().source().is_none());
    /// ```
    pub fn as_error(&self) -> &(dyn Error + 'static) {
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
        Rc::ptr_eq(&self.error, &other.error)
    }
}

impl<E: Error + 'static> From<E> for Exception {
    fn from(error: E) -> Self {
        Exception::new(error)
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
    pub fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(message) => (*message).to_owned(),
                Err(_) => "Box<dyn Any>".to_owned(),
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
