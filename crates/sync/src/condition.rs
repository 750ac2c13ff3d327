//! `Condition`: asyncio's condition variable.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::census::HeldWaker;
use asyncio_core::{cancel, FutureError};

use crate::lock::{Acquire, LockGuard};
use crate::waiters::{self, Guarded, Lines, Status, Waiters};
use crate::{Lock, SyncError};

/// asyncio's `Condition`: coroutines wait, holding its lock, until another
/// notifies them.
///
/// Take the lock with [`acquire`](Self::acquire) (`async with condition:`),
/// which gives a [`ConditionGuard`]; [`ConditionGuard::wait`] releases the
/// lock, waits for a notification and takes the lock again before it
/// returns the guard; [`ConditionGuard::notify`] and
/// [`notify_all`](ConditionGuard::notify_all) wake waiters, oldest first.
/// A woken waiter returns once it holds the lock again, so it runs after
/// the notifier releases it. Because `wait` and `notify` are methods of
/// the guard, "waiting or notifying without the lock" (asyncio's
/// `RuntimeError`) cannot be written; [`Condition::notify`] keeps asyncio's
/// check for code that holds the lock through an explicit acquire.
///
/// A handle: clones share one condition. It belongs to one thread.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use asyncio_loop::EventLoop;
/// use asyncio_sync::Condition;
///
/// let event_loop = EventLoop::new();
/// let condition = Condition::new();
/// let ready = Rc::new(Cell::new(false));
/// let (waiter, flag) = (condition.clone(), ready.clone());
/// let consumer = event_loop
///     .create_task(async move {
///         let guard = waiter.acquire().await?;
///         let _guard = guard.wait_for(|| flag.get()).await?;
///         Ok::<_, asyncio_core::FutureError>("consumed")
///     })
///     .unwrap();
/// let producer = event_loop
///     .create_task(async move {
///         let guard = condition.acquire().await?;
///         ready.set(true);
///         guard.notify_all();
///         Ok::<_, asyncio_core::FutureError>(())
///     })
///     .unwrap();
/// event_loop.run_until_complete(&producer).unwrap();
/// assert_eq!(event_loop.run_until_complete(&consumer).unwrap(), "consumed");
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    state: Rc<Guarded<State>>,
}

struct State {
    /// The condition's lock again, for the repr.
    lock: Lock,
    waiters: Waiters,
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
        let held = if self.lock.locked() {
            "locked"
        } else {
            "unlocked"
        };
        waiters::write_repr(f, "Condition", format_args!("{held}"), self.waiters.len())
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl Condition {
    /// A condition with a lock of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!asyncio_sync::Condition::new().locked());
    /// ```
    pub fn new() -> Self {
        Condition::with_lock(Lock::new())
    }

    /// A condition on `lock`, which other conditions (or plain users of
    /// the lock) may share: asyncio's `Condition(lock)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_sync::{Condition, Lock};
    ///
    /// let lock = Lock::new();
    /// let condition = Condition::with_lock(lock.clone());
    /// let _held = lock.try_acquire().unwrap();
    /// assert!(condition.locked());
    /// ```
    pub fn with_lock(lock: Lock) -> Self {
        Condition {
            state: Guarded::new(State {
                lock: lock.clone(),
                waiters: Waiters::new(),
            }),
            lock,
        }
    }

    /// The condition's lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// assert!(!condition.lock().locked());
    /// ```
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// See [`with_lock`](Self::with_lock).
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Waits for the lock and takes it (`async with condition:`).
    ///
    /// # Examples
    ///
    /// See [`Condition`].
    pub fn acquire(&self) -> ConditionAcquire {
        ConditionAcquire {
            condition: self.clone(),
            acquire: self.lock.acquire(),
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// let guard = condition.try_acquire().unwrap();
    /// assert!(condition.try_acquire().is_none());
    /// drop(guard);
    /// ```
    pub fn try_acquire(&self) -> Option<ConditionGuard> {
        let guard = self.lock.try_acquire()?;
        Some(ConditionGuard {
            condition: self.clone(),
            guard,
        })
    }

    /// Releases the lock: asyncio's `condition.release()`, for a hold kept
    /// with [`ConditionGuard::detach`].
    ///
    /// # Errors
    ///
    /// [`NotAcquired`](crate::SyncErrorKind::NotAcquired) if the lock is not
    /// held.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// condition.try_acquire().unwrap().detach();
    /// condition.release().unwrap();
    /// assert!(!condition.locked());
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        self.lock.release()
    }

    /// Wakes up to `n` waiters, oldest first: asyncio's
    /// `condition.notify(n)`, for a lock held through an explicit acquire.
    /// Each returns from its wait once it holds the lock again.
    ///
    /// # Errors
    ///
    /// [`NotAcquired`](crate::SyncErrorKind::NotAcquired) if the lock is not
    /// held (asyncio's `RuntimeError('cannot notify on un-acquired lock')`).
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// assert!(condition.notify(1).is_err());
    /// condition.try_acquire().unwrap().detach();
    /// condition.notify(1).unwrap();
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), SyncError> {
        if !self.lock.locked() {
            return Err(SyncError::not_acquired("cannot notify on un-acquired lock"));
        }
        self.wake(n);
        Ok(())
    }

    /// Wakes every waiter: asyncio's `condition.notify_all()`.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// assert!(condition.notify_all().unwrap_err().is_not_acquired());
    /// ```
    pub fn notify_all(&self) -> Result<(), SyncError> {
        self.notify(usize::MAX)
    }

    /// Wakes up to `n` waiters not woken yet, each once the borrow ended.
    fn wake(&self, n: usize) {
        waiters::wake_many(&self.state, |state| &mut state.waiters, 0, n);
    }
}

impl fmt::Debug for Condition {
    /// asyncio's repr, without the address: `<Condition [locked, waiters:1]>`.
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// assert_eq!(format!("{condition:?}"), "<Condition [unlocked]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt_repr(f, "<Condition>")
    }
}

