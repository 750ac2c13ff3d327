//! First-come, first-served lines of waiters: asyncio's deques of waiter
//! futures, without a future per wait.
//!
//! Each waiter is a node in a slab, linked in arrival order in one of the
//! primitive's `N` lines (a queue has two: getters and putters) while it
//! waits. A node is in one of asyncio's three states of a waiter future:
//!
//! - **waiting** (pending): linked in its line;
//! - **woken** (`fut.set_result`): unlinked, its waker handed to whoever
//!   woke it; it stays in the slab until its waiter runs (or is dropped)
//!   and removes it, so a primitive can tell "woken but not run yet", the
//!   case in which asyncio hands a wake-up on when the waiter turns out
//!   cancelled;
//! - **cancelled** (`fut.cancel()`, by the task's cancellation through
//!   [`asyncio_core::cancel`]): unlinked, so that no wake-up is wasted on
//!   it, and kept with the message until its waiter runs.
//!
//! Nodes are reused, so a steady state allocates nothing. A wait is named
//! to the task (for its cancellation) by a ticket: the slab key and a
//! generation, so that a stale ticket does not reach a later wait that
//! reuses the key.
//!
//! Wakers are handed back to the caller rather than woken here: a waker may
//! be any executor's code, and the primitive wakes it once its own borrow
//! has ended.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use asyncio_core::cancel::{self, Awaited};
use asyncio_core::census::HeldWaker;
use asyncio_core::FutureError;
use slab::Slab;

/// No node: the end of a line.
const NIL: usize = usize::MAX;

pub(crate) struct Waiters<const N: usize = 1> {
    nodes: Slab<Node>,
    lines: [Line; N],
    /// Nodes woken and not removed yet.
    woken: usize,
    /// Stamped on each new node, for its ticket.
    generation: u32,
}

#[derive(Clone, Copy)]
struct Line {
    /// The oldest waiting node.
    head: usize,
    tail: usize,
    /// Nodes linked (waiting).
    waiting: usize,
    /// Nodes of this line cancelled and not removed yet.
    cancelled: usize,
}

const EMPTY: Line = Line {
    head: NIL,
    tail: NIL,
    waiting: 0,
    cancelled: 0,
};

struct Node {
    state: Status,
    /// The waiter's waker while it waits, counted as held on this thread
    /// (for the loop's check that a task can still be woken).
    waker: Option<HeldWaker>,
    line: usize,
    prev: usize,
    next: usize,
    generation: u32,
}

/// Where a waiter stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    Waiting,
    Woken,
    /// Cancelled while it waited, with the cancellation's message.
    Cancelled(Option<Arc<str>>),
}

impl<const N: usize> Waiters<N> {
    pub(crate) const fn new() -> Self {
        Waiters {
            nodes: Slab::new(),
            lines: [EMPTY; N],
            woken: 0,
            generation: 0,
        }
    }

    /// Waiters in any state (asyncio's `len(self._waiters)`).
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Waiters woken but not run yet.
    pub(crate) fn woken(&self) -> usize {
        self.woken
    }

    /// Waiters still waiting in `line`.
    pub(crate) fn waiting(&self, line: usize) -> usize {
        self.lines[line].waiting
    }

    /// Waiters of `line` waiting or cancelled and not run yet: asyncio's
    /// getter or putter deque, which woken waiters have left.
    pub(crate) fn in_line(&self, line: usize) -> usize {
        self.lines[line].waiting + self.lines[line].cancelled
    }

    /// Whether every waiter left is a cancelled one (asyncio's
    /// `all(w.cancelled() for w in self._waiters)`).
    pub(crate) fn all_cancelled(&self) -> bool {
        let cancelled: usize = self.lines.iter().map(|line| line.cancelled).sum();
        cancelled == self.nodes.len()
    }

    /// A new waiter at the back of `line`; its key names it from now on.
    pub(crate) fn push(&mut self, line: usize, waker: &Waker) -> usize {
        self.generation = self.generation.wrapping_add(1);
        let tail = self.lines[line].tail;
        let key = self.nodes.insert(Node {
            state: Status::Waiting,
            waker: Some(HeldWaker::new(waker)),
            line,
            prev: tail,
            next: NIL,
            generation: self.generation,
        });
        match tail {
            NIL => self.lines[line].head = key,
            tail => self.nodes[tail].next = key,
        }
        self.lines[line].tail = key;
        self.lines[line].waiting += 1;
        key
    }

