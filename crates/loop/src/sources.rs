//! The loop's I/O sources: the file descriptors registered with its poller,
//! each with a reader and a writer slot and the readiness last seen.
//!
//! A part: it knows slots, readiness bits and tokens, not the loop (the
//! state in `shared/io.rs` registers the descriptors with the poller,
//! turns events into jobs and wakes, and runs the rechecks).
//!
//! Two kinds of source share the table:
//!
//! - **Watched descriptors** (`add_reader`/`add_writer` on a raw fd): a
//!   slot holds a callback that runs once per iteration while the fd is
//!   ready, asyncio's level-triggered meaning (IO4, IO5). The poller is
//!   edge-triggered, and a callback cannot tell the loop whether it drained
//!   the fd, so a direction whose callback was queued is *rechecked* before
//!   the next iteration with one zero-timeout `poll(2)` over all such
//!   descriptors; still ready, it is queued again. The registration lasts
//!   while a slot is filled (asyncio unregisters an fd with no direction
//!   left).
//! - **Owned sources** (a [`Registered`](crate::Registered) value, used by
//!   the `sock_*` coroutines and transports): registered once for their
//!   lifetime, with the readiness cached until an operation reports
//!   `WouldBlock` and clears it (tokio's rule), so a wait costs no system
//!   call beyond the operation itself. A slot holds the wakers of the
//!   futures waiting for that direction.
//!
//! A source's token is its slab key with a generation in the high bits, so
//! an event for a source that was removed (and its key reused) is ignored.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::Waker;

use slab::Slab;

/// A direction of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Read = 0,
    Write = 1,
}

impl Dir {
    /// Its bit in a readiness word.
    #[inline]
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Its bits in a readiness word: ready, or closed (which no operation
    /// clears: a read after the peer's FIN returns 0 at once, however
    /// short the read before it was).
    #[inline]
    pub(crate) fn bits(self) -> u8 {
        self.bit() | (self.bit() << 2)
    }

    pub(crate) const BOTH: [Dir; 2] = [Dir::Read, Dir::Write];
}

/// Readable, in a readiness word.
pub(crate) const READABLE: u8 = 1;
/// Writable, in a readiness word.
pub(crate) const WRITABLE: u8 = 2;
/// The reading side is closed (the peer's FIN, a hang-up, an error): sticky.
pub(crate) const READ_CLOSED: u8 = 4;
/// The writing side is closed (a hang-up, an error): sticky.
pub(crate) const WRITE_CLOSED: u8 = 8;

/// An `add_reader`/`add_writer` callback: called once per iteration while
/// its descriptor is ready, so it is `FnMut`, shared with the job that runs
/// it, and named (by its type) for reports. Boxed once when set, so that
/// the `Rc` is one word and a job that calls it (the `Rc` and the name)
/// fits a callback's inline storage: no allocation per readiness event.
pub(crate) struct Watch {
    pub(crate) name: &'static str,
    pub(crate) call: RefCell<Box<dyn FnMut()>>,
}

/// A shared [`Watch`].
pub(crate) type IoCallback = Rc<Watch>;

impl Watch {
    /// `callback`, shared and named by its type.
    pub(crate) fn shared<F: FnMut() + 'static>(callback: F) -> IoCallback {
        Rc::new(Watch {
            name: std::any::type_name::<F>(),
            call: RefCell::new(Box::new(callback)),
        })
    }
}

/// `Slot::queued` of a callback found ready in the batch being collected,
/// before its job is queued (so that an event and a recheck in one batch
/// queue it once).
const FOUND: u64 = u64::MAX;

/// One direction's slot.
#[derive(Default)]
struct Slot {
    /// A watched descriptor's callback.
    callback: Option<IoCallback>,
    /// The ready-queue sequence number of the callback's job, while queued.
    queued: Option<u64>,
    /// Whether the callback's descriptor is rechecked before the next
    /// iteration.
    recheck: bool,
    /// Futures waiting for this direction, by waiter id.
    waiters: Vec<(u64, Waker)>,
}

impl Slot {
    /// Whether something waits here (the stuck check's and the poll's
    /// question).
    fn waits(&self) -> bool {
        self.callback.is_some() || !self.waiters.is_empty()
    }
}

