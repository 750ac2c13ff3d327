//! Scheduled timers: asyncio's `_scheduled` heap.
//!
//! A timer is a deadline and an action: a callback (`call_at`,
//! `call_later`) or a waker (a [`Sleep`](crate::Sleep)). The heap orders
//! `(deadline, seq)`, so equal deadlines come out in the order they were
//! scheduled (CPython's heap of `TimerHandle`s makes no such promise). The
//! actions themselves live in a slab, which the heap and the handles name by
//! `(key, seq)`: cancelling drops the action at once and leaves a stale heap
//! entry behind, and the heap is rebuilt without its stale entries whenever
//! they are more than half of at least 100 (asyncio's rule), so scheduling
//! and cancelling any number of timers keeps memory bounded.
//!
//! When a timer comes due, its action moves to the ready queue as a job and
//! its slab entry records the job's sequence number until the iteration
//! that runs it ends, so that cancelling a timer that is due but has not
//! run yet still stops it, as asyncio's `TimerHandle.cancel` does.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::task::Waker;

use asyncio_core::Callback;
use slab::Slab;

use crate::clock::{Nanos, NEVER};

/// What a timer does when it comes due.
pub(crate) enum Action {
    /// Runs a callback (`call_at`, `call_later`).
    Call(Callback<()>),
    /// Wakes a sleeping coroutine (`Sleep`).
    Wake(Waker),
}

/// A timer's entry in the slab.
struct Entry {
    seq: u64,
    /// The deadline, as nanoseconds since the epoch.
    when: u64,
    state: State,
}

enum State {
    Pending(Action),
    /// Moved to the ready queue as the job with this sequence number.
    Queued(u64),
}

/// The heap's view of a timer: 24 bytes, compared as `(when, seq)`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Deadline {
    when: u64,
    seq: u64,
    key: u32,
}

impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap, the earliest must come first.
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The rebuild rule: at least this many heap entries ...
const REBUILD_AT_LEAST: usize = 100;

/// **Invariant:** every live slab entry in state `Pending` has exactly one
/// heap entry with its `(key, seq)`; `stale` counts the heap entries whose
/// slab entry is gone or no longer pending with that seq.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Deadline>,
    entries: Slab<Entry>,
    next_seq: u64,
    stale: usize,
    /// Keys moved to the ready queue in this iteration, forgotten at its end.
    queued: Vec<u32>,
}

impl Timers {
    pub(crate) fn new() -> Self {
        Timers::default()
    }

    /// Schedules `action` at `when`; returns the timer's `(key, seq)`.
    pub(crate) fn push(&mut self, when: Nanos, action: Action) -> (u32, u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.entries.insert(Entry {
            seq,
            when,
            state: State::Pending(action),
        });
        // More than 2^32 live timers would need 100 GB of memory first.
        let key = u32::try_from(key).expect("fewer than 2^32 live timers");
        self.heap.push(Deadline { when, seq, key });
        (key, seq)
    }

    fn entry(&self, key: u32, seq: u64) -> Option<&Entry> {
        self.entries
            .get(key as usize)
            .filter(|entry| entry.seq == seq)
    }

    /// Whether the timer `(key, seq)` is still waiting for its deadline.
    pub(crate) fn is_pending(&self, key: u32, seq: u64) -> bool {
        self.entry(key, seq)
            .is_some_and(|entry| matches!(entry.state, State::Pending(_)))
    }

    /// Gives a pending timer's waker a new one (a `Sleep` polled by another
    /// task); returns the old one for the caller to drop.
    pub(crate) fn replace_waker(&mut self, key: u32, seq: u64, waker: &Waker) -> Option<Waker> {
        let entry = self.entries.get_mut(key as usize)?;
        match &mut entry.state {
            State::Pending(Action::Wake(old)) if entry.seq == seq => {
                if old.will_wake(waker) {
                    None
                } else {
                    Some(std::mem::replace(old, waker.clone()))
                }
            }
            _ => None,
        }
    }

    /// Cancels the timer `(key, seq)`. A pending one gives back its action
    /// (for the caller to drop outside any borrow); one already moved to the
    /// ready queue gives back the job's sequence number there (for the
    /// caller to cancel); one that ran, or was cancelled, gives nothing.
    pub(crate) fn cancel(&mut self, key: u32, seq: u64) -> Cancelled {
        if self.entry(key, seq).is_none() {
            return Cancelled::Nothing;
        }
        let entry = self.entries.remove(key as usize);
        match entry.state {
            State::Pending(action) => {
                self.stale += 1;
                if self.entries.is_empty() {
                    self.forget_all();
                } else {
                    self.rebuild_if_mostly_stale();
                }
                Cancelled::Action(action)
            }
            State::Queued(ready_seq) => Cancelled::Queued(ready_seq),
        }
    }

