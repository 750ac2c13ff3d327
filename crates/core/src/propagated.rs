//! Recognising a cancellation after it was propagated through error types.
//!
//! In asyncio, a `CancelledError` that escapes a coroutine cancels its
//! task, and `asyncio.timeout` turns the one it caused into a
//! `TimeoutError`. In Rust a coroutine propagates the cancelled
//! [`FutureError`] with `?` into whatever error type it returns: the
//! `FutureError` itself, another crate's error (`LoopError`, `SyncError`),
//! a `Box<dyn Error + Send + Sync>`, an `anyhow::Error`, or its own enum.
//! An executor (`asyncio-loop`'s tasks, `Timeout`, `wait_for`, `TaskGroup`,
//! `run`) asks this module whether such an error is a cancellation.
//!
//! The rule: an error is a cancellation when a cancelled `FutureError` is
//! found by walking from it through the errors it wraps: into the error an
//! [`Exception`] or a `FutureError` carries, and
//! otherwise along [`source()`](Error::source), so an error *caused by* a
//! cancellation (`#[from] FutureError` in an error enum, anyhow's
//! `.context(..)`) counts too. A type registered with [`recognise`] says
//! for itself: a timeout, which has the cancellation as its source as
//! asyncio's `__cause__`, stops the walk ([`Walk::NotCancelled`]).
//!
//! The crates of this workspace register their own errors (`asyncio-loop`
//! its `LoopError`, `asyncio-sync` its `SyncError`) when they first make
//! one that needs it. A type the walk cannot see into from a `&dyn Error`
//! (a transparent wrapper whose `source()` skips the error it wraps, as
//! `thiserror`'s `#[error(transparent)]` does) can be registered the same
//! way by its crate. With the `anyhow` feature, an `anyhow::Error` is looked
//! into as well.
//!
//! # Examples
//!
//! ```
//! use asyncio_core::{propagated, BoxError, Future, FutureError};
//!
//! let future: Future<()> = Future::new();
//! future.cancel_with_message("bye");
//! let cancelled: FutureError = future.result().unwrap_err();
//!
//! // As it is, boxed, or as the source of another error.
//! assert!(propagated::cancellation(&cancelled).is_some());
//! let boxed: BoxError = Box::new(cancelled.clone());
//! assert_eq!(
//!     propagated::cancellation_in(&boxed).and_then(FutureError::cancel_message),
//!     Some("bye")
//! );
//!
//! #[derive(Debug)]
//! struct Fetch(FutureError);
//! impl std::fmt::Display for Fetch {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("fetch failed")
//!     }
//! }
//! impl std::error::Error for Fetch {
//!     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
//!         Some(&self.0)
//!     }
//! }
//! assert!(propagated::cancellation(&Fetch(cancelled)).is_some());
//! assert!(propagated::cancellation(&std::fmt::Error).is_none());
//! ```

use std::any::{Any, TypeId};
use std::error::Error;
use std::sync::RwLock;

use crate::{BoxError, Exception, FutureError};

/// What a registered error type says of one of its values, for the walk.
#[derive(Clone, Copy, Debug)]
pub enum Walk<'a> {
    /// It is this cancellation.
    Cancelled(&'a FutureError),
    /// It is not a cancellation, whatever it wraps (a timeout).
    NotCancelled,
    /// It is what this error wraps: look at that.
    Inner(&'a (dyn Error + 'static)),
    /// Look at its [`source()`](Error::source), as for any error.
    Source,
}

