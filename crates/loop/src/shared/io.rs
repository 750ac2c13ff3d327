//! The state's I/O: registering sources with the poller, watched
//! descriptors (`add_reader`/`add_writer`), waits of owned sources, and the
//! step of the iteration that turns readiness into jobs and wakes (see
//! ARCHITECTURE.md, "One loop iteration", step 2).

use std::io;
use std::os::fd::RawFd;
use std::task::Waker;

use asyncio_core::IntoThunk;

use super::{PollerSlot, Shared};
use crate::ready::Job;
use crate::sources::{self, ByFd, Dir, IoCallback, Removed, Sources};
use crate::LoopError;

impl Shared {
    /// Runs `op` on the loop's poller, made now if this is the first use;
    /// `None` where there is none (Miri, or no descriptor left).
    pub(super) fn with_poller<R>(
        &self,
        op: impl FnOnce(&mut crate::poller::Poller) -> R,
    ) -> Option<R> {
        let mut slot = self.poller.borrow_mut();
        self.make_poller(&mut slot);
        match &mut *slot {
            PollerSlot::Made(poller) => Some(op(poller)),
            _ => None,
        }
    }

    /// Registers `fd` as a source (`owned`: for its lifetime, else as a
    /// watched descriptor); returns its key and generation.
    pub(crate) fn register_source(
        &self,
        fd: RawFd,
        owned: bool,
    ) -> Result<(usize, u32), LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        if !matches!(self.sources.borrow().by_fd(fd), ByFd::None) {
            return Err(LoopError::fd_in_use(fd));
        }
        let (key, token) = self.sources_mut().insert(fd, owned);
        let registered = self
            .with_poller(|poller| poller.register(fd, token))
            .unwrap_or_else(|| Err(io::Error::new(io::ErrorKind::Unsupported, "no poller")));
        if let Err(error) = registered {
            // Nothing was queued or waited on it yet.
            drop(self.sources_mut().remove(key));
            return Err(LoopError::io(error));
        }
        let gen = self.sources.borrow().gen(key);
        Ok((key, gen))
    }

    /// Marks source `key` as not keeping the loop from being stuck.
    pub(crate) fn set_background_source(&self, key: usize, gen: u32) {
        if self.sources.borrow().is_live(key, gen) {
            self.sources_mut().set_background(key);
        }
    }

    /// Whether a source could still bring work: a waiting slot of a source
    /// that is not in the background, or a descriptor to recheck (the stuck
    /// check's and the manual clock's question; cold).
    pub(super) fn io_keeps_alive(&self) -> bool {
        if !self.io_active.get() {
            return false;
        }
        let sources = self.sources.borrow();
        sources.has_rechecks() || sources.waiting_kept_alive() > 0
    }

    /// Removes source `key` (of generation `gen`) and deregisters its fd:
    /// its queued jobs are cancelled, its wakers and callbacks dropped.
    pub(crate) fn deregister_source(&self, key: usize, gen: u32) {
        if !self.sources.borrow().is_live(key, gen) {
            return;
        }
        let removed = self.sources_mut().remove(key);
        if let Some(removed) = removed {
            self.release_source(removed);
        }
    }

    fn release_source(&self, removed: Removed) {
        let fd = removed.fd;
        // A descriptor closed meanwhile is no longer registered: ignore.
        let _ = self.with_poller(|poller| poller.deregister(fd));
        for seq in removed.queued {
            self.cancel(seq);
        }
        self.drop_reporting("a waker of a removed source", removed.wakers);
        self.drop_reporting("a reader or writer callback", removed.callbacks);
    }

    // ---- watched descriptors (add_reader and add_writer) ---------------------

    /// asyncio's `_add_reader`/`_add_writer`: watches `fd` for `dir` with
    /// `callback`, replacing (and cancelling) the one it had.
    pub(crate) fn add_watch<F: FnMut() + 'static>(
        &self,
        fd: RawFd,
        dir: Dir,
        callback: F,
    ) -> Result<(), LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        let found = self.sources.borrow().by_fd(fd);
        let key = match found {
            ByFd::Owned => return Err(LoopError::fd_in_use(fd)),
            ByFd::Watched(key) => key,
            ByFd::None => self.register_source(fd, false)?.0,
        };
        self.install_callback(key, dir, sources::Watch::shared(callback));
        Ok(())
    }

    /// asyncio's `_remove_reader`/`_remove_writer`: whether `fd` was watched
    /// for `dir`. A descriptor watched for neither direction is
    /// deregistered. A closed loop watches nothing.
    pub(crate) fn remove_watch(&self, fd: RawFd, dir: Dir) -> bool {
        let ByFd::Watched(key) = self.sources.borrow().by_fd(fd) else {
            return false;
        };
        let had = self.uninstall_callback(key, dir);
        if self.sources.borrow().has_no_callback(key) {
            let gen = self.sources.borrow().gen(key);
            self.deregister_source(key, gen);
        }
        had
    }

    /// Sets `key`'s callback for `dir`; the one it replaces is dropped and
    /// its queued call cancelled.
    fn install_callback(&self, key: usize, dir: Dir, callback: IoCallback) {
        let (queued, old) = self.sources_mut().set_callback(key, dir, callback);
        if let Some(seq) = queued {
            self.cancel(seq);
        }
        self.drop_reporting("a replaced reader or writer callback", old);
    }

    /// Removes `key`'s callback for `dir` (cancelling its queued call):
    /// whether it had one.
    fn uninstall_callback(&self, key: usize, dir: Dir) -> bool {
        let (old, queued) = self.sources_mut().take_callback(key, dir);
        if let Some(seq) = queued {
            self.cancel(seq);
        }
        let had = old.is_some();
        self.drop_reporting("a removed reader or writer callback", old);
        had
    }

    // ---- owned sources ---------------------------------------------------------

    /// Sets the callback of owned source `(key, gen)` for `dir` (replacing
    /// and cancelling one it had).
    pub(crate) fn set_source_callback<F: FnMut() + 'static>(
        &self,
        key: usize,
        gen: u32,
        dir: Dir,
        callback: F,
    ) -> Result<(), LoopError> {
        if self.closed.get() || !self.sources.borrow().is_live(key, gen) {
            return Err(LoopError::closed());
        }
        self.install_callback(key, dir, sources::Watch::shared(callback));
        Ok(())
    }

    /// Removes the callback of owned source `(key, gen)` for `dir`: whether
    /// it had one.
    pub(crate) fn remove_source_callback(&self, key: usize, gen: u32, dir: Dir) -> bool {
        if !self.sources.borrow().is_live(key, gen) {
            return false;
        }
        self.uninstall_callback(key, dir)
    }

    /// A new id for a future that waits on a source.
    pub(crate) fn io_waiter_id(&self) -> u64 {
        self.sources_mut().waiter_id()
    }

    /// Whether owned source `(key, gen)` is ready for `dir`; if not, the
    /// waiter `id` waits for it with `waker`. An error if the source is
    /// gone (the loop closed).
    pub(crate) fn poll_source(
        &self,
        key: usize,
        gen: u32,
        dir: Dir,
        id: u64,
        waker: &Waker,
    ) -> Result<bool, LoopError> {
        let mut sources = self.sources_mut();
        if self.closed.get() || !sources.is_live(key, gen) {
            return Err(LoopError::closed());
        }
        Ok(sources.poll_ready(key, dir, id, waker))
    }

    /// The waiter `id` no longer waits on `(key, gen)` for `dir`.
    pub(crate) fn forget_io_waiter(&self, key: usize, gen: u32, dir: Dir, id: u64) {
        let waker = {
            let mut sources = self.sources_mut();
            if !sources.is_live(key, gen) {
                return;
            }
            sources.remove_waiter(key, dir, id)
        };
        self.drop_reporting("a waker of a dropped wait", waker);
    }

    /// Clears the cached readiness of `(key, gen)` for `dir`.
    pub(crate) fn clear_ready(&self, key: usize, gen: u32, dir: Dir) {
        let mut sources = self.sources_mut();
        if sources.is_live(key, gen) {
            sources.clear(key, dir);
        }
    }

    // ---- the iteration's I/O step ----------------------------------------------

    /// Whether some slot waits (a callback or a waiter), or a watched
    /// descriptor is to be rechecked: then the loop polls even with work
    /// queued (IO1), and cannot be stuck.
    #[inline]
    pub(super) fn io_waits(&self) -> bool {
        self.io_active.get()
    }

    /// Whether a watched descriptor is to be rechecked: the loop must not
    /// block before it is.
    #[inline]
    pub(super) fn io_rechecks(&self) -> bool {
        self.io_active.get() && self.sources.borrow().has_rechecks()
    }

    /// The table of sources, to change: `io_active` follows it when the
    /// borrow ends, so that the iteration's question costs one load.
    fn sources_mut(&self) -> SourcesMut<'_> {
        SourcesMut {
            sources: self.sources.borrow_mut(),
            active: &self.io_active,
        }
    }

    /// Polls without waiting and queues what is ready. Out of line: the
    /// iteration that calls it is the callbacks' hot loop.
    #[inline(never)]
    pub(super) fn poll_io_now(&self) {
        let _ = self.with_poller(|poller| poller.poll_now());
        self.queue_io();
    }

    /// Turns the I/O events of the last polls and the rechecks of watched
    /// descriptors into jobs queued after what is queued (reader before
    /// writer for one source), and wakes the futures waiting on sources.
    #[inline(never)]
    pub(super) fn queue_io(&self) {
        let mut found = self.sources_mut().take_found();
        {
            let ready = self.ready.borrow();
            let mut poller = self.poller.borrow_mut();
            let mut sources = self.sources_mut();
            let is_queued = |seq| ready.name(seq).is_some();
            // Last iteration's callbacks first: what they left ready runs
            // again; an event for the same source in this batch then finds
            // its callback queued already.
            if sources.has_rechecks() {
                let watched = sources.take_rechecks(is_queued, &mut found);
                for (key, bits) in recheck(watched) {
                    sources.ready(key, None, bits, is_queued, &mut found);
                }
            }
            if let PollerSlot::Made(poller) = &mut *poller {
                let events = poller.events_mut();
                for &(token, bits) in events.iter() {
                    if let Some((key, gen)) = sources::untoken(token) {
                        sources.ready(key, gen, bits, is_queued, &mut found);
                    }
                }
                events.clear();
            }
        }
        if found.is_empty() {
            self.sources_mut().put_found(found);
            return;
        }
        for (key, dir, callback) in found.callbacks.drain(..) {
            let name = callback.name;
            let job = asyncio_core::named(name, move || {
                // A callback cannot run inside itself: a nested run of the
                // loop is refused, so this borrow is always free.
                if let Ok(mut call) = callback.call.try_borrow_mut() {
                    (*call)();
                }
            });
            let seq = self
                .ready
                .borrow_mut()
                .push_with(|| Job::Callback(job.into_thunk()));
            self.sources_mut().queued(key, dir, seq);
        }
        // Woken outside every borrow: a foreign waker's `wake` is user code.
        let mut wakers = std::mem::take(&mut found.wakers);
        self.sources_mut().put_found(found);
        for waker in wakers.drain(..) {
            waker.wake();
        }
        self.sources_mut().put_wakers(wakers);
    }

    /// Empties the table of sources (the loop closes): fds deregistered,
    /// wakers and callbacks dropped.
    pub(super) fn clear_sources(&self) {
        let (fds, wakers, callbacks) = self.sources_mut().take_all();
        if fds.is_empty() {
            // Nothing was registered: no poller to make just to close.
            return;
        }
        let _ = self.with_poller(|poller| {
            for fd in fds {
                let _ = poller.deregister(fd);
            }
        });
        self.drop_reporting("a waker of a source dropped by close", wakers);
        self.drop_reporting("a reader or writer callback dropped by close", callbacks);
    }
}