    /// No timer is left: every heap entry is stale, and the slab's vacant
    /// slots (which `Slab` never gives back while it has entries) can go.
    fn forget_all(&mut self) {
        self.heap = BinaryHeap::new();
        self.entries = Slab::new();
        self.stale = 0;
        self.queued.clear();
    }

    /// asyncio's rule: more than half of at least 100 heap entries stale.
    fn rebuild_if_mostly_stale(&mut self) {
        let len = self.heap.len();
        if len < REBUILD_AT_LEAST || self.stale * 2 <= len {
            return;
        }
        let entries = &self.entries;
        let mut live = std::mem::take(&mut self.heap).into_vec();
        live.retain(|deadline| {
            entries.get(deadline.key as usize).is_some_and(|entry| {
                entry.seq == deadline.seq && matches!(entry.state, State::Pending(_))
            })
        });
        // Give memory back, down to twice what is live.
        if live.capacity() > 4 * live.len().max(16) {
            live.shrink_to(2 * live.len());
        }
        self.heap = BinaryHeap::from(live);
        self.stale = 0;
        if self.entries.capacity() > 4 * self.entries.len().max(16) {
            self.entries.shrink_to_fit();
        }
    }

    /// Drops stale entries off the top of the heap.
    fn skip_stale(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.is_pending(top.key, top.seq) {
                return;
            }
            self.heap.pop();
            self.stale -= 1;
        }
    }

    /// How many pending timers wake a sleep at [`NEVER`]: their wakers can
    /// never be used (for the stuck check; called only when no deadline is
    /// pending, so every pending timer is one of these or a callback).
    pub(crate) fn wakers_held_for_ever(&self) -> usize {
        self.entries
            .iter()
            .filter(|(_, entry)| {
                entry.when == NEVER && matches!(entry.state, State::Pending(Action::Wake(_)))
            })
            .count()
    }

    /// The earliest pending deadline, unless it never comes.
    pub(crate) fn next_deadline(&mut self) -> Option<Nanos> {
        self.skip_stale();
        self.heap
            .peek()
            .map(|top| top.when)
            .filter(|&when| when != NEVER)
    }

    /// Takes the earliest timer if its deadline is at or before `end`:
    /// returns its action and key, after which the caller queues the action
    /// and reports the job's sequence number with [`queued`](Self::queued).
    pub(crate) fn pop_due(&mut self, end: Nanos) -> Option<(u32, Action)> {
        self.skip_stale();
        let top = *self.heap.peek()?;
        if top.when > end {
            return None;
        }
        self.heap.pop();
        let entry = &mut self.entries[top.key as usize];
        let State::Pending(action) = std::mem::replace(&mut entry.state, State::Queued(0)) else {
            unreachable!("`skip_stale` left a pending timer on top");
        };
        Some((top.key, action))
    }

    /// Records that the timer `key`, just popped, is the ready job `ready_seq`.
    pub(crate) fn queued(&mut self, key: u32, ready_seq: u64) {
        if let Some(entry) = self.entries.get_mut(key as usize) {
            entry.state = State::Queued(ready_seq);
            self.queued.push(key);
        }
    }

    /// Forgets the timers queued in this iteration: they ran (or were
    /// cancelled in the ready queue). Called when the iteration ends.
    pub(crate) fn end_iteration(&mut self) {
        for key in self.queued.drain(..) {
            if let Some(entry) = self.entries.get(key as usize) {
                if matches!(entry.state, State::Queued(_)) {
                    self.entries.remove(key as usize);
                }
            }
        }
    }

    /// The deadline of the timer that was queued as ready entry `ready_seq`
    /// in this iteration, if one was (a scan, for error reports).
    pub(crate) fn queued_as(&self, ready_seq: u64) -> Option<Nanos> {
        self.queued.iter().find_map(|&key| {
            let entry = self.entries.get(key as usize)?;
            matches!(entry.state, State::Queued(seq) if seq == ready_seq).then_some(entry.when)
        })
    }

    /// The deadline of the timer `(key, seq)` if it is pending or queued.
    pub(crate) fn when(&self, key: u32, seq: u64) -> Option<Nanos> {
        self.entry(key, seq).map(|entry| entry.when)
    }

    /// Pending timers, stale heap entries excluded.
    pub(crate) fn len(&self) -> usize {
        self.heap.len() - self.stale
    }

    /// Empties the timers, handing back every pending action for the caller
    /// to drop outside any borrow. Sequence numbers go on.
    pub(crate) fn take(&mut self) -> Vec<Action> {
        self.heap.clear();
        self.stale = 0;
        self.queued.clear();
        std::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|(_, entry)| match entry.state {
                State::Pending(action) => Some(action),
                State::Queued(_) => None,
            })
            .collect()
    }

    /// Heap slots allocated, for the memory tests.
    #[cfg(test)]
    fn heap_capacity(&self) -> usize {
        self.heap.capacity()
    }
}