    /// The ticket that names waiter `key` to its task.
    pub(crate) fn ticket(&self, key: usize) -> u64 {
        (u64::from(self.nodes[key].generation) << 32) | key as u64
    }

    /// Where waiter `key` stands.
    pub(crate) fn status(&self, key: usize) -> &Status {
        &self.nodes[key].state
    }

    /// Waiter `key` was polled again, still waiting: keep the newest waker;
    /// returns its ticket, to note again.
    pub(crate) fn update(&mut self, key: usize, waker: &Waker) -> u64 {
        if let Some(old) = &mut self.nodes[key].waker {
            if !old.will_wake(waker) {
                *old = HeldWaker::new(waker);
            }
        }
        self.ticket(key)
    }

    /// Forgets waiter `key`; returns where it stood.
    pub(crate) fn remove(&mut self, key: usize) -> Status {
        let node = self.nodes.remove(key);
        match node.state {
            Status::Waiting => self.unlink(node.line, node.prev, node.next),
            Status::Woken => self.woken -= 1,
            Status::Cancelled(_) => self.lines[node.line].cancelled -= 1,
        }
        node.state
    }

    /// Wakes the oldest waiter of `line`: returns its waker, for the caller
    /// to wake once its borrow of the primitive has ended.
    #[inline]
    pub(crate) fn wake_first(&mut self, line: usize) -> Option<HeldWaker> {
        // Nobody waits, most of the time: inline this test only.
        let key = self.lines[line].head;
        if key == NIL {
            return None;
        }
        self.wake(line, key)
    }

    #[inline(never)]
    fn wake(&mut self, line: usize, key: usize) -> Option<HeldWaker> {
        let node = &mut self.nodes[key];
        node.state = Status::Woken;
        let waker = node.waker.take();
        let next = node.next;
        self.unlink(line, NIL, next);
        self.woken += 1;
        waker
    }

    /// The task of the wait `ticket` names was cancelled: if it still
    /// waits, it is cancelled with `message` and its waker comes back, to
    /// wake; `None` if it is no longer waiting (woken, gone, or a stale
    /// ticket).
    pub(crate) fn cancel(&mut self, ticket: u64, message: Option<Arc<str>>) -> Option<HeldWaker> {
        let key = usize::try_from(ticket & u64::from(u32::MAX)).ok()?;
        let generation = (ticket >> 32) as u32;
        let node = self.nodes.get_mut(key)?;
        if node.generation != generation || node.state != Status::Waiting {
            return None;
        }
        node.state = Status::Cancelled(message);
        let waker = node.waker.take();
        let (line, prev, next) = (node.line, node.prev, node.next);
        self.unlink(line, prev, next);
        self.lines[line].cancelled += 1;
        waker
    }

    fn unlink(&mut self, line: usize, prev: usize, next: usize) {
        match prev {
            NIL => self.lines[line].head = next,
            prev => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.lines[line].tail = prev,
            next => self.nodes[next].prev = prev,
        }
        self.lines[line].waiting -= 1;
    }
}

impl<const N: usize> Default for Waiters<N> {
    fn default() -> Self {
        Waiters::new()
    }
}

/// A primitive's state, shared by its handles, that a task's cancellation
/// can reach: its waits are what the task awaits.
pub(crate) struct Guarded<S>(RefCell<S>);

impl<S> Guarded<S> {
    pub(crate) fn new(state: S) -> Rc<Self> {
        Rc::new(Guarded(RefCell::new(state)))
    }
}

impl<S: Lines> Guarded<S> {
    /// The primitive's `Debug`: its repr, or `fallback` (`<Lock>`) while
    /// its state is borrowed (a `Debug` from inside a waker, say).
    pub(crate) fn fmt_repr(&self, f: &mut fmt::Formatter<'_>, fallback: &str) -> fmt::Result {
        match self.0.try_borrow() {
            Ok(state) => state.write_repr(f),
            Err(_) => f.write_str(fallback),
        }
    }
}

impl<S> Deref for Guarded<S> {
    type Target = RefCell<S>;

    fn deref(&self) -> &RefCell<S> {
        &self.0
    }
}

/// A primitive's state: where its waiters are, and its repr.
pub(crate) trait Lines {
    /// Cancels the wait `ticket` names if it still waits (see
    /// [`Waiters::cancel`]).
    fn cancel_wait(&mut self, ticket: u64, message: Option<Arc<str>>) -> Option<HeldWaker>;

