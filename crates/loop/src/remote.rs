//! What reaches the loop from other threads, and the wait it interrupts.
//!
//! Other threads hand the loop three kinds of work (a [`RemoteItem`]): a
//! task's wake, a `call_soon_threadsafe` callback, and a stop. They go
//! through a lock-free queue (`crossbeam_queue::SegQueue`), which the loop
//! drains at the start of each iteration, after each wait, and before each
//! `call_soon` (so a callback sent from another thread before a `call_soon`
//! on the loop's thread runs first, as in asyncio, whose
//! `call_soon_threadsafe` appends to the ready queue at once).
//!
//! The loop waits in an OS readiness poller (`poller.rs`: mio's epoll,
//! kqueue or IOCP), made the first time the loop has nothing to do, with the
//! next timer's deadline as its timeout; a push notifies it. The I/O that comes later
//! registers its file descriptors with the same poller. If no poller can be
//! made (no file descriptors left, or under Miri, which cannot run it), the
//! loop parks its thread instead and a push unparks it.
//!
//! **The wake protocol** (the race: a push arriving while the loop decides
//! to block). `state` says whether the loop is `RUNNING`, `WAITING` (about
//! to block, or blocked) or `NOTIFIED` (a push came since the loop last
//! looked). A sender pushes its item, sets `pending` (with a swap, a
//! read-modify-write, so that every sender's write is in the release
//! sequence the loop's acquire swap reads from), then swaps `state` to
//! `NOTIFIED`; only if it found `WAITING` does it wake the loop (notify the
//! poller, or unpark the thread where there is no poller). The loop, before
//! it blocks, makes the poller, then swaps `state` to `WAITING`: if it found
//! `NOTIFIED`, a push came, so it does not block; after blocking, it sets
//! `RUNNING` again. Both swaps are read-modify-writes of one atomic, so one
//! comes first: either the sender finds `WAITING` and wakes the loop (a
//! notification that comes before the wait makes the wait return at once:
//! the waker's eventfd stays readable, and `park` keeps an unpark), or the loop finds
//! `NOTIFIED` and does not block. And a sender that finds `WAITING` also
//! sees the notifier, set before the loop's swap. After a wait the loop
//! swaps `RUNNING` back in (not a plain store), so that reading a
//! sender's `NOTIFIED` there also makes that sender's item visible. A busy
//! loop costs senders no system call: they wake it only when it waits.
//! `tests/remote_wakes.rs` and `tests/threadsafe.rs` hammer it from several
//! threads, and `tests/wake_protocol_model.rs` checks it exhaustively under
//! release/acquire semantics (ARCHITECTURE.md says why not with loom).
//!
//! **The close protocol** (the race: a push arriving while the loop
//! closes). `senders` counts the pushes in progress, and its lowest bit says
//! closed. A sender adds 2, and pushes only if the closed bit is clear (else
//! it takes its 2 back and is refused, its callback handed back to it); it
//! takes its 2 back once pushed. Closing sets the bit, waits until no push
//! is in progress (a push is a few instructions: it spins), then drains the
//! queue. So every item is either refused to its sender or drained by
//! [`close`](Remote::close): none is lost.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread, ThreadId};
use std::time::Instant;

use crossbeam_queue::SegQueue;

use crate::poller::{Notifier, Poller};

/// A `call_soon_threadsafe` callback.
pub(crate) type RemoteCall = Box<dyn FnOnce() + Send>;

/// One piece of work from another thread.
pub(crate) enum RemoteItem {
    /// Wake the task `(key, seq)`.
    Wake(usize, u64),
    /// Queue this callback, as `call_soon` would.
    Call(RemoteCall),
    /// Queue a stop, as `call_soon(loop.stop)` would.
    Stop,
    /// The last `ThreadsafeHandle` is gone: nothing to run, but a loop that
    /// waited only for handles wakes to look again whether anything could
    /// still bring it work.
    Recheck,
}

/// The closed bit of `Remote::senders`; each push in progress adds 2.
const CLOSED: usize = 1;

