//! Tasks: a coroutine driven by the loop, one poll per step.
//!
//! asyncio wraps a coroutine in a `Task` whose first step is queued with
//! `call_soon`, and whose wake-up is queued the same way when an awaited
//! future completes. Here the wake-up comes through a [`Waker`]: on the
//! loop's thread it queues the step at once (so it keeps its place among
//! other callbacks), from another thread it goes through the loop's
//! [`Remote`] queue.
//!
//! Cancellation follows asyncio's `Task.cancel`: what the task awaits (a
//! future of ours or a task, noted through [`asyncio_core::cancel`]) is
//! cancelled at once; otherwise the cancellation is delivered to the first
//! awaitable of ours that the next step polls, and a coroutine that polls
//! none (it waits on another crate's future) is dropped at its await.

use std::any::type_name;
use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll};

use asyncio_core::cancel::{self, Awaited, Noted};
use asyncio_core::context;
use asyncio_core::propagated;
use asyncio_core::{
    census, Awaitable, BoxError, CallbackKey, Exception, Future, FutureError, IntoAwaitable,
    WaitTake,
};

mod slot;
use crate::shared::{Shared, TaskId, TaskStep, Wakers};
use crate::LoopError;
use slot::Slot;

/// What every task has whatever its output: its name, its cancellation
/// state, what it awaits.
struct Header {
    /// `Task-N`, numbered per loop in creation order.
    number: u64,
    name: RefCell<Option<Box<str>>>,
    /// The coroutine's name, from its type (`task_func` for the future of
    /// `async fn task_func`): the function that reads it, since only a
    /// repr needs it.
    label: Label,
    scheduled: Cell<bool>,
    /// Set while a step polls the coroutine.
    running: Cell<bool>,
    /// Set while `cancel` passes the cancellation on to what the task
    /// awaits: tasks awaiting each other in a circle would pass it round
    /// for ever (asyncio recurses until `RecursionError`).
    passing_cancel: Cell<bool>,
    /// Set once the first step polled the coroutine.
    started: Cell<bool>,
    /// Set when the task ends (its result future is done, or holds a
    /// result as soon as it is made).
    done: Cell<bool>,
    /// The context its steps run in: a copy of the one current when it was
    /// created (asyncio's `Task._context`), keeping what the steps set.
    context: Cell<context::Captured>,
    /// asyncio's `_num_cancels_requested`: `cancelling()`.
    cancels: Cell<u32>,
    /// asyncio's `_must_cancel`, and its message.
    must_cancel: Cell<bool>,
    cancel_message: RefCell<Option<Arc<str>>>,
    /// Set while `cancel_message` holds the message of a cancellation not
    /// yet seen by the coroutine (to be delivered, or passed on to what it
    /// awaits): further cancels keep it, as asyncio's awaited future keeps
    /// the first message it was cancelled with.
    cancel_recorded: Cell<bool>,
    /// asyncio's `_fut_waiter`: what the last step suspended on, if it
    /// noted itself.
    awaited: Cell<Option<Noted>>,
    /// asyncio's `__log_traceback`: set when the task fails, cleared when
    /// its exception is read or it is cancelled.
    unretrieved: Cell<bool>,
    /// Set when `run_until_complete` waits for the task: the run hands the
    /// exception to its caller, so it is never reported as unretrieved.
    silenced: Cell<bool>,
    /// Its name for the loop (the loop's id, its key and seq). Its waker
    /// holds the same, but reading it from there cost more than these 24
    /// bytes: a smaller cell fell into another allocator size class
    /// (`docs/benchmarks.md`, history, fourteenth session).
    id: TaskId,
    /// Its waker, taken from the loop's spares (or made) at the first
    /// step, and handed back when the cell is dropped: tasks that are
    /// created in a burst and never outlive their one step (detached)
    /// share a few wakers instead of holding one each from creation.
    wakers: OnceCell<Wakers>,
    shared: Weak<Shared>,
}

/// A task: one `Rc` allocation holding its header, its coroutine (`Slot`:
/// pinned in place, dropped when the task finishes) and how it ended. Its
/// result future is made only when something asks for it (a done-callback,
/// an await, its result read): a task nobody waits for costs no second
/// allocation.
struct TaskCell<T: 'static, F> {
    header: Header,
    /// Completed with the coroutine's outcome, or with its panic, once
    /// made (see [`TypedTask::result`]).
    future: OnceCell<Future<T>>,
    /// How the task ended, while its result future is not made yet.
    ended: Cell<Option<Ended<T>>>,
    coroutine: Slot<F>,
}

/// What a task runs: a coroutine whose output went through [`TaskOutput`]
/// (or [`Plainly`]).
trait Coroutine<T>: StdFuture<Output = Result<T, Exception>> + 'static {}

impl<T, F: StdFuture<Output = Result<T, Exception>> + 'static> Coroutine<T> for F {}

/// A task as its typed handles see it, whatever its coroutine's type: its
/// header and result, and the erased views the loop and the cancel
/// protocol take (trait upcasting is newer than our MSRV).
trait TypedTask<T: 'static>: TaskStep + Awaited {
    fn header(&self) -> &Header;

    /// Its result future, made now if nothing asked for it before.
    fn result(&self) -> &Future<T>;

    /// Whether it ended cancelled (without making its result future).
    fn cancelled(&self) -> bool;

    fn as_step(&self) -> &dyn TaskStep;

    fn step_rc(self: Rc<Self>) -> Rc<dyn TaskStep>;

    fn awaited_rc(self: Rc<Self>) -> Rc<dyn Awaited>;
}

impl<T: 'static, F: Coroutine<T>> TypedTask<T> for TaskCell<T, F> {
    #[inline]
    fn header(&self) -> &Header {
        &self.header
    }

    #[inline]
    fn result(&self) -> &Future<T> {
        self.result_future()
    }

    fn cancelled(&self) -> bool {
        if let Some(future) = self.future.get() {
            return future.cancelled();
        }
        let ended = self.ended.take();
        let cancelled = matches!(ended, Some(Ended::Cancelled(_)));
        self.ended.set(ended);
        cancelled
    }

    fn as_step(&self) -> &dyn TaskStep {
        self
    }

    fn step_rc(self: Rc<Self>) -> Rc<dyn TaskStep> {
        self
    }

    fn awaited_rc(self: Rc<Self>) -> Rc<dyn Awaited> {
        self
    }
}

impl<T: 'static, F> TaskCell<T, F> {
    /// Its result future, made now if nothing asked for it before.
    fn result_future(&self) -> &Future<T> {
        self.future.get_or_init(|| {
            let future = Shared::future_on(&self.header.shared);
            if let Some(ended) = self.ended.take() {
                // Nothing can hold the new future yet: no callback or
                // awaiter runs.
                ended.complete(&future);
            }
            future
        })
    }
}