struct Source {
    fd: RawFd,
    gen: u32,
    /// An owned source, registered for its lifetime (else a watched fd).
    owned: bool,
    /// The readiness last seen and not yet cleared (owned sources; both
    /// bits at first).
    ready: u8,
    slots: [Slot; 2],
}

/// What an event or a recheck found to do: callbacks to queue (their
/// source key and direction), wakers to wake.
#[derive(Default)]
pub(crate) struct Found {
    pub(crate) callbacks: Vec<(usize, Dir, IoCallback)>,
    pub(crate) wakers: Vec<Waker>,
}

impl Found {
    pub(crate) fn is_empty(&self) -> bool {
        self.callbacks.is_empty() && self.wakers.is_empty()
    }
}

/// What a removed source leaves: its fd to deregister, the sequence
/// numbers of its queued jobs to cancel, and wakers and callbacks to drop
/// outside the table's borrow.
pub(crate) struct Removed {
    pub(crate) fd: RawFd,
    pub(crate) queued: Vec<u64>,
    pub(crate) wakers: Vec<Waker>,
    pub(crate) callbacks: Vec<IoCallback>,
}

/// The table of sources.
#[derive(Default)]
pub(crate) struct Sources {
    slab: Slab<Source>,
    /// Watched and owned descriptors by fd.
    by_fd: HashMap<RawFd, usize>,
    next_gen: u32,
    next_waiter: u64,
    /// Slots with a callback or a waiter, over all sources.
    waiting: usize,
    /// Sources that do not keep the loop from being stuck (the SIGINT
    /// handler of `run`), by key: few, and read only by the stuck check.
    background: Vec<usize>,
    /// Sources with a slot to recheck, by key (may hold stale keys; each is
    /// checked against the slot's flag).
    recheck: Vec<usize>,
    /// What readiness found, kept between iterations for its capacity.
    found: Found,
}

/// What a source is to a caller who looks it up by fd.
pub(crate) enum ByFd {
    /// Not in the table.
    None,
    /// A watched descriptor's source.
    Watched(usize),
    /// An owned source's: refused to `add_reader` and `add_writer`.
    Owned,
}

impl Sources {
    /// Adds a source for `fd`; returns its key and token. The caller
    /// registers it with the poller (and calls `remove` if that fails).
    pub(crate) fn insert(&mut self, fd: RawFd, owned: bool) -> (usize, usize) {
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let key = self.slab.insert(Source {
            fd,
            gen,
            owned,
            // Unknown counts as ready: the first operation is tried at
            // once, and its `WouldBlock` (or short transfer) clears it.
            ready: if owned { READABLE | WRITABLE } else { 0 },
            slots: Default::default(),
        });
        self.by_fd.insert(fd, key);
        (key, token(key, gen))
    }

    /// Removes source `key`: its fd (for the caller to deregister), and the
    /// queued jobs and wakers it held (for the caller to cancel and drop
    /// outside its borrows).
    pub(crate) fn remove(&mut self, key: usize) -> Option<Removed> {
        let source = self.slab.try_remove(key)?;
        self.background.retain(|&background| background != key);
        if self.by_fd.get(&source.fd) == Some(&key) {
            self.by_fd.remove(&source.fd);
        }
        let mut queued = Vec::new();
        let mut wakers = Vec::new();
        let mut callbacks = Vec::new();
        for slot in source.slots {
            if slot.waits() {
                self.waiting -= 1;
            }
            queued.extend(slot.queued);
            callbacks.extend(slot.callback);
            wakers.extend(slot.waiters.into_iter().map(|(_, waker)| waker));
        }
        Some(Removed {
            fd: source.fd,
            queued,
            wakers,
            callbacks,
        })
    }

    /// What `fd` is in the table.
    pub(crate) fn by_fd(&self, fd: RawFd) -> ByFd {
        match self.by_fd.get(&fd) {
            None => ByFd::None,
            Some(&key) if self.slab[key].owned => ByFd::Owned,
            Some(&key) => ByFd::Watched(key),
        }
    }

    /// Whether source `key` is `gen`'s (a live owned source).
    pub(crate) fn is_live(&self, key: usize, gen: u32) -> bool {
        self.slab.get(key).is_some_and(|source| source.gen == gen)
    }

