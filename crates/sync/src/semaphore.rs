//! `Semaphore` and `BoundedSemaphore`: asyncio's counting semaphores.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::census::HeldWaker;
use asyncio_core::{cancel, FutureError};

use crate::waiters::{self, wake, Guarded, Lines, Status, Waiters};
use crate::{SyncError, SyncErrorKind};

/// asyncio's `Semaphore`: a counter that [`acquire`](Self::acquire)
/// takes one from, waiting while it is zero, and
/// [`release`](Self::release) gives one back to.
///
/// Waiters are served first come, first served: a newcomer does not take
/// a unit while others wait, and a released unit is handed to the oldest
/// waiter at once (asyncio's `_wake_up_next`), before it runs. A waiter
/// cancelled or dropped after it was handed a unit gives it on.
/// `acquire` returns a [`SemaphoreGuard`] that releases the unit when
/// dropped (`async with semaphore:`); [`SemaphoreGuard::detach`] keeps it
/// for an explicit `release`.
///
/// A handle: clones share one semaphore. It belongs to one thread.
///
/// # Examples
///
/// Two of three workers at a time:
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use asyncio_loop::{gather, EventLoop};
/// use asyncio_sync::Semaphore;
///
/// let event_loop = EventLoop::new();
/// let semaphore = Semaphore::new(2);
/// let (inside, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         let (semaphore, inside, most) = (semaphore.clone(), inside.clone(), most.clone());
///         let handle = event_loop.handle();
///         async move {
///             let _unit = semaphore.acquire().await?;
///             inside.set(inside.get() + 1);
///             most.set(most.get().max(inside.get()));
///             handle.sleep(0.01).await?;
///             inside.set(inside.get() - 1);
///             Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
///         }
///     })
///     .collect();
/// event_loop
///     .run_until_complete(async move { gather(workers).await })
///     .unwrap()
///     .unwrap();
/// assert_eq!(most.get(), 2);
/// ```
#[derive(Clone)]
pub struct Semaphore {
    state: Rc<Guarded<State>>,
}

/// asyncio's `BoundedSemaphore`: a [`Semaphore`] that refuses to be
/// released above its initial value.
///
/// # Examples
///
/// ```
/// use asyncio_sync::BoundedSemaphore;
///
/// let semaphore = BoundedSemaphore::new(1);
/// let unit = semaphore.try_acquire().unwrap();
/// drop(unit);
/// assert!(semaphore.release().unwrap_err().is_over_released());
/// assert_eq!(semaphore.value(), 1);
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    semaphore: Semaphore,
}

struct State {
    value: usize,
    /// A bounded semaphore's initial value.
    bound: Option<usize>,
    /// For the repr.
    name: &'static str,
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
        let waiters = self.waiters.len();
        if self.locked() {
            waiters::write_repr(f, self.name, format_args!("locked"), waiters)
        } else {
            let value = self.value;
            waiters::write_repr(
                f,
                self.name,
                format_args!("unlocked, value:{value}"),
                waiters,
            )
        }
    }
}

impl State {
    /// asyncio's `locked()`: no unit, or others (not cancelled) wait for
    /// one.
    fn locked(&self) -> bool {
        self.value == 0 || !self.waiters.all_cancelled()
    }

    /// asyncio's `_wake_up_next`: hands a unit to the oldest waiter.
    fn wake_up_next(&mut self) -> Option<HeldWaker> {
        if self.value == 0 {
            return None;
        }
        let waker = self.waiters.wake_first(0)?;
        self.value -= 1;
        Some(waker)
    }

    fn release(&mut self) -> Result<Option<HeldWaker>, SyncError> {
        if self.bound.is_some_and(|bound| self.value >= bound) {
            return Err(SyncError::plain(
                SyncErrorKind::OverReleased,
                "bounded semaphore released too many times",
            ));
        }
        self.value = self.value.checked_add(1).ok_or(SyncError::plain(
            SyncErrorKind::OverReleased,
            "semaphore value overflows usize",
        ))?;
        Ok(self.wake_up_next())
    }
}

impl Semaphore {
    /// A semaphore with `value` units.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(0);
    /// assert!(semaphore.locked());
    /// ```
    pub fn new(value: usize) -> Self {
        Semaphore::with_bound(value, None)
    }

    fn with_bound(value: usize, bound: Option<usize>) -> Self {
        Semaphore {
            state: Guarded::new(State {
                value,
                bound,
                name: if bound.is_some() {
                    "BoundedSemaphore"
                } else {
                    "Semaphore"
                },
                waiters: Waiters::new(),
            }),
        }
    }

