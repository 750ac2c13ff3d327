//! `Handle` and `TimerHandle`: a scheduled callback, which can be cancelled.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Instant;

use asyncio_core::IntoThunk;

use crate::clock::{self, Nanos};
use crate::shared::registry;
use crate::shared::Shared;
use crate::LoopError;

/// A callback scheduled with [`call_soon`](crate::LoopHandle::call_soon):
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

/// A callback scheduled for a point in time with
/// [`call_later`](crate::LoopHandle::call_later) or
/// [`call_at`](crate::LoopHandle::call_at): asyncio's `TimerHandle`.
///
/// Like a [`Handle`], it names its loop and its timer instead of holding
/// them, and [`cancel`](TimerHandle::cancel) makes sure the callback never
/// runs, even when its deadline has passed and it waits in the ready queue.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{EventLoop, ManualClock};
///
/// let clock = ManualClock::new();
/// let event_loop = EventLoop::with_clock(&clock);
/// let timer = event_loop.call_later(2.5, || unreachable!()).unwrap();
/// assert_eq!(timer.when(), 2.5);
/// timer.cancel();
/// assert!(timer.cancelled());
/// ```
pub struct TimerHandle {
    loop_id: u64,
    key: u32,
    seq: u64,
    when: Nanos,
    name: &'static str,
    cancelled: Cell<bool>,
    _not_send: PhantomData<*const ()>,
}

impl TimerHandle {
    /// Schedules `callback` on `shared` at `when`.
    #[inline]
    pub(crate) fn schedule<C: IntoThunk>(
        shared: &Shared,
        when: Nanos,
        callback: C,
    ) -> Result<TimerHandle, LoopError> {
        let name = callback.thunk_name();
        let (key, seq) = shared.call_at(when, callback)?;
        Ok(TimerHandle {
            loop_id: shared.id,
            key,
            seq,
            when,
            name,
            cancelled: Cell::new(false),
            _not_send: PhantomData,
        })
    }

    /// The deadline in seconds on the loop's clock (asyncio's `when()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let now = event_loop.time();
    /// let timer = event_loop.call_at(now + 10.0, || {}).unwrap();
    /// assert!((timer.when() - (now + 10.0)).abs() < 1e-6);
    /// ```
    pub fn when(&self) -> f64 {
        clock::seconds(self.when)
    }

    /// The deadline as an `Instant`.
    pub fn deadline(&self) -> Instant {
        clock::instant(self.when)
    }

    /// Cancels the callback: it never runs, and it is dropped now (if it is
    /// still waiting). Idempotent; cancelling a timer that already ran only
    /// marks the handle cancelled, as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let timer = event_loop.call_later(1.0, || unreachable!()).unwrap();
    /// let handle = event_loop.handle();
    /// event_loop.call_later(2.0, move || handle.stop()).unwrap();
    /// timer.cancel();
    /// event_loop.run_forever().unwrap();
    /// ```
    pub fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        if let Some(shared) = registry::find(self.loop_id) {
            shared.cancel_timer(self.key, self.seq);
        }
    }

    /// Whether [`cancel`](TimerHandle::cancel) was called on this handle.
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

impl fmt::Debug for TimerHandle {
    /// asyncio's repr: `<TimerHandle when=SECONDS NAME>` until the callback
    /// runs, `<TimerHandle cancelled when=SECONDS>` once cancelled, and
    /// `<TimerHandle done when=SECONDS>` once it ran.
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// fn tick() {}
    /// let timer = event_loop.call_later(1.5, tick).unwrap();
    /// assert!(format!("{timer:?}").starts_with("<TimerHandle when=1.5 "));
    /// assert!(format!("{timer:?}").ends_with("tick>"));
    /// timer.cancel();
    /// assert_eq!(format!("{timer:?}"), "<TimerHandle cancelled when=1.5>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = self.when();
        if self.cancelled.get() {
            return write!(f, "<TimerHandle cancelled when={when}>");
        }
        let waiting = registry::find(self.loop_id)
            .is_some_and(|shared| shared.timer_when(self.key, self.seq).is_some());
        if waiting {
            f.write_str(&crate::timers::describe(when, self.name))
        } else {
            write!(f, "<TimerHandle done when={when}>")
        }
    }
}
