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

/// The job a cancelled entry becomes.
fn cancelled() {}

impl Job {
    /// A job that does nothing, inline, in place of a cancelled one.
    fn cancelled() -> Job {
        Job::Callback(Callback::from_thunk(cancelled))
    }

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
/// Cancelling puts a job that does nothing in the entry's place: it still
/// counts toward the iteration, as a cancelled handle does in asyncio, and
/// runs nothing. (Not an `Option<Job>`: its tag would put the job 8 bytes
/// into the slot, and copying a job into such a slot made the processor
/// reload freshly stored halves at another offset, a store-forwarding stall
/// that a profile of `call_soon` showed; a job is exactly four words.)
///
/// **Invariant:** `slots[i]` holds the entry with sequence number `head + i`;
/// sequence numbers only grow, so none is ever handed out twice.
pub(crate) struct Ready {
    slots: VecDeque<Job>,
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
        self.slots.push_back(job);
        seq
    }

    /// Pops the oldest job (a cancelled one is a job that does nothing), or
    /// `None` when the queue is empty.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Job> {
        let job = self.slots.pop_front()?;
        self.head += 1;
        Some(job)
    }

    /// Where the entry `seq` is, if it is still queued.
    fn index(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.head)?).ok()?;
        (index < self.slots.len()).then_some(index)
    }

    /// Cancels the entry `seq` if it is still queued and returns its job, for
    /// the caller to drop outside any borrow. The caller (a `Handle`, the
    /// only holder of `seq`) cancels an entry at most once.
    pub(crate) fn cancel(&mut self, seq: u64) -> Option<Job> {
        let index = self.index(seq)?;
        Some(std::mem::replace(&mut self.slots[index], Job::cancelled()))
    }

    /// The name of the entry `seq` if it is still queued (a cancelled entry's
    /// name is that of the job that does nothing).
    pub(crate) fn name(&self, seq: u64) -> Option<&'static str> {
        self.index(seq).map(|index| self.slots[index].name())
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
    use std::cell::RefCell;

    fn job() -> Job {
        Job::Callback(Callback::from_thunk(|| {}))
    }

    fn run(job: Job) {
        match job {
            Job::Callback(callback) => callback.call(&()),
            Job::Task(_) => panic!("no task was queued"),
        }
    }

    fn logging(order: &Rc<RefCell<Vec<i32>>>, i: i32) -> Job {
        let order = Rc::clone(order);
        Job::Callback(Callback::from_thunk(move || order.borrow_mut().push(i)))
    }

    #[test]
    fn pops_in_push_order() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        for i in 0..3 {
            ready.push(logging(&order, i));
        }
        assert_eq!(ready.len(), 3);
        while let Some(job) = ready.pop() {
            run(job);
        }
        assert_eq!(*order.borrow(), [0, 1, 2]);
        assert!(ready.pop().is_none());
    }

    #[test]
    fn a_cancelled_entry_still_pops_once_and_runs_nothing() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        ready.push(logging(&order, 1));
        let seq = ready.push(logging(&order, 2));
        ready.push(logging(&order, 3));
        let cancelled = ready.cancel(seq).expect("queued");
        drop(cancelled);
        assert_eq!(
            Rc::strong_count(&order),
            3,
            "the cancelled job was handed back"
        );
        assert!(ready.name(seq).unwrap().ends_with("cancelled"));
        assert_eq!(ready.len(), 3);
        while let Some(job) = ready.pop() {
            run(job);
        }
        assert_eq!(*order.borrow(), [1, 3]);
    }

    #[test]
    fn a_sequence_number_names_its_own_entry_only() {
        let mut ready = Ready::new();
        let first = ready.push(job());
        let second = ready.push(job());
        assert_eq!(second, first + 1);
        assert!(ready.pop().is_some());
        let third = ready.push(job());
        // The popped entry's number finds nothing, though its index is reused.
        assert!(ready.cancel(first).is_none());
        assert!(ready.name(second).is_some());
        assert!(ready.cancel(third).is_some());
        assert!(ready.name(third).unwrap().ends_with("cancelled"));
        assert!(
            !ready.name(second).unwrap().ends_with("cancelled"),
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
        // One slot of the deque: the job, its vtable and three inline words
        // (a task step takes the vtable pointer's niche). The deque's spare
        // capacity comes on top: `benches/benches/memory.rs` measures the whole.
        assert_eq!(std::mem::size_of::<Job>(), 32);
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