impl<T: 'static, F: Coroutine<T>> TaskCell<T, F> {
    #[inline(always)]
    fn new(coroutine: F, label: Label, id: TaskId, shared: Weak<Shared>) -> Self {
        TaskCell {
            header: Header {
                number: id.seq + 1,
                name: RefCell::new(None),
                label,
                scheduled: Cell::new(false),
                running: Cell::new(false),
                passing_cancel: Cell::new(false),
                started: Cell::new(false),
                done: Cell::new(false),
                context: Cell::new(context::Captured::now()),
                cancels: Cell::new(0),
                must_cancel: Cell::new(false),
                cancel_message: RefCell::new(None),
                cancel_recorded: Cell::new(false),
                awaited: Cell::new(None),
                unretrieved: Cell::new(false),
                silenced: Cell::new(false),
                id,
                wakers: OnceCell::new(),
                shared,
            },
            future: OnceCell::new(),
            ended: Cell::new(None),
            coroutine: Slot::new(coroutine),
        }
    }

    /// Ends the task: forgets it in the loop, drops the coroutine, then
    /// completes the result with `outcome` (`Err(None)`: cancelled).
    fn finish(self: Rc<Self>, shared: &Shared, outcome: Ended<T>) {
        let header = &self.header;
        // Forget the task before anything can wake it again, then drop the
        // coroutine outside every borrow (its `Drop` is user code).
        drop(shared.remove_task(header.id.key));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.coroutine.drop_now())) {
            shared.report_panic(
                "Exception in dropping a finished coroutine".to_owned(),
                payload,
            );
        }
        shared.drop_reporting("what a finished task awaited", header.awaited.take());
        // Clones of its waker that outlive the task still count in the
        // stuck check.
        if let Some(wakers) = header.wakers.get() {
            shared.note_outliving(wakers);
        }
        if let Ended::Failed(_) = outcome {
            // The task reports it, as a task, if nobody reads it.
            header.unretrieved.set(!header.silenced.get());
        }
        header.done.set(true);
        match self.future.get() {
            // Completing wakes its awaiters, whose wakers may be another
            // executor's code: caught, as the poll was.
            Some(future) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| outcome.complete(future))) {
                    shared.report_panic("Exception in completing a task".to_owned(), payload);
                }
            }
            None => self.ended.set(Some(outcome)),
        }
        // The last reference, now that the task table forgot it: dropping it
        // may drop the result future's last handle, and with it the result.
        shared.drop_reporting("a finished task", self);
    }

    fn is_done(&self) -> bool {
        self.header.done.get()
    }
}

/// How a task ended.
enum Ended<T> {
    Value(T),
    Failed(Exception),
    Cancelled(Option<Arc<str>>),
}

impl<T: 'static> Ended<T> {
    /// Completes the task's result `future`, still pending (private to the
    /// task until now), with this outcome; an exception counts as read by
    /// the future, since the task reports it, as a task, if nobody does.
    fn complete(self, future: &Future<T>) {
        match self {
            Ended::Value(output) => {
                let _ = future.set_result(output);
            }
            Ended::Failed(exception) => {
                let _ = future.set_exception(exception);
                let _ = future.exception();
            }
            Ended::Cancelled(Some(message)) => {
                future.cancel_with_message(message.to_string());
            }
            Ended::Cancelled(None) => {
                future.cancel();
            }
        }
    }

    /// A coroutine's outcome: an error that is a cancellation (a
    /// [`FutureError`] that [`is_cancelled`](FutureError::is_cancelled))
    /// cancels the task, as a `CancelledError` that propagates out of an
    /// asyncio coroutine does; an error that carries another future's
    /// exception fails the task with that exception.
    fn from_outcome(outcome: Result<T, Exception>) -> Self {
        let exception = match outcome {
            Ok(value) => return Ended::Value(value),
            Err(exception) => exception,
        };
        if let Some(message) = cancellation(&exception) {
            return Ended::Cancelled(message);
        }
        Ended::Failed(unwrapped(exception))
    }
}

/// The exception a coroutine's error stands for: another future's
/// exception, propagated with `?` (inside a [`FutureError`] or a
/// [`LoopError`](crate::LoopError)), is that exception itself.
pub(crate) fn unwrapped(exception: Exception) -> Exception {
    match as_future_error(exception.as_error()).and_then(FutureError::exception) {
        Some(inner) => inner.clone(),
        None => exception,
    }
}

/// The message of the cancellation `exception` is, or was caused by: a
/// cancellation propagated as it is, or as the cause of the error a
/// coroutine returned, cancels the task.
pub(crate) fn cancellation(exception: &Exception) -> Option<Option<Arc<str>>> {
    propagated::cancellation(exception.as_error())
        .map(|cancellation| cancellation.cancel_message().map(Arc::from))
}

/// `error` as a [`FutureError`], directly or inside a [`LoopError`].
fn as_future_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a FutureError> {
    error.downcast_ref::<FutureError>().or_else(|| {
        error
            .downcast_ref::<crate::LoopError>()
            .and_then(crate::LoopError::future_error)
    })
}