    /// The primitive's repr (its `Debug`, and the awaiting task's
    /// `wait_for=`).
    fn write_repr(&self, f: &mut dyn fmt::Write) -> fmt::Result;
}

impl<S: Lines + 'static> Awaited for Guarded<S> {
    /// asyncio's `fut.cancel()` on the waiter future: the wait is cancelled
    /// at once (no wake-up goes to it any more) and its task is woken, to
    /// see the cancellation at its await.
    fn cancel_awaited(self: Rc<Self>, key: u64, message: Option<Arc<str>>) -> bool {
        let waker = match self.0.try_borrow_mut() {
            Ok(mut state) => state.cancel_wait(key, message),
            // Mid-operation (a waker that cancels re-entered): delivered
            // at the task's next step instead.
            Err(_) => None,
        };
        match waker {
            Some(waker) => {
                waker.wake();
                true
            }
            None => false,
        }
    }

    fn describe_awaited(&self, _key: u64) -> String {
        let mut repr = String::new();
        match self.0.try_borrow() {
            Ok(state) => {
                let _ = state.write_repr(&mut repr);
            }
            Err(_) => repr.push_str("<busy>"),
        }
        repr
    }
}

/// asyncio's repr of a primitive, without the address:
/// `<Lock [locked, waiters:2]>`.
pub(crate) fn write_repr(
    f: &mut dyn fmt::Write,
    name: &str,
    state: fmt::Arguments<'_>,
    waiters: usize,
) -> fmt::Result {
    write!(f, "<{name} [{state}")?;
    if waiters > 0 {
        write!(f, ", waiters:{waiters}")?;
    }
    f.write_str("]>")
}

/// Notes the wait `ticket` names in `state` as what the task polling with
/// `waker` awaits, so that cancelling the task cancels the wait at once.
/// Call with `state` not borrowed: the note it replaces may be the last
/// handle of something whose drop runs user code.
pub(crate) fn note<S: Lines + 'static>(waker: &Waker, state: &Rc<Guarded<S>>, ticket: u64) {
    cancel::note_awaited(waker, ticket, || {
        let awaited: Rc<dyn Awaited> = state.clone();
        awaited
    });
}

/// The error of a wait cancelled with `message`: asyncio's
/// `CancelledError`, as awaiting a cancelled future gives it.
pub(crate) fn cancelled(message: Option<Arc<str>>) -> FutureError {
    FutureError::cancellation(message.as_deref())
}

/// Wakes up to `n` waiters of `line` of the waiters `lines` finds in
/// `state`, oldest first: one per borrow, each woken once its borrow has
/// ended, and no more than were waiting at the start, whatever a waker
/// does (Event's `set`, Condition's `notify`, Barrier's release).
pub(crate) fn wake_many<S, const N: usize>(
    state: &RefCell<S>,
    lines: fn(&mut S) -> &mut Waiters<N>,
    line: usize,
    n: usize,
) {
    let waiting = lines(&mut state.borrow_mut()).waiting(line);
    for _ in 0..n.min(waiting) {
        let waker = lines(&mut state.borrow_mut()).wake_first(line);
        if waker.is_none() {
            break;
        }
        wake(waker);
    }
}

