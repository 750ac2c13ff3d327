//! The loop's state: one value that composes the loop's parts (the ready
//! queue, the timers, the clock, the poller, the inbox from other threads,
//! the task table, the futures awaiting completers, the executor and the
//! exception handler), shared by `EventLoop`, `LoopHandle`, handles, tasks
//! and futures.
//!
//! The parts are lower modules that know nothing of the state (`ready`,
//! `timers`, `clock`, `poller`, `remote`, `executor`); this module holds
//! them and the methods that schedule into them, and its children add one
//! concern each: [`registry`] (the loops of this thread, for wakers and
//! handles), [`tasks`] (what the loop knows of a task), `completions`
//! (futures another thread completes), `run` (the iteration and the wait)
//! and `report` (errors and the exception handler). Modules above (tasks,
//! handles, completers, sleeps, the loop's API) reach the state through
//! these methods; the state imports none of them.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::Waker;

use asyncio_core::context;
use asyncio_core::{Callback, Closed, ExceptionContext, Future, IntoThunk, Schedule};
use slab::Slab;

use crate::clock::{self, Clock, Nanos};
use crate::executor::{Executor, ThreadPool};
use crate::poller::Poller;
use crate::ready::{Job, Ready};
use crate::remote::{Remote, RemoteItem};
#[cfg(unix)]
use crate::sources::Sources;
use crate::timers::{Action, Cancelled, Timers};
use crate::LoopError;

mod completions;
#[cfg(unix)]
mod io;
#[cfg(not(unix))]
mod no_io;
pub(crate) mod registry;
mod report;
mod run;
pub(crate) mod tasks;

pub(crate) use report::drop_to_stderr;
pub use report::{default_exception_handler, ExceptionHandler};
pub(crate) use tasks::{TaskId, TaskStep, Wakers};

/// The loop's OS wait, made on its first wait.
enum PollerSlot {
    NotYet,
    Made(Poller),
    /// It could not be made (no file descriptor left, or Miri, which cannot
    /// run it): the thread parks instead, for good.
    Unavailable,
}

/// **Invariant:** no `RefCell` here is borrowed while user code runs
/// (callbacks, coroutines, exception handlers, or the `Drop` of anything the
/// user gave us): values are moved out, the borrow ends, then the code runs.
pub(crate) struct Shared {
    pub(crate) id: u64,
    ready: RefCell<Ready<Rc<dyn TaskStep>>>,
    timers: RefCell<Timers>,
    clock: Clock,
    /// The OS wait, made on the first wait or registration.
    poller: RefCell<PollerSlot>,
    /// The descriptors registered with the poller.
    #[cfg(unix)]
    sources: RefCell<Sources>,
    /// Whether a source has a waiting slot or a recheck (kept by
    /// `shared/io.rs` after each change to `sources`).
    #[cfg(unix)]
    io_active: Cell<bool>,
    /// Live tasks by key, for wakers (which name a task, not hold it).
    tasks: RefCell<Slab<tasks::TaskEntry>>,
    next_task_seq: Cell<u64>,
    /// The key of the task whose step is running.
    current: Cell<Option<usize>>,
    remote: Arc<Remote>,
    /// Set while `drain_remote` runs.
    draining: Cell<bool>,
    /// Futures that a `Completer` on another thread will complete.
    awaiting: RefCell<completions::Awaiting>,
    /// Where `run_in_executor` sends blocking calls; made on first use.
    executor: RefCell<Option<Arc<dyn Executor>>>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    closed: Cell<bool>,
    /// Set by `run_until_complete`: a wait that nothing could ever end
    /// stops the loop instead, and sets `stuck`.
    detect_stuck: Cell<bool>,
    stuck: Cell<bool>,
    /// Wakers of finished tasks that were still cloned when their task
    /// finished: one of our futures may hold such a clone (and count it in
    /// the census) or something outside may, so the stuck check counts
    /// them. Pruned of those nobody else holds any more.
    outlived: RefCell<Vec<Arc<tasks::TaskWaker>>>,
    /// Finished tasks' wakers that nothing else holds, for later tasks.
    spare_wakers: RefCell<Vec<tasks::Wakers>>,
    handler: RefCell<Option<ExceptionHandler>>,
    /// A weak pointer to this very value, for the futures it creates and the
    /// stop callback of `run_until_complete`.
    this: Weak<Shared>,
}