impl<T: 'static, F: Coroutine<T>> TaskStep for TaskCell<T, F> {
    fn step(self: Rc<Self>, shared: &Shared) {
        let header = &self.header;
        header.scheduled.set(false);
        if self.coroutine.is_gone() {
            return;
        }
        // asyncio's `__step` forgets what the task waited on (which frees
        // a finished future before the step makes the next one; its
        // result's `Drop` is user code).
        if let Some(old) = header.awaited.take() {
            shared.drop_reporting("what a task awaited", old);
        }
        let deliver = header.must_cancel.replace(false);
        // A cancellation passed on has reached what the task awaited, which
        // now gives it to the coroutine: its message is forgotten here.
        let message = if header.cancel_recorded.replace(false) {
            let message = header.cancel_message.borrow_mut().take();
            message.filter(|_| deliver)
        } else {
            None
        };
        if deliver && !header.started.get() {
            // Cancelled before it ever ran: the body never runs.
            return self.finish(shared, Ended::Cancelled(message));
        }
        header.started.set(true);
        header.running.set(true);
        let wakers = header
            .wakers
            .get_or_init(|| shared.wakers_for(header.id.key, header.id.seq));
        let mut context = Context::from_waker(&wakers.waker);
        let (polled, undelivered, awaited) = {
            // Futures of ours that keep this waker count it as theirs, for
            // the check that nothing outside the loop can wake the task.
            // Names the loop too: a future of another loop refuses the
            // await (asyncio: "Task got Future attached to a different loop").
            let _scope = census::PollScope::enter_on(&wakers.waker, shared.census_id(), shared);
            let _current = shared.enter_task(header.id.key);
            if deliver {
                cancel::deliver(message);
            }
            let polled = context::Captured::run_in(&header.context, || {
                // (`None`, a re-entrant poll, cannot happen: only this
                // step polls, and steps do not nest.)
                catch_unwind(AssertUnwindSafe(|| {
                    self.coroutine.poll(&mut context).unwrap_or(Poll::Pending)
                }))
            });
            let undelivered = if deliver { cancel::undelivered() } else { None };
            (polled, undelivered, cancel::take_awaited())
        };
        header.running.set(false);
        let outcome = match polled {
            Ok(Poll::Pending) => {
                if let Some(message) = undelivered {
                    // It waits on something that is not ours: it cannot be
                    // told, so it is dropped at its await (its destructors
                    // run, as `finally` blocks would) and ends cancelled.
                    shared.drop_reporting("what a cancelled task awaited", awaited);
                    return self.finish(shared, Ended::Cancelled(message));
                }
                header.awaited.set(awaited);
                if header.must_cancel.get() {
                    // Cancelled while it ran (by itself, or by what it
                    // called): cancel what it now awaits, as asyncio does
                    // when the step yields, or make sure a step comes.
                    header.cancel_after_step();
                }
                return;
            }
            Ok(Poll::Ready(output)) => {
                shared.drop_reporting("what a task awaited", awaited);
                let cancelled = match undelivered {
                    Some(message) => Some(message),
                    // Cancelled right before the coroutine returned.
                    None if header.must_cancel.replace(false) => {
                        header.cancel_recorded.set(false);
                        Some(header.cancel_message.borrow_mut().take())
                    }
                    None => None,
                };
                match cancelled {
                    // asyncio cancels a task cancelled right before its
                    // coroutine returned, but fails one whose coroutine
                    // raised: an error is kept.
                    Some(message) if output.is_ok() => {
                        shared.drop_reporting("a cancelled task's output", output);
                        Ended::Cancelled(message)
                    }
                    _ => Ended::from_outcome(output),
                }
            }
            Err(payload) => {
                shared.drop_reporting("what a task awaited", awaited);
                Ended::Failed(Exception::from_panic(payload))
            }
        };
        self.finish(shared, outcome);
    }

    fn scheduled(&self) -> &Cell<bool> {
        &self.header.scheduled
    }

    fn waker_clones(&self) -> usize {
        self.header.wakers.get().map_or(0, Wakers::clones)
    }

    fn owner(&self) -> &Weak<Shared> {
        &self.header.shared
    }

    fn name(&self) -> String {
        self.header.name()
    }

    fn set_name(&self, name: String) {
        self.header.set_name(name);
    }

    fn cancelling(&self) -> u32 {
        self.header.cancels.get()
    }

    fn uncancel(&self) -> u32 {
        self.header.uncancel()
    }

    fn cancel(&self, message: Option<Arc<str>>) -> bool {
        let header = &self.header;
        header.unretrieved.set(false);
        if self.is_done() {
            return false;
        }
        if circle::closes_at(header) {
            return false;
        }
        header.cancels.set(header.cancels.get() + 1);
        // While a step runs, the task awaits nothing yet (asyncio's `__step`
        // forgets its `_fut_waiter`; ours is replaced when the step ends).
        let awaited = if header.running.get() {
            None
        } else {
            header.awaited_clone()
        };
        if let Some(awaited) = awaited {
            // Left in place: it may be a task that ignores the cancellation,
            // to be cancelled again later.
            match circle::pass(header, &awaited, message.clone()) {
                circle::Passed::Taken => {
                    header.record_cancel_message(message);
                    return true;
                }
                circle::Passed::Refused => {}
                // Inside a circle: the task where the pass began takes it.
                circle::Passed::Circled if circle::inside_a_pass() => {
                    header.cancels.set(header.cancels.get() - 1);
                    circle::came_back();
                    return false;
                }
                circle::Passed::Circled => {}
            }
        }
        header.must_cancel.set(true);
        header.record_cancel_message(message);
        if !header.running.get() {
            // asyncio's step is always queued here; ours is not when the
            // task waits on a sleep or another crate's future.
            header.id.wake_here();
        }
        true
    }

    fn done(&self) -> bool {
        self.is_done()
    }

    fn write_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_repr(&self.header, self.result(), f, |_, _| Ok(()))
    }

    fn on_done(&self, callback: Box<dyn FnOnce()>) -> Result<CallbackKey, FutureError> {
        self.result().add_done_callback(move |_| callback())
    }

    fn failure(&self) -> Option<Exception> {
        self.header.unretrieved.set(false);
        self.result().exception().ok().flatten()
    }

    fn abandon(&self) {
        self.header.done.set(true);
        match self.future.get() {
            Some(future) => {
                future.cancel();
            }
            None => self.ended.set(Some(Ended::Cancelled(None))),
        }
    }
}

impl Header {
    /// Records `message` as the pending cancellation's, unless one is
    /// recorded already (the first message wins until it is delivered).
    fn record_cancel_message(&self, message: Option<Arc<str>>) {
        let header = self;
        if !header.cancel_recorded.replace(true) {
            *header.cancel_message.borrow_mut() = message;
        }
    }

    /// A cancellation requested while the step ran: the coroutine now
    /// suspends on `awaited` (cancelled if it can be) or on nothing of ours
    /// (delivered at the next step).
    fn cancel_after_step(&self) {
        let header = self;
        if let Some(awaited) = header.awaited_clone() {
            let message = header.cancel_message.borrow().clone();
            if let circle::Passed::Taken = circle::pass(header, &awaited, message) {
                // The message stays recorded: it is on its way.
                header.must_cancel.set(false);
                return;
            }
        }
        // Refused, or gone round a circle back here: the next step delivers
        // it to the await itself.
        header.id.wake_here();
    }
}

/// The repr of the task with `header` and `future`, without its result.
fn describe<T: 'static>(header: &Header, future: &Future<T>) -> String {
    struct Repr<'a, T: 'static>(&'a Header, &'a Future<T>);
    impl<T: 'static> fmt::Display for Repr<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_repr(self.0, self.1, f, |_, _| Ok(()))
        }
    }
    Repr(header, future).to_string()
}