/// The future of [`Condition::acquire`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ConditionAcquire {
    condition: Condition,
    acquire: Acquire,
}

impl Future for ConditionAcquire {
    type Output = Result<ConditionGuard, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = Pin::new(&mut self.acquire).poll(cx);
        polled.map_ok(|guard| ConditionGuard {
            condition: self.condition.clone(),
            guard,
        })
    }
}

/// A hold on a [`Condition`]'s lock, released when dropped; what waits and
/// notifies.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard {
    condition: Condition,
    guard: LockGuard,
}

impl ConditionGuard {
    /// The condition this guard holds the lock of.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// let guard = condition.try_acquire().unwrap();
    /// assert!(guard.condition().locked());
    /// ```
    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    /// Releases the lock, waits for a notification, takes the lock again
    /// and returns the guard: asyncio's `await condition.wait()`.
    ///
    /// # Errors
    ///
    /// Cancelled while it waits: the lock is not taken again (asyncio takes
    /// it before raising, for the `async with` to release; here the guard
    /// is gone, so nothing is left to release). A waiter cancelled after it
    /// was notified passes the notification to the next waiter, as
    /// CPython 3.13 does (3.11 loses it).
    ///
    /// # Examples
    ///
    /// See [`Condition`].
    pub fn wait(self) -> ConditionWait {
        ConditionWait {
            condition: self.condition,
            stage: Stage::Start(Some(self.guard)),
        }
    }

    /// Waits until `predicate` is true, checking it first and after every
    /// notification: asyncio's `await condition.wait_for(predicate)`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// See [`Condition`].
    pub async fn wait_for(
        self,
        mut predicate: impl FnMut() -> bool,
    ) -> Result<ConditionGuard, FutureError> {
        let mut guard = self;
        while !predicate() {
            guard = guard.wait().await?;
        }
        Ok(guard)
    }

    /// Wakes up to `n` waiters, oldest first: asyncio's `notify(n)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// let guard = condition.try_acquire().unwrap();
    /// guard.notify(2); // nobody waits: nothing happens
    /// ```
    pub fn notify(&self, n: usize) {
        self.condition.wake(n);
    }

    /// Wakes every waiter: asyncio's `notify_all()`.
    ///
    /// # Examples
    ///
    /// See [`Condition`].
    pub fn notify_all(&self) {
        self.condition.wake(usize::MAX);
    }

    /// Keeps the lock held past the guard, for an explicit
    /// [`Condition::release`] later.
    ///
    /// # Examples
    ///
    /// See [`Condition::release`].
    pub fn detach(self) {
        self.guard.detach();
    }
}

