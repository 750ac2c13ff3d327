//! asyncio's `Future` for Rust: the state machine of a result that is not
//! ready yet.
//!
//! This crate works alone (a loop of your own can drive its futures). The
//! [`asyncio`](https://github.com/asyncio-rs/asyncio-rs/tree/main/crates/asyncio) crate re-exports it with the loop, the callbacks and
//! the primitives under asyncio's names, for programs that want all of it.
//!
//! A [`Future<T>`] starts pending and ends exactly once: finished with a
//! result ([`Future::set_result`]), finished with an [`Exception`]
//! ([`Future::set_exception`]), or cancelled ([`Future::cancel`]). Every
//! misuse asyncio rejects is a [`FutureError`] here, the result stays in
//! place for later reads, and done-callbacks run in registration order on
//! the future's event loop, never inside the call that completed it.
//!
//! The future is also awaitable (`IntoFuture`): `future.await` works inside a
//! task of `asyncio-loop` and under any other executor, and [`Future::wait`]
//! (a clone of the result) and [`Future::wait_take`] (the result moved out)
//! name the awaiting futures, [`Wait`] and [`WaitTake`]. An awaiter that gives
//! up leaves nothing behind in the future.
//!
//! Errors are `Send + Sync + 'static`: [`FutureError`] (with
//! [`FutureError::kind`]) and [`Exception`] go into `anyhow::Error` or
//! `Box<dyn Error + Send + Sync>` with `?`, and
//! [`Future::set_exception`] takes any error that converts into a
//! [`BoxError`].
//!
//! ```
//! use asyncio_core::Future;
//!
//! let future = Future::new();
//! let waiter = future.clone();
//! future.set_result(String::from("the result")).unwrap();
//! let result = futures::executor::block_on(async move { waiter.await });
//! assert_eq!(result.unwrap(), "the result");
//! ```
//!
//! # What it is not
//!
//! This crate has no event loop, timers or tasks. It reaches its loop only
//! through the [`Schedule`] trait, which `asyncio-loop` implements; a future
//! made by [`Future::new`] has no loop, can be awaited anywhere, and accepts
//! no done-callbacks. Futures are single-threaded (`!Send`), as asyncio's
//! are: complete them from another thread through the loop.
//!
//! # Map
//!
//! - [`Future`]: the handle, its states and its done-callbacks; [`Wait`] and
//!   [`WaitTake`], what awaiting it polls.
//! - [`FutureError`], [`FutureErrorKind`], [`Exception`], [`BoxError`],
//!   [`Panic`]: what can go wrong.
//! - [`Schedule`], [`Closed`], [`ExceptionContext`]: the boundary with the loop.
//! - [`IntoAwaitable`], [`Awaitable`]: what a loop's `run_until_complete`
//!   takes (`&future`, `future`, or a coroutine).
//! - [`context`]: context variables (asyncio's `contextvars`), for
//!   everyone; its `Captured` and `isolated` are for executor authors.
//! - [`propagated`]: how a cancellation is recognised inside whatever
//!   error a coroutine returns (for executors and error types).
//! - For executor authors only (an application never calls them):
//!   [`cancel`], how a task's cancellation reaches the futures it awaits
//!   (asyncio's `_fut_waiter` and `_must_cancel`), for an executor with
//!   asyncio's tasks; and [`census`], how many of an executor's wakers this
//!   thread's futures hold, for an executor that detects tasks nothing can
//!   wake.
//!
//! # Read more
//!
//! - The chapters, asyncio's model with examples: [Producing Results
//!   Asynchronously](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/futures.md),
//!   and [all chapters](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/README.md).
//! - [ARCHITECTURE.md](https://github.com/asyncio-rs/asyncio-rs/blob/main/ARCHITECTURE.md):
//!   how the crates fit together, one loop iteration, the invariants.
//! - [Benchmarks](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/benchmarks.md).
#![doc(test(attr(deny(warnings))))]

mod awaitable;
pub mod cancel;
pub mod census;
pub mod context;
mod error;
mod exception;
mod future;
pub mod propagated;
mod schedule;

pub use crate::awaitable::{Awaitable, IntoAwaitable};
pub use crate::error::{FutureError, FutureErrorKind};
pub use crate::exception::{BoxError, Exception, Panic};
pub use crate::future::{Future, Wait, WaitTake};
pub use crate::schedule::{Closed, ExceptionContext, Schedule};
pub use asyncio_callbacks::{named, Callback, CallbackKey, IntoThunk, Named, Panicked};

/// This crate's README code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
