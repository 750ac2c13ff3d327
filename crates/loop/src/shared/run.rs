//! The iteration: asyncio's `_run_once` and the wait between iterations,
//! composed of the state's parts (the inbox from other threads, the ready
//! queue, the timers, the poller), and `run_forever`/`run_until_complete`
//! around it. See ARCHITECTURE.md, "One loop iteration".

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_core::{context, Callback, Future, FutureError};

use super::{registry, PollerSlot, Shared, TaskStep};
use crate::clock::{self, Clock};
use crate::poller::Poller;
use crate::ready::Job;
use crate::remote::RemoteItem;
use crate::LoopError;

impl Shared {
    pub(crate) fn check_can_run(&self) -> Result<(), LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        if self.running.get() {
            return Err(LoopError::already_running());
        }
        if registry::running() != 0 {
            return Err(LoopError::another_loop_running());
        }
        Ok(())
    }

    pub(crate) fn run_forever(&self) -> Result<(), LoopError> {
        self.check_can_run()?;
        let _running = RunGuard::enter(self);
        loop {
            self.run_once();
            if self.stopping.get() {
                return Ok(());
            }
        }
    }

    /// One iteration for a host program, waiting at most `timeout` for
    /// something to do (on a manual clock, moving it by at most that).
    pub(crate) fn run_one_iteration(&self, timeout: Option<Duration>) -> Result<(), LoopError> {
        self.check_can_run()?;
        let _running = RunGuard::enter(self);
        self.iterate(timeout);
        Ok(())
    }

    /// One iteration with no limit on its wait.
    #[inline(always)]
    fn run_once(&self) {
        self.iterate(None);
    }

    /// One iteration (asyncio's `_run_once`): take in remote wake-ups, wait
    /// for work if there is none and no stop is pending (until `limit` at
    /// most), then run exactly the entries that were queued when the
    /// iteration began.
    fn iterate(&self, timeout: Option<Duration>) {
        self.drain_remote();
        let has_timers = self.timers.borrow().len() != 0;
        let mut idle = self.ready.borrow().len() == 0 && !self.stopping.get();
        if idle && self.io_rechecks() {
            // Last iteration's I/O callbacks: a source they left ready (or
            // a watched descriptor still ready) is queued again without a
            // wait; one they drained waits for its next event.
            self.queue_io();
            idle = self.ready.borrow().len() == 0;
        }
        if idle {
            self.wait(timeout);
        } else if self.io_waits() {
            // Work is queued (or a stop): poll without waiting, as asyncio
            // selects with a zero timeout, so that a busy loop never
            // starves I/O (IO1). With nothing waiting on I/O this is one
            // load and no system call.
            self.poll_io_now();
        }
        // Waiting runs no user code, so it cannot have added timers.
        if has_timers {
            self.queue_due_timers();
        }
        let count = {
            let mut ready = self.ready.borrow_mut();
            let count = ready.len();
            ready.note_iteration(count);
            count
        };
        // Whether context variables are in use on this thread, read once
        // per batch and again only after a job that may have started using
        // them.
        let mut contexts = context::in_use();
        for _ in 0..count {
            let popped = self.ready.borrow_mut().pop();
            match popped {
                Some(job) => contexts = self.run_job(job, contexts),
                // Only `close` empties the queue, and it refuses a running loop.
                None => break,
            }
        }
        if has_timers {
            self.timers.borrow_mut().end_iteration();
        }
    }

    /// Nothing is ready and no stop is pending: wait until the next timer
    /// is due or another thread brings work, as asyncio blocks in `select()`
    /// with the next deadline as its timeout.
    ///
    /// `timeout` (from a host program's `run_once`) bounds the wait: real
    /// time on the system clock, and on a manual clock how far it may move.
    ///
    /// A manual clock does not sleep: it jumps to the next deadline. But not
    /// while work that runs in real time is outstanding (an executor job or
    /// any other `Completer`): then the loop waits for it in real time, as
    /// tokio's paused clock does not auto-advance while blocking work runs,
    /// so that `wait_for(run_in_executor(...), 5.0)` is not timed out by a
    /// jump while the job sleeps for 100 ms. A deadline that never comes
    /// ([`NEVER`](crate::clock::NEVER)) is no deadline.
    fn wait(&self, timeout: Option<Duration>) {
        let limit = timeout.map(|timeout| {
            Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 30))
        });
        // A manual clock with I/O in flight waits in real time until this
        // point (set on the first look that finds I/O in flight) before it
        // jumps.
        let mut grace: Option<Instant> = None;
        loop {
            let next = self.timers.borrow_mut().next_deadline();
            let until = match (next, &self.clock) {
                (Some(deadline), Clock::Manual(clock)) => {
                    if self.awaits_completions() {
                        // Real-time work outstanding: wait for it (or for
                        // the host's limit), then look again.
                        limit
                    } else if let Some(until) = self.io_grace(clock, &mut grace) {
                        // A peer, a child or a signal could still deliver
                        // something: give it a real interval before the
                        // jump (trio's `autojump_threshold`).
                        Some(limit.map_or(until, |limit| limit.min(until)))
                    } else {
                        let cap = timeout.map_or(clock::NEVER, |timeout| {
                            clock::Delay::from(timeout).after(clock.now_nanos())
                        });
                        clock.advance_to(deadline.min(cap));
                        self.poll_io_if_waiting();
                        return;
                    }
                }
                (Some(deadline), Clock::System) => {
                    let deadline = clock::instant(deadline);
                    Some(limit.map_or(deadline, |l| l.min(deadline)))
                }
                // Only another thread's wake can bring work now.
                (None, _) => {
                    if limit.is_none() && self.detect_stuck.get() && self.nothing_can_wake() {
                        self.stuck.set(true);
                        self.stopping.set(true);
                        return;
                    }
                    limit
                }
            };
            match until {
                Some(until) if until <= Instant::now() => {
                    self.poll_io_if_waiting();
                    return;
                }
                _ => self.wait_in_poller(until),
            }
            self.queue_io();
            self.drain_remote();
            if self.ready.borrow().len() != 0 || self.stopping.get() {
                return;
            }
        }
    }

    /// One wait in the OS poller (made now if this is the first), or parked
    /// where there is none (Miri, no file descriptor left).
    fn wait_in_poller(&self, until: Option<Instant>) {
        let mut slot = self.poller.borrow_mut();
        self.make_poller(&mut slot);
        let poller = match &mut *slot {
            PollerSlot::Made(poller) => Some(poller),
            _ => None,
        };
        self.remote.wait(until, poller);
    }

    /// Until when a manual-clock loop waits for I/O in flight before it
    /// jumps: `None` once that point passed, or with no I/O in flight.
    fn io_grace(&self, clock: &crate::ManualClock, grace: &mut Option<Instant>) -> Option<Instant> {
        if !self.io_keeps_alive() {
            return None;
        }
        let now = Instant::now();
        let until = *grace.get_or_insert_with(|| now.checked_add(clock.io_grace()).unwrap_or(now));
        (until > now).then_some(until)
    }

    /// A wait that ends without blocking still polls for I/O, as asyncio's
    /// `select` with a zero timeout does.
    fn poll_io_if_waiting(&self) {
        if self.io_waits() {
            self.poll_io_now();
        }
    }

    /// Makes the poller in `slot` if it was not made yet.
    pub(super) fn make_poller(&self, slot: &mut PollerSlot) {
        if matches!(*slot, PollerSlot::NotYet) {
            // Miri cannot make one: it must not even try.
            let made = if cfg!(miri) { None } else { Poller::new().ok() };
            *slot = match made {
                Some((poller, notifier)) => {
                    self.remote.set_notifier(notifier);
                    PollerSlot::Made(poller)
                }
                None => PollerSlot::Unavailable,
            };
        }
    }

    /// Whether nothing could ever bring the loop work again: called with
    /// nothing ready, no live timer and no stop pending, so the only sources
    /// left are other threads (a `ThreadsafeHandle`, a `Completer`, which
    /// every executor job holds) and wakers of its tasks held outside this
    /// thread's futures. A waker that one of our futures holds is inert: the
    /// future is `!Send`, and only code the loop runs could complete it, and
    /// the loop has none left to run.
    ///
    /// The counts are read first and `pending` last: a thread that sent a
    /// wake and then dropped its waker or handle is seen by one or the other.
    #[cold]
    fn nothing_can_wake(&self) -> bool {
        // A source with a waiting reader or writer: a peer, a child or the
        // kernel can make it ready (IO87).
        if self.remote.has_handles() || self.awaits_completions() || self.io_keeps_alive() {
            return false;
        }
        let live = self.live_waker_clones();
        let outlived = self.prune_outlived();
        // Every clone the census counts is one of these, and so is one that
        // an infinite sleep's timer holds; any other is held outside and
        // could wake a task.
        let inert = asyncio_core::census::held(self.census_id())
            + self.timers.borrow().wakers_held_for_ever();
        if live + outlived != inert {
            return false;
        }
        // `Arc::strong_count` loads relaxed: the fence orders it before the
        // load of `pending` (pairing with the release of the clone's drop).
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        !self.remote.maybe_pending()
    }

    /// The loop's id as the core census knows it (ids are never 0).
    #[inline]
    pub(crate) fn census_id(&self) -> std::num::NonZeroU64 {
        std::num::NonZeroU64::new(self.id).unwrap_or(std::num::NonZeroU64::MIN)
    }

    /// Queues what other threads sent, in the order they sent it. Runs no
    /// user code; `draining` keeps the pushes it makes from draining again
    /// (which would put later items before earlier ones).
    #[inline(always)]
    pub(super) fn drain_remote(&self) {
        // Almost always nothing came: one load, no call.
        if self.remote.take_pending() {
            self.drain_pending_remote();
        }
    }

    #[cold]
    #[inline(never)]
    fn drain_pending_remote(&self) {
        self.draining.set(true);
        while let Some(item) = self.remote.pop() {
            match item {
                RemoteItem::Wake(key, seq) => self.wake_task(key, seq),
                RemoteItem::Call(callback) => {
                    let _ = self.push_with(|| Job::Callback(Callback::from_thunk(callback)));
                }
                RemoteItem::Stop => {
                    let _ =
                        self.push_with(|| Job::Callback(Callback::from_thunk(stop_running_loop)));
                }
                // The wait it ended looks again; there is nothing to queue.
                RemoteItem::Recheck => {}
            }
        }
        self.draining.set(false);
    }

    /// Runs `job`; `contexts` says whether context variables are in use on
    /// this thread, and the return value whether they are now.
    #[inline]
    fn run_job(&self, job: Job<Rc<dyn TaskStep>>, contexts: bool) -> bool {
        match job {
            Job::Callback(callback) => {
                // A callback that captured no context (none was in use when
                // it was scheduled, or it came from another thread) runs in
                // a fresh empty one, so that nothing it sets leaks.
                if contexts {
                    if let Err(panicked) = context::isolated(|| callback.call_catch_unwind(&())) {
                        self.report_callback_panic(panicked);
                    }
                    return true;
                }
                // (`call_catch_unwind` never unwinds.)
                if let Err(panicked) = callback.call_catch_unwind(&()) {
                    self.report_callback_panic(panicked);
                }
                context::forget_made()
            }
            // A step catches every panic of user code itself (see `Task::step`).
            Job::Task(task) => {
                task.step(self);
                context::in_use()
            }
        }
    }

    /// Runs the loop until `future` (this loop's, checked by the caller
    /// after `check_can_run`) is done, and reads it with `read`.
    pub(crate) fn run_until_done<T: 'static, R>(
        &self,
        future: Future<T>,
        read: impl FnOnce(&Future<T>) -> Result<R, FutureError>,
    ) -> Result<R, LoopError> {
        // asyncio's `_run_until_complete_cb`: stop once the future is done.
        // `wanted` makes a stop that was queued but not run by the time this
        // call returns a no-op, so it cannot stop a later run (asyncio's
        // stale stop, which CPython leaves queued).
        let wanted = Rc::new(Cell::new(true));
        let stop_when_done = {
            let wanted = Rc::clone(&wanted);
            let this = self.this.clone();
            move |_: &Future<T>| {
                if let (true, Some(shared)) = (wanted.get(), this.upgrade()) {
                    shared.stop();
                }
            }
        };
        let key = future.add_done_callback(stop_when_done)?;
        self.stuck.set(false);
        self.detect_stuck.set(true);
        let ran = self.run_forever();
        self.detect_stuck.set(false);
        wanted.set(false);
        future.remove_done_callback(key);
        ran?;
        if !future.done() {
            if self.stuck.replace(false) {
                return Err(LoopError::stuck());
            }
            return Err(LoopError::stopped());
        }
        read(&future).map_err(LoopError::from)
    }
}

/// Marks the loop running for the length of `run_forever`, and undoes it on
/// every exit path.
struct RunGuard<'a> {
    shared: &'a Shared,
}

impl<'a> RunGuard<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.running.set(true);
        registry::set_running(shared.id);
        RunGuard { shared }
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.shared.running.set(false);
        self.shared.stopping.set(false);
        registry::set_running(0);
    }
}

/// The job a `ThreadsafeHandle::stop` becomes: stops the loop running it
/// (jobs run only while their loop runs).
fn stop_running_loop() {
    if let Some(shared) = registry::find(registry::running()) {
        shared.stop();
    }
}
