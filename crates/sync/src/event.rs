//! `Event`: asyncio's one-flag broadcast.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::cancel;

use crate::waiters::{wake, Waiters};
use crate::SyncError;

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
#[derive(Clone, Default)]
pub struct Event {
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    set: bool,
    waiters: Waiters,
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
        let waiting = {
            let mut state = self.state.borrow_mut();
            if state.set {
                return;
            }
            state.set = true;
            state.waiters.waiting()
        };
        // One at a time, each woken once the borrow has ended; bounded by
        // those waiting now, whatever a waker does.
        for _ in 0..waiting {
            let waker = self.state.borrow_mut().waiters.wake_first();
            if waker.is_none() {
                break;
            }
            wake(waker);
        }
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
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
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
        let Ok(state) = self.state.try_borrow() else {
            return f.write_str("<Event>");
        };
        let flag = if state.set { "set" } else { "unset" };
        write!(f, "<Event [{flag}")?;
        if !state.waiters.is_empty() {
            write!(f, ", waiters:{}", state.waiters.len())?;
        }
        f.write_str("]>")
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<usize>,
}

impl EventWait<'_> {
    fn give_up(&mut self) {
        if let Some(key) = self.key.take() {
            self.event.state.borrow_mut().waiters.remove(key);
        }
    }
}

impl Future for EventWait<'_> {
    type Output = Result<(), SyncError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(SyncError::cancelled(cancelled)));
        }
        let mut state = self.event.state.borrow_mut();
        match self.key {
            None if state.set => Poll::Ready(Ok(())),
            None => {
                let key = state.waiters.push(cx.waker());
                drop(state);
                self.key = Some(key);
                Poll::Pending
            }
            Some(key) if state.waiters.is_woken(key) => {
                state.waiters.remove(key);
                drop(state);
                self.key = None;
                Poll::Ready(Ok(()))
            }
            Some(key) => {
                state.waiters.update(key, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("event", self.event)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use futures::task::noop_waker;

    use super::*;

    fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        let waker = noop_waker();
        future.poll(&mut Context::from_waker(&waker))
    }

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
