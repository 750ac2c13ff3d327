//! Which executors' wakers this thread's futures hold, for deadlock checks:
//! for executor authors (an application never calls these).
//!
//! An executor that wants to tell "my task waits on something only my own
//! code can complete" from "my task waits on something outside" (another
//! thread, a channel, an I/O source) counts the wakers of its tasks that are
//! still alive. Those that a [`Future`](crate::Future) of this crate holds are
//! inert: such a future is `!Send`, so only code running on this thread (the
//! executor's own callbacks and tasks) can complete it. Every other clone of
//! the waker could wake the task from outside.
//!
//! This module keeps that count. An executor opens a [`PollScope`] around
//! each poll of one of its tasks, with the task's waker and the executor's
//! id; while the scope is open, a future that stores that very waker (the
//! same `&Waker` that `Context::waker()` hands down, as awaiting it directly
//! or through `join!`/`select!` does) counts it under the id, until it wakes
//! or drops it. [`held`] reads the count.
//!
//! A waker that a combinator wraps in its own (`FuturesUnordered`, say) is
//! not recognised, so it counts as held outside: the count errs towards
//! "something else could still wake the task", never the other way.
//!
//! # Examples
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::pin::pin;
//! use std::future::Future as _;
//! use std::task::Context;
//! use asyncio_core::{census, Future};
//!
//! let executor = NonZeroU64::new(7).unwrap();
//! let waker = futures::task::noop_waker();
//! let future: Future<i32> = Future::new();
//! let mut wait = pin!(future.wait());
//! {
//!     let _scope = census::PollScope::enter(&waker, executor);
//!     let mut context = Context::from_waker(&waker);
//!     assert!(wait.as_mut().poll(&mut context).is_pending());
//! }
//! assert_eq!(census::held(executor), 1);
//! future.set_result(1).unwrap(); // wakes, and so gives the waker up
//! assert_eq!(census::held(executor), 0);
//! ```

use std::cell::{Cell, RefCell};
use std::num::NonZeroU64;
use std::task::Waker;

thread_local! {
    /// The scope open on this thread: the address of its waker (compared,
    /// never read through) and its executor's id, or `(0, 0)`.
    /// The third is the address of the loop (the `Schedule`) the task
    /// belongs to, 0 if the executor did not say.
    static POLLING: Cell<(usize, u64, usize)> = const { Cell::new((0, 0, 0)) };
    /// One executor's count, kept in a plain cell: a thread usually has one
    /// loop, and its count costs no borrow and no destructor registration.
    static FIRST: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
    /// The counts of other executors (an executor's total is its share here
    /// plus its share in `FIRST`).
    static OTHERS: RefCell<Vec<(u64, usize)>> = const { RefCell::new(Vec::new()) };
}

/// While alive, futures that store `waker` count it under `executor`
/// (see the [module docs](self)). Scopes nest: dropping one restores the
/// scope that was open before it.
///
/// # Examples
///
/// See the [module docs](self).
#[must_use = "the scope counts wakers only while it is alive"]
pub struct PollScope {
    previous: (usize, u64, usize),
    /// `!Send`: the scope belongs to this thread's table.
    _thread: std::marker::PhantomData<*const ()>,
}

impl PollScope {
    /// Opens a scope for one poll of a task whose waker is `waker`.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    #[inline]
    pub fn enter(waker: &Waker, executor: NonZeroU64) -> PollScope {
        PollScope::open(waker, executor, 0)
    }

    /// [`enter`](Self::enter), for a task of the loop `schedule` (the
    /// [`Schedule`](crate::Schedule) its futures name): a future of another
    /// loop that the task awaits refuses the await
    /// ([`FutureError::is_foreign_loop`](crate::FutureError::is_foreign_loop)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future as _;
    /// use std::num::NonZeroU64;
    /// use std::pin::pin;
    /// use std::task::Context;
    /// use asyncio_core::census::PollScope;
    /// use asyncio_core::Future;
    ///
    /// struct NotTheFuturesLoop;
    /// let waker = futures::task::noop_waker();
    /// // A future of no loop belongs to none other: it waits.
    /// let future: Future<u8> = Future::new();
    /// let mut wait = pin!(future.wait());
    /// let _scope = PollScope::enter_on(&waker, NonZeroU64::new(1).unwrap(), &NotTheFuturesLoop);
    /// assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    /// ```
    #[inline]
    pub fn enter_on<S>(waker: &Waker, executor: NonZeroU64, schedule: &S) -> PollScope {
        PollScope::open(waker, executor, schedule as *const S as usize)
    }