impl Shared {
    pub(crate) fn new(clock: Clock) -> Rc<Shared> {
        // Fix the epoch before the loop's first reading of the clock, so
        // that no reading comes before it (a negative time).
        clock::epoch();
        let id = registry::next_id();
        let shared = Rc::new_cyclic(|this| Shared {
            id,
            ready: RefCell::new(Ready::new()),
            timers: RefCell::new(Timers::new()),
            clock,
            poller: RefCell::new(PollerSlot::NotYet),
            #[cfg(unix)]
            sources: RefCell::new(Sources::default()),
            #[cfg(unix)]
            io_active: Cell::new(false),
            tasks: RefCell::new(Slab::new()),
            next_task_seq: Cell::new(0),
            current: Cell::new(None),
            remote: Arc::new(Remote::new()),
            draining: Cell::new(false),
            awaiting: RefCell::new(Slab::new()),
            executor: RefCell::new(None),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            detect_stuck: Cell::new(false),
            stuck: Cell::new(false),
            outlived: RefCell::new(Vec::new()),
            spare_wakers: RefCell::new(Vec::new()),
            handler: RefCell::new(None),
            this: this.clone(),
        });
        registry::register(id, Rc::downgrade(&shared));
        shared
    }

    // ---- scheduling -------------------------------------------------------

    #[inline]
    pub(crate) fn call_soon<C: IntoThunk>(&self, callback: C) -> Result<u64, LoopError> {
        if context::in_use() {
            let callback = run_in_current_context(callback.into_thunk());
            return self.push_with(|| Job::Callback(callback));
        }
        self.push_with(|| Job::Callback(callback.into_thunk()))
    }

    /// Queues the job `make` returns, built in its slot (see
    /// `Ring::push_with`). On a closed loop nothing is queued and `make`, with
    /// what it captured, is dropped (after the check, outside any borrow).
    #[inline(always)]
    fn push_with(&self, make: impl FnOnce() -> Job<Rc<dyn TaskStep>>) -> Result<u64, LoopError> {
        if self.closed.get() {
            drop(make);
            return Err(LoopError::closed());
        }
        // What other threads sent before this call comes first, as in
        // asyncio, whose `call_soon_threadsafe` appends to the ready queue.
        if self.remote.maybe_pending() && !self.draining.get() {
            self.drain_remote_before_push();
        }
        Ok(self.ready.borrow_mut().push_with(make))
    }

    #[cold]
    #[inline(never)]
    fn drain_remote_before_push(&self) {
        self.drain_remote();
    }

    /// A handle other threads use to reach this loop.
    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    pub(crate) fn cancel(&self, seq: u64) {
        let job = self.ready.borrow_mut().cancel(seq);
        if let Some(job) = job {
            self.drop_reporting("a cancelled callback", job);
        }
    }