    /// The generation of source `key`.
    pub(crate) fn gen(&self, key: usize) -> u32 {
        self.slab[key].gen
    }

    /// Slots with a callback or a waiter: what the loop's poll and its stuck
    /// check ask.
    #[inline]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Marks source `key` as one that does not keep the loop from being
    /// stuck: what waits on it is not counted by
    /// [`waiting_kept_alive`](Self::waiting_kept_alive).
    pub(crate) fn set_background(&mut self, key: usize) {
        if !self.background.contains(&key) {
            self.background.push(key);
        }
    }

    /// Slots with a callback or a waiter outside background sources: what
    /// the stuck check asks (cold: it counts the background ones).
    pub(crate) fn waiting_kept_alive(&self) -> usize {
        let background: usize = self
            .background
            .iter()
            .filter_map(|&key| self.slab.get(key))
            .map(|source| source.slots.iter().filter(|slot| slot.waits()).count())
            .sum();
        self.waiting - background
    }

    /// Whether some watched descriptor is to be rechecked.
    #[inline]
    pub(crate) fn has_rechecks(&self) -> bool {
        !self.recheck.is_empty()
    }

    /// Whether source `key` has no callback in either direction.
    pub(crate) fn has_no_callback(&self, key: usize) -> bool {
        self.slab[key]
            .slots
            .iter()
            .all(|slot| slot.callback.is_none())
    }

    // ---- watched descriptors ------------------------------------------------

    /// Sets the callback of `dir` (replacing one: its queued job, if any,
    /// is returned for the caller to cancel, with the old callback to drop),
    /// and asks for a recheck before the next iteration: the descriptor may
    /// be ready already. An owned source's callback runs while its cached
    /// readiness shows `dir` ready (it clears it when an operation would
    /// block); a watched descriptor's while the OS says so.
    pub(crate) fn set_callback(
        &mut self,
        key: usize,
        dir: Dir,
        callback: IoCallback,
    ) -> (Option<u64>, Option<IoCallback>) {
        let slot = &mut self.slab[key].slots[dir as usize];
        let waited = slot.waits();
        let old = slot.callback.replace(callback);
        let queued = slot.queued.take();
        slot.recheck = true;
        if !waited {
            self.waiting += 1;
        }
        self.recheck.push(key);
        (queued, old)
    }

    /// Takes the callback of `dir`, and its queued job's sequence number.
    pub(crate) fn take_callback(
        &mut self,
        key: usize,
        dir: Dir,
    ) -> (Option<IoCallback>, Option<u64>) {
        let slot = &mut self.slab[key].slots[dir as usize];
        let old = slot.callback.take();
        let queued = slot.queued.take();
        slot.recheck = false;
        if old.is_some() && !slot.waits() {
            self.waiting -= 1;
        }
        (old, queued)
    }

    /// Notes the sequence number of the job just queued for `key`'s `dir`.
    pub(crate) fn queued(&mut self, key: usize, dir: Dir, seq: u64) {
        let slot = &mut self.slab[key].slots[dir as usize];
        slot.queued = Some(seq);
        if !slot.recheck {
            slot.recheck = true;
            self.recheck.push(key);
        }
    }