impl fmt::Debug for ConditionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGuard")
            .field("condition", &self.condition)
            .finish()
    }
}

/// The future of [`ConditionGuard::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait {
    condition: Condition,
    stage: Stage,
}

enum Stage {
    /// Not polled yet: still holding the lock.
    Start(Option<LockGuard>),
    /// Lock released, in the condition's line.
    Waiting(usize),
    /// Notified: taking the lock again.
    Reacquiring(Acquire),
    Done,
}

impl ConditionWait {
    /// Leaves the condition's line; a notification we had been given goes
    /// to the next waiter.
    fn give_up(&mut self) {
        if let Stage::Waiting(key) = std::mem::replace(&mut self.stage, Stage::Done) {
            let status = self.condition.state.borrow_mut().waiters.remove(key);
            if status == Status::Woken {
                self.condition.wake(1);
            }
        }
        // A guard not yet released, or a reacquiring `Acquire`, is dropped
        // with the stage: each cleans up after itself.
    }
}

impl Future for ConditionWait {
    type Output = Result<ConditionGuard, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let condition = self.condition.clone();
        if let Stage::Reacquiring(acquire) = &mut self.stage {
            let polled = Pin::new(acquire).poll(cx);
            if polled.is_ready() {
                self.stage = Stage::Done;
            }
            return polled.map_ok(|guard| ConditionGuard { condition, guard });
        }
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled));
        }
        let ticket = match &mut self.stage {
            Stage::Start(guard) => {
                let mut state = condition.state.borrow_mut();
                let key = state.waiters.push(0, cx.waker());
                let ticket = state.waiters.ticket(key);
                drop(state);
                // asyncio's `self.release()`, once we are in line.
                drop(guard.take());
                self.stage = Stage::Waiting(key);
                ticket
            }
            Stage::Waiting(key) => {
                let key = *key;
                let mut state = condition.state.borrow_mut();
                match state.waiters.status(key) {
                    Status::Waiting => state.waiters.update(key, cx.waker()),
                    Status::Cancelled(_) | Status::Woken => {
                        let status = state.waiters.remove(key);
                        drop(state);
                        if let Status::Cancelled(message) = status {
                            self.stage = Stage::Done;
                            return Poll::Ready(Err(waiters::cancelled(message)));
                        }
                        self.stage = Stage::Reacquiring(condition.lock.acquire());
                        return self.poll(cx);
                    }
                }
            }
            Stage::Reacquiring(_) | Stage::Done => {
                return Poll::Ready(Err(FutureError::invalid_state(
                    "condition wait polled after it completed",
                )))
            }
        };
        waiters::note(cx.waker(), &condition.state, ticket);
        Poll::Pending
    }
}

impl Drop for ConditionWait {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl fmt::Debug for ConditionWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Start(_) => "start",
            Stage::Waiting(_) => "waiting",
            Stage::Reacquiring(_) => "reacquiring",
            Stage::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("condition", &self.condition)
            .field("stage", &stage)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn wait_releases_and_retakes_the_lock() {
        let condition = Condition::new();
        let guard = condition.try_acquire().unwrap();
        let mut wait = pin!(guard.wait());
        assert!(poll(wait.as_mut()).is_pending());
        assert!(!condition.locked());
        let notifier = condition.try_acquire().unwrap();
        notifier.notify(1);
        // Notified, but the lock is the notifier's.
        assert!(poll(wait.as_mut()).is_pending());
        drop(notifier);
        let Poll::Ready(Ok(guard)) = poll(wait.as_mut()) else {
            panic!("the lock is free again");
        };
        assert!(condition.locked());
        drop(guard);
        assert!(!condition.locked());
    }

    #[test]
    fn a_notified_waiter_dropped_passes_the_notification_on() {
        let condition = Condition::new();
        let first = condition.try_acquire().unwrap();
        let mut first = Box::pin(first.wait());
        assert!(poll(first.as_mut()).is_pending());
        let second = condition.try_acquire().unwrap();
        let mut second = pin!(second.wait());
        assert!(poll(second.as_mut()).is_pending());
        condition.try_acquire().unwrap().notify(1);
        drop(first);
        assert!(matches!(poll(second.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(format!("{condition:?}"), "<Condition [unlocked]>");
    }
}