/// asyncio's task repr of the task with `header` and `future`; `result`
/// writes ` result=...` for a finished one.
fn write_repr<T: 'static>(
    header: &Header,
    future: &Future<T>,
    f: &mut fmt::Formatter<'_>,
    result: impl FnOnce(&Future<T>, &mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    {
        let state = if future.cancelled() {
            "cancelled"
        } else if future.done() {
            "finished"
        } else if header.cancels.get() > 0 {
            "cancelling"
        } else {
            "pending"
        };
        write!(f, "<Task {state} name='")?;
        header.write_name(f)?;
        let progress = if future.done() { "done" } else { "running" };
        write!(f, "' coro=<{}() {progress}>", (header.label)())?;
        if future.done() && !future.cancelled() {
            match future.exception() {
                Ok(Some(exception)) => write!(f, " exception={exception:?}")?,
                _ => result(future, f)?,
            }
        } else if let Some(awaited) = header.awaited_clone().filter(|_| !header.running.get()) {
            // Tasks awaiting each other in a circle would recurse for ever.
            thread_local!(static DEPTH: Cell<u32> = const { Cell::new(0) });
            let depth = DEPTH.with(|depth| depth.replace(depth.get() + 1));
            let written = if depth < 8 {
                write!(f, " wait_for={}", awaited.describe())
            } else {
                f.write_str(" wait_for=<...>")
            };
            DEPTH.with(|depth| depth.set(depth.get() - 1));
            written?;
        }
        if !future.done() {
            future.write_callbacks(f)?;
        }
        f.write_str(">")
    }
}

impl Header {
    /// What the task awaits, left in place.
    fn awaited_clone(&self) -> Option<Noted> {
        let awaited = self.awaited.take();
        let copy = awaited.clone();
        self.awaited.set(awaited);
        copy
    }

    fn write_name(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        match self.name.try_borrow().ok().as_deref() {
            Some(Some(name)) => f.write_str(name),
            _ => write!(f, "Task-{}", self.number),
        }
    }

    fn name(&self) -> String {
        let mut name = String::new();
        let _ = self.write_name(&mut name);
        name
    }

    fn set_name(&self, name: String) {
        *self.name.borrow_mut() = Some(name.into_boxed_str());
    }

    /// asyncio's `uncancel()`: one request fewer, never below zero.
    fn uncancel(&self) -> u32 {
        self.cancels.set(self.cancels.get().saturating_sub(1));
        self.cancels.get()
    }
}

impl<T: 'static, F: Coroutine<T>> Awaited for TaskCell<T, F> {
    /// Cancelling a task that awaits this one cancels this one.
    fn cancel_awaited(self: Rc<Self>, _key: u64, message: Option<Arc<str>>) -> bool {
        TaskStep::cancel(&*self, message)
    }

    fn describe_awaited(&self, _key: u64) -> String {
        describe(&self.header, self.result())
    }
}

impl<T: 'static, F> Drop for TaskCell<T, F> {
    /// Hands the waker back to the loop, and reports asyncio's `Task
    /// exception was never retrieved`.
    fn drop(&mut self) {
        let Some(shared) = self.header.shared.upgrade() else {
            return;
        };
        if let Some(wakers) = self.header.wakers.take() {
            shared.retire_wakers(wakers);
        }
        if !self.header.unretrieved.get() {
            return;
        }
        let future = self.result_future();
        let Ok(Some(exception)) = future.exception() else {
            return;
        };
        shared.report_unretrieved(describe(&self.header, future), exception);
    }
}

/// The name a coroutine's type gives it: `task_func` for the future of
/// `async fn task_func`, and for an `async` block the function it is
/// written in (its type is named after it), or `<async block>` inside
/// another block.
pub(crate) fn coroutine_label<F>() -> &'static str {
    label_of(type_name::<F>())
}

/// The function that names a coroutine of type `F` (see [`coroutine_label`]).
pub(crate) type Label = fn() -> &'static str;

/// The name a coroutine's type name `full` gives it.
fn label_of(full: &'static str) -> &'static str {
    let Some(path) = full.strip_suffix("::{{closure}}") else {
        // A hand-written future: its type's own name.
        return full.rsplit("::").next().unwrap_or(full);
    };
    if path.ends_with("{{closure}}") {
        return "<async block>";
    }
    path.rsplit("::").next().unwrap_or(path)
}

// ---- the public handles ----------------------------------------------------

/// A coroutine scheduled on the loop: asyncio's `Task`, made by
/// [`EventLoop::create_task`](crate::LoopHandle::create_task).
///
/// A task is a future in asyncio's sense: [`done`](Self::done),
/// [`cancelled`](Self::cancelled), [`result`](Self::result),
/// [`exception`](Self::exception), done-callbacks, and awaitable
/// (`task.await` moves the result out; `(&task).await` or
/// [`wait`](Self::wait) clone it). Its first step runs on the next loop
/// iteration. Clones are handles to the same task, and the loop keeps a
/// running task alive even when every handle is gone.
///
/// # The coroutine's output
///
/// The coroutine returns a [`TaskOutput`]: a `Result<T, E>` makes a
/// `Task<T>` that fails with `E` as its exception (or ends cancelled, when
/// `E` is the cancelled [`FutureError`] that an await gave it, propagated
/// with `?`); a plain value (`()`, `String`, numbers, collections, anything
/// that implements [`TaskValue`]) is the result as it is.
///
/// # Cancellation
///
/// [`cancel`](Self::cancel) is asyncio's. A task awaiting one of our
/// futures or tasks cancels it at once; the coroutine sees a cancelled
/// error at that await, which it may handle (clean up and go on, or
/// return a value: the task then finishes normally) or propagate with `?`
/// (the task ends cancelled, with the message). A task that awaits a sleep
/// sees the error at the sleep on its next step; one cancelled before its
/// first step never runs its body. A coroutine suspended at an await that
/// is not ours (another crate's channel or timer) cannot be told: at its
/// next step it is dropped where it waits, its destructors running as
/// `finally` blocks would, and the task ends cancelled.
///
/// Closing the loop drops the tasks still pending, unrun, and marks them
/// cancelled (asyncio leaves them pending forever); their done-callbacks
/// are dropped unrun.
///
/// A task whose coroutine panics fails with a [`Panic`](asyncio_core::Panic)
/// exception, and the loop goes on. A failed task whose exception nobody
/// reads reports `Task exception was never retrieved` to the loop's
/// exception handler when its last handle goes.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let value = event_loop
///     .run_until_complete(async move {
///         let task = handle.create_task(async { 6 * 7 })?;
///         assert_eq!(format!("{task:?}"), "<Task pending name='Task-2' coro=<<async block>() running>>");
///         let value = (&task).await?;
///         assert_eq!(format!("{task:?}"), "<Task finished name='Task-2' coro=<<async block>() done> result=42>");
///         Ok::<_, asyncio_loop::LoopError>(value)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(value, 42);
/// ```
pub struct Task<T: 'static> {
    cell: Rc<dyn TypedTask<T>>,
}

