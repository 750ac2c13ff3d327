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
/// type. A [`Future`] is waited for as it is, not wrapped, so the ordering
/// matches asyncio exactly, and both forms give the result as `T`:
///
/// - `&future` reads it with [`Future::result`] (a clone; needs `T: Clone`),
///   and the future keeps it for later `result()` calls;
/// - `future` by value moves it out with [`Future::take_result`] (any `T`):
///   the caller gave the handle up, so nothing is cloned. Other handles of
///   the same future then see `result was taken`.
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
/// assert!(matches!(future.into_awaitable(), Awaitable::Future { .. }));
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
    /// ([`Future::result`] for a `&Future<T>`, [`Future::take_result`] for a
    /// `Future<T>` given by value).
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

impl<T: 'static> IntoAwaitable for Future<T> {
    type Output = T;

    fn into_awaitable(self) -> Awaitable<T> {
        Awaitable::Future {
            future: self,
            read: Future::take_result,
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
