//! `Sleep`: asyncio's `sleep()` as a Rust future.

use crate::clock::Delay;
use std::fmt;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use futures_core::FusedFuture;

use asyncio_core::{cancel, FutureError};

use crate::shared::{registry, Shared};

/// A sleep of `delay` on the loop running where it is first awaited:
/// asyncio's `await asyncio.sleep(delay)`, for coroutines that do not keep
/// a [`LoopHandle`](crate::LoopHandle). See [`Sleep`].
///
/// # Examples
///
/// ```
/// use asyncio_loop::{sleep, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// event_loop.run_until_complete(sleep(1.5)).unwrap().unwrap();
/// assert_eq!(event_loop.time(), 1.5);
/// // Awaited where none of our loops runs, it has no loop to sleep on.
/// let error = futures::executor::block_on(sleep(1.0)).unwrap_err();
/// assert!(error.is_unbound());
/// ```
pub fn sleep(delay: impl Into<Delay>) -> Sleep {
    Sleep::on_running_loop(delay.into(), ())
}

/// A sleep of `delay` that ends with `value`, on the loop running where it
/// is first awaited: asyncio's `await asyncio.sleep(delay, result)`.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{sleep_with, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let value = event_loop.run_until_complete(sleep_with(0.25, "done")).unwrap();
/// assert_eq!(value.unwrap(), "done");
/// ```
pub fn sleep_with<T>(delay: impl Into<Delay>, value: T) -> Sleep<T> {
    Sleep::on_running_loop(delay.into(), value)
}

/// A future that completes after a delay on its loop's clock: asyncio's
/// `await asyncio.sleep(delay, result)`, made by
/// [`LoopHandle::sleep`](crate::LoopHandle::sleep) and
/// [`sleep_with`](crate::LoopHandle::sleep_with) (also through an
/// [`EventLoop`](crate::EventLoop)) on that loop, or by the free functions
/// [`sleep`](crate::sleep) and [`sleep_with`](crate::sleep_with) on the loop
/// running where it is first awaited.
///
/// As in asyncio, the delay starts when the sleep is first awaited (polled),
/// not when it is made. A sleep of zero (or a negative delay) yields for
/// exactly one iteration: other callbacks and tasks queued meanwhile run
/// first, as with asyncio's `sleep(0)`. A longer one schedules a timer that
/// wakes the awaiting task, which then runs on the iteration after the one
/// the timer fired in, as in asyncio. Dropping a sleep that has not finished
/// (a `select!` that another branch won) cancels its timer. An infinite
/// delay (`f64::INFINITY`, `Duration::MAX`) never ends: its timer never
/// comes due, and a loop with nothing else to do does not wait for it
/// (`run_until_complete` reports the loop stuck instead, where asyncio
/// would wait for ever).
///
/// Its output is the value given to `sleep_with` (`()` for `sleep`), or
/// an error: [`is_cancelled`](FutureError::is_cancelled) when the task
/// awaiting it was cancelled (as asyncio's `sleep` raises
/// `CancelledError`; the timer is cancelled too), or
/// [`is_loop_closed`](FutureError::is_loop_closed) when the loop was
/// closed or dropped before the sleep could be scheduled, or
/// [`is_unbound`](FutureError::is_unbound) when a free function's sleep
/// is awaited where none of our loops runs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use asyncio_loop::{EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let answer = event_loop
///     .run_until_complete(async move {
///         handle.sleep(Duration::from_secs(5)).await?;
///         handle.sleep_with(0.5, 42).await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(answer, 42);
/// assert_eq!(event_loop.time(), 5.5);
/// ```
#[must_use = "a sleep does nothing unless it is awaited"]
pub struct Sleep<T = ()> {
    /// Its loop; dangling until first polled for a free function's sleep.
    shared: Weak<Shared>,
    /// Set for a free function's sleep until it is bound, at its first
    /// poll, to the running loop.
    unbound: bool,
    delay: Delay,
    state: State,
    value: Option<T>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not polled yet.
    New,
    /// A zero delay that has yielded once.
    Yielded,
    /// Waiting for the timer `(key, seq)`.
    Timer(u32, u64),
    Done,
}

