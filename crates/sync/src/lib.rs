//! asyncio's synchronization primitives for one thread: [`Lock`],
//! [`Event`], [`Condition`], [`Semaphore`], [`BoundedSemaphore`],
//! [`Barrier`], and the producer/consumer [`Queue`] with its
//! [`PriorityQueue`] and [`LifoQueue`] variants.
//!
//! This crate works alone, on `asyncio-core` only (any loop whose tasks
//! follow `asyncio-core`'s cancel protocol can run it). The
//! [`asyncio`](https://github.com/asyncio-rs/asyncio-rs/tree/main/crates/asyncio) crate re-exports it with the others under
//! asyncio's names, for programs that want all of it.
//!
//! # What it is for
//!
//! Coordinating coroutines that run on one thread, with asyncio's
//! semantics: waiters are served first come, first served; a woken waiter
//! takes what it was woken for when it runs, on a later loop iteration; a
//! waiter cancelled (or dropped) after it was woken but before it ran
//! hands its wake-up to the next, so cancellation neither deadlocks the
//! others nor loses anything. The chapter
//! [Synchronization Primitives](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/synchronization.md)
//! ports the PyMOTW examples.
//!
//! Where Rust has a better shape it is used: acquiring a [`Lock`],
//! [`Semaphore`] or [`Condition`] returns a guard that releases on drop
//! (`async with`), so an early return or a cancelled task cannot leave it
//! held; [`Condition`]'s `wait` and `notify` are methods of its guard, so
//! they cannot be called without the lock; a cancelled
//! [`put`](Queue::put) hands its item back. The explicit
//! `acquire`/`release` pairs stay, for code ported from asyncio.
//!
//! # What it is not
//!
//! Not thread-safe: every type here is a handle (`Rc` inside) for one
//! thread, like asyncio's primitives, which is what lets it do without
//! atomics. Use `tokio::sync` or `async-channel` between threads. It needs
//! no event loop: its futures work under any executor, and only
//! `asyncio-core`'s cancellation hook ties them to `asyncio-loop`'s tasks,
//! whose [`cancel`](https://docs.rs/asyncio-loop) cancels the wait at once,
//! as asyncio's cancels the waiter future: the task sees the cancellation
//! at its await (propagated with `?`, it ends the task cancelled).
//!
//! # Differences from asyncio
//!
//! - Waits return `Result`: the cancelled
//!   [`FutureError`](asyncio_core::FutureError) when cancelled (asyncio's
//!   `CancelledError`), as every other await of the workspace does;
//!   [`Barrier::wait`] fails with a [`SyncError`] (broken, or cancelled)
//!   and [`Queue::put`] with a [`PutError`] that hands the item back.
//! - A cancelled [`ConditionGuard::wait`] returns without taking the lock
//!   again (there is no guard left to release); a notified waiter that is
//!   cancelled passes its notification on, as CPython 3.13 does.
//! - [`Barrier::reset`] and [`Barrier::abort`] are plain methods.
//! - A wait that nothing can end any more makes `asyncio-loop`'s
//!   `run_until_complete` report it as stuck instead of waiting forever: a
//!   waiter keeps its waker as an [`asyncio_core::census::HeldWaker`].
//! - A cancelled lock waiter at the head of the line is passed by when the
//!   lock is released (asyncio hands the lock on one iteration later, from
//!   the cancelled task's step).
//! - Reprs drop the object address: `<Lock [locked, waiters:1]>`.
//!
//! The chapter lists the rest, and the CPython tests that do not apply.
//!
//! # Examples
//!
//! ```
//! use asyncio_loop::EventLoop;
//! use asyncio_sync::{Event, Lock};
//!
//! let event_loop = EventLoop::new();
//! let (lock, event) = (Lock::new(), Event::new());
//! let (waiter_lock, waiter_event) = (lock.clone(), event.clone());
//! let waiter = event_loop
//!     .create_task(async move {
//!         waiter_event.wait().await?;
//!         let _guard = waiter_lock.acquire().await?;
//!         Ok::<_, asyncio_core::FutureError>("done")
//!     })
//!     .unwrap();
//! event_loop.call_soon(move || event.set()).unwrap();
//! assert_eq!(event_loop.run_until_complete(&waiter).unwrap(), "done");
//! assert!(!lock.locked());
//! ```

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierWait};
pub use condition::{Condition, ConditionAcquire, ConditionGuard, ConditionWait};
pub use error::{PutError, SyncError, SyncErrorKind};
pub use event::{Event, EventWait};
pub use lock::{Acquire, Lock, LockGuard};
pub use queue::{
    Discipline, Fifo, GenericQueue, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put, Queue,
};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreAcquire, SemaphoreGuard};

/// This crate's README code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