impl<T: 'static> Task<T> {
    fn from_cell(cell: Rc<dyn TypedTask<T>>) -> Self {
        Task { cell }
    }

    /// The id of the task's loop.
    pub(crate) fn loop_id(&self) -> u64 {
        self.cell.header().id.loop_id
    }

    pub(crate) fn future(&self) -> &Future<T> {
        self.cell.result()
    }

    /// The task's exception goes to whoever runs the loop until it is done.
    pub(crate) fn silence(&self) {
        self.cell.header().silenced.set(true);
        self.cell.header().unretrieved.set(false);
    }

    /// The task's name: `Task-N` (numbered per loop, in creation order)
    /// unless [`set_name`](Self::set_name) gave it another.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert_eq!(task.name(), "Task-1");
    /// task.set_name("worker");
    /// assert_eq!(task.name(), "worker");
    /// ```
    pub fn name(&self) -> String {
        self.cell.header().name()
    }

    /// Renames the task.
    ///
    /// # Examples
    ///
    /// See [`name`](Self::name).
    pub fn set_name(&self, name: impl Into<String>) {
        self.cell.header().set_name(name.into());
    }

    /// Whether the task is done: finished, failed or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert!(!task.done());
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert!(task.done());
    /// ```
    pub fn done(&self) -> bool {
        self.cell.header().done.get()
    }

    /// Whether the task ended cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// task.cancel();
    /// assert!(!task.cancelled(), "not until its step runs");
    /// assert!(event_loop.run_until_complete(&task).unwrap_err().is_cancelled());
    /// assert!(task.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cell.cancelled()
    }

    /// The task's result, cloned.
    ///
    /// # Errors
    ///
    /// As [`Future::result`]: its exception, its cancellation, or an
    /// invalid-state error while it runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { "the result" }).unwrap();
    /// assert!(task.result().unwrap_err().is_invalid_state());
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert_eq!(task.result().unwrap(), "the result");
    /// ```
    pub fn result(&self) -> Result<T, FutureError>
    where
        T: Clone,
    {
        self.cell.header().unretrieved.set(false);
        self.cell.result().result()
    }

    /// Moves the result out (for results that are not `Clone`); later
    /// reads fail with an invalid-state error.
    ///
    /// # Errors
    ///
    /// As [`result`](Self::result).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { vec![1, 2] }).unwrap();
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert_eq!(task.take_result().unwrap(), [1, 2]);
    /// assert!(task.take_result().unwrap_err().is_invalid_state());
    /// ```
    pub fn take_result(&self) -> Result<T, FutureError> {
        self.cell.header().unretrieved.set(false);
        self.cell.result().take_result()
    }

    /// The exception the task failed with, `None` if it finished.
    ///
    /// # Errors
    ///
    /// As [`Future::exception`]: cancelled, or still running.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { Err::<(), _>("boom") }).unwrap();
    /// event_loop.run_until_complete(async {}).unwrap();
    /// assert_eq!(task.exception().unwrap().unwrap().to_string(), "boom");
    /// ```
    pub fn exception(&self) -> Result<Option<Exception>, FutureError> {
        self.cell.header().unretrieved.set(false);
        self.cell.result().exception()
    }

    /// Adds a callback that the loop runs with the task once it is done,
    /// as [`Future::add_done_callback`] does; returns its key. The
    /// callback runs even if every handle to the task is dropped.
    ///
    /// # Errors
    ///
    /// [`is_loop_closed`](FutureError::is_loop_closed) when the task is
    /// done and its loop closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { 7 }).unwrap();
    /// let seen = Rc::new(Cell::new(0));
    /// let sink = Rc::clone(&seen);
    /// task.add_done_callback(move |task| sink.set(task.result().unwrap())).unwrap();
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert_eq!(seen.get(), 7);
    /// ```
    pub fn add_done_callback<F>(&self, callback: F) -> Result<CallbackKey, FutureError>
    where
        F: FnOnce(&Task<T>) + 'static,
    {
        // The callback keeps the task alive until it runs, as asyncio's
        // does: the cycle through the result future's list ends when the
        // callbacks run, or when closing the loop drops them.
        let task = self.clone();
        self.cell
            .result()
            .add_done_callback_named_after::<F, _>(move |_| callback(&task))
    }

    /// Removes a done-callback by its key; returns how many were removed
    /// (`0` or `1`), as [`Future::remove_done_callback`].
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// let key = task.add_done_callback(|_| unreachable!()).unwrap();
    /// assert_eq!(task.remove_done_callback(key), 1);
    /// event_loop.run_until_complete(&task).unwrap();
    /// ```
    pub fn remove_done_callback(&self, key: CallbackKey) -> usize {
        self.cell.result().remove_done_callback(key)
    }

    /// Requests cancellation (see [Cancellation](Self#cancellation)); returns
    /// `false` when the task is already done.
    ///
    /// # Examples
    ///
    /// See [`cancelled`](Self::cancelled).
    pub fn cancel(&self) -> bool {
        self.cell.as_step().cancel(None)
    }

    /// [`cancel`](Self::cancel) with a message, which the cancelled error
    /// carries ([`FutureError::cancel_message`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// task.cancel_with_message("not needed");
    /// let error = event_loop.run_until_complete(&task).unwrap_err();
    /// assert_eq!(error.future_error().unwrap().cancel_message(), Some("not needed"));
    /// ```
    pub fn cancel_with_message(&self, message: impl Into<String>) -> bool {
        self.cell.as_step().cancel(Some(Arc::from(message.into())))
    }

    /// The task's waker, which names it (its loop, key and number) and is
    /// `Send`: another thread can hold it to have the task cancelled.
    pub(crate) fn id(&self) -> TaskId {
        self.cell.header().id
    }

    /// How many cancellations are pending: asyncio 3.11's `cancelling()`,
    /// counted up by [`cancel`](Self::cancel), down by
    /// [`uncancel`](Self::uncancel).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// task.cancel();
    /// task.cancel();
    /// assert_eq!(task.cancelling(), 2);
    /// assert_eq!(task.uncancel(), 1);
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.cell.header().cancels.get()
    }

    /// Takes back one cancellation request and returns how many are left
    /// (asyncio 3.11's `uncancel()`, which `timeout` and task groups use to
    /// tell their own cancellations from others').
    ///
    /// # Examples
    ///
    /// See [`cancelling`](Self::cancelling).
    pub fn uncancel(&self) -> u32 {
        self.cell.header().uncancel()
    }

    /// Waits for the task and gives a clone of its result, keeping the
    /// handle: `(&task).await`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async { 1 }).unwrap();
    /// let waiter = task.clone();
    /// let got = event_loop.run_until_complete(async move { waiter.wait().await }).unwrap();
    /// assert_eq!(got.unwrap(), 1);
    /// assert_eq!(task.result().unwrap(), 1);
    /// ```
    pub fn wait(&self) -> TaskWait<T>
    where
        T: Clone,
    {
        TaskWait::cloning(Rc::clone(&self.cell))
    }

    /// The task with its output type erased, as [`current_task`](crate::current_task)
    /// and [`all_tasks`](crate::all_tasks) give it.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert_eq!(task.as_any().name(), "Task-1");
    /// ```
    pub fn as_any(&self) -> AnyTask {
        AnyTask {
            step: Rc::clone(&self.cell).step_rc(),
        }
    }

    /// Whether two handles name the same task.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert!(task.ptr_eq(&task.clone()));
    /// ```
    pub fn ptr_eq(&self, other: &Task<T>) -> bool {
        Rc::ptr_eq(&self.cell, &other.cell)
    }
}