/// Wakes `waker`, if there is one: call once the primitive's borrow ended.
#[inline]
pub(crate) fn wake(waker: Option<HeldWaker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Polls `future` once with a waker that does nothing: for the unit tests.
#[cfg(test)]
pub(crate) fn poll_once<F: std::future::Future>(
    future: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let waker = futures::task::noop_waker();
    future.poll(&mut std::task::Context::from_waker(&waker))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes under its number.
    struct Counter(usize, Arc<Vec<AtomicUsize>>);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.1[self.0].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn wakers(n: usize) -> (Vec<Waker>, Arc<Vec<AtomicUsize>>) {
        let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let wakers = (0..n)
            .map(|i| Waker::from(Arc::new(Counter(i, Arc::clone(&counts)))))
            .collect();
        (wakers, counts)
    }

    fn counts(counts: &[AtomicUsize]) -> Vec<usize> {
        counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    #[test]
    fn wakes_in_arrival_order() {
        let (w, c) = wakers(3);
        let mut waiters: Waiters = Waiters::new();
        let keys: Vec<usize> = w.iter().map(|w| waiters.push(0, w)).collect();
        wake(waiters.wake_first(0));
        assert_eq!(counts(&c), [1, 0, 0]);
        assert_eq!(waiters.status(keys[0]), &Status::Woken);
        assert_eq!(waiters.status(keys[1]), &Status::Waiting);
        assert_eq!(
            (waiters.len(), waiters.waiting(0), waiters.woken()),
            (3, 2, 1)
        );
        wake(waiters.wake_first(0));
        wake(waiters.wake_first(0));
        assert!(waiters.wake_first(0).is_none());
        assert_eq!(counts(&c), [1, 1, 1]);
        assert!(keys.iter().all(|&key| waiters.remove(key) == Status::Woken));
        assert_eq!(waiters.len(), 0);
        assert_eq!(waiters.woken(), 0);
    }

    #[test]
    fn removing_from_the_middle_keeps_the_order() {
        let (w, c) = wakers(4);
        let mut waiters: Waiters = Waiters::new();
        let keys: Vec<usize> = w.iter().map(|w| waiters.push(0, w)).collect();
        assert_eq!(waiters.remove(keys[1]), Status::Waiting);
        assert_eq!(waiters.remove(keys[3]), Status::Waiting);
        let again = waiters.push(0, &w[3]);
        for _ in 0..3 {
            wake(waiters.wake_first(0));
        }
        assert_eq!(counts(&c), [1, 0, 1, 1]);
        for key in [keys[0], keys[2], again] {
            assert_eq!(waiters.remove(key), Status::Woken);
        }
        let line = waiters.lines[0];
        assert_eq!((line.head, line.tail, line.waiting), (NIL, NIL, 0));
    }

    #[test]
    fn lines_are_separate() {
        let (w, c) = wakers(2);
        let mut waiters: Waiters<2> = Waiters::new();
        let a = waiters.push(0, &w[0]);
        let b = waiters.push(1, &w[1]);
        wake(waiters.wake_first(1));
        assert_eq!(counts(&c), [0, 1]);
        assert_eq!((waiters.in_line(0), waiters.in_line(1)), (1, 0));
        assert_eq!(waiters.remove(a), Status::Waiting);
        assert_eq!(waiters.remove(b), Status::Woken);
    }

    #[test]
    fn a_cancelled_waiter_leaves_the_line_but_not_the_slab() {
        let (w, c) = wakers(2);
        let mut waiters: Waiters = Waiters::new();
        let a = waiters.push(0, &w[0]);
        let b = waiters.push(0, &w[1]);
        let ticket = waiters.ticket(a);
        wake(waiters.cancel(ticket, Some("stop".into())));
        assert_eq!(counts(&c), [1, 0]);
        assert_eq!(waiters.status(a), &Status::Cancelled(Some("stop".into())));
        // Cancelled once: a second cancel, and a wake, pass it by.
        assert!(waiters.cancel(ticket, None).is_none());
        wake(waiters.wake_first(0));
        assert_eq!(counts(&c), [1, 1]);
        assert_eq!((waiters.len(), waiters.in_line(0)), (2, 1));
        assert!(!waiters.all_cancelled());
        assert_eq!(waiters.remove(b), Status::Woken);
        assert!(waiters.all_cancelled());
        assert_eq!(waiters.remove(a), Status::Cancelled(Some("stop".into())));
        assert!(waiters.len() == 0 && waiters.all_cancelled());
    }

    #[test]
    fn a_stale_ticket_does_not_reach_a_later_wait() {
        let (w, _) = wakers(1);
        let mut waiters: Waiters = Waiters::new();
        let first = waiters.push(0, &w[0]);
        let stale = waiters.ticket(first);
        waiters.remove(first);
        let second = waiters.push(0, &w[0]);
        assert_eq!(second, first, "the slab reuses the key");
        assert!(waiters.cancel(stale, None).is_none());
        assert_eq!(waiters.status(second), &Status::Waiting);
        assert!(waiters.cancel(u64::MAX, None).is_none());
    }

    #[test]
    fn update_keeps_the_newest_waker() {
        let (w, c) = wakers(2);
        let mut waiters: Waiters = Waiters::new();
        let key = waiters.push(0, &w[0]);
        waiters.update(key, &w[1]);
        wake(waiters.wake_first(0));
        assert_eq!(counts(&c), [0, 1]);
        // A woken waiter has no waker left to update.
        waiters.update(key, &w[0]);
        assert_eq!(waiters.remove(key), Status::Woken);
    }
}
