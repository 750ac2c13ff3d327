//! The ready queue: scheduled jobs in FIFO order, addressed by sequence number.

use std::mem;
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
    slots: Ring,
    /// The sequence number of `slots[0]` (or of the next push, when empty).
    head: u64,
}

impl Ready {
    pub(crate) fn new() -> Self {
        Ready {
            slots: Ring::new(),
            head: 0,
        }
    }

    /// Queues the job `make` returns, building it in its slot (see [`Ring`]).
    #[inline(always)]
    pub(crate) fn push_with(&mut self, make: impl FnOnce() -> Job) -> u64 {
        let seq = self.head + self.slots.len() as u64;
        self.slots.push_with(make);
        seq
    }

    /// Pops the oldest job (a cancelled one is a job that does nothing), or
    /// `None` when the queue is empty.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Job> {
        let job = self.slots.pop()?;
        self.head += 1;
        Some(job)
    }

    /// The position of the entry `seq` in the queue, unless it was popped;
    /// `Ring::get` and `get_mut` find nothing past the queued entries.
    fn index(&self, seq: u64) -> Option<usize> {
        usize::try_from(seq.checked_sub(self.head)?).ok()
    }

    /// Cancels the entry `seq` if it is still queued and returns its job, for
    /// the caller to drop outside any borrow. The caller (a `Handle`, the
    /// only holder of `seq`) cancels an entry at most once.
    pub(crate) fn cancel(&mut self, seq: u64) -> Option<Job> {
        let index = self.index(seq)?;
        Some(mem::replace(self.slots.get_mut(index)?, Job::cancelled()))
    }

    /// The name of the entry `seq` if it is still queued (a cancelled entry's
    /// name is that of the job that does nothing).
    pub(crate) fn name(&self, seq: u64) -> Option<&'static str> {
        self.slots.get(self.index(seq)?).map(Job::name)
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
            slots: mem::replace(&mut self.slots, Ring::new()),
            head: self.head,
        };
        self.head += taken.slots.len() as u64;
        taken
    }
}

/// A ring buffer of jobs over a `Vec` whose every slot holds a job: the
/// queued ones, and in the free slots a job that does nothing.
///
/// Like `VecDeque`, but [`push_with`](Ring::push_with) makes room first and
/// only then builds the job, so the compiler writes its words straight into
/// the slot. Pushing a finished job into a `VecDeque` (which may grow after
/// the job exists) went through a copy on the stack, and reloading the
/// freshly stored words of that copy in wider chunks than they were written
/// stalled on store forwarding: a profile of W1 put most of `call_soon`'s
/// time on that one load, and this ring took W1 from about 19 to 12 ns per
/// callback.
///
/// **Invariant:** `buf.len()` is zero or a power of two (it starts empty and
/// only [`grow`](Ring::grow) changes it, doubling from 16). The queued jobs
/// are `buf[(head + i) % buf.len()]` for `i < len`; every other slot holds
/// `Job::cancelled()`, which owns nothing.
struct Ring {
    buf: Vec<Job>,
    head: usize,
    len: usize,
}

impl Ring {
    fn new() -> Self {
        Ring {
            buf: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Where the `index`-th queued job is in `buf` (`index <= len`): the
    /// length is a power of two, so the wrap is a mask.
    #[inline]
    fn slot(&self, index: usize) -> usize {
        (self.head + index) & self.buf.len().wrapping_sub(1)
    }

    /// Queues the job `make` returns, made once its slot is known, so that
    /// it is built in place.
    #[inline(always)]
    fn push_with(&mut self, make: impl FnOnce() -> Job) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let slot = self.slot(self.len);
        if let Some(free) = self.buf.get_mut(slot) {
            // The free slot holds a job that owns nothing: forgetting it loses nothing.
            mem::forget(mem::replace(free, make()));
            self.len += 1;
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Job> {
        if self.len == 0 {
            return None;
        }
        let job = mem::replace(&mut self.buf[self.head], Job::cancelled());
        self.head = self.slot(1);
        self.len -= 1;
        Some(job)
    }

    fn get(&self, index: usize) -> Option<&Job> {
        (index < self.len).then(|| &self.buf[self.slot(index)])
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut Job> {
        let slot = self.slot(index);
        (index < self.len).then(move || &mut self.buf[slot])
    }

    /// Doubles the capacity (at least 16 slots), moving the queued jobs to
    /// the front of a new buffer in order.
    #[cold]
    fn grow(&mut self) {
        let capacity = (self.buf.len() * 2).max(16);
        debug_assert!(capacity.is_power_of_two());
        let mut buf = Vec::with_capacity(capacity);
        for index in 0..self.len {
            let slot = self.slot(index);
            buf.push(mem::replace(&mut self.buf[slot], Job::cancelled()));
        }
        buf.resize_with(capacity, Job::cancelled);
        self.buf = buf;
        self.head = 0;
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
            ready.push_with(|| logging(&order, i));
        }
        assert_eq!(ready.len(), 3);
        while let Some(job) = ready.pop() {
            run(job);
        }
        assert_eq!(*order.borrow(), [0, 1, 2]);
        assert!(ready.pop().is_none());
    }

    #[test]
    fn order_and_sequence_numbers_survive_wrapping_and_growth() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut expected = Vec::new();
        let mut next = 0;
        // Push more than pop each round, so the ring wraps, then grows while
        // wrapped (16 slots at first, then 32).
        for round in 0..6 {
            for _ in 0..10 {
                let seq = ready.push_with(|| logging(&order, next));
                assert_eq!(seq, next as u64);
                next += 1;
            }
            for _ in 0..7 {
                run(ready.pop().unwrap());
            }
            assert_eq!(ready.len(), (round + 1) * 3);
        }
        // Cancel a wrapped entry by its number; the rest keep their order.
        let cancelled = (next - 5) as u64;
        assert!(ready.cancel(cancelled).is_some());
        while let Some(job) = ready.pop() {
            run(job);
        }
        expected.extend((0..next).filter(|n| *n as u64 != cancelled));
        assert_eq!(*order.borrow(), expected);
        assert_eq!(Rc::strong_count(&order), 1, "every job was run or dropped");
    }

    #[test]
    fn dropping_the_queue_drops_the_queued_jobs() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        for i in 0..20 {
            ready.push_with(|| logging(&order, i));
        }
        for _ in 0..5 {
            drop(ready.pop());
        }
        drop(ready);
        assert_eq!(Rc::strong_count(&order), 1);
        assert!(order.borrow().is_empty());
    }

    #[test]
    fn a_cancelled_entry_still_pops_once_and_runs_nothing() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        ready.push_with(|| logging(&order, 1));
        let seq = ready.push_with(|| logging(&order, 2));
        ready.push_with(|| logging(&order, 3));
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
        let first = ready.push_with(job);
        let second = ready.push_with(job);
        assert_eq!(second, first + 1);
        assert!(ready.pop().is_some());
        let third = ready.push_with(job);
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
        let seq = ready.push_with(job);
        let taken = ready.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(ready.len(), 0);
        assert!(ready.pop().is_none());
        let next = ready.push_with(job);
        assert!(next > seq);
        assert!(ready.cancel(seq).is_none());
    }
}