/// `Remote::state`: the loop runs (and will look at `pending`).
const RUNNING: u8 = 0;
/// `Remote::state`: the loop blocks, or is about to; a sender must wake it.
const WAITING: u8 = 1;
/// `Remote::state`: a push came since the loop last looked.
const NOTIFIED: u8 = 2;

pub(crate) struct Remote {
    queue: SegQueue<RemoteItem>,
    /// Set after every push, so the loop checks one flag, not the queue,
    /// on each iteration and each `call_soon`.
    pending: AtomicBool,
    /// Pushes in progress (times 2) and the closed bit.
    senders: AtomicUsize,
    /// `RUNNING`, `WAITING` or `NOTIFIED` (see the wake protocol).
    state: AtomicU8,
    /// The loop's thread, unparked by pushes while there is no poller.
    thread: Thread,
    /// What notifies the poller the loop waits in, set when the loop makes
    /// it, on its first wait; unset, a push unparks the loop's thread.
    notifier: OnceLock<Notifier>,
    /// Live `ThreadsafeHandle`s, for the loop's check that nothing can
    /// complete what it waits for.
    handles: AtomicUsize,
}

impl Remote {
    pub(crate) fn new() -> Self {
        Remote {
            queue: SegQueue::new(),
            pending: AtomicBool::new(false),
            senders: AtomicUsize::new(0),
            state: AtomicU8::new(RUNNING),
            thread: thread::current(),
            notifier: OnceLock::new(),
            handles: AtomicUsize::new(0),
        }
    }

