//! The ready queue: scheduled jobs in FIFO order, addressed by sequence number.

use std::{iter, mem};

use asyncio_core::Callback;

/// One unit of work in the ready queue. `S` is what a task step is to the
/// loop that runs the queue: the queue only holds it, so it knows jobs, not
/// tasks (the loop's state picks `S`; `shared/tasks.rs`).
pub(crate) enum Job<S> {
    /// A `call_soon` callback, or a future's done-callbacks job; small
    /// closures are stored inline, without an allocation.
    Callback(Callback<()>),
    /// One step of a task: poll its coroutine once.
    Task(S),
}

/// The job a cancelled entry becomes.
fn cancelled() {}

impl<S> Job<S> {
    /// A job that does nothing, inline, in place of a cancelled one.
    fn cancelled() -> Job<S> {
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
/// runs nothing. (Not an `Option<Job<S>>`: its tag would put the job 8 bytes
/// into the slot, and copying a job into such a slot made the processor
/// reload freshly stored halves at another offset, a store-forwarding stall
/// that a profile of `call_soon` showed; a job is exactly four words.)
///
/// **Invariant:** `slots[i]` holds the entry with sequence number `head + i`;
/// sequence numbers only grow, so none is ever handed out twice.
pub(crate) struct Ready<S> {
    slots: Ring<S>,
    /// The sequence number of `slots[0]` (or of the next push, when empty).
    head: u64,
}

impl<S> Ready<S> {
    pub(crate) fn new() -> Self {
        Ready {
            slots: Ring::new(),
            head: 0,
        }
    }

    /// Queues the job `make` returns, building it in its slot (see [`Ring`]).
    #[inline(always)]
    pub(crate) fn push_with(&mut self, make: impl FnOnce() -> Job<S>) -> u64 {
        let seq = self.head + self.slots.len() as u64;
        self.slots.push_with(make);
        seq
    }

    /// Pops the oldest job (a cancelled one is a job that does nothing), or
    /// `None` when the queue is empty.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Job<S>> {
        let job = self.slots.pop()?;
        self.head += 1;
        Some(job)
    }

    /// The position of the entry `seq` in the queue, unless it was popped;
    /// `Ring::get` and `get_mut` find nothing past the queued entries.
    fn index(&self, seq: u64) -> Option<usize> {
        usize::try_from(seq.checked_sub(self.head)?).ok()
    }

    /// The sequence number of the job popped last: while a job runs, its own
    /// (nothing else pops during a run).
    pub(crate) fn last_popped(&self) -> Option<u64> {
        self.head.checked_sub(1)
    }

    /// Cancels the entry `seq` if it is still queued and returns its job, for
    /// the caller to drop outside any borrow. The caller (a `Handle`, the
    /// only holder of `seq`) cancels an entry at most once.
    pub(crate) fn cancel(&mut self, seq: u64) -> Option<Job<S>> {
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

    /// Tells the queue an iteration found `found` jobs; see
    /// `Ring::note_iteration`. Runs no user code: only free slots are freed.
    #[inline(always)]
    pub(crate) fn note_iteration(&mut self, found: usize) {
        self.slots.note_iteration(found);
    }

    /// Empties the queue, handing back everything for the caller to drop
    /// outside any borrow. Sequence numbers go on from where they were, so a
    /// handle of a dropped entry never names a later one.
    pub(crate) fn take(&mut self) -> Ready<S> {
        let taken = Ready {
            slots: mem::replace(&mut self.slots, Ring::new()),
            head: self.head,
        };
        self.head += taken.slots.len() as u64;
        taken
    }
}

/// The capacity a drained ring keeps: below it, memory is never given back.
const KEEP: usize = 1024;

/// How many iterations in a row must find the ring under a quarter full
/// before it gives memory back: a loop that runs bursts back to back keeps
/// its capacity, one that had a single burst returns it soon after.
const SHRINK_AFTER: u32 = 4;

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
/// The ring's capacity is `buf.len()`: only slots that were once pushed to
/// exist. A full ring whose queue starts at slot 0 (a burst on a drained
/// ring: the head returns to 0 whenever the queue empties) grows by pushing
/// at the end of the `Vec`, so growth is `Vec`'s amortized reallocation,
/// one `realloc` per doubling and no slot written twice; only a full ring
/// that has wrapped is rotated to slot 0 and doubled.
///
/// **Invariant:** the queued jobs are `buf[(head + i) % buf.len()]` for
/// `i < len`, `len <= buf.len()`, and `head == 0` when `len == 0`; every
/// other slot holds `Job::cancelled()`, which owns nothing.
struct Ring<S> {
    buf: Vec<Job<S>>,
    head: usize,
    len: usize,
    /// Iterations in a row that found the ring under a quarter full.
    quiet: u32,
}

impl<S> Ring<S> {
    fn new() -> Self {
        Ring {
            buf: Vec::new(),
            head: 0,
            len: 0,
            quiet: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Where the `index`-th queued job is in `buf` (`index < buf.len()`).
    #[inline]
    fn slot(&self, index: usize) -> usize {
        let slot = self.head + index;
        if slot >= self.buf.len() {
            slot - self.buf.len()
        } else {
            slot
        }
    }

    /// Queues the job `make` returns, made once its slot is known, so that
    /// it is built in place.
    #[inline(always)]
    fn push_with(&mut self, make: impl FnOnce() -> Job<S>) {
        if self.len == self.buf.len() {
            if self.head == 0 {
                // `extend` of a one-item iterator of known length reserves
                // first, then writes the job the closure builds into its slot.
                self.buf.extend(iter::once_with(make));
                self.len += 1;
                return;
            }
            self.unwrap_and_double();
        }
        let slot = self.slot(self.len);
        // The free slot holds a job that owns nothing: forgetting it loses nothing.
        mem::forget(mem::replace(&mut self.buf[slot], make()));
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<Job<S>> {
        if self.len == 0 {
            return None;
        }
        let job = mem::replace(&mut self.buf[self.head], Job::cancelled());
        self.len -= 1;
        self.head = if self.len == 0 { 0 } else { self.slot(1) };
        Some(job)
    }

    fn get(&self, index: usize) -> Option<&Job<S>> {
        (index < self.len).then(|| &self.buf[self.slot(index)])
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut Job<S>> {
        if index >= self.len {
            return None;
        }
        let slot = self.slot(index);
        Some(&mut self.buf[slot])
    }

    /// A full ring that wrapped: rotate the queue to slot 0 and double the
    /// capacity with free slots, so that this happens once per doubling.
    #[cold]
    fn unwrap_and_double(&mut self) {
        self.buf.rotate_left(self.head);
        self.head = 0;
        let capacity = (self.buf.len() * 2).max(16);
        self.buf.resize_with(capacity, Job::cancelled);
    }

    /// Called once per loop iteration with the number of jobs it found:
    /// after `SHRINK_AFTER` iterations in a row under a quarter of the
    /// capacity, the ring gives memory back down to twice what is queued
    /// (at least `KEEP` slots). A ring of at most `KEEP` slots (the usual
    /// case) answers with one comparison.
    #[inline(always)]
    fn note_iteration(&mut self, found: usize) {
        if self.buf.len() > KEEP {
            self.note_iteration_of_a_large_ring(found);
        }
    }

    #[cold]
    #[inline(never)]
    fn note_iteration_of_a_large_ring(&mut self, found: usize) {
        if found * 4 >= self.buf.len() {
            self.quiet = 0;
            return;
        }
        self.quiet += 1;
        if self.quiet < SHRINK_AFTER {
            return;
        }
        self.quiet = 0;
        let mut buf = Vec::with_capacity((self.len * 2).max(KEEP));
        for index in 0..self.len {
            let slot = self.slot(index);
            buf.push(mem::replace(&mut self.buf[slot], Job::cancelled()));
        }
        // Every slot of the old buffer is free now: its drop frees the
        // memory without reading them (see `Drop`).
        drop(Ring {
            buf: mem::replace(&mut self.buf, buf),
            head: 0,
            len: 0,
            quiet: 0,
        });
        self.head = 0;
    }

    /// The slots the ring has, for tests: its capacity.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.buf.len()
    }
}

/// Drops the queued jobs, then frees the buffer without visiting the free
/// slots: after a burst of 10^7 callbacks, reading 320 MB of jobs that do
/// nothing only to learn that they own nothing made dropping the loop cost
/// 4.1-5.2 ns per callback of the burst instead of 2.4-3.5 (the history in
/// `docs/benchmarks.md`).
impl<S> Drop for Ring<S> {
    fn drop(&mut self) {
        // A panicking drop unwinds out of here, and the `Vec`'s own drop
        // then drops every slot that is left, free or not: nothing leaks.
        while let Some(job) = self.pop() {
            drop(job);
        }
        // SAFETY: with the queue empty, every slot holds `Job::cancelled()`
        // (the invariant above), a job that owns nothing and whose drop has
        // no effect, so not dropping them leaks nothing; a length of 0 is
        // within any capacity, and no slot is read through the `Vec` again.
        unsafe { self.buf.set_len(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A job whose task steps are a fat pointer, as the loop's are.
    type Job = super::Job<Rc<dyn std::any::Any>>;

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
    fn a_panicking_drop_in_the_queue_still_drops_the_jobs_after_it() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("a capture's drop panicked");
            }
        }
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let bomb = Bomb;
        ready.push_with(move || {
            Job::Callback(Callback::from_thunk(move || {
                let _keep = &bomb;
            }))
        });
        for i in 0..3 {
            ready.push_with(|| logging(&order, i));
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(ready)));
        assert!(dropped.is_err(), "the capture's panic came through");
        assert_eq!(Rc::strong_count(&order), 1, "the later jobs were dropped");
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
    fn a_burst_on_a_drained_ring_grows_at_the_end_and_is_given_back_later() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        for i in 0..5000 {
            ready.push_with(|| logging(&order, i));
        }
        assert_eq!(ready.slots.capacity(), 5000, "no slot made ahead of need");
        let found = ready.len();
        while let Some(job) = ready.pop() {
            run(job);
        }
        assert_eq!(*order.borrow(), (0..5000).collect::<Vec<_>>());
        ready.note_iteration(found);
        assert_eq!(ready.slots.capacity(), 5000, "busy: kept");
        for round in 1..SHRINK_AFTER {
            ready.note_iteration(1);
            assert_eq!(ready.slots.capacity(), 5000, "round {round}: kept");
        }
        ready.note_iteration(1);
        assert_eq!(ready.slots.capacity(), 0, "quiet: given back");
        ready.push_with(job);
        assert!(ready.slots.buf.capacity() >= KEEP);
    }

    #[test]
    fn a_full_wrapped_ring_doubles_once_and_keeps_its_order() {
        let mut ready = Ready::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut next = 0;
        // Reach 16 slots, pop a few, refill past the wrap, then overflow.
        for _ in 0..16 {
            ready.push_with(|| logging(&order, next));
            next += 1;
        }
        for _ in 0..5 {
            run(ready.pop().unwrap());
        }
        for _ in 0..6 {
            ready.push_with(|| logging(&order, next));
            next += 1;
        }
        assert_eq!(ready.slots.capacity(), 32, "rotated and doubled");
        // Steady push-one-pop-one at the new size rotates no more.
        for _ in 0..100 {
            ready.push_with(|| logging(&order, next));
            next += 1;
            run(ready.pop().unwrap());
        }
        assert_eq!(ready.slots.capacity(), 32);
        while let Some(job) = ready.pop() {
            run(job);
        }
        assert_eq!(*order.borrow(), (0..next).collect::<Vec<_>>());
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
