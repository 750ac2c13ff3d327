//! The loop's state, shared by `EventLoop`, `LoopHandle`, `Handle` and
//! futures, and the iteration itself.

use std::cell::{Cell, RefCell};
use std::future::Future as StdFuture;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use asyncio_core::context;
use asyncio_core::{
    Awaitable, Callback, Closed, Exception, ExceptionContext, Future, IntoAwaitable, IntoThunk,
    Panicked, Schedule,
};
use slab::Slab;

use crate::clock::{self, Clock, Nanos};
use crate::completer::{self, Completer, CompleterDropped};
use crate::executor::{Executor, ThreadPool};
use crate::poller::Poller;
use crate::ready::{Job, Ready};
use crate::registry;
use crate::remote::{Remote, RemoteItem};
use crate::task::{coroutine_label, AnyTask, Plainly, Task, TaskCell, TaskStep, TaskWaker};
use crate::timers::{Action, Cancelled, Timers};
use crate::LoopError;

/// An exception handler as the loop keeps it: shared, so that it can be
/// cloned out before it runs (a handler may replace itself).
pub type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

/// The loop's OS wait, made on its first wait.
enum PollerSlot {
    NotYet,
    Made(Poller),
    /// It could not be made (no file descriptor left, or Miri, which cannot
    /// run it): the thread parks instead, for good.
    Unavailable,
}

/// A task's entry in `Shared::tasks`.
struct TaskEntry {
    /// Tells the task from a later one that reuses its key.
    seq: u64,
    task: Rc<dyn TaskStep>,
}

/// **Invariant:** no `RefCell` here is borrowed while user code runs
/// (callbacks, coroutines, exception handlers, or the `Drop` of anything the
/// user gave us): values are moved out, the borrow ends, then the code runs.
pub(crate) struct Shared {
    pub(crate) id: u64,
    ready: RefCell<Ready>,
    timers: RefCell<Timers>,
    clock: Clock,
    /// The OS wait, made on the first wait.
    poller: RefCell<PollerSlot>,
    /// Live tasks by key, for wakers (which name a task, not hold it).
    tasks: RefCell<Slab<TaskEntry>>,
    next_task_seq: Cell<u64>,
    /// The key of the task whose step is running.
    current: Cell<Option<usize>>,
    remote: Arc<Remote>,
    /// Set while `drain_remote` runs.
    draining: Cell<bool>,
    /// Futures that a `Completer` on another thread will complete.
    awaiting: RefCell<completer::Awaiting>,
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
    outlived: RefCell<Vec<Arc<TaskWaker>>>,
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
    fn push_with(&self, make: impl FnOnce() -> Job) -> Result<u64, LoopError> {
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

    // ---- other threads ----------------------------------------------------

    /// Whether `future` was created by this loop.
    fn owns<T: 'static>(&self, future: &Future<T>) -> bool {
        future
            .scheduler()
            .is_some_and(|scheduler| std::ptr::addr_eq(scheduler.as_ptr(), self.this.as_ptr()))
    }

