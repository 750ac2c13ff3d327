//! `Sleep`: asyncio's `sleep()` as a Rust future.

use crate::clock::Delay;
use std::fmt;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use futures_core::FusedFuture;

use asyncio_core::{cancel, FutureError};

use crate::shared::Shared;

/// A future that completes after a delay on its loop's clock: asyncio's
/// `await asyncio.sleep(delay, result)`, made by
/// [`EventLoop::sleep`](crate::LoopHandle::sleep),
/// [`sleep_with`](crate::LoopHandle::sleep_with) and the same methods of
/// [`LoopHandle`](crate::LoopHandle).
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
/// closed or dropped before the sleep could be scheduled.
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
    shared: Weak<Shared>,
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
            delay,
            state: State::New,
            value: Some(value),
        }
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
            return this.closed();
        };
        match this.state {
            State::New if this.delay.is_none() => {
                if shared.is_closed() {
                    return this.closed();
                }
                this.state = State::Yielded;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::New => {
                let deadline = shared.after(this.delay);
                match shared.wake_at(deadline, cx.waker().clone()) {
                    Ok((key, seq)) => {
                        this.state = State::Timer(key, seq);
                        Poll::Pending
                    }
                    Err(_) => this.closed(),
                }
            }
            State::Yielded => this.finish(),
            State::Timer(key, seq) => {
                if shared.timer_pending(key, seq) {
                    shared.rewake_timer(key, seq, cx.waker());
                    Poll::Pending
                } else {
                    this.finish()
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
