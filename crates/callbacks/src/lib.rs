//! Ordered, keyed callback lists and partial application: the done-callback
//! machinery of Python asyncio's `Future`, with no future or loop attached.
//!
//! This crate works alone, with no future or loop. The
//! [`asyncio`](https://github.com/asyncio-rs/asyncio-rs/tree/main/crates/asyncio) crate re-exports it with the others under
//! asyncio's names, for programs that want all of it.
//!
//! asyncio keeps, on every future, a list of callbacks that run in the order
//! they were added once the future completes. This crate holds the pieces of
//! that design that do not depend on a future or an event loop:
//!
//! - [`CallbackList`]: an ordered list that hands out a [`CallbackKey`] for every
//!   entry (Rust closures cannot be compared, so keys stand in for asyncio's
//!   removal by equality), removes by key and drains in insertion order.
//! - [`Callback`]: a one-shot callback that knows its own name, so a failure
//!   report can say which callback failed, and that stores small closures
//!   inline instead of boxing them.
//! - [`partial`]: binds an extra argument to a callback, the
//!   `functools.partial` of the asyncio chapter.
//! - [`named`]: gives a closure a name for error reports and reprs, in place
//!   of its type name (`main::{{closure}}`); [`IntoThunk`] is what a loop's
//!   `call_soon` takes, a closure or a named one.
//!
//! `asyncio-core` builds `Future::add_done_callback` on these types, and
//! `asyncio-loop` schedules the callbacks. This crate is what to depend on when
//! you need ordered, removable callbacks for an event source of your own.
//!
//! # What it is not
//!
//! It runs nothing by itself and knows no threads: a `CallbackList` is a plain
//! container, a `Callback` is `!Send`, and scheduling callbacks on a loop is
//! the caller's business.
//!
//! # Unsafe
//!
//! `Callback` stores small closures inline behind a hand-written vtable; that
//! is this crate's only `unsafe`, each block with its `SAFETY:` argument, and
//! its tests run under Miri. The benchmarks in `docs/benchmarks.md` show what
//! it saves over a `Box` per callback.
//!
//! # Examples
//!
//! ```
//! use asyncio_callbacks::{partial, CallbackList};
//!
//! fn report(value: &i32, label: &str) -> String {
//!     format!("{label}: {value}")
//! }
//!
//! let mut list: CallbackList<Box<dyn FnOnce(&i32) -> String>> = CallbackList::new();
//! list.push(Box::new(partial(report, "first")));
//! let second = list.push(Box::new(partial(report, "second")));
//! list.push(Box::new(|value: &i32| format!("closure: {value}")));
//! assert!(list.remove(second).is_some());
//!
//! let lines: Vec<String> = list.into_iter().map(|callback| callback(&7)).collect();
//! assert_eq!(lines, ["first: 7", "closure: 7"]);
//! ```
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
#![warn(clippy::undocumented_unsafe_blocks)]

mod callback;
mod list;
mod partial;

pub use crate::callback::{named, Callback, IntoThunk, Named, Panicked};
pub use crate::list::{CallbackKey, CallbackList, IntoIter, Iter};
pub use crate::partial::partial;

/// This crate's README code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