/// What cancelling a timer found.
pub(crate) enum Cancelled {
    Nothing,
    Action(Action),
    Queued(u64),
}

/// A waiting timer's `Debug` text, also given in the exception context of
/// its callback's panic.
pub(crate) fn describe(when: f64, name: &str) -> String {
    format!("<TimerHandle when={when} {name}>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn at(millis: u64) -> Nanos {
        millis * 1_000_000
    }

    fn logging(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> Action {
        let log = Rc::clone(log);
        Action::Call(Callback::from_thunk(move || log.borrow_mut().push(n)))
    }

    fn run_due(timers: &mut Timers, end: Nanos) {
        let mut ready_seq = 0;
        while let Some((key, action)) = timers.pop_due(end) {
            timers.queued(key, ready_seq);
            ready_seq += 1;
            match action {
                Action::Call(callback) => callback.call(&()),
                Action::Wake(waker) => waker.wake(),
            }
        }
        timers.end_iteration();
    }

    #[test]
    fn due_timers_come_out_by_deadline_then_by_scheduling_order() {
        let mut timers = Timers::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        for (n, millis) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, 40)] {
            timers.push(at(millis), logging(&log, n));
        }
        assert_eq!(timers.next_deadline(), Some(at(10)));
        run_due(&mut timers, at(30));
        assert_eq!(*log.borrow(), [2, 4, 3, 1]);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_deadline(), Some(at(40)));
    }

    #[test]
    fn a_cancelled_timer_never_runs_and_its_action_is_handed_back() {
        let mut timers = Timers::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (key, seq) = timers.push(at(10), logging(&log, 1));
        timers.push(at(20), logging(&log, 2));
        assert!(matches!(timers.cancel(key, seq), Cancelled::Action(_)));
        assert!(matches!(timers.cancel(key, seq), Cancelled::Nothing));
        assert_eq!(timers.next_deadline(), Some(at(20)));
        run_due(&mut timers, at(100));
        assert_eq!(*log.borrow(), [2]);
        assert_eq!(Rc::strong_count(&log), 1, "every action was dropped");
    }

    #[test]
    fn a_due_timer_cancelled_before_it_runs_names_its_ready_job() {
        let mut timers = Timers::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (key, seq) = timers.push(at(10), logging(&log, 1));
        let (popped, action) = timers.pop_due(at(10)).expect("due");
        assert_eq!(popped, key);
        timers.queued(key, 77);
        drop(action);
        assert!(!timers.is_pending(key, seq));
        assert!(matches!(timers.cancel(key, seq), Cancelled::Queued(77)));
        timers.end_iteration();
        assert!(matches!(timers.cancel(key, seq), Cancelled::Nothing));
    }

    #[test]
    fn a_key_reused_by_a_later_timer_is_not_cancelled_by_the_old_handle() {
        let mut timers = Timers::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (key, seq) = timers.push(at(10), logging(&log, 1));
        run_due(&mut timers, at(10));
        let (again, later) = timers.push(at(20), logging(&log, 2));
        assert_eq!(again, key, "the slab reuses the key");
        assert!(matches!(timers.cancel(key, seq), Cancelled::Nothing));
        assert!(timers.is_pending(again, later));
    }

    #[test]
    fn scheduling_and_cancelling_many_timers_keeps_the_heap_small() {
        let mut timers = Timers::new();
        let mut peak = 0;
        let count: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
        for i in 0..count {
            let (key, seq) = timers.push(at(i), Action::Call(Callback::from_thunk(|| {})));
            timers.cancel(key, seq);
            peak = peak.max(timers.heap.len());
        }
        assert!(peak <= 2 * REBUILD_AT_LEAST, "peak {peak}");
        assert_eq!(timers.len(), 0);
        // A burst of live timers, then all cancelled: the memory comes back.
        let handles: Vec<_> = (0..count)
            .map(|i| timers.push(at(i), Action::Call(Callback::from_thunk(|| {}))))
            .collect();
        for (key, seq) in handles {
            timers.cancel(key, seq);
        }
        assert_eq!(timers.heap_capacity(), 0, "all memory back");
        assert_eq!(timers.entries.capacity(), 0);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn take_hands_back_the_pending_actions() {
        let mut timers = Timers::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        timers.push(at(10), logging(&log, 1));
        let (key, seq) = timers.push(at(20), logging(&log, 2));
        timers.cancel(key, seq);
        let actions = timers.take();
        assert_eq!(actions.len(), 1);
        drop(actions);
        assert_eq!(Rc::strong_count(&log), 1);
        assert_eq!(timers.next_deadline(), None);
    }
}
