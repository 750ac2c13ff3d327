//! `Lock`: asyncio's mutual exclusion lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::census::HeldWaker;
use asyncio_core::{cancel, FutureError};

use crate::waiters::{self, wake, Guarded, Lines, Status, Waiters};
use crate::SyncError;

/// asyncio's `Lock`: held by one coroutine at a time, handed to waiters
/// first come, first served.
///
/// [`acquire`](Self::acquire) waits for the lock and returns a
/// [`LockGuard`] that releases it when dropped, as `async with lock:` does
/// at the end of its block; an early return, a `?` or a cancelled task
/// cannot leave it held. Code ported from asyncio's explicit
/// `acquire()`/`release()` pair keeps the lock past the guard with
/// [`LockGuard::detach`] and releases it with [`release`](Self::release).
///
/// A `Lock` is a handle: clones share one lock, as every coroutine that
/// holds a Python reference to it does. It belongs to one thread (it is
/// not `Send`), like asyncio's, and works under any executor; a task of
/// `asyncio-loop` cancelled while it waits sees the cancellation at the
/// await.
///
/// As in asyncio, a released lock is not free for a newcomer while a
/// woken waiter has yet to run: the waiter takes it when it runs. A
/// waiter that is cancelled, or dropped, after it was woken hands the
/// lock to the next.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_sync::Lock;
///
/// let event_loop = EventLoop::new();
/// let lock = Lock::new();
/// let handle = event_loop.handle();
/// let order = event_loop
///     .run_until_complete(async move {
///         let guard = lock.acquire().await?;
///         let (other, event_loop) = (lock.clone(), handle.clone());
///         let waiter = handle.create_task(async move {
///             let _guard = other.acquire().await?;
///             Ok::<_, asyncio_core::FutureError>("waiter")
///         })?;
///         event_loop.sleep(0.0).await?;
///         assert!(!waiter.done() && lock.locked());
///         drop(guard);
///         Ok::<_, Box<dyn std::error::Error>>(waiter.await?)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(order, "waiter");
/// ```
#[derive(Clone)]
pub struct Lock {
    state: Rc<Guarded<State>>,
}

impl Default for Lock {
    fn default() -> Self {
        Lock {
            state: Guarded::new(State::default()),
        }
    }
}

#[derive(Default)]
struct State {
    locked: bool,
    /// Counts acquisitions, so that a guard whose hold was ended by an
    /// explicit `release` does not release a later holder's.
    generation: u64,
    waiters: Waiters,
}

impl State {
    fn take(&mut self) -> u64 {
        self.locked = true;
        self.generation = self.generation.wrapping_add(1);
        self.generation
    }

    /// asyncio's `_wake_up_first`: the oldest waiter, unless one woken
    /// earlier has yet to run (it will take the lock). Cancelled waiters
    /// are passed by: asyncio looks at the first waiter only, and when
    /// that one is cancelled the lock reaches the next through the
    /// cancelled task's own step, one iteration later.
    fn wake_up_first(&mut self) -> Option<HeldWaker> {
        if self.waiters.woken() > 0 {
            return None;
        }
        self.waiters.wake_first(0)
    }

    /// Whether a newcomer may take the lock at once: it is free and every
    /// waiter left is cancelled.
    fn free(&self) -> bool {
        !self.locked && self.waiters.all_cancelled()
    }
}

impl Lines for State {
    fn cancel_wait(
        &mut self,
        ticket: u64,
        message: Option<std::sync::Arc<str>>,
    ) -> Option<HeldWaker> {
        self.waiters.cancel(ticket, message)
    }

    fn write_repr(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let held = if self.locked { "locked" } else { "unlocked" };
        waiters::write_repr(f, "Lock", format_args!("{held}"), self.waiters.len())
    }
}

impl Lock {
    /// A new lock, not held.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!asyncio_sync::Lock::new().locked());
    /// ```
    pub fn new() -> Self {
        Lock::default()
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.state.borrow().locked
    }