    /// Whether an `acquire` would wait: no unit is left, or others wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(1);
    /// let unit = semaphore.try_acquire().unwrap();
    /// assert!(semaphore.locked());
    /// drop(unit);
    /// assert!(!semaphore.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.state.borrow().locked()
    }

    /// The units left (asyncio's `_value`): units handed to woken waiters
    /// that have not run yet are no longer counted.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(3);
    /// let _unit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.value(), 2);
    /// ```
    pub fn value(&self) -> usize {
        self.state.borrow().value
    }

    /// Waits for a unit and takes it: asyncio's `await semaphore.acquire()`.
    ///
    /// It does not suspend when a unit is free and nobody waits. It fails
    /// only when cancelled, holding nothing.
    ///
    /// # Examples
    ///
    /// See [`Semaphore`].
    pub fn acquire(&self) -> SemaphoreAcquire {
        SemaphoreAcquire {
            semaphore: self.clone(),
            key: None,
        }
    }

    /// Takes a unit if one is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(1);
    /// let unit = semaphore.try_acquire();
    /// assert!(unit.is_some() && semaphore.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        let mut state = self.state.borrow_mut();
        if state.locked() {
            return None;
        }
        state.value -= 1;
        Some(SemaphoreGuard {
            semaphore: self.clone(),
            held: true,
        })
    }

    /// Gives a unit back, waking the oldest waiter: asyncio's
    /// `semaphore.release()`. A plain semaphore may be released more times
    /// than it was acquired, each release adding a unit.
    ///
    /// # Errors
    ///
    /// Only for a [`BoundedSemaphore`].
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(0);
    /// semaphore.release().unwrap();
    /// assert_eq!(semaphore.value(), 1);
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        let waker = self.state.borrow_mut().release()?;
        wake(waker);
        Ok(())
    }

    fn write_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt_repr(f, "<Semaphore>")
    }
}

impl fmt::Debug for Semaphore {
    /// asyncio's repr, without the address.
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(2);
    /// assert_eq!(format!("{semaphore:?}"), "<Semaphore [unlocked, value:2]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_repr(f)
    }
}

impl BoundedSemaphore {
    /// A semaphore with `value` units that refuses to hold more.
    ///
    /// # Examples
    ///
    /// See [`BoundedSemaphore`].
    pub fn new(value: usize) -> Self {
        BoundedSemaphore {
            semaphore: Semaphore::with_bound(value, Some(value)),
        }
    }

    /// See [`Semaphore::locked`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_sync::BoundedSemaphore::new(0).locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.semaphore.locked()
    }

    /// See [`Semaphore::value`].
    ///
    /// # Examples
    ///
    /// See [`BoundedSemaphore`].
    pub fn value(&self) -> usize {
        self.semaphore.value()
    }

    /// See [`Semaphore::acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let semaphore = asyncio_sync::BoundedSemaphore::new(1);
    /// let inside = semaphore.clone();
    /// event_loop
    ///     .run_until_complete(async move {
    ///         let _unit = inside.acquire().await.unwrap();
    ///         assert_eq!(inside.value(), 0);
    ///     })
    ///     .unwrap();
    /// assert_eq!(semaphore.value(), 1);
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire {
        self.semaphore.acquire()
    }

    /// See [`Semaphore::try_acquire`].
    ///
    /// # Examples
    ///
    /// See [`BoundedSemaphore`].
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        self.semaphore.try_acquire()
    }

    /// Gives a unit back, waking the oldest waiter.
    ///
    /// # Errors
    ///
    /// [`OverReleased`](SyncErrorKind::OverReleased) if the semaphore holds
    /// its initial value already (asyncio's
    /// `ValueError('BoundedSemaphore released too many times')`); nothing
    /// changes.
    ///
    /// # Examples
    ///
    /// See [`BoundedSemaphore`].
    pub fn release(&self) -> Result<(), SyncError> {
        self.semaphore.release()
    }
}

impl fmt::Debug for BoundedSemaphore {
    /// asyncio's repr, without the address.
    ///
    /// ```
    /// let semaphore = asyncio_sync::BoundedSemaphore::new(0);
    /// assert_eq!(format!("{semaphore:?}"), "<BoundedSemaphore [locked]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.semaphore.write_repr(f)
    }
}

/// The future of [`Semaphore::acquire`] and [`BoundedSemaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquire {
    semaphore: Semaphore,
    key: Option<usize>,
}

impl SemaphoreAcquire {
    /// Leaves the line; a unit we were handed goes to the next waiter.
    fn give_up(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = {
            let mut state = self.semaphore.state.borrow_mut();
            if state.waiters.remove(key) == Status::Woken {
                state.value += 1;
                state.wake_up_next()
            } else {
                None
            }
        };
        wake(waker);
    }
}