/// A mutable borrow of the sources that updates `Shared::io_active` when
/// it ends.
struct SourcesMut<'a> {
    sources: std::cell::RefMut<'a, Sources>,
    active: &'a std::cell::Cell<bool>,
}

impl std::ops::Deref for SourcesMut<'_> {
    type Target = Sources;

    fn deref(&self) -> &Sources {
        &self.sources
    }
}

impl std::ops::DerefMut for SourcesMut<'_> {
    fn deref_mut(&mut self) -> &mut Sources {
        &mut self.sources
    }
}

impl Drop for SourcesMut<'_> {
    fn drop(&mut self) {
        self.active
            .set(self.sources.waiting() != 0 || self.sources.has_rechecks());
    }
}

/// Which of the watched descriptors `(key, fd, directions)` are ready now:
/// one `poll(2)` that does not wait. A descriptor the call cannot check
/// (closed: `POLLNVAL`) counts as ready, so that its callback runs and
/// finds out, as asyncio's selector would report it.
fn recheck(watched: Vec<(usize, RawFd, u8)>) -> Vec<(usize, u8)> {
    if watched.is_empty() {
        return Vec::new();
    }
    let mut fds: Vec<libc::pollfd> = watched
        .iter()
        .map(|&(_, fd, dirs)| libc::pollfd {
            fd,
            events: if dirs & sources::READABLE != 0 {
                libc::POLLIN
            } else {
                0
            } | if dirs & sources::WRITABLE != 0 {
                libc::POLLOUT
            } else {
                0
            },
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a valid array of `fds.len()` initialised `pollfd`s
    // that `poll` may write `revents` into; a zero timeout does not wait.
    let status = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if status <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (pollfd, &(key, _, dirs)) in fds.iter().zip(&watched) {
        let revents = pollfd.revents;
        let mut bits = 0;
        let any = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
        if revents & (libc::POLLIN | any) != 0 {
            bits |= sources::READABLE;
        }
        if revents & (libc::POLLOUT | any) != 0 {
            bits |= sources::WRITABLE;
        }
        bits &= dirs;
        if bits != 0 {
            out.push((key, bits));
        }
    }
    out
}