impl<T: 'static> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task {
            cell: Rc::clone(&self.cell),
        }
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Task<T> {
    /// asyncio's repr: `<Task pending name='Task-1' coro=<main() running>>`,
    /// `<Task finished name='Task-1' coro=<main() done> result=42>`,
    /// `<Task cancelling ...>`, `<Task cancelled ...>`, with
    /// `wait_for=...` while it awaits a future of ours.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_repr(
            self.cell.header(),
            self.cell.result(),
            f,
            |future, f| match future.inspect_result(|value| write!(f, " result={value:?}")) {
                Ok(written) => written,
                Err(_) => f.write_str(" result=<taken>"),
            },
        )
    }
}

/// What awaiting a [`Task`] polls: ready with its result (moved out for
/// `task.await`, cloned for `(&task).await` and [`Task::wait`]).
///
/// While it waits, cancelling the task that awaits it cancels this task
/// (asyncio's rule for a task awaiting a task).
///
/// # Examples
///
/// See [`Task`].
pub struct TaskWait<T: 'static> {
    cell: Rc<dyn TypedTask<T>>,
    inner: Inner<T>,
    /// Polls `inner`: made where `T: Clone` is known for a cloning wait.
    poll_inner: PollInner<T>,
}

type PollInner<T> = fn(&mut Inner<T>, &mut Context<'_>) -> Poll<Result<T, FutureError>>;

enum Inner<T: 'static> {
    Clone(asyncio_core::Wait<T>),
    Take(WaitTake<T>),
}

fn poll_cloning<T: Clone + 'static>(
    inner: &mut Inner<T>,
    context: &mut Context<'_>,
) -> Poll<Result<T, FutureError>> {
    match inner {
        Inner::Clone(wait) => Pin::new(wait).poll(context),
        Inner::Take(wait) => Pin::new(wait).poll(context),
    }
}

fn poll_taking<T: 'static>(
    inner: &mut Inner<T>,
    context: &mut Context<'_>,
) -> Poll<Result<T, FutureError>> {
    match inner {
        Inner::Take(wait) => Pin::new(wait).poll(context),
        // Only `poll_cloning` is ever paired with a cloning wait.
        Inner::Clone(_) => Poll::Pending,
    }
}

impl<T: 'static> TaskWait<T> {
    fn cloning(cell: Rc<dyn TypedTask<T>>) -> Self
    where
        T: Clone,
    {
        let inner = Inner::Clone(cell.result().wait());
        TaskWait {
            cell,
            inner,
            poll_inner: poll_cloning::<T>,
        }
    }

    fn taking(cell: Rc<dyn TypedTask<T>>) -> Self {
        let inner = Inner::Take(cell.result().wait_take());
        TaskWait {
            cell,
            inner,
            poll_inner: poll_taking::<T>,
        }
    }
}

impl<T: 'static> StdFuture for TaskWait<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.cell.header().running.get() {
            // Only the task itself runs while its own step does: asyncio's
            // `RuntimeError('Task cannot await on itself')`, given to the
            // await rather than thrown in.
            let refused = crate::LoopError::invalid_state("a task cannot await itself");
            return Poll::Ready(Err(FutureError::from(Exception::new(refused))));
        }
        if let Some(cancelled) = cancel::take() {
            // The awaiting task was cancelled: this task is cancelled in
            // its place, and awaited on; if it is already done, the await
            // ends with the cancellation instead of its result.
            let message = cancelled.cancel_message().map(Arc::from);
            if !circle::deliver_to(this.cell.as_step(), message) {
                // Done already, or awaiting (through others) the task that
                // runs: the await ends with the cancellation, as asyncio's
                // throws it in.
                return Poll::Ready(Err(cancelled));
            }
        }
        let polled = (this.poll_inner)(&mut this.inner, context);
        if polled.is_ready() {
            this.cell.header().unretrieved.set(false);
        } else {
            // What the awaiting task waits on is this task, not its result
            // future (which the inner wait noted).
            let cell = &this.cell;
            cancel::note_awaited(context.waker(), 0, || Rc::clone(cell).awaited_rc());
        }
        polled
    }
}

impl<T: 'static> fmt::Debug for TaskWait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskWait")
            .field(&format_args!("{}", self.cell.describe_awaited(0)))
            .finish()
    }
}

impl<T: 'static> IntoFuture for Task<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = TaskWait<T>;

    /// `task.await`: waits for the task and moves its result out.
    fn into_future(self) -> TaskWait<T> {
        TaskWait::taking(self.cell)
    }
}

impl<T: Clone + 'static> IntoFuture for &Task<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = TaskWait<T>;

    /// `(&task).await`: [`Task::wait`].
    fn into_future(self) -> TaskWait<T> {
        self.wait()
    }
}

impl<T: Clone + 'static> IntoAwaitable for &Task<T> {
    type Output = T;

    /// `run_until_complete(&task)`: waits for the task, then clones its result.
    fn into_awaitable(self) -> Awaitable<T> {
        // The run reads the result: it counts as retrieved.
        self.silence();
        Awaitable::Future {
            future: self.cell.result().clone(),
            read: Future::result,
        }
    }
}

impl<T: 'static> IntoAwaitable for Task<T> {
    type Output = T;

    /// `run_until_complete(task)`: waits for the task, then moves its result out.
    fn into_awaitable(self) -> Awaitable<T> {
        self.silence();
        Awaitable::Future {
            future: self.cell.result().clone(),
            read: Future::take_result,
        }
    }
}

/// A task with its output type erased: what [`current_task`](crate::current_task)
/// and [`all_tasks`](crate::all_tasks) give. It can be named, cancelled
/// and shown, not read.
///
/// # Examples
///
/// ```
/// let event_loop = asyncio_loop::EventLoop::new();
/// let task = event_loop.create_task(async {}).unwrap();
/// let any = task.as_any();
/// assert!(any.cancel());
/// assert_eq!(any.cancelling(), 1);
/// assert!(format!("{any:?}").starts_with("<Task cancelling name='Task-1' coro=<"));
/// ```
#[derive(Clone)]
pub struct AnyTask {
    step: Rc<dyn TaskStep>,
}

impl AnyTask {
    pub(crate) fn from_step(step: Rc<dyn TaskStep>) -> Self {
        AnyTask { step }
    }

    /// The task's name (see [`Task::name`]).
    ///
    /// # Examples
    ///
    /// See [`AnyTask`].
    pub fn name(&self) -> String {
        self.step.name()
    }

