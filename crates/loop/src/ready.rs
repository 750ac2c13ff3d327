//! The ready queue: scheduled callbacks in a slab, their order in a deque.

use std::collections::VecDeque;
use std::rc::Rc;

use asyncio_core::Callback;
use slab::Slab;

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

/// A slot of the slab. A slot stays occupied from `push` until its key is
/// popped from the queue, even when cancelled, so a key is in the queue at
/// most once and is never reused while queued.
enum Slot {
    /// Waiting to run. `seq` tells a handle's slot from a later slot that
    /// reuses the same key.
    Scheduled { seq: u64, job: Job },
    /// Cancelled by its handle; the job was already dropped.
    Cancelled,
}

/// Scheduled callbacks: asyncio's `_ready` deque.
///
/// **Invariant:** every key in `order` is an occupied slot of `slots`, and
/// every occupied slot's key is in `order` exactly once.
pub(crate) struct Ready {
    slots: Slab<Slot>,
    /// FIFO order of the keys in `slots`.
    order: VecDeque<usize>,
    /// The `seq` of the next push; only grows.
    next_seq: u64,
}

impl Ready {
    pub(crate) fn new() -> Self {
        Ready {
            slots: Slab::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Queues `job` behind everything already queued; returns its key and seq.
    #[inline]
    pub(crate) fn push(&mut self, job: Job) -> (usize, u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.slots.insert(Slot::Scheduled { seq, job });
        self.order.push_back(key);
        (key, seq)
    }

    /// Pops the oldest entry: `None` when the queue is empty, `Some(None)`
    /// for a cancelled entry (which still counts toward the iteration, as in
    /// asyncio), `Some(Some(job))` for a job to run.
    pub(crate) fn pop(&mut self) -> Option<Option<Job>> {
        let key = self.order.pop_front()?;
        match self.slots.remove(key) {
            Slot::Scheduled { job, .. } => Some(Some(job)),
            Slot::Cancelled => Some(None),
        }
    }

    /// Cancels the entry `(key, seq)` if it is still queued and returns its
    /// job, for the caller to drop outside any borrow.
    pub(crate) fn cancel(&mut self, key: usize, seq: u64) -> Option<Job> {
        let slot = self.slots.get_mut(key)?;
        match slot {
            Slot::Scheduled { seq: queued, .. } if *queued == seq => {
                match std::mem::replace(slot, Slot::Cancelled) {
                    Slot::Scheduled { job, .. } => Some(job),
                    Slot::Cancelled => None,
                }
            }
            _ => None,
        }
    }

    /// The name of the entry `(key, seq)` if it is still queued.
    pub(crate) fn name(&self, key: usize, seq: u64) -> Option<&'static str> {
        match self.slots.get(key)? {
            Slot::Scheduled { seq: queued, job } if *queued == seq => Some(job.name()),
            _ => None,
        }
    }

    /// How many entries are queued, cancelled ones included.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Empties the queue, handing back everything for the caller to drop
    /// outside any borrow.
    pub(crate) fn take(&mut self) -> Ready {
        Ready {
            slots: std::mem::take(&mut self.slots),
            order: std::mem::take(&mut self.order),
            next_seq: self.next_seq,
        }
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
        let keys: Vec<usize> = (0..3).map(|_| ready.push(job()).0).collect();
        assert_eq!(ready.len(), 3);
        for _ in &keys {
            assert!(matches!(ready.pop(), Some(Some(_))));
        }
        assert!(ready.pop().is_none());
    }

    #[test]
    fn cancelled_entry_still_pops_once_and_runs_nothing() {
        let mut ready = Ready::new();
        let (key, seq) = ready.push(job());
        assert!(ready.cancel(key, seq).is_some());
        assert!(ready.cancel(key, seq).is_none());
        assert_eq!(ready.len(), 1);
        assert!(matches!(ready.pop(), Some(None)));
        assert!(ready.pop().is_none());
    }

    #[test]
    fn stale_seq_cannot_cancel_a_reused_key() {
        let mut ready = Ready::new();
        let (key, seq) = ready.push(job());
        assert!(matches!(ready.pop(), Some(Some(_))));
        let (reused, new_seq) = ready.push(job());
        assert_eq!(reused, key, "the slab reuses the freed key");
        assert!(ready.cancel(key, seq).is_none());
        assert!(ready.name(reused, new_seq).is_some());
        assert!(ready.name(key, seq).is_none());
    }

    #[test]
    fn a_queued_callback_costs_at_most_64_bytes_with_its_inline_closure() {
        // A slot (seq, job with its three inline words) in the slab, whose
        // entry adds a tag of its own (at most one word), plus one key in the
        // order deque.
        let slot = std::mem::size_of::<Slot>();
        assert!(slot <= 48, "{slot}");
        assert!(slot + 2 * std::mem::size_of::<usize>() <= 64);
    }

    #[test]
    fn take_leaves_an_empty_queue() {
        let mut ready = Ready::new();
        ready.push(job());
        let taken = ready.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(ready.len(), 0);
        assert!(ready.pop().is_none());
    }
}