    /// Waits for the lock and takes it: asyncio's `await lock.acquire()`,
    /// or the entry of `async with lock:`.
    ///
    /// It does not suspend when the lock is free and nobody waits for it.
    /// It fails only when cancelled (with the cancelled
    /// [`FutureError`](asyncio_core::FutureError)), holding
    /// nothing; dropping the future gives up its place in the line.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    /// use asyncio_sync::Lock;
    ///
    /// let event_loop = EventLoop::new();
    /// let lock = Lock::new();
    /// let holder = lock.clone();
    /// event_loop
    ///     .run_until_complete(async move {
    ///         let _guard = holder.acquire().await.unwrap();
    ///         assert!(holder.locked());
    ///     })
    ///     .unwrap();
    /// assert!(!lock.locked());
    /// ```
    pub fn acquire(&self) -> Acquire {
        Acquire {
            lock: self.clone(),
            key: None,
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// let guard = lock.try_acquire();
    /// assert!(guard.is_some());
    /// assert!(lock.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard> {
        let mut state = self.state.borrow_mut();
        if !state.free() {
            return None;
        }
        let generation = state.take();
        Some(LockGuard {
            lock: self.clone(),
            generation: Some(generation),
        })
    }

    /// Releases the lock and wakes the oldest waiter: asyncio's
    /// `lock.release()`, for a hold kept with [`LockGuard::detach`].
    ///
    /// # Errors
    ///
    /// [`NotAcquired`](crate::SyncErrorKind::NotAcquired) if the lock is not
    /// held (asyncio's `RuntimeError('Lock is not acquired.')`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// lock.try_acquire().unwrap().detach();
    /// assert!(lock.locked());
    /// lock.release().unwrap();
    /// assert!(lock.release().unwrap_err().is_not_acquired());
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        let waker = {
            let mut state = self.state.borrow_mut();
            if !state.locked {
                return Err(SyncError::not_acquired("lock is not acquired"));
            }
            state.locked = false;
            state.wake_up_first()
        };
        wake(waker);
        Ok(())
    }

    /// Whether `self` and `other` are handles to the same lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// assert!(lock.ptr_eq(&lock.clone()));
    /// assert!(!lock.ptr_eq(&asyncio_sync::Lock::new()));
    /// ```
    pub fn ptr_eq(&self, other: &Lock) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }

    /// Ends the hold `generation` if it is still the current one.
    fn release_hold(&self, generation: u64) {
        let waker = {
            let mut state = self.state.borrow_mut();
            if !state.locked || state.generation != generation {
                return;
            }
            state.locked = false;
            state.wake_up_first()
        };
        wake(waker);
    }
}

impl fmt::Debug for Lock {
    /// asyncio's repr, without the address: `<Lock [locked, waiters:1]>`.
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt_repr(f, "<Lock>")
    }
}

/// The future of [`Lock::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire {
    lock: Lock,
    /// Our place in the line, once we wait.
    key: Option<usize>,
}

impl Acquire {
    /// Leaves the line (cancelled or dropped); if we had been woken, the
    /// lock goes to the next waiter (asyncio's `except CancelledError:`).
    fn give_up(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = {
            let mut state = self.lock.state.borrow_mut();
            state.waiters.remove(key);
            if state.locked {
                None
            } else {
                state.wake_up_first()
            }
        };
        wake(waker);
    }
}