    #[inline]
    fn open(waker: &Waker, executor: NonZeroU64, owner: usize) -> PollScope {
        let address = waker as *const Waker as usize;
        let previous = POLLING.with(|polling| polling.replace((address, executor.get(), owner)));
        PollScope {
            previous,
            _thread: std::marker::PhantomData,
        }
    }
}

impl Drop for PollScope {
    #[inline]
    fn drop(&mut self) {
        // `try_with`: a scope dropped during thread teardown has nothing to restore.
        let _ = POLLING.try_with(|polling| polling.set(self.previous));
    }
}

impl std::fmt::Debug for PollScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollScope").finish_non_exhaustive()
    }
}

/// How many wakers of `executor`'s tasks the futures of this thread hold
/// now (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU64;
/// assert_eq!(asyncio_core::census::held(NonZeroU64::new(1).unwrap()), 0);
/// ```
pub fn held(executor: NonZeroU64) -> usize {
    let executor = executor.get();
    let (first, count) = FIRST.with(Cell::get);
    let first = if first == executor { count } else { 0 };
    let others = OTHERS.with(|others| {
        others
            .borrow()
            .iter()
            .find(|(id, _)| *id == executor)
            .map_or(0, |(_, count)| *count)
    });
    first + others
}

/// Counts one more waker of `executor`.
#[inline]
fn add(executor: u64) {
    let _ = FIRST.try_with(|first| {
        let (id, count) = first.get();
        if id == executor || count == 0 {
            first.set((executor, count + 1));
        } else {
            add_other(executor);
        }
    });
}

/// Counts one waker of `executor` less.
#[inline]
fn remove(executor: u64) {
    let _ = FIRST.try_with(|first| {
        let (id, count) = first.get();
        if id == executor && count != 0 {
            first.set((id, count - 1));
        } else {
            remove_other(executor);
        }
    });
}

#[cold]
fn add_other(executor: u64) {
    let _ = OTHERS.try_with(|others| {
        let mut others = others.borrow_mut();
        match others.iter_mut().find(|(id, _)| *id == executor) {
            Some((_, count)) => *count += 1,
            None => others.push((executor, 1)),
        }
    });
}

#[cold]
fn remove_other(executor: u64) {
    let _ = OTHERS.try_with(|others| {
        let mut others = others.borrow_mut();
        if let Some(index) = others.iter().position(|(id, _)| *id == executor) {
            others[index].1 -= 1;
            if others[index].1 == 0 {
                others.swap_remove(index);
            }
        }
    });
}

/// Whether `waker` is the open scope's own waker (the one its task's
/// `Context` carries), as opposed to a combinator's.
#[inline]
pub(crate) fn is_scope_waker(waker: &Waker) -> bool {
    POLLING.with(|polling| polling.get().0 == waker as *const Waker as usize)
}

/// If `waker` is the open scope's own waker: the address of the loop its
/// task belongs to (0 if the executor did not say).
#[inline]
pub(crate) fn scope_owner(waker: &Waker) -> Option<usize> {
    let (address, _, owner) = POLLING.with(Cell::get);
    (address == waker as *const Waker as usize).then_some(owner)
}

/// A waker a future stores, counted under the executor of the scope it was
/// stored in when it is that scope's waker.
///
/// For `!Send` awaitables of other crates built on this one (the locks and
/// queues of `asyncio-sync`): a waker kept in one counts as held on this
/// thread, so an executor's deadlock check knows that only this thread's
/// code can wake the task through it. Holding one in anything that another
/// thread could reach would defeat that check.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU64;
/// use asyncio_core::census::{self, HeldWaker, PollScope};
///
/// let executor = NonZeroU64::new(9).unwrap();
/// let waker = futures::task::noop_waker();
/// let held = {
///     let _scope = PollScope::enter(&waker, executor);
///     HeldWaker::new(&waker)
/// };
/// assert_eq!(census::held(executor), 1);
/// held.wake();
/// assert_eq!(census::held(executor), 0);
/// ```
pub struct HeldWaker {
    waker: Waker,
    count: Count,
}

/// One waker counted under an executor (0: not counted), until dropped.
/// Apart from the waker, so that waking can move the waker out and wake it
/// by value (one call, as an uncounted waker would be woken).
struct Count(u64);

impl Drop for Count {
    #[inline]
    fn drop(&mut self) {
        if self.0 != 0 {
            remove(self.0);
        }
    }
}

