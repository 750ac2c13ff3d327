//! A coroutine pinned in place in its task's allocation: the task module's
//! one `unsafe`, so that a task needs no allocation of its own for its
//! coroutine (a `Pin<Box<dyn Future>>` was one malloc and one free per
//! task: `docs/benchmarks.md`, history, "sixteenth session").

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A coroutine, polled and dropped where it lies.
///
/// **Invariants:**
/// - A `Slot` is never moved once polled: it is a field of a task cell,
///   which `spawn` (in `task/mod.rs`) puts into an `Rc` before the first
///   poll, and nothing ever takes a cell out of its `Rc` (the cell type is
///   private to the task module, which calls none of `Rc::try_unwrap`,
///   `Rc::into_inner` or `Rc::get_mut` on one). So the coroutine is pinned
///   from its first poll until it is dropped, as `Pin` requires.
/// - `state` says what `future` holds: a live coroutine (`Idle`), one being
///   polled (`Polling`: no other access may start), or nothing (`Gone`:
///   dropped, or being dropped, and never touched again).
pub(super) struct Slot<F> {
    state: Cell<State>,
    future: UnsafeCell<ManuallyDrop<F>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Polling,
    Gone,
}

/// Puts the state back to `Idle` when a poll ends, by returning or by
/// unwinding (a panic in the coroutine leaves it valid, to be dropped).
struct EndPoll<'a>(&'a Cell<State>);

impl Drop for EndPoll<'_> {
    fn drop(&mut self) {
        self.0.set(State::Idle);
    }
}

impl<F: Future> Slot<F> {
    pub(super) fn new(future: F) -> Self {
        Slot {
            state: Cell::new(State::Idle),
            future: UnsafeCell::new(ManuallyDrop::new(future)),
        }
    }

    /// Polls the coroutine once; `None` if it is gone, or if it is being
    /// polled already (a re-entrant poll, which a task's steps never make).
    #[inline]
    pub(super) fn poll(&self, context: &mut Context<'_>) -> Option<Poll<F::Output>> {
        if self.state.get() != State::Idle {
            return None;
        }
        self.state.set(State::Polling);
        let _end = EndPoll(&self.state);
        // SAFETY: `state` was `Idle`, so the coroutine is live, and no other
        // reference into `future` exists: every access goes through this
        // method or `drop_now`, which refuse to start while the state is
        // `Polling` (set until this borrow ends). The coroutine does not
        // move from here until it is dropped in place (the type's first
        // invariant), so pinning it is sound.
        let future = unsafe { Pin::new_unchecked(&mut **self.future.get()) };
        Some(future.poll(context))
    }

    /// Drops the coroutine where it lies, once; false if it was gone
    /// already or is being polled. A panic in its `Drop` unwinds out of
    /// here with the slot already `Gone`: it is never dropped twice.
    pub(super) fn drop_now(&self) -> bool {
        if self.state.get() != State::Idle {
            return false;
        }
        self.state.set(State::Gone);
        // SAFETY: the coroutine was live (`Idle`) and nothing else refers
        // to it (see `poll`); `Gone`, set first, keeps every later access
        // (this method, `poll`, `Drop`) from touching it again. Dropping in
        // place is what `Pin` allows for a pinned value.
        unsafe { ManuallyDrop::drop(&mut *self.future.get()) };
        true
    }

    /// Whether the coroutine was dropped.
    pub(super) fn is_gone(&self) -> bool {
        self.state.get() == State::Gone
    }
}

impl<F> Drop for Slot<F> {
    fn drop(&mut self) {
        // `&mut self`: no poll is under way.
        if self.state.get() == State::Idle {
            self.state.set(State::Gone);
            // SAFETY: as in `drop_now`: live, unaliased (`&mut self`), and
            // dropped in place, never again.
            unsafe { ManuallyDrop::drop(self.future.get_mut()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker;
    use std::cell::RefCell;
    use std::future::poll_fn;
    use std::rc::Rc;

    /// Logs its polls and its drop.
    fn logged(log: &Rc<RefCell<Vec<&'static str>>>, ready_at: u32) -> impl Future<Output = u32> {
        let log = Rc::clone(log);
        let on_drop = Dropped(Rc::clone(&log));
        let mut polls = 0;
        poll_fn(move |_| {
            let _keep = &on_drop;
            polls += 1;
            log.borrow_mut().push("poll");
            if polls == ready_at {
                Poll::Ready(polls)
            } else {
                Poll::Pending
            }
        })
    }

    struct Dropped(Rc<RefCell<Vec<&'static str>>>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.borrow_mut().push("drop");
        }
    }

    #[test]
    fn polls_in_place_then_drops_once() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let slot = Rc::new(Slot::new(logged(&log, 2)));
        let waker = noop_waker();
        let mut context = Context::from_waker(&waker);
        assert_eq!(slot.poll(&mut context), Some(Poll::Pending));
        assert_eq!(slot.poll(&mut context), Some(Poll::Ready(2)));
        assert!(slot.drop_now());
        assert!(slot.is_gone());
        assert!(!slot.drop_now(), "dropped once");
        assert_eq!(slot.poll(&mut context), None, "never polled once gone");
        drop(slot);
        assert_eq!(*log.borrow(), ["poll", "poll", "drop"]);
    }

    #[test]
    fn a_slot_dropped_live_drops_its_coroutine() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let slot = Slot::new(logged(&log, 5));
        let waker = noop_waker();
        let mut context = Context::from_waker(&waker);
        assert_eq!(slot.poll(&mut context), Some(Poll::Pending));
        drop(slot);
        assert_eq!(*log.borrow(), ["poll", "drop"]);
    }

    #[test]
    fn a_panicking_drop_is_not_repeated() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("bomb");
            }
        }
        let bomb = Bomb;
        let slot = Slot::new(async move {
            let _bomb = &bomb;
        });
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slot.drop_now()));
        assert!(unwound.is_err());
        assert!(slot.is_gone());
        drop(slot); // does not drop the bomb again
    }

    #[test]
    fn a_panicking_poll_leaves_it_live_for_its_drop() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let on_drop = Dropped(Rc::clone(&log));
        let slot = Slot::new(poll_fn(move |_| -> Poll<()> {
            let _keep = &on_drop;
            panic!("in poll")
        }));
        let waker = noop_waker();
        let mut context = Context::from_waker(&waker);
        let unwound =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slot.poll(&mut context)));
        assert!(unwound.is_err());
        assert!(!slot.is_gone());
        assert!(slot.drop_now());
        assert_eq!(*log.borrow(), ["drop"]);
    }

    #[test]
    fn a_re_entrant_poll_or_drop_is_refused() {
        type Boxed = Pin<Box<dyn Future<Output = (bool, bool)>>>;
        let me: Rc<std::cell::OnceCell<std::rc::Weak<Slot<Boxed>>>> = Rc::default();
        let found = Rc::clone(&me);
        let coroutine: Boxed = Box::pin(poll_fn(move |context| {
            // The coroutine reaches its own slot while it is polled.
            let slot = found.get().and_then(std::rc::Weak::upgrade).unwrap();
            Poll::Ready((slot.poll(context).is_none(), !slot.drop_now()))
        }));
        let slot = Rc::new(Slot::new(coroutine));
        assert!(me.set(Rc::downgrade(&slot)).is_ok());
        let waker = noop_waker();
        let mut context = Context::from_waker(&waker);
        assert_eq!(slot.poll(&mut context), Some(Poll::Ready((true, true))));
        assert!(!slot.is_gone());
    }
}