    /// Renames the task.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// task.as_any().set_name("renamed");
    /// assert_eq!(task.name(), "renamed");
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        self.step.set_name(name.into());
    }

    /// Whether the task is done.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert!(!task.as_any().done());
    /// ```
    pub fn done(&self) -> bool {
        self.step.done()
    }

    /// [`Task::cancel`].
    ///
    /// # Examples
    ///
    /// See [`AnyTask`].
    pub fn cancel(&self) -> bool {
        self.step.cancel(None)
    }

    /// [`Task::cancel_with_message`].
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert!(task.as_any().cancel_with_message("stop"));
    /// ```
    pub fn cancel_with_message(&self, message: impl Into<String>) -> bool {
        self.step.cancel(Some(Arc::from(message.into())))
    }

    /// [`Task::cancelling`].
    ///
    /// # Examples
    ///
    /// See [`AnyTask`].
    pub fn cancelling(&self) -> u32 {
        self.step.cancelling()
    }

    /// [`Task::uncancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let any = event_loop.create_task(async {}).unwrap().as_any();
    /// any.cancel();
    /// assert_eq!(any.uncancel(), 0);
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.step.uncancel()
    }

    /// Whether two handles name the same task.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let task = event_loop.create_task(async {}).unwrap();
    /// assert!(task.as_any().ptr_eq(&task.as_any()));
    /// ```
    pub fn ptr_eq(&self, other: &AnyTask) -> bool {
        std::ptr::addr_eq(Rc::as_ptr(&self.step), Rc::as_ptr(&other.step))
    }
}

impl AnyTask {
    /// A future of the task's loop that finishes (with `()`) once the task
    /// is done, whatever its outcome.
    pub(crate) fn done_future(&self) -> Future<()> {
        let Some(shared) = self.step.owner().upgrade() else {
            let gone = Future::new();
            let _ = gone.set_result(());
            return gone;
        };
        let done = shared.create_future::<()>();
        let setter = done.clone();
        let added = self.step.on_done(Box::new(move || {
            let _ = setter.set_result(());
        }));
        if added.is_err() {
            let _ = done.set_result(());
        }
        done
    }

    /// See [`TaskStep::failure`].
    pub(crate) fn failure(&self) -> Option<Exception> {
        self.step.failure()
    }
}

impl fmt::Debug for AnyTask {
    /// The task's repr, without its result.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.step.write_repr(f)
    }
}

// ---- ensure_future -----------------------------------------------------------

// ---- what a coroutine returns ------------------------------------------------

/// What a task's coroutine may return: a `Result` (its error is the
/// task's exception, or its cancellation) or a plain [`TaskValue`].
///
/// # Examples
///
/// ```
/// use asyncio_loop::TaskOutput;
///
/// assert_eq!(TaskOutput::into_outcome(5).unwrap(), 5);
/// assert_eq!(Err::<u8, _>("boom").into_outcome().unwrap_err().to_string(), "boom");
/// ```
#[diagnostic::on_unimplemented(
    message = "a task's coroutine cannot return `{Self}`",
    label = "returns `{Self}`",
    note = "return a `Result` (`Ok::<_, asyncio_core::FutureError>(value)`), or implement `asyncio_loop::TaskValue` for the type"
)]
pub trait TaskOutput: 'static {
    /// The task's result type.
    type Value: 'static;

    /// The result, or the error that fails (or cancels) the task.
    ///
    /// # Errors
    ///
    /// The coroutine's own error, boxed.
    fn into_outcome(self) -> Result<Self::Value, BoxError>;

    /// Whether this is a propagated cancellation (what
    /// [`Timeout`](crate::Timeout) turns into a timeout): an `Err` that
    /// is, wraps or was caused by a cancelled [`FutureError`], by the rule
    /// of [`asyncio_core::propagated`], whatever its type
    /// ([`FutureError`], [`LoopError`](crate::LoopError), `SyncError`, a
    /// `Box<dyn Error + Send + Sync>`, an `anyhow::Error`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::TaskOutput;
    ///
    /// let future: asyncio_core::Future<()> = asyncio_core::Future::new();
    /// future.cancel();
    /// assert!(future.result().is_cancellation());
    /// assert!(!Ok::<_, asyncio_core::FutureError>(1).is_cancellation());
    /// ```
    fn is_cancellation(&self) -> bool {
        self.cancellation().is_some()
    }

    /// The propagated cancellation this is, if it is one (see
    /// [`is_cancellation`](Self::is_cancellation)).
    fn cancellation(&self) -> Option<FutureError> {
        None
    }
}

impl<T: 'static, E: Into<BoxError> + 'static> TaskOutput for Result<T, E> {
    type Value = T;

    fn into_outcome(self) -> Result<T, BoxError> {
        self.map_err(|error| match propagated::cancellation_in(&error) {
            // Some wrappers (anyhow's box) hide what they wrap once boxed:
            // the cancellation goes on as itself.
            Some(cancellation) => Box::new(cancellation.clone()) as BoxError,
            None => error.into(),
        })
    }

    fn cancellation(&self) -> Option<FutureError> {
        let Err(error) = self else { return None };
        propagated::cancellation_in(error).cloned()
    }
}

/// A type a coroutine returns as the task's result, as it is (not a
/// `Result`, which [`TaskOutput`] takes apart). Implemented for the
/// standard library's plain types; implement it for your own:
///
/// ```
/// struct Report { lines: usize }
/// impl asyncio_loop::TaskValue for Report {}
///
/// let event_loop = asyncio_loop::EventLoop::new();
/// let task = event_loop.create_task(async { Report { lines: 3 } }).unwrap();
/// assert_eq!(event_loop.run_until_complete(task).unwrap().lines, 3);
/// ```
pub trait TaskValue: 'static {}

impl<T: TaskValue> TaskOutput for T {
    type Value = T;

    fn into_outcome(self) -> Result<T, BoxError> {
        Ok(self)
    }
}

macro_rules! task_values {
    ($($t:ty),* $(,)?) => { $(impl TaskValue for $t {})* };
}

task_values!(
    (),
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    &'static str,
    Box<str>,
    Rc<str>,
    Arc<str>,
    std::time::Duration,
    std::time::Instant,
);

impl<T: 'static> TaskValue for Vec<T> {}
impl<T: 'static> TaskValue for Option<T> {}
impl<T: 'static> TaskValue for Box<T> {}
impl<T: 'static> TaskValue for Rc<T> {}
impl<T: 'static> TaskValue for Arc<T> {}
impl<T: 'static> TaskValue for std::collections::VecDeque<T> {}
impl<K: 'static, V: 'static, S: 'static> TaskValue for std::collections::HashMap<K, V, S> {}
impl<K: 'static, V: 'static> TaskValue for std::collections::BTreeMap<K, V> {}
impl<T: 'static, S: 'static> TaskValue for std::collections::HashSet<T, S> {}
impl<T: 'static> TaskValue for std::collections::BTreeSet<T> {}
impl<T: 'static> TaskValue for Future<T> {}
impl<T: 'static> TaskValue for Task<T> {}
impl<A: 'static, B: 'static> TaskValue for (A, B) {}
impl<A: 'static, B: 'static, C: 'static> TaskValue for (A, B, C) {}
impl<A: 'static, B: 'static, C: 'static, D: 'static> TaskValue for (A, B, C, D) {}

