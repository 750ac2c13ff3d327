//! asyncio's synchronization primitives for one thread: [`Lock`],
//! [`Event`], [`Condition`], [`Semaphore`], [`BoundedSemaphore`],
//! [`Barrier`], and the producer/consumer [`Queue`] with its
//! [`PriorityQueue`] and [`LifoQueue`] variants.
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
//! whose [`cancel`](https://docs.rs/asyncio-loop) they see at the await as
//! a [`SyncError`] that [`is_cancelled`](SyncError::is_cancelled)
//! (propagated with `?`, it ends the task cancelled).
//!
//! # Differences from asyncio
//!
//! - Waits return `Result`: `Err` when cancelled (asyncio's
//!   `CancelledError`), or for a [`Barrier`] that breaks.
//! - A cancelled [`ConditionGuard::wait`] returns without taking the lock
//!   again (there is no guard left to release); a notified waiter that is
//!   cancelled passes its notification on, as CPython 3.13 does.
//! - [`Barrier::reset`] and [`Barrier::abort`] are plain methods.
//! - Reprs drop the object address: `<Lock [locked, waiters:1]>`.
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
