//! `Event`: asyncio's one-flag broadcast.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::census::HeldWaker;
use asyncio_core::{cancel, FutureError};

use crate::waiters::{self, Guarded, Lines, Status, Waiters};

/// asyncio's `Event`: a flag that coroutines wait for.
///
/// [`set`](Self::set) raises the flag and wakes every waiter, in the order
/// they began to wait; [`wait`](Self::wait) returns at once while the flag
/// is up; [`clear`](Self::clear) lowers it. A waiter woken by `set`
/// returns even if the flag was cleared again before it ran, as in
/// asyncio.
///
/// A handle: clones share one event. It belongs to one thread.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_sync::Event;
///
/// let event_loop = EventLoop::new();
/// let event = Event::new();
/// let waiter = event.clone();
/// let task = event_loop
///     .create_task(async move { waiter.wait().await.map(|()| "triggered") })
///     .unwrap();
/// let setter = event.clone();
/// event_loop.call_later(0.1, move || setter.set()).unwrap();
/// assert_eq!(event_loop.run_until_complete(&task).unwrap(), "triggered");
/// assert!(event.is_set());
/// ```
#[derive(Clone)]
pub struct Event {
    state: Rc<Guarded<State>>,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            state: Guarded::new(State::default()),
        }
    }
}

#[derive(Default)]
struct State {
    set: bool,
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
        let flag = if self.set { "set" } else { "unset" };
        waiters::write_repr(f, "Event", format_args!("{flag}"), self.waiters.len())
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!asyncio_sync::Event::new().is_set());
    /// ```
    pub fn new() -> Self {
        Event::default()
    }

    /// Whether the flag is up.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = asyncio_sync::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.borrow().set
    }

    /// Raises the flag and wakes every waiter, oldest first. Waiters that
    /// come while it is up do not wait.
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub fn set(&self) {
        {
            let mut state = self.state.borrow_mut();
            if state.set {
                return;
            }
            state.set = true;
        }
        waiters::wake_many(&self.state, |state| &mut state.waiters, 0, usize::MAX);
    }

    /// Lowers the flag: later waits wait for the next [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// See [`is_set`](Self::is_set).
    pub fn clear(&self) {
        self.state.borrow_mut().set = false;
    }

    /// Waits until the flag is up: asyncio's `await event.wait()`.
    ///
    /// It does not suspend while the flag is up. It fails only when
    /// cancelled.
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub fn wait(&self) -> EventWait {
        EventWait {
            event: self.clone(),
            key: None,
        }
    }
}

impl fmt::Debug for Event {
    /// asyncio's repr, without the address: `<Event [unset, waiters:2]>`.
    ///
    /// ```
    /// let event = asyncio_sync::Event::new();
    /// event.set();
    /// assert_eq!(format!("{event:?}"), "<Event [set]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt_repr(f, "<Event>")
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait {
    event: Event,
    key: Option<usize>,
}

impl EventWait {
    fn give_up(&mut self) {
        if let Some(key) = self.key.take() {
            self.event.state.borrow_mut().waiters.remove(key);
        }
    }
}

impl Future for EventWait {
    type Output = Result<(), FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled));
        }
        let this = &mut *self;
        let mut state = this.event.state.borrow_mut();
        let ticket = match this.key {
            None if state.set => return Poll::Ready(Ok(())),
            None => {
                let key = state.waiters.push(0, cx.waker());
                this.key = Some(key);
                state.waiters.ticket(key)
            }
            Some(key) => match state.waiters.status(key) {
                Status::Waiting => state.waiters.update(key, cx.waker()),
                Status::Woken | Status::Cancelled(_) => {
                    this.key = None;
                    let outcome = match state.waiters.remove(key) {
                        Status::Cancelled(message) => Err(waiters::cancelled(message)),
                        _ => Ok(()),
                    };
                    return Poll::Ready(outcome);
                }
            },
        };
        drop(state);
        waiters::note(cx.waker(), &this.event.state, ticket);
        Poll::Pending
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give_up();
        }
    }
}

impl fmt::Debug for EventWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("event", &self.event)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn a_woken_waiter_returns_though_the_flag_was_cleared() {
        let event = Event::new();
        let mut wait = pin!(event.wait());
        assert!(poll(wait.as_mut()).is_pending());
        assert_eq!(format!("{event:?}"), "<Event [unset, waiters:1]>");
        event.set();
        event.clear();
        assert!(matches!(poll(wait.as_mut()), Poll::Ready(Ok(()))));
        assert_eq!(format!("{event:?}"), "<Event [unset]>");
    }

    #[test]
    fn a_dropped_wait_leaves_the_line() {
        let event = Event::new();
        let mut wait = Box::pin(event.wait());
        assert!(poll(wait.as_mut()).is_pending());
        drop(wait);
        assert_eq!(format!("{event:?}"), "<Event [unset]>");
    }
}
