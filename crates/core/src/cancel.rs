//! How a task's cancellation reaches what the task awaits: for executor
//! authors (an application never calls these).
//!
//! asyncio cancels a task in one of two ways, and an executor that wants
//! asyncio's behaviour (`asyncio-loop`'s tasks) needs both from the
//! futures its coroutines await:
//!
//! - **The task is waiting on something** (asyncio's `_fut_waiter`):
//!   `task.cancel()` cancels that, at once, and the task wakes to find it
//!   cancelled. A future of this crate that suspends a poll under the open
//!   [`PollScope`](crate::census::PollScope), registering the scope's own
//!   waker, notes itself as what the task awaits ([`note_awaited`]); after
//!   the poll the executor takes the note with [`take_awaited`] and keeps it
//!   until the next step, so that `cancel` can reach it.
//! - **It is not** (it has not started, it is running, it waits on
//!   something of another crate, or what it awaited is already done):
//!   asyncio sets `_must_cancel` and throws `CancelledError` into the
//!   coroutine at its next step. Rust cannot throw into a coroutine, so the
//!   executor opens the next step's scope with [`deliver`], and the first
//!   awaitable of ours that the coroutine polls in that step takes the
//!   cancellation ([`take`]): it cancels what it awaits, if that is still
//!   pending, and returns the cancelled error instead of its result, which
//!   the coroutine handles or propagates with `?`. If no awaitable took it
//!   ([`undelivered`]), the executor decides (`asyncio-loop` drops the
//!   coroutine at its await and ends the task cancelled).
//!
//! Only a future polled directly by the task's coroutine (the waker it
//! registers is the scope's own, as with `.await`, `join!` or `select!`)
//! notes itself; one behind a combinator with wakers of its own
//! (`FuturesUnordered`) does not, and is reached by delivery instead.
//!
//! # Examples
//!
//! An executor's step, by hand:
//!
//! ```
//! use std::future::Future as _;
//! use std::num::NonZeroU64;
//! use std::pin::pin;
//! use std::task::Context;
//! use asyncio_core::{cancel, census::PollScope, Future};
//!
//! let waker = futures::task::noop_waker();
//! let id = NonZeroU64::new(1).unwrap();
//! let future: Future<u8> = Future::new();
//! let mut wait = pin!(future.wait());
//!
//! // First step: the coroutine awaits `future`, which notes itself.
//! let awaited = {
//!     let _scope = PollScope::enter(&waker, id);
//!     assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
//!     cancel::take_awaited().expect("a future of ours noted itself")
//! };
//! // `task.cancel()` reaches it at once.
//! assert!(awaited.cancel(Some("stop".into())));
//! assert!(future.cancelled());
//!
//! // A cancellation delivered to the next step is taken by the first
//! // awaitable polled in it.
//! let other: Future<u8> = Future::new();
//! let mut wait = pin!(other.wait());
//! let _scope = PollScope::enter(&waker, id);
//! cancel::deliver(None);
//! let error = match wait.as_mut().poll(&mut Context::from_waker(&waker)) {
//!     std::task::Poll::Ready(Err(error)) => error,
//!     _ => unreachable!(),
//! };
//! assert!(error.is_cancelled() && other.cancelled());
//! assert_eq!(cancel::undelivered(), None);
//! ```

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use crate::census;
use crate::FutureError;

/// Something a task can wait on and that its cancellation cancels: a future
/// of this crate, a task of the loop (cancelling a task that awaits a task
/// cancels the inner one, as in asyncio), or one wait among many in a
/// primitive that keeps its waiters itself (`asyncio-sync`'s locks and
/// queues), told apart by a `key`.
pub trait Awaited {
    /// Cancels the wait `key` names (the key given to [`note_awaited`];
    /// an object that is one wait ignores it) with `message`; `false` when
    /// it is already done, or no longer there, so that the cancellation
    /// must be delivered to the coroutine instead.
    /// Takes the `Rc` so that a future can complete itself through it.
    fn cancel_awaited(self: Rc<Self>, key: u64, message: Option<Arc<str>>) -> bool;

    /// Its `Debug` text, for the awaiting task's `wait_for=...`.
    fn describe_awaited(&self, key: u64) -> String;
}

/// What a task noted it waits on: an [`Awaited`] and the key of the wait.
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Clone)]
pub struct Noted {
    awaited: Rc<dyn Awaited>,
    key: u64,
}

impl Noted {
    /// Cancels the wait (see [`Awaited::cancel_awaited`]).
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub fn cancel(&self, message: Option<Arc<str>>) -> bool {
        Rc::clone(&self.awaited).cancel_awaited(self.key, message)
    }