    /// Looks again at the sources whose callbacks were queued since the
    /// last call (the list is emptied; a callback queued again is put
    /// back). An owned source whose cached readiness still shows a
    /// direction ready (its callback did not drain it) has that callback
    /// found again into `found`, so it runs once per iteration, as
    /// asyncio's transports read; the watched descriptors are returned,
    /// with the directions to ask the OS about.
    pub(crate) fn take_rechecks(
        &mut self,
        is_queued: impl Fn(u64) -> bool,
        found: &mut Found,
    ) -> Vec<(usize, RawFd, u8)> {
        let mut watched = Vec::new();
        let mut keys = std::mem::take(&mut self.recheck);
        let mut pending = false;
        for &key in &keys {
            let Some(source) = self.slab.get_mut(key) else {
                continue;
            };
            let mut dirs = 0;
            for dir in Dir::BOTH {
                let slot = &mut source.slots[dir as usize];
                if !slot.recheck || slot.callback.is_none() {
                    slot.recheck = false;
                    continue;
                }
                if slot.queued.is_some_and(&is_queued) {
                    // Its call has not run yet: look again after it has.
                    pending = true;
                    continue;
                }
                slot.recheck = false;
                dirs |= dir.bit();
            }
            if dirs == 0 {
                continue;
            }
            if source.owned {
                let ready = Dir::BOTH
                    .into_iter()
                    .filter(|dir| dirs & dir.bit() != 0 && source.ready & dir.bits() != 0)
                    .fold(0, |ready, dir| ready | dir.bit());
                if ready != 0 {
                    self.ready(key, None, ready, &is_queued, found);
                }
            } else {
                watched.push((key, source.fd, dirs));
            }
        }
        // Kept for its capacity (`ready` pushes nothing to it), with the
        // keys whose calls are still queued.
        if pending {
            keys.retain(|&key| {
                self.slab
                    .get(key)
                    .is_some_and(|source| source.slots.iter().any(|slot| slot.recheck))
            });
        } else {
            keys.clear();
        }
        keys.append(&mut self.recheck);
        self.recheck = keys;
        watched
    }

    /// The buffer that readiness is collected into (empty, with the
    /// capacity it had); give it back with [`put_found`](Self::put_found).
    pub(crate) fn take_found(&mut self) -> Found {
        std::mem::take(&mut self.found)
    }

    /// Gives the (emptied) waker buffer back, for its capacity.
    pub(crate) fn put_wakers(&mut self, wakers: Vec<Waker>) {
        if self.found.wakers.capacity() < wakers.capacity() {
            self.found.wakers = wakers;
        }
    }

    /// Gives the buffer back, emptied, for the next iteration.
    pub(crate) fn put_found(&mut self, mut found: Found) {
        found.callbacks.clear();
        found.wakers.clear();
        self.found = found;
    }

    // ---- readiness ------------------------------------------------------------

    /// Readiness `bits` for the source with `token` (from an event) or key
    /// (from a recheck, `gen` then being the source's own): caches it, and
    /// collects what it makes ready into `found`. A callback already queued
    /// is not queued twice; wakers leave their slot (a waiter that is still
    /// pending waits again).
    pub(crate) fn ready(
        &mut self,
        key: usize,
        gen: Option<u32>,
        bits: u8,
        is_queued: impl Fn(u64) -> bool,
        found: &mut Found,
    ) {
        let Some(source) = self.slab.get_mut(key) else {
            return;
        };
        if gen.is_some_and(|gen| gen != source.gen) {
            return;
        }
        source.ready |= bits;
        for dir in Dir::BOTH {
            if bits & dir.bits() == 0 {
                continue;
            }
            let slot = &mut source.slots[dir as usize];
            if let Some(callback) = &slot.callback {
                // Found already in this batch, or queued and not yet run.
                if !slot
                    .queued
                    .is_some_and(|seq| seq == FOUND || is_queued(seq))
                {
                    slot.queued = Some(FOUND);
                    found.callbacks.push((key, dir, Rc::clone(callback)));
                }
            }
            if !slot.waiters.is_empty() {
                found
                    .wakers
                    .extend(slot.waiters.drain(..).map(|(_, waker)| waker));
                if slot.callback.is_none() {
                    self.waiting -= 1;
                }
            }
        }
    }

    /// A new waiter id.
    pub(crate) fn waiter_id(&mut self) -> u64 {
        self.next_waiter += 1;
        self.next_waiter
    }

    /// Whether `key`'s `dir` is ready; if not, `waker` waits for it under
    /// `id` (replacing that waiter's earlier waker).
    pub(crate) fn poll_ready(&mut self, key: usize, dir: Dir, id: u64, waker: &Waker) -> bool {
        let source = &mut self.slab[key];
        if source.ready & dir.bits() != 0 {
            return true;
        }
        let slot = &mut source.slots[dir as usize];
        if let Some((_, old)) = slot.waiters.iter_mut().find(|(waiter, _)| *waiter == id) {
            if !old.will_wake(waker) {
                old.clone_from(waker);
            }
            return false;
        }
        if !slot.waits() {
            self.waiting += 1;
        }
        slot.waiters.push((id, waker.clone()));
        false
    }