    pub(crate) fn scheduled_name(&self, seq: u64) -> Option<&'static str> {
        self.ready.borrow().name(seq)
    }

    // ---- timers -----------------------------------------------------------

    /// The loop's time now, in nanoseconds since the epoch.
    #[inline]
    pub(crate) fn now(&self) -> Nanos {
        self.clock.now_nanos()
    }

    /// The point `delay` after now on the loop's clock.
    pub(crate) fn after(&self, delay: clock::Delay) -> Nanos {
        delay.after(self.now())
    }

    /// Schedules `callback` at `when`; returns the timer's `(key, seq)`. On a
    /// closed loop nothing is scheduled and the callback is dropped.
    #[inline]
    pub(crate) fn call_at<C: IntoThunk>(
        &self,
        when: Nanos,
        callback: C,
    ) -> Result<(u32, u64), LoopError> {
        if self.closed.get() {
            drop(callback);
            return Err(LoopError::closed());
        }
        let callback = callback.into_thunk();
        let action = Action::Call(if context::in_use() {
            run_in_current_context(callback)
        } else {
            callback
        });
        Ok(self.timers.borrow_mut().push(when, action))
    }

    /// Schedules a wake of `waker` at `when`, for a `Sleep`.
    pub(crate) fn wake_at(&self, when: Nanos, waker: Waker) -> Result<(u32, u64), LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        Ok(self.timers.borrow_mut().push(when, Action::Wake(waker)))
    }

    /// Whether the timer `(key, seq)` still waits for its deadline.
    pub(crate) fn timer_pending(&self, key: u32, seq: u64) -> bool {
        self.timers.borrow().is_pending(key, seq)
    }

    /// The deadline of a timer that has not run yet.
    pub(crate) fn timer_when(&self, key: u32, seq: u64) -> Option<Nanos> {
        self.timers.borrow().when(key, seq)
    }

    /// Points a pending sleep's timer at `waker`.
    pub(crate) fn rewake_timer(&self, key: u32, seq: u64, waker: &Waker) {
        let old = self.timers.borrow_mut().replace_waker(key, seq, waker);
        self.drop_reporting("a replaced waker", old);
    }

    /// Cancels the timer `(key, seq)`, wherever it is: pending (its action
    /// is dropped now), or due and queued (its job is cancelled).
    pub(crate) fn cancel_timer(&self, key: u32, seq: u64) {
        let cancelled = self.timers.borrow_mut().cancel(key, seq);
        match cancelled {
            Cancelled::Nothing => {}
            Cancelled::Action(action) => self.drop_reporting("a cancelled timer", action),
            Cancelled::Queued(ready_seq) => self.cancel(ready_seq),
        }
    }

    /// Moves the timers due by now into the ready queue, after what is
    /// there, in deadline order (asyncio's `_run_once`, second half).
    fn queue_due_timers(&self) {
        // asyncio adds the clock's resolution; ours is a nanosecond and a
        // wait never ends before its deadline, so `now` is the end.
        let end = self.clock.now_nanos();
        // Moving actions into jobs runs no user code (nothing is called or
        // dropped), so both tables stay borrowed for the whole batch.
        let mut timers = self.timers.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        while let Some((key, action)) = timers.pop_due(end) {
            // A closed loop has no timers: `push_with` of the loop (which
            // checks for that) is not needed, the queue's own is.
            let seq = ready.push_with(|| match action {
                Action::Call(callback) => Job::Callback(callback),
                Action::Wake(waker) => Job::Callback(Callback::from_thunk(move || waker.wake())),
            });
            timers.queued(key, seq);
        }
    }

    // ---- the executor and futures ----------------------------------------

    /// The default executor, made on first use.
    pub(crate) fn executor(&self) -> Arc<dyn Executor> {
        let mut executor = self.executor.borrow_mut();
        Arc::clone(executor.get_or_insert_with(|| Arc::new(ThreadPool::with_default_size())))
    }

    /// Replaces the default executor; the old one is shut down.
    pub(crate) fn set_default_executor(
        &self,
        executor: Arc<dyn Executor>,
    ) -> Result<(), LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        let old = self.executor.borrow_mut().replace(executor);
        if let Some(old) = old {
            old.shutdown();
        }
        Ok(())
    }

    /// Shuts the default executor down (its jobs finish, its threads are
    /// joined); the next `run_in_executor` makes a new one.
    /// Shuts the default executor down and drops it; a panic in either
    /// (user code) is reported, never raised.
    pub(crate) fn shutdown_default_executor(&self) {
        let executor = self.executor.borrow_mut().take();
        if let Some(executor) = executor {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| executor.shutdown())) {
                self.report_panic(
                    "Exception in shutting down the default executor".to_owned(),
                    payload,
                );
            }
            self.drop_reporting("the default executor", executor);
        }
    }

    /// A weak pointer to the state, for what must not keep the loop alive.
    pub(crate) fn this(&self) -> Weak<Shared> {
        self.this.clone()
    }

    pub(crate) fn create_future<T: 'static>(&self) -> Future<T> {
        Shared::future_on(&self.this)
    }

    /// A pending future whose scheduler is the loop `shared` points to, the
    /// one place a loop becomes a future's `Schedule`. Needs no live loop: a
    /// future of a dropped loop behaves as one of a closed loop.
    pub(crate) fn future_on<T: 'static>(shared: &Weak<Shared>) -> Future<T> {
        let scheduler: Weak<dyn Schedule> = shared.clone();
        Future::with_scheduler(scheduler)
    }

    // ---- stopping and closing ---------------------------------------------

    pub(crate) fn stop(&self) {
        self.stopping.set(true);
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Closes the loop: drops every queued callback and task without running it.
    pub(crate) fn close(&self) -> Result<(), LoopError> {
        if self.running.get() {
            return Err(LoopError::close_while_running());
        }
        if !self.closed.replace(true) {
            self.clear();
        }
        Ok(())
    }

    /// Drops all queued work outside the borrows, one job and one task at a
    /// time, each under its own `catch_unwind`: dropping user values runs
    /// user code, which may call back into the loop (it finds it closed) or
    /// panic (reported, and the rest are still dropped; two panics never
    /// meet in one unwind, which would abort the process).
    ///
    /// The executor is shut down last, once nothing queued here holds what
    /// a job may wait for (a channel's sender a pending task owns): its
    /// jobs finish and its threads are joined, so no thread outlives the
    /// loop, and their completers find the loop closed.
    pub(crate) fn clear(&self) {
        // Other threads are refused from now on; what they sent before is
        // dropped with the rest.
        for item in self.remote.close() {
            if let RemoteItem::Call(callback) = item {
                self.drop_reporting("a call_soon_threadsafe callback dropped by close", callback);
            }
        }
        self.clear_sources();
        // Their drops run no user code.
        self.outlived.borrow_mut().clear();
        self.spare_wakers.borrow_mut().clear();
        let awaiting = std::mem::take(&mut *self.awaiting.borrow_mut());
        for (_, entry) in awaiting {
            self.drop_reporting("a future awaiting a completer", entry);
        }
        let timers = self.timers.borrow_mut().take();
        for action in timers {
            self.drop_reporting("a timer dropped by close", action);
        }
        let mut ready = self.ready.borrow_mut().take();
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        while let Some(job) = ready.pop() {
            self.drop_reporting("a callback dropped by close", job);
        }
        for (_, entry) in tasks {
            // Cancelling drops its done-callbacks unrun (the loop is
            // closed), which may hold the task: no cycle outlives the loop.
            let abandoned = catch_unwind(AssertUnwindSafe(|| entry.task.abandon()));
            if let Err(payload) = abandoned {
                self.report_panic(
                    "Exception in cancelling a task dropped by close".to_owned(),
                    payload,
                );
            }
            self.drop_reporting("a task dropped by close", entry);
        }
        self.shutdown_default_executor();
    }

    // ---- errors -----------------------------------------------------------
}

impl Schedule for Shared {
    fn schedule(&self, job: Callback<()>) -> Result<(), Closed> {
        self.push_with(|| Job::Callback(job))
            .map(drop)
            .map_err(|_| Closed)
    }

    fn call_exception_handler(&self, context: ExceptionContext) {
        Shared::call_exception_handler(self, context);
    }
}

/// `callback`, to run in a copy of the current context (asyncio's
/// `call_soon` and `call_later` capture `copy_context()`), under its name;
/// made only while contexts are in use.
#[cold]
fn run_in_current_context(callback: Callback<()>) -> Callback<()> {
    let captured = context::Captured::now();
    let name = callback.name();
    asyncio_core::named(name, move || {
        let mut captured = captured;
        captured.run(|| callback.call(&()));
    })
    .into_thunk()
}
