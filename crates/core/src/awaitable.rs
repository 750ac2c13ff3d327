//! What an event loop's `run_until_complete` accepts.

use std::fmt;
use std::future::Future as StdFuture;
use std::pin::Pin;

use crate::{Future, FutureError};

/// Something an event loop can run until it completes: a `&Future<T>`, or
/// any `std::future::Future` (an `async fn` call, an `async` block), which
/// the loop wraps in a task as asyncio wraps a coroutine.
///
/// This is asyncio's `ensure_future` split into its two cases, decided by
/// type. A future is passed by reference (`&future`): the loop waits for it
/// without wrapping it, so the ordering matches asyncio exactly, and the
/// future keeps its result for later `result()` calls. A `Future<T>` passed
/// by value is a plain `std::future::Future` whose output is
/// `Result<T, FutureError>`, so it would be wrapped in a task like any
/// coroutine.
///
/// Loops call [`into_awaitable`](IntoAwaitable::into_awaitable); user code
/// does not need to.
///
/// # Examples
///
/// ```
/// use asyncio_core::{Awaitable, Future, IntoAwaitable};
///
/// let future: Future<u8> = Future::new();
/// assert!(matches!((&future).into_awaitable(), Awaitable::Future { .. }));
/// assert!(matches!(async { 1 }.into_awaitable(), Awaitable::Coroutine(_)));
/// ```
pub trait IntoAwaitable {
    /// What running it to completion produces.
    type Output: 'static;

    /// Splits `self` into the case the loop must handle.
    fn into_awaitable(self) -> Awaitable<Self::Output>;
}

/// The two things an event loop can wait for; see [`IntoAwaitable`].
pub enum Awaitable<T: 'static> {
    /// A future to wait for, and how to read its outcome once it is done
    /// (for a `&Future<T>`, [`Future::result`], which leaves the result in place).
    Future {
        /// The future to wait for.
        future: Future<T>,
        /// Reads the outcome of the done future.
        read: fn(&Future<T>) -> Result<T, FutureError>,
    },
    /// A coroutine for the loop to drive as a task.
    Coroutine(Pin<Box<dyn StdFuture<Output = T>>>),
}

impl<T: Clone + 'static> IntoAwaitable for &Future<T> {
    type Output = T;

    fn into_awaitable(self) -> Awaitable<T> {
        Awaitable::Future {
            future: self.clone(),
            read: Future::result,
        }
    }
}

impl<F: StdFuture + 'static> IntoAwaitable for F {
    type Output = F::Output;

    fn into_awaitable(self) -> Awaitable<F::Output> {
        Awaitable::Coroutine(Box::pin(self))
    }
}

impl<T: 'static> fmt::Debug for Awaitable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Awaitable::Future { .. } => f.write_str("Awaitable::Future"),
            Awaitable::Coroutine(_) => f.write_str("Awaitable::Coroutine"),
        }
    }
}