    /// A `ThreadsafeHandle` was made or cloned.
    pub(crate) fn handle_made(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// A `ThreadsafeHandle` was dropped. Release: whatever it sent before
    /// is seen by a loop that sees the count go down. The last one wakes the
    /// loop (refused, harmlessly, by a closed one).
    pub(crate) fn handle_dropped(&self) {
        if self.handles.fetch_sub(1, Ordering::Release) == 1 {
            let _ = self.push(RemoteItem::Recheck);
        }
    }

    /// Whether any `ThreadsafeHandle` is alive. Once none is, only the
    /// loop's thread can make one again.
    pub(crate) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::Acquire) != 0
    }

    /// Whether items may be waiting (a cheap load, for the hot paths).
    #[inline]
    pub(crate) fn maybe_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Whether items may be waiting; clears the flag. An item pushed after
    /// this returns sets it again, so none is missed.
    #[inline]
    pub(crate) fn take_pending(&self) -> bool {
        // A plain load first: the loop asks on every iteration, and almost
        // always the answer is no, which needs no read-modify-write. A push
        // this load misses also notifies the poller (or unparks the thread),
        // so the loop's next wait returns and the next call sees it.
        self.pending.load(Ordering::Relaxed) && self.pending.swap(false, Ordering::Acquire)
    }

    pub(crate) fn pop(&self) -> Option<RemoteItem> {
        self.queue.pop()
    }

    pub(crate) fn thread_id(&self) -> ThreadId {
        self.thread.id()
    }

    /// Whether the loop was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.senders.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Queues `item` and wakes the loop; hands the item back if the loop is
    /// closed (see the close and wake protocols above).
    pub(crate) fn push(&self, item: RemoteItem) -> Result<(), RemoteItem> {
        self.push_with(item, |item| item)
    }

    /// Queues the item `make` builds from `value`, unless the loop is
    /// closed, in which case `value` comes back untouched (so a refused
    /// callback is handed back as it was given, not boxed).
    pub(crate) fn push_with<T>(
        &self,
        value: T,
        make: impl FnOnce(T) -> RemoteItem,
    ) -> Result<(), T> {
        if self.senders.fetch_add(2, Ordering::AcqRel) & CLOSED != 0 {
            self.senders.fetch_sub(2, Ordering::Release);
            return Err(value);
        }
        self.queue.push(make(value));
        self.senders.fetch_sub(2, Ordering::Release);
        // A swap, not a store: read-modify-writes continue each other's
        // release sequences, so the loop's acquire swap that reads any
        // sender's `true` sees every item pushed before it. With plain
        // stores, B's store could come before A's in `pending`'s order,
        // the loop would read A's and miss B's item, then consume B's
        // `NOTIFIED` and block (tests/wake_protocol_model.rs finds it).
        self.pending.swap(true, Ordering::Release);
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == WAITING {
            match self.notifier.get() {
                // A failed notification (an OS error) leaves the loop
                // waiting for its deadline at worst; nothing better can be
                // done here.
                Some(notifier) => drop(notifier.wake()),
                None => self.thread.unpark(),
            }
        }
        Ok(())
    }

    /// Refuses every later push, and returns what was pushed before, for
    /// the loop to drop (a callback's `Drop` is user code).
    pub(crate) fn close(&self) -> Vec<RemoteItem> {
        self.senders.fetch_or(CLOSED, Ordering::AcqRel);
        // A push in progress is a few instructions, unless its thread was
        // preempted in the middle: then let it run.
        let mut spins = 0u32;
        while self.senders.load(Ordering::Acquire) != CLOSED {
            if spins < 64 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
        self.pending.store(false, Ordering::Relaxed);
        std::iter::from_fn(|| self.queue.pop()).collect()
    }

    /// Blocks the loop's thread until `deadline` (or for ever) or until a
    /// push, whichever comes first; may return early, so the caller checks
    /// again. Called on the loop's thread only, with the loop's poller
    /// (`None`: there is none, and the thread parks). The poller's notifier
    /// was given to [`set_notifier`](Self::set_notifier) when it was made.
    pub(crate) fn wait(&self, deadline: Option<Instant>, poller: Option<&mut Poller>) {
        // The notifier was set before `WAITING` is published: a sender that
        // finds `WAITING` then finds the notifier too.
        if self.state.swap(WAITING, Ordering::AcqRel) == NOTIFIED {
            // A push came: look at it instead of blocking.
            self.state.swap(RUNNING, Ordering::AcqRel);
            return;
        }
        match (poller, deadline) {
            (Some(poller), deadline) => poller.wait(deadline),
            (None, Some(deadline)) => {
                thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
            }
            (None, None) => thread::park(),
        }
        self.state.swap(RUNNING, Ordering::AcqRel);
    }

    /// Gives the remote the notifier of the loop's poller, just made (on the
    /// loop's thread, before its first wait with it).
    pub(crate) fn set_notifier(&self, notifier: Notifier) {
        let _ = self.notifier.set(notifier);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_push_after_close_is_handed_back_and_one_before_is_drained() {
        let remote = Remote::new();
        assert!(remote.push(RemoteItem::Wake(1, 2)).is_ok());
        let drained = remote.close();
        assert!(matches!(drained[..], [RemoteItem::Wake(1, 2)]));
        assert!(remote.is_closed());
        let refused = remote.push(RemoteItem::Stop).unwrap_err();
        assert!(matches!(refused, RemoteItem::Stop));
        assert!(remote.pop().is_none());
    }

    #[test]
    fn pushes_racing_a_close_are_either_refused_or_drained() {
        for _ in 0..if cfg!(miri) { 2 } else { 50 } {
            let remote = Arc::new(Remote::new());
            let per_thread = if cfg!(miri) { 20 } else { 2000 };
            let senders: Vec<_> = (0..3)
                .map(|_| {
                    let remote = Arc::clone(&remote);
                    thread::spawn(move || {
                        (0..per_thread)
                            .filter(|i| remote.push(RemoteItem::Wake(*i, 0)).is_err())
                            .count()
                    })
                })
                .collect();
            let mut drained = 0;
            for _ in 0..10 {
                while remote.pop().is_some() {
                    drained += 1;
                }
                thread::yield_now();
            }
            drained += remote.close().len();
            let refused: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
            assert_eq!(drained + refused, 3 * per_thread, "nothing lost");
        }
    }
}