type Walker = Box<dyn for<'a> Fn(&'a (dyn Error + 'static)) -> Option<Walk<'a>> + Send + Sync>;

struct Registered {
    type_id: TypeId,
    walk: Walker,
    as_error: fn(&dyn Any) -> Option<&(dyn Error + 'static)>,
}

static REGISTERED: RwLock<Vec<Registered>> = RwLock::new(Vec::new());

/// Registers how to look into errors of type `E` (once per type; later
/// calls for the same type change nothing).
///
/// # Examples
///
/// ```
/// use asyncio_core::propagated::{self, Walk};
/// use asyncio_core::FutureError;
///
/// /// Forwards `Display` and `source` to what it wraps, so the walk
/// /// cannot see the `FutureError` inside without help.
/// #[derive(Debug)]
/// struct Transparent(FutureError);
/// impl std::fmt::Display for Transparent {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         self.0.fmt(f)
///     }
/// }
/// impl std::error::Error for Transparent {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         self.0.source()
///     }
/// }
///
/// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
/// future.cancel();
/// let error = Transparent(future.result().unwrap_err());
/// assert!(propagated::cancellation(&error).is_none());
/// propagated::recognise::<Transparent>(|error| Walk::Inner(&error.0));
/// assert!(propagated::cancellation(&error).is_some());
/// assert!(propagated::cancellation_in(&error).is_some());
/// ```
pub fn recognise<E: Error + 'static>(walk: for<'a> fn(&'a E) -> Walk<'a>) {
    fn as_error<E: Error + 'static>(value: &dyn Any) -> Option<&(dyn Error + 'static)> {
        value
            .downcast_ref::<E>()
            .map(|error| error as &(dyn Error + 'static))
    }
    let known = |registered: &[Registered]| {
        registered
            .iter()
            .any(|entry| entry.type_id == TypeId::of::<E>())
    };
    if known(
        &REGISTERED
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    ) {
        return;
    }
    let mut registered = REGISTERED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if known(&registered) {
        return;
    }
    registered.push(Registered {
        type_id: TypeId::of::<E>(),
        walk: Box::new(move |error| error.downcast_ref::<E>().map(walk)),
        as_error: as_error::<E>,
    });
}

/// The cancellation `error` is, wraps, or was caused by (see the
/// [module docs](self) for the rule).
///
/// # Examples
///
/// See the [module docs](self).
pub fn cancellation<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a FutureError> {
    let registered = REGISTERED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut next = Some(error);
    // Bounded, in case an error's `source()` chain loops.
    for _ in 0..64 {
        let error = next?;
        let walk = if let Some(future_error) = error.downcast_ref::<FutureError>() {
            if future_error.is_cancelled() {
                return Some(future_error);
            }
            match future_error.exception() {
                Some(exception) => Walk::Inner(exception.as_error()),
                None => Walk::NotCancelled,
            }
        } else if let Some(exception) = error.downcast_ref::<Exception>() {
            Walk::Inner(exception.as_error())
        } else {
            registered
                .iter()
                .find_map(|entry| (entry.walk)(error))
                .unwrap_or(Walk::Source)
        };
        next = match walk {
            Walk::Cancelled(cancellation) => return Some(cancellation),
            Walk::NotCancelled => return None,
            Walk::Inner(inner) => Some(inner),
            Walk::Source => error.source(),
        };
    }
    None
}

/// The cancellation a value of any error type is, wraps, or was caused by:
/// for a [`FutureError`], an [`Exception`], a [`BoxError`], a type
/// registered with [`recognise`], and (with the `anyhow` feature) an
/// `anyhow::Error`; `None` for any other type.
///
/// This is what an executor asks of a coroutine's `Err(e)` when all it
/// knows of `e`'s type is that it converts into a `BoxError`.
///
/// # Examples
///
/// See the [module docs](self).
pub fn cancellation_in<E: 'static>(error: &E) -> Option<&FutureError> {
    let value: &dyn Any = error;
    if let Some(error) = value.downcast_ref::<FutureError>() {
        return cancellation(error);
    }
    if let Some(error) = value.downcast_ref::<BoxError>() {
        return cancellation(&**error);
    }
    if let Some(error) = value.downcast_ref::<Exception>() {
        return cancellation(error.as_error());
    }
    #[cfg(feature = "anyhow")]
    if let Some(error) = value.downcast_ref::<anyhow::Error>() {
        // Its `Deref` is the error it was made from (or its context).
        return cancellation(&**error);
    }
    let as_error = {
        let registered = REGISTERED
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        registered
            .iter()
            .find(|entry| entry.type_id == TypeId::of::<E>())
            .map(|entry| entry.as_error)
    };
    cancellation(as_error?(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Future;

    fn cancelled(message: &str) -> FutureError {
        let future: Future<()> = Future::new();
        future.cancel_with_message(message);
        future.result().unwrap_err()
    }

    #[test]
    fn a_failure_carrying_a_cancellation_as_its_exception_is_one() {
        let inner = Exception::new(cancelled("in"));
        let failed = FutureError::from(inner);
        assert_eq!(
            cancellation(&failed).and_then(FutureError::cancel_message),
            Some("in")
        );
    }

    #[test]
    fn other_errors_and_plain_failures_are_not() {
        let failed = FutureError::from(Exception::msg("boom"));
        assert!(cancellation(&failed).is_none());
        assert!(cancellation_in(&"text").is_none());
        assert!(cancellation_in(&String::from("text")).is_none());
        let boxed: BoxError = "boom".into();
        assert!(cancellation_in(&boxed).is_none());
    }

    #[test]
    fn a_source_chain_that_loops_ends() {
        #[derive(Debug)]
        struct Loops;
        impl std::fmt::Display for Loops {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("loops")
            }
        }
        impl Error for Loops {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&Loops)
            }
        }
        assert!(cancellation(&Loops).is_none());
    }

    #[cfg(feature = "anyhow")]
    #[test]
    fn an_anyhow_error_made_from_a_cancellation_is_one_with_or_without_context() {
        let plain = anyhow::Error::from(cancelled("a"));
        assert_eq!(
            cancellation_in(&plain).and_then(FutureError::cancel_message),
            Some("a")
        );
        let context = anyhow::Error::from(cancelled("b")).context("while fetching");
        assert_eq!(
            cancellation_in(&context).and_then(FutureError::cancel_message),
            Some("b")
        );
        assert!(cancellation_in(&anyhow::anyhow!("no")).is_none());
    }
}
