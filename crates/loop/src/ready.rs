//! The ready queue: scheduled jobs in FIFO order, addressed by sequence number.

use std::collections::VecDeque;
use std::rc::Rc;

use asyncio_core::Callback;

use crate::task::TaskStep;

/// One unit of work in the ready queue.
pub(crate) enum Job {
    /// A `call_soon` callback, or a future's done-callbacks job; small
    /// closures are stored inline, without an allocation.
    Callback(Callback<()>),
    /// One step of a task: poll its coroutine once.
    Task(Rc<dyn TaskStep>),
}

impl Job {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Job::Callback(callback) => callback.name(),
            Job::Task(_) => "task step",
        }
    }
}

/// Scheduled jobs: asyncio's `_ready` deque.
///
/// Every push gets the next sequence number, and the queue is strictly FIFO,
/// so the entry with sequence number `seq` sits at index `seq - head` (where
/// `head` is the sequence number of the front entry) for as long as it is
/// queued. A handle finds its entry with one subtraction: no slab, no key to
/// reuse, and a handle whose job already left the queue finds nothing.
/// Cancelling leaves a `None` in place, which still counts toward the
/// iteration (as a cancelled handle does in asyncio) and is skipped when popped.
///
/// **Invariant:** `slots[i]` holds the entry with sequence number `head + i`;
/// sequence numbers only grow, so none is ever handed out twice.
pub(crate) struct Ready {
    slots: VecDeque<Option<Job>>,
    /// The sequence number of `slots[0]` (or of the next push, when empty).
    head: u64,
}

impl Ready {
    pub(crate) fn new() -> Self {
        Ready {
            slots: VecDeque::new(),
            head: 0,
        }
    }

    /// Queues `job` behind everything already queued; returns its sequence number.
    #[inline]
    pub(crate) fn push(&mut self, job: Job) -> u64 {
        let seq = self.head + self.slots.len() as u64;
        self.slots.push_back(Some(job));
        seq
    }

    /// Pops the oldest entry: `None` when the queue is empty, `Some(None)`
    /// for a cancelled entry, `Some(Some(job))` for a job to run.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Option<Job>> {
        let slot = self.slots.pop_front()?;
        self.head += 1;
        Some(slot)
    }

    /// Where the entry `seq` is, if it is still queued.
    fn index(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.head)?).ok()?;
        (index < self.slots.len()).then_some(index)
    }

    /// Cancels the entry `seq` if it is still queued and returns its job, for
    /// the caller to drop outside any borrow.
    pub(crate) fn cancel(&mut self, seq: u64) -> Option<Job> {
        let index = self.index(seq)?;
        self.slots[index].take()
    }

    /// The name of the entry `seq` if it is still queued and not cancelled.
    pub(crate) fn name(&self, seq: u64) -> Option<&'static str> {
        self.slots[self.index(seq)?].as_ref().map(Job::name)
    }

    /// How many entries are queued, cancelled ones included.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Empties the queue, handing back everything for the caller to drop
    /// outside any borrow. Sequence numbers go on from where they were, so a
    /// handle of a dropped entry never names a later one.
    pub(crate) fn take(&mut self) -> Ready {
        let taken = Ready {
            slots: std::mem::take(&mut self.slots),
            head: self.head,
        };
        self.head += taken.slots.len() as u64;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::Callback(Callback::from_thunk(|| {}))
    }

    #[test]
    fn pops_in_push_order() {
        let mut ready = Ready::new();
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        for i in 0..3 {
            let order = order.clone();
            ready.push(Job::Callback(Callback::from_thunk(move || {
                order.borrow_mut().push(i)
            })));
        }
        assert_eq!(ready.len(), 3);
        while let Some(Some(Job::Callback(callback))) = ready.pop() {
            callback.call(&());
        }
        assert_eq!(*order.borrow(), [0, 1, 2]);
        assert!(ready.pop().is_none());
    }

    #[test]
    fn cancelled_entry_still_pops_once_and_runs_nothing() {
        let mut ready = Ready::new();
        let seq = ready.push(job());
        assert!(ready.cancel(seq).is_some());
        assert!(ready.cancel(seq).is_none());
        assert!(ready.name(seq).is_none());
        assert_eq!(ready.len(), 1);
        assert!(matches!(ready.pop(), Some(None)));
        assert!(ready.pop().is_none());
    }

    #[test]
    fn a_sequence_number_names_its_own_entry_only() {
        let mut ready = Ready::new();
        let first = ready.push(job());
        let second = ready.push(job());
        assert_eq!(second, first + 1);
        assert!(matches!(ready.pop(), Some(Some(_))));
        let third = ready.push(job());
        // The popped entry's number finds nothing, though its index is reused.
        assert!(ready.cancel(first).is_none());
        assert!(ready.name(second).is_some());
        assert!(ready.cancel(third).is_some());
        assert!(
            ready.name(second).is_some(),
            "cancelling one entry leaves the others"
        );
        assert!(
            ready.name(third + 1).is_none(),
            "a number not handed out yet"
        );
        assert!(ready.name(u64::MAX).is_none());
    }

    #[test]
    fn a_queued_callback_costs_at_most_64_bytes_with_its_inline_closure() {
        // One slot of the deque: the job (its vtable and three inline words;
        // a task step takes the vtable pointer's niche) and the tag that
        // tells a cancelled slot. The deque's spare capacity comes on top:
        // `benches/benches/memory.rs` measures the whole.
        assert_eq!(std::mem::size_of::<Job>(), 32);
        assert!(std::mem::size_of::<Option<Job>>() <= 40);
    }

    #[test]
    fn take_leaves_an_empty_queue_and_sequence_numbers_go_on() {
        let mut ready = Ready::new();
        let seq = ready.push(job());
        let taken = ready.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(ready.len(), 0);
        assert!(ready.pop().is_none());
        let next = ready.push(job());
        assert!(next > seq);
        assert!(ready.cancel(seq).is_none());
    }
}