impl HeldWaker {
    /// A clone of `waker`, counted if it is the open scope's waker.
    ///
    /// # Examples
    ///
    /// See [`HeldWaker`].
    #[inline]
    pub fn new(waker: &Waker) -> HeldWaker {
        let (address, executor, _) = POLLING.with(Cell::get);
        let executor = if address == waker as *const Waker as usize {
            add(executor);
            executor
        } else {
            0
        };
        HeldWaker {
            waker: waker.clone(),
            count: Count(executor),
        }
    }

    /// Whether it wakes the same task as `waker` (see [`Waker::will_wake`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let waker = futures::task::noop_waker();
    /// let held = asyncio_core::census::HeldWaker::new(&waker);
    /// assert!(held.will_wake(&waker));
    /// ```
    #[inline]
    pub fn will_wake(&self, waker: &Waker) -> bool {
        self.waker.will_wake(waker)
    }

    /// Wakes the task, giving the waker up (and uncounting it).
    ///
    /// # Examples
    ///
    /// See [`HeldWaker`].
    #[inline]
    pub fn wake(self) {
        let HeldWaker { waker, count } = self;
        drop(count);
        waker.wake();
    }
}

impl std::fmt::Debug for HeldWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldWaker")
            .field("counted", &(self.count.0 != 0))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Future;
    use std::future::Future as _;
    use std::pin::pin;
    use std::task::Context;

    fn id(n: u64) -> NonZeroU64 {
        NonZeroU64::new(n).unwrap()
    }

    #[test]
    fn only_the_scope_waker_counts_and_every_way_of_giving_it_up_uncounts_it() {
        let waker = futures::task::noop_waker();
        let other = futures::task::noop_waker();
        let future: Future<u8> = Future::new();
        let mut first = Box::pin(future.wait());
        let mut second = Box::pin(future.wait());
        {
            let _scope = PollScope::enter(&waker, id(3));
            assert!(first
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            // Another waker (a combinator's own) is not the scope's.
            assert!(second
                .as_mut()
                .poll(&mut Context::from_waker(&other))
                .is_pending());
        }
        assert_eq!(held(id(3)), 1);
        // Outside any scope nothing counts.
        let mut third = Box::pin(future.wait());
        assert!(third
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        assert_eq!(held(id(3)), 1);
        // Dropping the awaiter removes its waker.
        drop(first);
        assert_eq!(held(id(3)), 0);
        drop((second, third));
    }

    #[test]
    fn a_replaced_waker_is_uncounted_and_scopes_nest() {
        let outer = futures::task::noop_waker();
        let inner = futures::task::noop_waker();
        let future: Future<u8> = Future::new();
        let mut wait = pin!(future.wait());
        let _outer = PollScope::enter(&outer, id(4));
        assert!(wait
            .as_mut()
            .poll(&mut Context::from_waker(&outer))
            .is_pending());
        assert_eq!(held(id(4)), 1);
        {
            let _inner = PollScope::enter(&inner, id(5));
            // noop wakers all `will_wake` each other, so the stored one stays.
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(&inner))
                .is_pending());
        }
        assert_eq!((held(id(4)), held(id(5))), (1, 0));
        // The outer scope is open again.
        let mut again = pin!(future.wait());
        assert!(again
            .as_mut()
            .poll(&mut Context::from_waker(&outer))
            .is_pending());
        assert_eq!(held(id(4)), 2);
        future.cancel();
        assert_eq!(held(id(4)), 0);
    }

    #[test]
    fn several_executors_keep_separate_counts() {
        let waker = futures::task::noop_waker();
        let futures: Vec<Future<u8>> = (0..3).map(|_| Future::new()).collect();
        let mut waits: Vec<_> = futures.iter().map(|f| Box::pin(f.wait())).collect();
        // Executors 10, 11, 10: the second one goes to the overflow table.
        for (wait, executor) in waits.iter_mut().zip([10, 11, 10]) {
            let _scope = PollScope::enter(&waker, id(executor));
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
        }
        assert_eq!((held(id(10)), held(id(11)), held(id(12))), (2, 1, 0));
        futures[0].cancel();
        futures[2].cancel();
        assert_eq!((held(id(10)), held(id(11))), (0, 1));
        // The plain cell is free again: 12 takes it, 11 stays where it is.
        let extra: Future<u8> = Future::new();
        let mut wait = Box::pin(extra.wait());
        {
            let _scope = PollScope::enter(&waker, id(12));
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
        }
        assert_eq!((held(id(11)), held(id(12))), (1, 1));
        drop(waits);
        drop(wait);
        assert_eq!((held(id(11)), held(id(12))), (0, 0));
    }
}