    /// Forgets waiter `id` of `key`'s `dir` (its future was dropped), and
    /// hands its waker back for dropping outside the borrow.
    pub(crate) fn remove_waiter(&mut self, key: usize, dir: Dir, id: u64) -> Option<Waker> {
        let slot = &mut self.slab.get_mut(key)?.slots[dir as usize];
        let at = slot.waiters.iter().position(|(waiter, _)| *waiter == id)?;
        let (_, waker) = slot.waiters.swap_remove(at);
        if !slot.waits() {
            self.waiting -= 1;
        }
        Some(waker)
    }

    /// Clears `key`'s readiness for `dir`: an operation found it not ready
    /// (`WouldBlock`, or a short read or write).
    pub(crate) fn clear(&mut self, key: usize, dir: Dir) {
        if let Some(source) = self.slab.get_mut(key) {
            source.ready &= !dir.bit();
        }
    }

    /// Empties the table (the loop closes): the fds to deregister, the
    /// wakers and callbacks to drop.
    pub(crate) fn take_all(&mut self) -> (Vec<RawFd>, Vec<Waker>, Vec<IoCallback>) {
        let keys: Vec<usize> = self.slab.iter().map(|(key, _)| key).collect();
        let mut fds = Vec::new();
        let mut wakers = Vec::new();
        let mut callbacks = Vec::new();
        for key in keys {
            if let Some(removed) = self.remove(key) {
                fds.push(removed.fd);
                wakers.extend(removed.wakers);
                callbacks.extend(removed.callbacks);
            }
        }
        self.recheck.clear();
        (fds, wakers, callbacks)
    }
}

/// A token from a key and a generation (the generation in the high bits
/// where a `usize` has them).
fn token(key: usize, gen: u32) -> usize {
    let key = key + 2;
    #[cfg(target_pointer_width = "64")]
    return key | ((gen as usize) << 32);
    #[cfg(not(target_pointer_width = "64"))]
    {
        let _ = gen;
        key
    }
}