pin_project_lite::pin_project! {
    /// A coroutine whose output goes through [`TaskOutput`]. It keeps the
    /// finished coroutine until the task drops it, outside the poll, so
    /// that a panic in its `Drop` is reported rather than failing the task.
    pub(crate) struct Outcome<F> {
        #[pin]
        coroutine: F,
    }
}

impl<F> Outcome<F> {
    pub(crate) fn new(coroutine: F) -> Self {
        Outcome { coroutine }
    }
}

impl<F> StdFuture for Outcome<F>
where
    F: StdFuture,
    F::Output: TaskOutput,
{
    type Output = Result<<F::Output as TaskOutput>::Value, Exception>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .coroutine
            .poll(context)
            .map(|output| output.into_outcome().map_err(Exception::from_boxed))
    }
}

/// A boxed coroutine whose output is the result as it is, whatever its
/// type (`run_until_complete`); kept as [`Outcome`] keeps its coroutine.
struct Plainly<T>(Pin<Box<dyn StdFuture<Output = T>>>);

impl<T> StdFuture for Plainly<T> {
    type Output = Result<T, Exception>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(context).map(Ok)
    }
}

/// Wraps `coroutine` in a task of `shared` (`create_task`).
pub(crate) fn create_task_on<F>(
    shared: &Shared,
    coroutine: F,
) -> Result<Task<<F::Output as TaskOutput>::Value>, LoopError>
where
    F: StdFuture + 'static,
    F::Output: TaskOutput,
{
    spawn(shared, Outcome::new(coroutine), coroutine_label::<F>)
}

/// Wraps a coroutine whose output is the result as it is (whatever its
/// type) in a task of `shared` (`run_until_complete`); the task's
/// exception goes to the caller, never reported as unretrieved.
pub(crate) fn run_task_on<T: 'static>(
    shared: &Shared,
    coroutine: Pin<Box<dyn StdFuture<Output = T>>>,
    label: Label,
) -> Result<Task<T>, LoopError> {
    let task = spawn(shared, Plainly(coroutine), label)?;
    task.silence();
    Ok(task)
}

/// Wraps `coroutine` in a task whose first step is queued now.
fn spawn<T: 'static>(
    shared: &Shared,
    coroutine: impl Coroutine<T>,
    label: Label,
) -> Result<Task<T>, LoopError> {
    if shared.is_closed() {
        return Err(LoopError::closed());
    }
    let (task, cell) = shared.insert_task(|key, seq| {
        let id = TaskId {
            loop_id: shared.id,
            key,
            seq,
        };
        let cell = Rc::new(TaskCell::new(coroutine, label, id, shared.this()));
        let task: Rc<dyn TaskStep> = cell.clone();
        let typed: Rc<dyn TypedTask<T>> = cell;
        (Rc::clone(&task), (task, typed))
    });
    task.scheduled().set(true);
    shared.queue_step(task)?;
    Ok(Task::from_cell(cell))
}

/// Cancellations passed along awaits that go round a circle.
///
/// Tasks can await each other in a circle (a deadlock, but a program can
/// build one). asyncio passes a cancellation round such a circle until
/// `RecursionError`. Ours notices when a pass comes back to a task it went
/// through: the pass stops there, the tasks between give the cancellation
/// back, and the task where it began keeps it, to be raised at its await by
/// its next step (the await ends with the cancellation instead of passing
/// it on again), so every task of the circle ends.
mod circle {
    use std::cell::Cell;
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
    use std::sync::Arc;

    use asyncio_core::cancel::Noted;

    use super::{Header, TaskStep};

    thread_local! {
        /// How many passes are under way (nested in each other).
        static PASSES: Cell<u32> = const { Cell::new(0) };
        /// Set while a running task's await passes on the cancellation its
        /// step delivered.
        static DELIVERING: Cell<bool> = const { Cell::new(false) };
        /// Set when the innermost pass came back to where it went through.
        static CAME_BACK: Cell<bool> = const { Cell::new(false) };
    }

    /// What passing a cancellation on did.
    pub(super) enum Passed {
        /// What is awaited took it (or something it awaits did).
        Taken,
        /// What is awaited is done, or ignores cancellations.
        Refused,
        /// It came back round a circle.
        Circled,
    }

    /// Whether a cancellation arriving at `header`'s task went round a
    /// circle (the task is passing one on already, or runs and its await
    /// is delivering one); if so, the pass that brought it hears so.
    pub(super) fn closes_at(header: &Header) -> bool {
        let closes =
            header.passing_cancel.get() || (header.running.get() && DELIVERING.with(Cell::get));
        if closes {
            came_back();
        }
        closes
    }

    /// Tells the pass that called in here that it came back round.
    pub(super) fn came_back() {
        CAME_BACK.with(|came_back| came_back.set(true));
    }

    /// Whether a pass is under way further out.
    pub(super) fn inside_a_pass() -> bool {
        PASSES.with(Cell::get) > 0
    }

    /// Passes `header`'s task's cancellation on to what it awaits.
    pub(super) fn pass(header: &Header, awaited: &Noted, message: Option<Arc<str>>) -> Passed {
        header.passing_cancel.set(true);
        let passed = within_a_pass(|| awaited.cancel(message));
        header.passing_cancel.set(false);
        passed
    }

    /// Passes the cancellation the running task's step delivered on to the
    /// task its await waits on; `false` if that task is done or it came
    /// back round a circle.
    pub(super) fn deliver_to(task: &dyn TaskStep, message: Option<Arc<str>>) -> bool {
        let delivering = DELIVERING.with(|delivering| delivering.replace(true));
        let passed = within_a_pass(|| task.cancel(message));
        DELIVERING.with(|flag| flag.set(delivering));
        matches!(passed, Passed::Taken)
    }

    fn within_a_pass(cancel: impl FnOnce() -> bool) -> Passed {
        let outer = CAME_BACK.with(|came_back| came_back.replace(false));
        PASSES.with(|passes| passes.set(passes.get() + 1));
        let passed = catch_unwind(AssertUnwindSafe(cancel));
        PASSES.with(|passes| passes.set(passes.get() - 1));
        let came_back = CAME_BACK.with(|came_back| came_back.replace(outer));
        match passed {
            Ok(true) => Passed::Taken,
            Ok(false) if came_back => Passed::Circled,
            Ok(false) => Passed::Refused,
            Err(payload) => resume_unwind(payload),
        }
    }
}