    /// A completer for `future`, which must be this loop's and pending.
    pub(crate) fn completer<T: Send + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<Completer<T>, LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        if !self.owns(future) {
            return Err(LoopError::foreign_future());
        }
        Ok(self.register_completer(future))
    }

    /// A completer for `future`, known to be this open loop's.
    fn register_completer<T: Send + 'static>(&self, future: &Future<T>) -> Completer<T> {
        let key = self
            .awaiting
            .borrow_mut()
            .insert(completer::entry(future.clone()));
        Completer::new(Arc::clone(&self.remote), self.id, key)
    }

    /// A completer's result arrived (on this thread, as a job). A future
    /// cancelled meanwhile keeps its cancellation, as asyncio's
    /// `_set_result_unless_cancelled` does.
    pub(crate) fn complete_from_afar<T: 'static>(&self, key: usize, outcome: Result<T, Exception>) {
        let future = completer::take::<T>(&mut self.awaiting.borrow_mut(), key);
        if let Some(future) = future {
            let _ = match outcome {
                Ok(value) => future.set_result(value),
                Err(exception) => future.set_exception(exception),
            };
            self.drop_reporting("a completed future", future);
        }
    }

    /// A completer was dropped unused: its future fails.
    pub(crate) fn abandon_from_afar(&self, key: usize) {
        let entry = self.awaiting.borrow_mut().try_remove(key);
        if let Some(entry) = entry {
            completer::abandon(entry, CompleterDropped);
        }
    }

    /// Runs `call` on the executor; its result or panic completes the
    /// returned future.
    pub(crate) fn run_in_executor<F, T>(&self, call: F) -> Result<Future<T>, LoopError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        let future = self.create_future();
        let completer = self.register_completer(&future);
        let executor = self.executor();
        executor.execute(Box::new(move || {
            match catch_unwind(AssertUnwindSafe(call)) {
                Ok(value) => drop(completer.set_result(value)),
                Err(payload) => drop(completer.set_exception(Exception::from_panic(payload))),
            }
        }));
        Ok(future)
    }

    fn executor(&self) -> Arc<dyn Executor> {
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

    // ---- tasks ------------------------------------------------------------

    /// Wraps `coroutine` in a task whose first step is queued now.
    pub(crate) fn spawn<T: 'static>(
        &self,
        coroutine: Pin<Box<dyn StdFuture<Output = Result<T, Exception>>>>,
        label: &'static str,
    ) -> Result<Task<T>, LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        let result = self.create_future();
        let seq = self.next_task_seq.get();
        self.next_task_seq.set(seq + 1);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = entry.key();
        let waker = Arc::new(TaskWaker {
            loop_id: self.id,
            key,
            seq,
            remote: Arc::clone(&self.remote),
        });
        let cell = Rc::new(TaskCell::new(
            coroutine,
            label,
            result,
            waker,
            seq + 1,
            self.this.clone(),
        ));
        let task: Rc<dyn TaskStep> = cell.clone();
        entry.insert(TaskEntry {
            seq,
            task: Rc::clone(&task),
        });
        drop(tasks);
        task.scheduled().set(true);
        self.push_with(|| Job::Task(task))?;
        Ok(Task::from_cell(cell))
    }

    /// Marks the task `key` as the one running until the guard is dropped.
    #[inline]
    pub(crate) fn enter_task(&self, key: usize) -> CurrentTask<'_> {
        CurrentTask {
            shared: self,
            previous: self.current.replace(Some(key)),
        }
    }

    /// The task whose step is running, if any.
    pub(crate) fn current_task(&self) -> Option<AnyTask> {
        let key = self.current.get()?;
        let tasks = self.tasks.borrow();
        tasks
            .get(key)
            .map(|entry| AnyTask::from_step(Rc::clone(&entry.task)))
    }

    /// The tasks not done yet, in creation order.
    pub(crate) fn all_tasks(&self) -> Vec<AnyTask> {
        let tasks = self.tasks.borrow();
        let mut live: Vec<(u64, AnyTask)> = tasks
            .iter()
            .map(|(_, entry)| (entry.seq, AnyTask::from_step(Rc::clone(&entry.task))))
            .collect();
        drop(tasks);
        live.sort_by_key(|(seq, _)| *seq);
        live.into_iter().map(|(_, task)| task).collect()
    }

    /// asyncio's `Task exception was never retrieved`.
    pub(crate) fn report_unretrieved(&self, task: String, exception: Exception) {
        self.call_exception_handler(
            ExceptionContext::new("Task exception was never retrieved")
                .with_future(task)
                .with_exception(exception),
        );
    }

    /// Forgets a finished task; the caller drops what comes back.
    pub(crate) fn remove_task(&self, key: usize) -> Option<Rc<dyn TaskStep>> {
        self.tasks
            .borrow_mut()
            .try_remove(key)
            .map(|entry| entry.task)
    }

    /// A waker fired for task `(key, seq)`: queue its next step unless one
    /// is queued already or the task is gone.
    pub(crate) fn wake_task(&self, key: usize, seq: u64) {
        let tasks = self.tasks.borrow();
        let Some(entry) = tasks.get(key) else { return };
        if entry.seq != seq || entry.task.scheduled().replace(true) {
            return;
        }
        // Queuing runs no user code, so the task table may stay borrowed. A
        // closed loop refuses the step; the task simply never runs again.
        let _ = self.push_with(|| Job::Task(Rc::clone(&entry.task)));
    }

    /// The live task `key` names, if it is still the one numbered `seq`.
    pub(crate) fn find_task(&self, key: usize, seq: u64) -> Option<AnyTask> {
        let tasks = self.tasks.borrow();
        let entry = tasks.get(key).filter(|entry| entry.seq == seq)?;
        Some(AnyTask::from_step(Rc::clone(&entry.task)))
    }

    // ---- running ----------------------------------------------------------

    fn check_can_run(&self) -> Result<(), LoopError> {
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
        if self.ready.borrow().len() == 0 && !self.stopping.get() {
            self.wait(timeout);
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
        loop {
            let next = self.timers.borrow_mut().next_deadline();
            let until = match (next, &self.clock) {
                (Some(deadline), Clock::Manual(clock)) => {
                    if !self.awaiting.borrow().is_empty() {
                        // Real-time work outstanding: wait for it (or for
                        // the host's limit), then look again.
                        limit
                    } else {
                        let cap = timeout.map_or(clock::NEVER, |timeout| {
                            clock::Delay::from(timeout).after(clock.now_nanos())
                        });
                        clock.advance_to(deadline.min(cap));
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
                Some(until) if until <= Instant::now() => return,
                _ => self.wait_in_poller(until),
            }
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
        let poller = match &mut *slot {
            PollerSlot::Made(poller) => Some(poller),
            _ => None,
        };
        self.remote.wait(until, poller);
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
        if self.remote.has_handles() || !self.awaiting.borrow().is_empty() {
            return false;
        }
        let live: usize = {
            let tasks = self.tasks.borrow();
            tasks
                .iter()
                .map(|(_, entry)| entry.task.waker_clones())
                .sum()
        };
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

    /// A finished task's waker that is still cloned (see `outlived`).
    pub(crate) fn keep_outlived(&self, waker: Arc<TaskWaker>) {
        let mut outlived = self.outlived.borrow_mut();
        // Amortised: prune when the list has doubled since the last prune.
        if outlived.len() >= 64 && outlived.len() == outlived.capacity() {
            outlived.retain(|waker| Arc::strong_count(waker) > 1);
        }
        outlived.push(waker);
    }

    /// Forgets the outlived wakers nobody else holds now; returns how many
    /// clones of the others exist beyond the loop's own.
    fn prune_outlived(&self) -> usize {
        let mut outlived = self.outlived.borrow_mut();
        outlived.retain(|waker| Arc::strong_count(waker) > 1);
        outlived
            .iter()
            .map(|waker| Arc::strong_count(waker) - 1)
            .sum()
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
    fn drain_remote(&self) {
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
    fn run_job(&self, job: Job, contexts: bool) -> bool {
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

    /// Drops `value`, which may run user code (a `Drop` of something a
    /// callback or a coroutine captured), reporting a panic in it to the
    /// exception handler instead of unwinding into the loop.
    pub(crate) fn drop_reporting<V>(&self, what: &'static str, value: V) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
            self.report_drop_panic(what, payload);
        }
    }

    #[cold]
    fn report_drop_panic(&self, what: &'static str, payload: Box<dyn std::any::Any + Send>) {
        self.report_panic(format!("Exception in dropping {what}"), payload);
    }

    /// The `Debug` text of the handle of the job that runs now, named `name`:
    /// a `TimerHandle` if a timer queued it, a `Handle` otherwise.
    #[cold]
    fn describe_running(&self, name: &str) -> String {
        let seq = self.ready.borrow().last_popped();
        let when = seq.and_then(|seq| self.timers.borrow().queued_as(seq));
        match when {
            Some(when) => crate::handle::describe_timer(clock::seconds(when), name),
            None => format!("<Handle {name}>"),
        }
    }

    /// Reports a panic of user code that no callback's or task's own report
    /// covers, with `message` saying where it happened.
    #[cold]
    pub(crate) fn report_panic(&self, message: String, payload: Box<dyn std::any::Any + Send>) {
        self.call_exception_handler(
            ExceptionContext::new(message).with_exception(Exception::from_panic(payload)),
        );
    }

    #[cold]
    fn report_callback_panic(&self, panicked: Panicked) {
        let name = panicked.name();
        let payload = panicked.into_payload();
        self.call_exception_handler(
            ExceptionContext::new(format!("Exception in callback {name}"))
                .with_callback(name)
                .with_handle(self.describe_running(name))
                .with_exception(Exception::from_panic(payload)),
        );
    }

    pub(crate) fn run_until_complete<A: IntoAwaitable>(
        &self,
        awaitable: A,
    ) -> Result<A::Output, LoopError>
    where
        A::Output: 'static,
    {
        self.check_can_run()?;
        let (future, read) = match awaitable.into_awaitable() {
            Awaitable::Future { future, read } => {
                if !self.owns(&future) {
                    return Err(LoopError::foreign_future());
                }
                (future, read)
            }
            Awaitable::Coroutine(coroutine) => {
                let label = coroutine_label::<A>();
                let task = self.spawn(Box::pin(Plainly(coroutine)), label)?;
                task.silence();
                (
                    task.future().clone(),
                    Future::take_result as fn(&Future<_>) -> _,
                )
            }
        };
        // asyncio's `_run_until_complete_cb`: stop once the future is done.
        // `wanted` makes a stop that was queued but not run by the time this
        // call returns a no-op, so it cannot stop a later run (asyncio's
        // stale stop, which CPython leaves queued).
        let wanted = Rc::new(Cell::new(true));
        let stop_when_done = {
            let wanted = Rc::clone(&wanted);
            let this = self.this.clone();
            move |_: &Future<A::Output>| {
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
        // Their drops run no user code.
        self.outlived.borrow_mut().clear();
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

    pub(crate) fn set_exception_handler(&self, handler: Option<ExceptionHandler>) {
        let previous = std::mem::replace(&mut *self.handler.borrow_mut(), handler);
        // Dropped under the new handler, which hears of a panic in it.
        self.drop_reporting("an exception handler", previous);
    }

    /// The handler, if one is set.
    pub(crate) fn exception_handler(&self) -> Option<ExceptionHandler> {
        self.handler.borrow().clone()
    }

    /// Removes the handler and drops it, printing a panic in that to stderr.
    pub(crate) fn take_exception_handler(&self) {
        let handler = self.handler.borrow_mut().take();
        drop_to_stderr(handler);
    }

    /// Runs the handler on `context`. Nothing here unwinds: a panic in the
    /// handler, in dropping the context (the last clone of a user's
    /// exception) or in dropping the handler (replaced meanwhile) goes to the
    /// default handler, stderr.
    pub(crate) fn call_exception_handler(&self, context: ExceptionContext) {
        let handler = self.handler.borrow().clone();
        let Some(handler) = handler else {
            default_exception_handler(&context);
            drop_to_stderr(context);
            return;
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(&context))) {
            // asyncio falls back to its default handler, naming both errors.
            eprintln!(
                "{}\ncontext: {}",
                ExceptionContext::new("Unhandled error in exception handler")
                    .with_exception(Exception::from_panic(payload)),
                context.to_string().replace('\n', "\n    "),
            );
        }
        drop_to_stderr(context);
        drop_to_stderr(handler);
    }
}

/// What the loop does with an error when no exception handler is set
/// (asyncio's `loop.default_exception_handler`): prints the context to
/// stderr, in asyncio's format. A custom handler may call it too, for the
/// errors it does not handle itself.
///
/// # Examples
///
/// ```
/// use asyncio_core::ExceptionContext;
/// use asyncio_loop::{default_exception_handler, EventLoop};
///
/// let event_loop = EventLoop::new();
/// event_loop.set_exception_handler(Some(|context: &ExceptionContext| {
///     if context.callback.is_some() {
///         // Our own handling of failed callbacks would go here.
///     }
///     default_exception_handler(context);
/// }));
/// ```
pub fn default_exception_handler(context: &ExceptionContext) {
    eprintln!("{context}");
}

/// Drops `value`, printing a panic in its `Drop` to stderr: for what the
/// exception handler itself holds, whose panics cannot go to the handler.
pub(crate) fn drop_to_stderr<V>(value: V) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        eprintln!(
            "{}",
            ExceptionContext::new("Exception in dropping an exception handler's value")
                .with_exception(Exception::from_panic(payload))
        );
    }
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

/// Restores the running task when a step ends (see `Shared::enter_task`).
pub(crate) struct CurrentTask<'a> {
    shared: &'a Shared,
    previous: Option<usize>,
}

impl Drop for CurrentTask<'_> {
    #[inline]
    fn drop(&mut self) {
        self.shared.current.set(self.previous);
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
