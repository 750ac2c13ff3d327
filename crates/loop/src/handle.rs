//! `Handle`: a scheduled callback, which can be cancelled.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::registry;
use crate::shared::Shared;

/// A callback scheduled with [`call_soon`](crate::EventLoop::call_soon):
/// asyncio's `Handle`.
///
/// [`cancel`](Handle::cancel) makes sure the callback never runs (and drops
/// it, releasing what it captured). The handle names its loop by id and its
/// callback by the sequence number it was queued with: it keeps nothing
/// alive, costs no reference count, and a handle whose callback already ran
/// can never cancel a later callback (sequence numbers are never reused).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let ran = Rc::new(Cell::new(false));
/// let flag = ran.clone();
/// let handle = event_loop.call_soon(move || flag.set(true)).unwrap();
/// handle.cancel();
/// assert!(handle.cancelled());
/// event_loop.stop();
/// event_loop.run_forever().unwrap();
/// assert!(!ran.get());
/// ```
pub struct Handle {
    /// The loop's id in this thread's registry.
    loop_id: u64,
    /// The callback's sequence number in the loop's ready queue.
    seq: u64,
    cancelled: Cell<bool>,
    /// Not `Send`: the loop it names lives on this thread.
    _not_send: PhantomData<*const ()>,
}

impl Handle {
    pub(crate) fn new(loop_id: u64, seq: u64) -> Self {
        Handle {
            loop_id,
            seq,
            cancelled: Cell::new(false),
            _not_send: PhantomData,
        }
    }

    fn shared(&self) -> Option<Rc<Shared>> {
        registry::find(self.loop_id)
    }

    /// Cancels the callback: if it has not run yet, it never will, and it is
    /// dropped now. Idempotent; cancelling a callback that already ran only
    /// marks the handle cancelled, as in asyncio.
    ///
    /// A callback may cancel another one queued for the same iteration; the
    /// cancelled one is skipped.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.call_soon(|| unreachable!()).unwrap();
    /// handle.cancel();
    /// handle.cancel();
    /// event_loop.stop();
    /// event_loop.run_forever().unwrap();
    /// ```
    pub fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        if let Some(shared) = self.shared() {
            shared.cancel(self.seq);
        }
    }

    /// Whether [`cancel`](Handle::cancel) was called on this handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let handle = event_loop.call_soon(|| {}).unwrap();
    /// assert!(!handle.cancelled());
    /// handle.cancel();
    /// assert!(handle.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

impl fmt::Debug for Handle {
    /// asyncio's repr: `<Handle NAME>` while the callback is queued,
    /// `<Handle cancelled>` once cancelled, `<Handle done>` once it ran.
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// fn tick() {}
    /// let handle = event_loop.call_soon(tick).unwrap();
    /// assert!(format!("{handle:?}").ends_with("tick>"));
    /// handle.cancel();
    /// assert_eq!(format!("{handle:?}"), "<Handle cancelled>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cancelled.get() {
            return f.write_str("<Handle cancelled>");
        }
        let name = self
            .shared()
            .and_then(|shared| shared.scheduled_name(self.seq));
        match name {
            Some(name) => write!(f, "<Handle {name}>"),
            None => f.write_str("<Handle done>"),
        }
    }
}