/// The key and generation (where a token has one) that a token names
/// (`None` for the poller's own tokens).
pub(crate) fn untoken(token: usize) -> Option<(usize, Option<u32>)> {
    #[cfg(target_pointer_width = "64")]
    let (key, gen) = (token & 0xffff_ffff, Some((token >> 32) as u32));
    #[cfg(not(target_pointer_width = "64"))]
    let (key, gen) = (token, None);
    key.checked_sub(2).map(|key| (key, gen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn watch() -> IoCallback {
        Watch::shared(|| {})
    }

    #[test]
    fn tokens_name_their_key_and_generation() {
        let mut sources = Sources::default();
        let (key, token) = sources.insert(7, true);
        let (named, gen) = untoken(token).unwrap();
        assert_eq!(named, key);
        if let Some(gen) = gen {
            assert_eq!(gen, sources.gen(key));
        }
        assert_eq!(untoken(0), None);
        assert_eq!(untoken(1), None);
    }

    #[test]
    fn an_event_for_a_removed_and_reused_key_is_ignored() {
        let mut sources = Sources::default();
        let (key, old_token) = sources.insert(3, true);
        sources.remove(key).unwrap();
        let (again, _) = sources.insert(4, true);
        assert_eq!(again, key, "the slab reuses the key");
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let id = sources.waiter_id();
        // A fresh owned source counts as ready until an operation says not.
        assert!(sources.poll_ready(key, Dir::Read, id, &waker));
        sources.clear(key, Dir::Read);
        assert!(!sources.poll_ready(key, Dir::Read, id, &waker));
        let mut found = Found::default();
        let (key_of_old, old_gen) = untoken(old_token).unwrap();
        if old_gen.is_some() {
            sources.ready(key_of_old, old_gen, READABLE, |_| false, &mut found);
            assert!(found.is_empty(), "the old generation's event wakes nothing");
        }
        sources.ready(key, None, READABLE, |_| false, &mut found);
        assert_eq!(found.wakers.len(), 1);
    }

    #[test]
    fn waiting_counts_slots_with_a_callback_or_a_waiter() {
        let mut sources = Sources::default();
        let (key, _) = sources.insert(5, false);
        assert_eq!(sources.waiting(), 0);
        sources.set_callback(key, Dir::Read, watch());
        // Replacing does not count twice.
        sources.set_callback(key, Dir::Read, watch());
        assert_eq!(sources.waiting(), 1);
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let (a, b) = (sources.waiter_id(), sources.waiter_id());
        assert!(!sources.poll_ready(key, Dir::Write, a, &waker));
        assert!(!sources.poll_ready(key, Dir::Write, b, &waker));
        // Polled again, a waiter keeps its one place.
        assert!(!sources.poll_ready(key, Dir::Write, a, &waker));
        assert_eq!(sources.waiting(), 2);
        assert!(sources.remove_waiter(key, Dir::Write, a).is_some());
        assert!(sources.remove_waiter(key, Dir::Write, a).is_none());
        assert_eq!(sources.waiting(), 2);
        // Readiness takes the remaining waiter: the slot is empty again.
        let mut found = Found::default();
        sources.ready(key, None, WRITABLE, |_| false, &mut found);
        assert_eq!(found.wakers.len(), 1);
        assert_eq!(sources.waiting(), 1);
        let (old, _) = sources.take_callback(key, Dir::Read);
        assert!(old.is_some());
        assert_eq!(sources.waiting(), 0);
        assert!(sources.has_no_callback(key));
    }

    #[test]
    fn a_callback_is_found_once_per_batch_and_not_while_queued() {
        let mut sources = Sources::default();
        let (key, _) = sources.insert(6, false);
        sources.set_callback(key, Dir::Read, watch());
        let mut found = Found::default();
        // An event and a recheck in one batch: found once.
        sources.ready(key, None, READABLE, |_| false, &mut found);
        sources.ready(key, None, READABLE | WRITABLE, |_| false, &mut found);
        assert_eq!(found.callbacks.len(), 1);
        sources.queued(key, Dir::Read, 41);
        // Queued and not yet run: not again.
        let mut later = Found::default();
        sources.ready(key, None, READABLE, |seq| seq == 41, &mut later);
        assert!(later.is_empty());
        // Run: found again, and a recheck is due for it.
        sources.ready(key, None, READABLE, |_| false, &mut later);
        assert_eq!(later.callbacks.len(), 1);
        assert!(sources.has_rechecks());
        let mut again = Found::default();
        let watched = sources.take_rechecks(|_| false, &mut again);
        assert_eq!(watched, [(key, 6, READABLE)]);
        assert!(again.is_empty());
        assert!(!sources.has_rechecks());
    }

    #[test]
    fn a_recheck_waits_for_its_queued_call_to_run() {
        let mut sources = Sources::default();
        let (key, _) = sources.insert(9, false);
        sources.set_callback(key, Dir::Read, watch());
        let mut found = Found::default();
        sources.ready(key, None, READABLE, |_| false, &mut found);
        sources.queued(key, Dir::Read, 7);
        // Looked at while the call is still queued: kept for later.
        let mut again = Found::default();
        assert!(sources.take_rechecks(|seq| seq == 7, &mut again).is_empty());
        assert!(sources.has_rechecks());
        // Once it ran: asked about.
        let watched = sources.take_rechecks(|_| false, &mut again);
        assert_eq!(watched, [(key, 9, READABLE)]);
        assert!(!sources.has_rechecks());
    }

    #[test]
    fn readiness_is_cached_until_cleared() {
        let mut sources = Sources::default();
        let (key, _) = sources.insert(8, true);
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let id = sources.waiter_id();
        sources.clear(key, Dir::Read);
        sources.clear(key, Dir::Write);
        let mut found = Found::default();
        sources.ready(key, None, READABLE, |_| false, &mut found);
        assert!(sources.poll_ready(key, Dir::Read, id, &waker));
        assert!(sources.poll_ready(key, Dir::Read, id, &waker));
        assert!(!sources.poll_ready(key, Dir::Write, id, &waker));
        sources.clear(key, Dir::Read);
        assert!(!sources.poll_ready(key, Dir::Read, id, &waker));
        let (fds, wakers, callbacks) = sources.take_all();
        assert_eq!((fds, wakers.len(), callbacks.len()), (vec![8], 2, 0));
        assert_eq!(sources.waiting(), 0);
    }
}