    /// What is awaited, for a repr (see [`Awaited::describe_awaited`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future as _;
    /// use std::num::NonZeroU64;
    /// use std::pin::pin;
    /// use std::task::Context;
    /// use asyncio_core::{cancel, census::PollScope, Future};
    ///
    /// let waker = futures::task::noop_waker();
    /// let future: Future<u8> = Future::new();
    /// let mut wait = pin!(future.wait());
    /// let _scope = PollScope::enter(&waker, NonZeroU64::new(1).unwrap());
    /// assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    /// let noted = cancel::take_awaited().unwrap();
    /// assert_eq!(noted.describe(), "<Future pending cb=[<waker>]>");
    /// ```
    pub fn describe(&self) -> String {
        self.awaited.describe_awaited(self.key)
    }
}

impl std::fmt::Debug for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Noted").field(&self.describe()).finish()
    }
}

thread_local! {
    /// Set while a cancellation waits for the first awaitable of the
    /// current step: a plain cell, read by every poll of an awaitable.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
    /// Its message.
    static MESSAGE: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    /// What the current step's coroutine suspended on, last noted first.
    static AWAITED: Cell<Option<Noted>> = const { Cell::new(None) };
}

/// Makes the first awaitable of ours polled from now on, in this step,
/// take a cancellation with `message` (asyncio's `_must_cancel`). For the
/// executor, after it opened the step's scope.
///
/// # Examples
///
/// See the [module docs](self).
pub fn deliver(message: Option<Arc<str>>) {
    MESSAGE.with(|slot| *slot.borrow_mut() = message);
    DELIVERING.with(|flag| flag.set(true));
}

/// Takes back a cancellation that no awaitable took in this step: `Some`
/// with its message, or `None` when one took it (or none was delivered).
/// For the executor, after the poll.
///
/// # Examples
///
/// ```
/// use asyncio_core::cancel;
///
/// cancel::deliver(Some("stop".into()));
/// assert_eq!(cancel::undelivered(), Some(Some("stop".into())));
/// assert_eq!(cancel::undelivered(), None);
/// ```
pub fn undelivered() -> Option<Option<Arc<str>>> {
    if !DELIVERING.with(|flag| flag.replace(false)) {
        return None;
    }
    Some(MESSAGE.with(|slot| slot.borrow_mut().take()))
}

/// For awaitables: takes the cancellation delivered to this step, if there
/// is one, as the error to return instead of a result. The awaitable then
/// cancels what it awaits, if that is still pending.
///
/// # Examples
///
/// ```
/// use asyncio_core::cancel;
///
/// assert!(cancel::take().is_none());
/// cancel::deliver(None);
/// assert!(cancel::take().unwrap().is_cancelled());
/// assert!(cancel::take().is_none(), "taken once");
/// ```
#[inline]
pub fn take() -> Option<FutureError> {
    if !DELIVERING.with(Cell::get) {
        return None;
    }
    take_slow()
}

#[cold]
fn take_slow() -> Option<FutureError> {
    DELIVERING.with(|flag| flag.set(false));
    let message = MESSAGE.with(|slot| slot.borrow_mut().take());
    Some(FutureError::cancelled(message))
}

/// For awaitables that suspend: notes the wait `key` of `awaited` (made
/// only if needed) as what the current task waits on, if `waker` is the
/// open scope's waker. The key comes back to
/// [`Awaited::cancel_awaited`]; a primitive whose keys are reused makes
/// them unique enough that a stale note cannot cancel a later wait.
///
/// # Examples
///
/// See the [module docs](self).
#[inline]
pub fn note_awaited(waker: &Waker, key: u64, awaited: impl FnOnce() -> Rc<dyn Awaited>) {
    if census::is_scope_waker(waker) {
        note_in_scope(key, awaited);
    }
}

/// [`note_awaited`] once the waker is known to be the scope's.
#[inline]
pub(crate) fn note_in_scope(key: u64, awaited: impl FnOnce() -> Rc<dyn Awaited>) {
    let noted = Noted {
        awaited: awaited(),
        key,
    };
    let old = AWAITED.with(|slot| slot.replace(Some(noted)));
    // Dropped outside the thread-local: it may be the last handle of a
    // future, whose drop may poll nothing but may run user code.
    drop(old);
}

/// For the executor, after a step's poll: what the coroutine last noted
/// itself suspended on, if anything.
///
/// # Examples
///
/// See the [module docs](self).
#[inline]
pub fn take_awaited() -> Option<Noted> {
    AWAITED.with(Cell::take)
}