impl Future for SemaphoreAcquire {
    type Output = Result<SemaphoreGuard, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled));
        }
        let semaphore = self.semaphore.clone();
        let mut state = semaphore.state.borrow_mut();
        let ticket = match self.key {
            None if !state.locked() => {
                state.value -= 1;
                drop(state);
                return Poll::Ready(Ok(SemaphoreGuard {
                    semaphore,
                    held: true,
                }));
            }
            None => {
                let key = state.waiters.push(0, cx.waker());
                self.key = Some(key);
                state.waiters.ticket(key)
            }
            Some(key) => match state.waiters.status(key) {
                Status::Waiting => state.waiters.update(key, cx.waker()),
                Status::Woken | Status::Cancelled(_) => {
                    self.key = None;
                    if let Status::Cancelled(message) = state.waiters.remove(key) {
                        return Poll::Ready(Err(waiters::cancelled(message)));
                    }
                    // Our unit was taken off the count when we were woken;
                    // units left go on to the next waiter.
                    let waker = state.wake_up_next();
                    drop(state);
                    wake(waker);
                    return Poll::Ready(Ok(SemaphoreGuard {
                        semaphore,
                        held: true,
                    }));
                }
            },
        };
        drop(state);
        waiters::note(cx.waker(), &semaphore.state, ticket);
        Poll::Pending
    }
}

impl Drop for SemaphoreAcquire {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give_up();
        }
    }
}

impl fmt::Debug for SemaphoreAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("semaphore", &self.semaphore)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// A unit of a [`Semaphore`] or [`BoundedSemaphore`], given back when
/// dropped.
#[must_use = "the unit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard {
    semaphore: Semaphore,
    /// Cleared once detached: the unit stays taken.
    held: bool,
}

impl SemaphoreGuard {
    /// Keeps the unit past the guard, for an explicit `release` later.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::Semaphore::new(1);
    /// semaphore.try_acquire().unwrap().detach();
    /// assert_eq!(semaphore.value(), 0);
    /// semaphore.release().unwrap();
    /// assert_eq!(semaphore.value(), 1);
    /// ```
    pub fn detach(mut self) {
        self.held = false;
    }
}

impl Drop for SemaphoreGuard {
    /// Releases the unit, unless the guard was detached. A bounded
    /// semaphore already at its bound (an explicit release gave this unit
    /// back) is left as it is.
    fn drop(&mut self) {
        if self.held {
            let _ = self.semaphore.release();
        }
    }
}

impl fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard")
            .field("semaphore", &self.semaphore)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn a_release_hands_the_unit_to_the_oldest_waiter_at_once() {
        let semaphore = Semaphore::new(0);
        let mut first = pin!(semaphore.acquire());
        let mut second = pin!(semaphore.acquire());
        assert!(poll(first.as_mut()).is_pending());
        assert!(poll(second.as_mut()).is_pending());
        semaphore.release().unwrap();
        assert_eq!(semaphore.value(), 0);
        assert!(semaphore.try_acquire().is_none());
        assert!(poll(second.as_mut()).is_pending());
        let Poll::Ready(Ok(unit)) = poll(first.as_mut()) else {
            panic!("the oldest waiter was handed the unit");
        };
        unit.detach();
        assert_eq!(format!("{semaphore:?}"), "<Semaphore [locked, waiters:1]>");
    }

    #[test]
    fn a_handed_unit_dropped_goes_to_the_next() {
        let semaphore = Semaphore::new(0);
        let mut first = Box::pin(semaphore.acquire());
        let mut second = pin!(semaphore.acquire());
        assert!(poll(first.as_mut()).is_pending());
        assert!(poll(second.as_mut()).is_pending());
        semaphore.release().unwrap();
        drop(first);
        assert!(matches!(poll(second.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(semaphore.value(), 1);
    }

    #[test]
    fn a_waiter_wakes_the_next_while_units_are_left() {
        let semaphore = Semaphore::new(0);
        let mut first = pin!(semaphore.acquire());
        let mut second = pin!(semaphore.acquire());
        assert!(poll(first.as_mut()).is_pending());
        assert!(poll(second.as_mut()).is_pending());
        // Two units at once: the first is handed one, the second the other.
        semaphore.state.borrow_mut().value = 2;
        let waker = semaphore.state.borrow_mut().wake_up_next();
        wake(waker);
        let Poll::Ready(Ok(a)) = poll(first.as_mut()) else {
            panic!("woken");
        };
        let Poll::Ready(Ok(b)) = poll(second.as_mut()) else {
            panic!("woken by the first");
        };
        drop((a, b));
        assert_eq!(semaphore.value(), 2);
    }

    #[test]
    fn a_detached_guard_keeps_the_unit_and_drops_its_handle() {
        let semaphore = Semaphore::new(1);
        semaphore.try_acquire().unwrap().detach();
        assert_eq!(semaphore.value(), 0);
        assert_eq!(
            Rc::strong_count(&semaphore.state),
            1,
            "the guard's handle is gone"
        );
    }

    #[test]
    fn a_bounded_guard_after_an_extra_release_changes_nothing() {
        let semaphore = BoundedSemaphore::new(1);
        let unit = semaphore.try_acquire().unwrap();
        semaphore.release().unwrap();
        drop(unit);
        assert_eq!(semaphore.value(), 1);
    }
}