impl<T> Sleep<T> {
    pub(crate) fn new(shared: Weak<Shared>, delay: Delay, value: T) -> Self {
        Sleep {
            shared,
            unbound: false,
            delay,
            state: State::New,
            value: Some(value),
        }
    }

    /// A sleep on the loop running where it is first awaited.
    fn on_running_loop(delay: Delay, value: T) -> Self {
        let mut sleep = Sleep::new(Weak::new(), delay, value);
        sleep.unbound = true;
        sleep
    }

    /// Binds a free function's sleep to the running loop, at its first
    /// poll; `None` if it was bound already (its loop is gone) or no loop runs.
    #[cold]
    fn bind(&mut self) -> Option<Rc<Shared>> {
        if !std::mem::take(&mut self.unbound) {
            return None;
        }
        let shared = registry::find(registry::running())?;
        self.shared = Rc::downgrade(&shared);
        Some(shared)
    }

    #[cold]
    fn no_loop(&mut self) -> Poll<Result<T, FutureError>> {
        self.state = State::Done;
        self.value = None;
        Poll::Ready(Err(FutureError::unbound()))
    }

    fn finish(&mut self) -> Poll<Result<T, FutureError>> {
        self.state = State::Done;
        match self.value.take() {
            Some(value) => Poll::Ready(Ok(value)),
            None => Poll::Pending,
        }
    }

    fn closed(&mut self) -> Poll<Result<T, FutureError>> {
        self.state = State::Done;
        self.value = None;
        Poll::Ready(Err(FutureError::loop_closed()))
    }

    /// The awaiting task was cancelled: the timer goes, and the sleep ends
    /// with the cancellation.
    #[cold]
    fn cancelled(&mut self, cancelled: FutureError) -> Poll<Result<T, FutureError>> {
        if let (State::Timer(key, seq), Some(shared)) = (self.state, self.shared.upgrade()) {
            shared.cancel_timer(key, seq);
        }
        self.state = State::Done;
        self.value = None;
        Poll::Ready(Err(cancelled))
    }
}

// No structural pinning: the value is only ever moved out whole.
impl<T> Unpin for Sleep<T> {}

impl<T> StdFuture for Sleep<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.state == State::Done {
            // Polled after it finished: it never finishes again.
            return Poll::Pending;
        }
        if let Some(cancelled) = cancel::take() {
            return this.cancelled(cancelled);
        }
        let Some(shared) = this.shared.upgrade() else {
            if !this.unbound {
                return this.closed();
            }
            match this.bind() {
                Some(shared) => return this.poll_on(&shared, cx),
                None => return this.no_loop(),
            }
        };
        this.poll_on(&shared, cx)
    }
}

impl<T> Sleep<T> {
    /// A poll on its loop, `shared`.
    #[inline(always)]
    fn poll_on(&mut self, shared: &Shared, cx: &mut Context<'_>) -> Poll<Result<T, FutureError>> {
        match self.state {
            State::New if self.delay.is_none() => {
                if shared.is_closed() {
                    return self.closed();
                }
                self.state = State::Yielded;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::New => {
                let deadline = shared.after(self.delay);
                match shared.wake_at(deadline, cx.waker().clone()) {
                    Ok((key, seq)) => {
                        self.state = State::Timer(key, seq);
                        Poll::Pending
                    }
                    Err(_) => self.closed(),
                }
            }
            State::Yielded => self.finish(),
            State::Timer(key, seq) => {
                if shared.timer_pending(key, seq) {
                    shared.rewake_timer(key, seq, cx.waker());
                    Poll::Pending
                } else {
                    self.finish()
                }
            }
            State::Done => Poll::Pending,
        }
    }
}

impl<T> FusedFuture for Sleep<T> {
    fn is_terminated(&self) -> bool {
        self.state == State::Done
    }
}

impl<T> Drop for Sleep<T> {
    fn drop(&mut self) {
        if let (State::Timer(key, seq), Some(shared)) = (self.state, self.shared.upgrade()) {
            shared.cancel_timer(key, seq);
        }
    }
}

impl<T> fmt::Debug for Sleep<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("delay", &self.delay)
            .field("state", &self.state)
            .finish()
    }
}