impl Future for Acquire {
    type Output = Result<LockGuard, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled));
        }
        let this = &mut *self;
        let mut state = this.lock.state.borrow_mut();
        let ticket = match this.key {
            None if state.free() => None,
            None => {
                let key = state.waiters.push(0, cx.waker());
                this.key = Some(key);
                Some(state.waiters.ticket(key))
            }
            Some(key) => match state.waiters.status(key) {
                Status::Waiting => Some(state.waiters.update(key, cx.waker())),
                Status::Woken => {
                    state.waiters.remove(key);
                    this.key = None;
                    None
                }
                Status::Cancelled(_) => {
                    this.key = None;
                    let Status::Cancelled(message) = state.waiters.remove(key) else {
                        unreachable!("the status was just read");
                    };
                    let waker = if state.locked {
                        None
                    } else {
                        state.wake_up_first()
                    };
                    drop(state);
                    wake(waker);
                    return Poll::Ready(Err(waiters::cancelled(message)));
                }
            },
        };
        if let Some(ticket) = ticket {
            drop(state);
            waiters::note(cx.waker(), &this.lock.state, ticket);
            return Poll::Pending;
        }
        let generation = state.take();
        drop(state);
        Poll::Ready(Ok(LockGuard {
            lock: this.lock.clone(),
            generation: Some(generation),
        }))
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give_up();
        }
    }
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("lock", &self.lock)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// A hold on a [`Lock`], released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    lock: Lock,
    /// The hold this guard releases; `None` once detached.
    generation: Option<u64>,
}

impl LockGuard {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = asyncio_sync::Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(guard.lock().ptr_eq(&lock));
    /// ```
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Keeps the lock held past the guard, for an explicit
    /// [`Lock::release`] later: asyncio's `await lock.acquire()` followed by
    /// `lock.release()` in a `finally`.
    ///
    /// # Examples
    ///
    /// See [`Lock::release`].
    pub fn detach(mut self) {
        self.generation = None;
    }
}

impl Drop for LockGuard {
    /// Releases the lock, unless an explicit [`Lock::release`] already
    /// ended this hold or the guard was detached.
    fn drop(&mut self) {
        if let Some(generation) = self.generation {
            self.lock.release_hold(generation);
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("lock", &self.lock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn an_explicit_release_ends_the_guard_hold() {
        let lock = Lock::new();
        let guard = lock.try_acquire().unwrap();
        lock.release().unwrap();
        let second = lock.try_acquire().unwrap();
        // The first guard's hold is over: dropping it leaves the second's.
        drop(guard);
        assert!(lock.locked());
        drop(second);
        assert!(!lock.locked());
    }

    #[test]
    fn a_woken_waiter_keeps_its_claim() {
        let lock = Lock::new();
        let guard = lock.try_acquire().unwrap();
        let mut first = pin!(lock.acquire());
        assert!(poll(first.as_mut()).is_pending());
        drop(guard);
        // Released, but the woken waiter has not run: no newcomer gets it.
        assert!(!lock.locked());
        assert!(lock.try_acquire().is_none());
        let mut newcomer = pin!(lock.acquire());
        assert!(poll(newcomer.as_mut()).is_pending());
        let Poll::Ready(Ok(held)) = poll(first.as_mut()) else {
            panic!("the woken waiter takes the lock");
        };
        assert!(poll(newcomer.as_mut()).is_pending());
        drop(held);
        assert!(poll(newcomer.as_mut()).is_ready());
    }

    #[test]
    fn a_woken_waiter_dropped_hands_the_lock_on() {
        let lock = Lock::new();
        let guard = lock.try_acquire().unwrap();
        let mut first = Box::pin(lock.acquire());
        let mut second = pin!(lock.acquire());
        assert!(poll(first.as_mut()).is_pending());
        assert!(poll(second.as_mut()).is_pending());
        drop(guard);
        drop(first);
        assert!(matches!(poll(second.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
    }

    #[test]
    fn a_detached_guard_keeps_the_lock_and_drops_its_handle() {
        let lock = Lock::new();
        lock.try_acquire().unwrap().detach();
        assert!(lock.locked());
        assert_eq!(
            Rc::strong_count(&lock.state),
            1,
            "the guard's handle is gone"
        );
        lock.release().unwrap();
    }

    #[test]
    fn repr_counts_waiters() {
        let lock = Lock::new();
        let _guard = lock.try_acquire().unwrap();
        let mut waiter = pin!(lock.acquire());
        assert!(poll(waiter.as_mut()).is_pending());
        assert_eq!(format!("{lock:?}"), "<Lock [locked, waiters:1]>");
    }
}
