//! The loop's top layer: what asyncio builds on its loop's public API, and
//! so do we. This module is asyncio's `wait`, `gather`, `as_completed`,
//! `wait_for`, `shield` and `timeout` (`tasks.py`, `timeouts.py`); its
//! children are `TaskGroup` ([`group`], `taskgroups.py`), `run` ([`run`],
//! `runners.py`) and the threads ([`threads`]: `to_thread` and
//! `run_coroutine_threadsafe`, `threads.py` and `tasks.py`).
//!
//! They use the public API (tasks, futures, done-callbacks, timers, the
//! running loop) and these crate-private pieces only: how a coroutine's
//! error is a cancellation or another future's exception
//! (`task::cancellation`, `task::unwrapped`, as a task reads them), a
//! task's `Send` name (`shared::TaskId`, from `Task::id`) for a
//! cancellation sent from another thread, and an erased task's failure and
//! done-future (`AnyTask::failure`, `AnyTask::done_future`) for `run`'s
//! shutdown. `tests/layers.rs` fails on a crate-private path not named
//! here.
//!
//! Behaviour is asyncio's; the shapes are Rust's: builders that are
//! awaited (`wait(tasks).timeout(0.1).await`), results in argument order
//! where asyncio returns sets, a [`Stream`] for `as_completed`, and a
//! [`Timeout`] scope with a handle to reschedule it.
//!
//! Each helper takes anything [`IntoTask`] (a coroutine, which becomes a
//! task of the running loop in argument order, or a task), and must run
//! inside a task of a running loop. Those that give results ([`gather`],
//! [`wait_for`], [`as_completed`]) take a [`Gatherable`]: a coroutine, whose
//! task is theirs alone and whose result they move out, or a task with a
//! `Clone` result, which they clone, so that the task's result stays
//! readable by everyone else, as asyncio's does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use std::sync::Arc;

use asyncio_core::cancel::{self, Awaited};
use asyncio_core::{CallbackKey, Future, FutureError, WaitTake};
use futures_core::Stream;

pub(crate) mod group;
pub(crate) mod run;
pub(crate) mod threads;

use crate::{
    current_task, get_running_loop, AnyTask, Delay, Handle, IntoTask, LoopError, LoopHandle, Task,
    TaskOutput, TimerHandle, When,
};

type Boxed<T> = Pin<Box<dyn StdFuture<Output = T>>>;

/// An awaitable whose result [`gather`], [`wait_for`] and [`as_completed`]
/// can give without taking it from anyone else.
///
/// A coroutine becomes a task that only the helper holds, and its result
/// is moved out (no `Clone` needed). A [`Task`] was given by a caller who
/// may read it again (`task.result()`, `task.await`, a done-callback), so
/// its result must be `Clone`, and is cloned: asyncio's result stays
/// readable by everyone. To gather tasks whose results are not `Clone`,
/// wrap each in a coroutine that awaits it (`async move { task.await }`),
/// which moves the result out on purpose.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{gather, EventLoop};
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let (sum, first) = event_loop
///     .run_until_complete(async move {
///         let first = handle.create_task(async { Ok::<_, asyncio_loop::LoopError>(vec![1]) })?;
///         let second = handle.create_task(async { Ok::<_, asyncio_loop::LoopError>(vec![2]) })?;
///         let results = gather([first.clone(), second]).await?;
///         // The tasks keep their results.
///         Ok::<_, asyncio_loop::LoopError>((results.concat(), first.result()?))
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!((sum, first), (vec![1, 2], vec![1]));
/// ```
pub trait Gatherable: IntoTask {
    /// The outcome of `task`, made of this awaitable by
    /// [`into_task`](IntoTask::into_task) and now done.
    ///
    /// # Errors
    ///
    /// The task's failure or cancellation, as [`Task::result`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, Gatherable, Task};
    ///
    /// let event_loop = EventLoop::new();
    /// let task = event_loop.create_task(async { Ok::<_, asyncio_loop::LoopError>(5) }).unwrap();
    /// event_loop.run_until_complete(&task).unwrap();
    /// assert_eq!(<Task<i32> as Gatherable>::outcome(&task).unwrap(), 5);
    /// assert_eq!(task.result().unwrap(), 5, "still there");
    /// ```
    fn outcome(task: &Task<Self::Value>) -> Result<Self::Value, FutureError>;
}

impl<F> Gatherable for F
where
    F: StdFuture + 'static,
    F::Output: TaskOutput,
{
    fn outcome(task: &Task<Self::Value>) -> Result<Self::Value, FutureError> {
        task.take_result()
    }
}

impl<T: Clone + 'static> Gatherable for Task<T> {
    fn outcome(task: &Task<T>) -> Result<T, FutureError> {
        task.result()
    }
}

/// Makes tasks of `awaitables` on the running loop, in order.
fn tasks_of<A: IntoTask>(
    event_loop: &LoopHandle,
    awaitables: Vec<A>,
) -> Result<Vec<Task<A::Value>>, LoopError> {
    awaitables
        .into_iter()
        .map(|awaitable| event_loop.ensure_future(awaitable))
        .collect()
}

/// Sets `future`'s result unless it is done (asyncio's `_release_waiter`).
fn release(future: &Future<()>) {
    if !future.done() {
        let _ = future.set_result(());
    }
}

/// A future of the loop that is released once `task` is done, and the key
/// of the done-callback that releases it (for `remove_done_callback`).
fn done_signal<T: 'static>(
    event_loop: &LoopHandle,
    task: &Task<T>,
) -> Result<(Future<()>, CallbackKey), LoopError> {
    let signal = event_loop.create_future::<()>();
    let releaser = signal.clone();
    let key = task.add_done_callback(move |_| release(&releaser))?;
    Ok((signal, key))
}

/// Removes done-callbacks added by a helper, when it is done waiting.
fn remove_callbacks<T>(tasks: &[Task<T>], keys: &[CallbackKey]) {
    for (task, key) in tasks.iter().zip(keys) {
        task.remove_done_callback(*key);
    }
}

// ---- wait ------------------------------------------------------------------

/// When [`wait`] returns (asyncio's `return_when`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// When any task is done (`FIRST_COMPLETED`).
    FirstCompleted,
    /// When any task fails with an exception, or all are done
    /// (`FIRST_EXCEPTION`; a cancelled task is not a failure here).
    FirstException,
    /// When all are done (`ALL_COMPLETED`, the default).
    #[default]
    AllCompleted,
}

/// What [`wait`] makes: awaited, it gives the tasks that are done and
/// those still pending, each in argument order.
///
/// # Examples
///
/// See [`wait`].
#[must_use = "a wait does nothing unless it is awaited"]
pub struct WaitSet<A> {
    awaitables: Vec<A>,
    return_when: ReturnWhen,
    timeout: Option<Delay>,
}

/// Waits for tasks, as asyncio's `wait`: until all are done, or as
/// [`return_when`](WaitSet::return_when) says, or until a
/// [`timeout`](WaitSet::timeout) passes, which cancels nothing. Awaited,
/// it gives `(done, pending)`.
///
/// Coroutines become tasks in argument order when the wait is first
/// polled (3.11's `wait` refuses bare coroutines; this does what its
/// error message asks for). asyncio returns two sets; here both are in
/// argument order. An empty `awaitables` gives two empty lists at once,
/// where asyncio raises `ValueError`. If the task awaiting the wait is
/// cancelled, the wait ends with the cancellation and cancels nothing.
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a running
/// loop, [`is_foreign_future`](LoopError::is_foreign_future) for a task of
/// another loop, [`is_cancelled`](LoopError::is_cancelled) when the
/// awaiting task was cancelled.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{wait, EventLoop, ManualClock, ReturnWhen};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let (done, pending) = event_loop
///     .run_until_complete(async move {
///         let nap = |seconds: f64| {
///             let handle = handle.clone();
///             async move { handle.sleep_with(seconds, seconds).await }
///         };
///         wait([nap(1.0), nap(2.0)]).return_when(ReturnWhen::FirstCompleted).await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(done[0].result().unwrap(), 1.0);
/// assert!(!pending[0].done());
/// assert_eq!(event_loop.time(), 1.0);
/// ```
pub fn wait<I>(awaitables: I) -> WaitSet<I::Item>
where
    I: IntoIterator,
    I::Item: IntoTask,
{
    WaitSet {
        awaitables: awaitables.into_iter().collect(),
        return_when: ReturnWhen::AllCompleted,
        timeout: None,
    }
}

impl<A> WaitSet<A> {
    /// Returns when `return_when` says instead of when all are done.
    ///
    /// # Examples
    ///
    /// See [`wait`].
    pub fn return_when(mut self, return_when: ReturnWhen) -> Self {
        self.return_when = return_when;
        self
    }

    /// Returns once `timeout` has passed (seconds as `f64`, or a
    /// `Duration`), whatever is done by then; nothing is cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{wait, EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let (done, pending) = event_loop
    ///     .run_until_complete(async move {
    ///         let slow = handle.create_task(handle.sleep(5.0))?;
    ///         wait([slow]).timeout(1.0).await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert!(done.is_empty() && !pending[0].done());
    /// ```
    pub fn timeout(mut self, timeout: impl Into<Delay>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }
}

/// What a [`WaitSet`] gives: the tasks done, and those still pending.
pub type Waited<T> = (Vec<Task<T>>, Vec<Task<T>>);

impl<A> IntoFuture for WaitSet<A>
where
    A: IntoTask + 'static,
{
    type Output = Result<Waited<A::Value>, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let event_loop = get_running_loop()?;
            let tasks = tasks_of(&event_loop, self.awaitables)?;
            if tasks.is_empty() {
                return Ok((Vec::new(), Vec::new()));
            }
            let waiter = event_loop.create_future::<()>();
            let timer = match self.timeout {
                Some(timeout) => {
                    let waiter = waiter.clone();
                    Some(event_loop.call_later(timeout, move || release(&waiter))?)
                }
                None => None,
            };
            // One `Rc` for the callbacks: with the task each is given, it
            // fits a callback's inline room (no allocation per task).
            let waiting = Rc::new((waiter.clone(), Cell::new(tasks.len()), self.return_when));
            let mut keys = Vec::with_capacity(tasks.len());
            for task in &tasks {
                let waiting = Rc::clone(&waiting);
                keys.push(task.add_done_callback(move |task| {
                    let (waiter, counter, return_when) = &*waiting;
                    counter.set(counter.get() - 1);
                    let failed = || !task.cancelled() && matches!(task.exception(), Ok(Some(_)));
                    if counter.get() == 0
                        || *return_when == ReturnWhen::FirstCompleted
                        || (*return_when == ReturnWhen::FirstException && failed())
                    {
                        release(waiter);
                    }
                })?);
            }
            let waited = waiter.wait().await;
            if let Some(timer) = timer {
                timer.cancel();
            }
            remove_callbacks(&tasks, &keys);
            waited?;
            Ok(tasks.into_iter().partition(Task::done))
        })
    }
}

impl<A> fmt::Debug for WaitSet<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSet")
            .field("awaitables", &self.awaitables.len())
            .field("return_when", &self.return_when)
            .field("timeout", &self.timeout.map(Delay::duration))
            .finish()
    }
}

// ---- gather ----------------------------------------------------------------

/// What [`gather`] makes: awaited, it gives every result in argument
/// order, or the first failure.
///
/// # Examples
///
/// See [`gather`].
#[must_use = "a gather does nothing unless it is awaited"]
pub struct Gather<A> {
    awaitables: Vec<A>,
}

/// [`Gather::return_exceptions`]: every outcome, failures included.
#[must_use = "a gather does nothing unless it is awaited"]
pub struct GatherAll<A> {
    awaitables: Vec<A>,
}

/// Runs `awaitables` concurrently and gives their results in argument
/// order, whatever the order they finish in: asyncio's `gather`.
///
/// Coroutines become tasks in argument order when the gather is first
/// polled; tasks given keep their results (see [`Gatherable`]). The first task to fail (with an exception, or cancelled) makes
/// the gather fail with its error at once, and the others keep running,
/// as in asyncio. Cancelling the task that awaits the gather cancels every
/// child still running, inside that `cancel()`; the gather then ends as a
/// child's failure would end it: with the first child to end cancelled
/// (or failed, if it caught the cancellation and then failed), without
/// waiting for the others. [`return_exceptions`](Gather::return_exceptions)
/// gives every outcome instead, failures included; cancelled, it waits for
/// every child and ends with the cancellation it was sent.
///
/// # Errors
///
/// The first child's failure ([`future_error`](LoopError::future_error)
/// has its exception, or its cancellation), the awaiting task's
/// cancellation, or [`is_no_running_loop`](LoopError::is_no_running_loop).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{gather, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let results = event_loop
///     .run_until_complete(async move {
///         let nap = |seconds: f64| handle.sleep_with(seconds, seconds);
///         gather([nap(2.0), nap(1.0)]).await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(results, [2.0, 1.0]);
/// assert_eq!(event_loop.time(), 2.0);
/// ```
pub fn gather<I>(awaitables: I) -> Gather<I::Item>
where
    I: IntoIterator,
    I::Item: Gatherable,
{
    Gather {
        awaitables: awaitables.into_iter().collect(),
    }
}

impl<A> Gather<A> {
    /// asyncio's `return_exceptions=True`: waits for every child and gives
    /// each outcome, `Err` for a failed or cancelled one, in argument order.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{gather, EventLoop};
    ///
    /// let event_loop = EventLoop::new();
    /// let outcomes = event_loop
    ///     .run_until_complete(async {
    ///         let attempt = |fail: bool| async move { if fail { Err("boom") } else { Ok(1) } };
    ///         gather([attempt(false), attempt(true)]).return_exceptions().await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
    /// assert_eq!(outcomes[1].as_ref().unwrap_err().exception().unwrap().to_string(), "boom");
    /// ```
    pub fn return_exceptions(self) -> GatherAll<A> {
        GatherAll {
            awaitables: self.awaitables,
        }
    }
}

/// How a gather ended.
#[derive(Clone, Copy, Debug)]
enum GatherEnd {
    /// Every child is done, and no failure ended it first.
    AllDone,
    /// A child was the first to fail or be cancelled (when failures end
    /// the gather): `Gathering::first_failed`.
    Child,
    /// The gather was cancelled, and every child it cancelled is done.
    Cancelled,
}

/// One gather's state, shared by its children's done-callbacks (which
/// hold no task, so that no task and its callbacks keep each other).
struct Gathering {
    remaining: Cell<usize>,
    /// `return_exceptions`: failures do not end it.
    all: bool,
    ended: Cell<Option<GatherEnd>>,
    /// The message the gather was cancelled with, once it was.
    cancelled: RefCell<Option<Option<String>>>,
    /// The child whose failure ended it (done, so holding it keeps no
    /// callback alive).
    first_failed: RefCell<Option<AnyTask>>,
    /// Released when it ends.
    outer: Future<()>,
}

impl Gathering {
    /// The state of a gather of `children` tasks.
    fn new(event_loop: &LoopHandle, children: usize, all: bool) -> Rc<Self> {
        Rc::new(Gathering {
            remaining: Cell::new(children),
            all,
            ended: Cell::new(None),
            cancelled: RefCell::new(None),
            first_failed: RefCell::new(None),
            outer: event_loop.create_future(),
        })
    }

    /// Adds the gather's done-callback to `task`.
    fn watch<T: 'static>(self: &Rc<Self>, task: &Task<T>) -> Result<(), LoopError> {
        // Only the state: with the task the callback is given, it fits a
        // callback's inline room (no allocation per child).
        let state = Rc::clone(self);
        task.add_done_callback(move |task| {
            // Failed (`Ok(Some)`) or cancelled (`Err`): one look.
            let failed = !matches!(task.exception(), Ok(None));
            state.child_done(failed.then(|| task.as_any()));
        })?;
        Ok(())
    }

    /// asyncio's `_done_callback` of `gather`.
    /// `failed` is the child, if it failed or was cancelled.
    fn child_done(&self, failed: Option<AnyTask>) {
        self.remaining.set(self.remaining.get() - 1);
        if self.ended.get().is_some() {
            return;
        }
        if failed.is_some() && !self.all {
            *self.first_failed.borrow_mut() = failed;
            self.end(GatherEnd::Child);
        } else if self.remaining.get() == 0 {
            let cancelled = self.cancelled.borrow().is_some();
            self.end(if cancelled {
                GatherEnd::Cancelled
            } else {
                GatherEnd::AllDone
            });
        }
    }

    fn end(&self, how: GatherEnd) {
        self.ended.set(Some(how));
        release(&self.outer);
    }
}

/// A gather's children and its state: what the task awaiting the gather
/// waits on, so that cancelling that task cancels the children at once
/// (asyncio's `_GatheringFuture.cancel`).
struct Children<T: 'static> {
    tasks: Vec<Task<T>>,
    state: Rc<Gathering>,
}

impl<T: 'static> Children<T> {
    /// Makes tasks of `awaitables` on the running loop and gathers them.
    ///
    /// Each task gets its done-callback as soon as it is made, as asyncio's
    /// `gather` does: a failure to make a later one leaves the earlier ones
    /// running, their callbacks counting into a gather nobody awaits. (The
    /// callback makes the task's result future, which then lies next to
    /// the task in memory: made in a second pass, the futures cost W5 90
    /// more instructions per child in glibc's `malloc_consolidate`;
    /// `docs/benchmarks.md`, history, nineteenth session.)
    fn start<A>(awaitables: Vec<A>, all: bool) -> Result<Rc<Self>, LoopError>
    where
        A: IntoTask<Value = T>,
    {
        let event_loop = get_running_loop()?;
        let state = Gathering::new(&event_loop, awaitables.len(), all);
        let mut tasks = Vec::with_capacity(awaitables.len());
        for awaitable in awaitables {
            let task = event_loop.ensure_future(awaitable)?;
            state.watch(&task)?;
            tasks.push(task);
        }
        if tasks.is_empty() {
            state.end(GatherEnd::AllDone);
        }
        Ok(Rc::new(Self { tasks, state }))
    }

    /// Cancels every child still running; `false` if none was (asyncio's
    /// `_GatheringFuture.cancel`).
    fn cancel(&self, message: Option<&str>) -> bool {
        if self.state.ended.get().is_some() {
            return false;
        }
        let mut any = false;
        for task in &self.tasks {
            any |= match message {
                Some(message) => task.cancel_with_message(message),
                None => task.cancel(),
            };
        }
        if any {
            let mut cancelled = self.state.cancelled.borrow_mut();
            cancelled.get_or_insert_with(|| message.map(str::to_owned));
        }
        any
    }

    /// Waits until the gather ends.
    fn wait(self: &Rc<Self>) -> GatherWait<T> {
        GatherWait {
            wait: self.state.outer.wait(),
            children: Rc::clone(self),
        }
    }

    /// The error of a gather that ended cancelled: the cancellation it was
    /// sent (CPython takes the last child's, message-less if that child
    /// was not cancelled).
    fn cancelled_error(&self) -> LoopError {
        let cancelled = self.state.cancelled.borrow();
        FutureError::cancellation(cancelled.as_ref().and_then(Option::as_deref)).into()
    }
}

impl<T: 'static> Awaited for Children<T> {
    fn cancel_awaited(self: Rc<Self>, _key: u64, message: Option<Arc<str>>) -> bool {
        self.cancel(message.as_deref())
    }

    fn describe_awaited(&self, _key: u64) -> String {
        let state = if self.state.ended.get().is_some() {
            "finished"
        } else {
            "pending"
        };
        format!("<_GatheringFuture {state}>")
    }
}

/// What the task awaiting a gather awaits.
struct GatherWait<T: 'static> {
    wait: asyncio_core::Wait<()>,
    children: Rc<Children<T>>,
}

impl<T: 'static> StdFuture for GatherWait<T> {
    type Output = Result<GatherEnd, LoopError>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            // The awaiting task's step delivered its cancellation: the
            // children take it, or, if none could, the await ends with it.
            if !self.children.cancel(cancelled.cancel_message()) {
                return Poll::Ready(Err(cancelled.into()));
            }
        }
        match Pin::new(&mut self.wait).poll(context) {
            Poll::Ready(released) => {
                released?;
                let ended = self.children.state.ended.get();
                Poll::Ready(Ok(ended.unwrap_or(GatherEnd::AllDone)))
            }
            Poll::Pending => {
                // What the task waits on is the gather, not its inner future
                // (which the inner wait noted).
                let children = &self.children;
                cancel::note_awaited(context.waker(), 0, || {
                    let children: Rc<dyn Awaited> = children.clone();
                    children
                });
                Poll::Pending
            }
        }
    }
}

impl<A: Gatherable + 'static> Gather<A> {
    /// Makes the children's tasks now and gives a handle to the gather, as
    /// asyncio's `gather()` returns its future at once: it can be
    /// [cancelled](GatherHandle::cancel) by whoever holds it, and awaited.
    /// (Awaiting a `Gather` directly starts it at its first poll.)
    ///
    /// # Errors
    ///
    /// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a
    /// running loop, [`is_foreign_future`](LoopError::is_foreign_future).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{gather, EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let error = event_loop
    ///     .run_until_complete(async move {
    ///         let nap = |seconds: f64| handle.sleep_with(seconds, seconds);
    ///         let gathering = gather([nap(1.0), nap(2.0)]).start()?;
    ///         assert!(gathering.cancel());
    ///         gathering.await
    ///     })
    ///     .unwrap()
    ///     .unwrap_err();
    /// assert!(error.is_cancelled());
    /// assert_eq!(event_loop.time(), 0.0);
    /// ```
    pub fn start(self) -> Result<GatherHandle<A::Value>, LoopError> {
        Ok(GatherHandle {
            children: Children::start(self.awaitables, false)?,
            outcome: A::outcome,
        })
    }
}

impl<A: Gatherable + 'static> GatherAll<A> {
    /// As [`Gather::start`], for every outcome.
    ///
    /// # Errors
    ///
    /// As [`Gather::start`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{gather, EventLoop, ManualClock};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let outcomes = event_loop
    ///     .run_until_complete(async move {
    ///         let gathering = gather([handle.sleep_with(1.0, 1)]).return_exceptions().start()?;
    ///         assert!(!gathering.done());
    ///         gathering.await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
    /// ```
    pub fn start(self) -> Result<GatherAllHandle<A::Value>, LoopError> {
        Ok(GatherAllHandle {
            children: Children::start(self.awaitables, true)?,
            outcome: A::outcome,
        })
    }
}

/// A started [`gather`]: asyncio's `_GatheringFuture`, which its holder
/// can [`cancel`](Self::cancel) and await. Made by [`Gather::start`].
///
/// # Examples
///
/// See [`Gather::start`].
#[must_use = "a gather's results are lost unless it is awaited"]
pub struct GatherHandle<T: 'static> {
    children: Rc<Children<T>>,
    outcome: fn(&Task<T>) -> Result<T, FutureError>,
}

/// A started [`gather(..).return_exceptions()`](Gather::return_exceptions).
/// Made by [`GatherAll::start`].
///
/// # Examples
///
/// See [`GatherAll::start`].
#[must_use = "a gather's results are lost unless it is awaited"]
pub struct GatherAllHandle<T: 'static> {
    children: Rc<Children<T>>,
    outcome: fn(&Task<T>) -> Result<T, FutureError>,
}

macro_rules! gather_handle_methods {
    ($handle:ident) => {
        impl<T: 'static> $handle<T> {
            /// Cancels every child still running (asyncio's
            /// `_GatheringFuture.cancel`); the gather then ends as
            /// [`gather`] says. `false` if it has ended, or no child could
            /// be cancelled.
            ///
            /// # Examples
            ///
            /// See [`Gather::start`].
            pub fn cancel(&self) -> bool {
                self.children.cancel(None)
            }

            /// [`cancel`](Self::cancel), with a message for the children's
            /// cancellations.
            ///
            /// # Examples
            ///
            /// ```
            /// use asyncio_loop::{gather, EventLoop, ManualClock};
            ///
            /// let event_loop = EventLoop::with_clock(&ManualClock::new());
            /// let handle = event_loop.handle();
            /// let error = event_loop
            ///     .run_until_complete(async move {
            ///         let gathering = gather([handle.sleep(1.0)]).start()?;
            ///         gathering.cancel_with_message("enough");
            ///         gathering.await
            ///     })
            ///     .unwrap()
            ///     .unwrap_err();
            /// assert_eq!(error.future_error().unwrap().cancel_message(), Some("enough"));
            /// ```
            pub fn cancel_with_message(&self, message: &str) -> bool {
                self.children.cancel(Some(message))
            }

            /// Whether the gather has ended (its outcome is known).
            ///
            /// # Examples
            ///
            /// See [`GatherAll::start`].
            pub fn done(&self) -> bool {
                self.children.state.ended.get().is_some()
            }

            /// The children's tasks, in argument order.
            ///
            /// # Examples
            ///
            /// ```
            /// use asyncio_loop::{gather, EventLoop};
            ///
            /// let event_loop = EventLoop::new();
            /// let count = event_loop
            ///     .run_until_complete(async {
            ///         let gathering = gather([async { Ok::<_, asyncio_loop::LoopError>(1) }]).start()?;
            ///         Ok::<_, asyncio_loop::LoopError>(gathering.tasks().len())
            ///     })
            ///     .unwrap()
            ///     .unwrap();
            /// assert_eq!(count, 1);
            /// ```
            pub fn tasks(&self) -> &[Task<T>] {
                &self.children.tasks
            }
        }

        impl<T: 'static> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.children.describe_awaited(0))
            }
        }
    };
}

gather_handle_methods!(GatherHandle);
gather_handle_methods!(GatherAllHandle);

impl<T: 'static> IntoFuture for GatherHandle<T> {
    type Output = Result<Vec<T>, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let children = self.children;
            let tasks = &children.tasks;
            match children.wait().await? {
                GatherEnd::AllDone => tasks
                    .iter()
                    .map(|task| (self.outcome)(task).map_err(LoopError::from))
                    .collect::<Result<Vec<_>, _>>(),
                GatherEnd::Child => Err(children
                    .state
                    .first_failed
                    .borrow()
                    .as_ref()
                    .and_then(|failed| tasks.iter().find(|task| task.as_any().ptr_eq(failed)))
                    .and_then(|task| (self.outcome)(task).err())
                    .map_or_else(
                        || LoopError::from(FutureError::loop_closed()),
                        LoopError::from,
                    )),
                GatherEnd::Cancelled => Err(children.cancelled_error()),
            }
        })
    }
}

impl<T: 'static> IntoFuture for GatherAllHandle<T> {
    type Output = Result<Vec<Result<T, FutureError>>, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let children = self.children;
            match children.wait().await? {
                GatherEnd::Cancelled => Err(children.cancelled_error()),
                _ => Ok(children.tasks.iter().map(self.outcome).collect()),
            }
        })
    }
}

impl<A> IntoFuture for Gather<A>
where
    A: Gatherable + 'static,
{
    type Output = Result<Vec<A::Value>, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.start()?.await })
    }
}

impl<A> IntoFuture for GatherAll<A>
where
    A: Gatherable + 'static,
{
    type Output = Result<Vec<Result<A::Value, FutureError>>, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.start()?.await })
    }
}

impl<A> fmt::Debug for Gather<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("awaitables", &self.awaitables.len())
            .finish()
    }
}

impl<A> fmt::Debug for GatherAll<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherAll")
            .field("awaitables", &self.awaitables.len())
            .finish()
    }
}

// ---- as_completed ----------------------------------------------------------

/// The results of tasks in the order they finish: asyncio's
/// `as_completed`, as a [`Stream`] (`futures::StreamExt::next` awaits the
/// next one), or, as 3.11's, an iterator of awaitables
/// ([`IntoIterator`]: each item, awaited, gives the next result to finish).
///
/// Made by [`as_completed`]; each item is the next task's result (moved out
/// of a task made of a coroutine, cloned from a task given, see
/// [`Gatherable`]). After a [`timeout`](Self::timeout) passes, the next item is an
/// [`is_timeout`](LoopError::is_timeout) error and the stream ends (the
/// tasks still running are not cancelled, as in asyncio); each awaitable
/// of the iterator awaited after it gives that error.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{as_completed, EventLoop, ManualClock};
/// use futures::StreamExt;
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let order = event_loop
///     .run_until_complete(async move {
///         let nap = |seconds: f64| handle.sleep_with(seconds, seconds);
///         let mut finished = as_completed([nap(0.3), nap(0.1), nap(0.2)])?;
///         let mut order = Vec::new();
///         while let Some(result) = finished.next().await {
///             order.push(result?);
///         }
///         Ok::<_, asyncio_loop::LoopError>(order)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(order, [0.1, 0.2, 0.3]);
/// ```
///
/// As 3.11's loop of awaitables:
///
/// ```
/// use asyncio_loop::{as_completed, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let order = event_loop
///     .run_until_complete(async move {
///         let nap = |seconds: f64| handle.sleep_with(seconds, seconds);
///         let mut order = Vec::new();
///         for next in as_completed([nap(0.2), nap(0.1)])? {
///             order.push(next.await?);
///         }
///         Ok::<_, asyncio_loop::LoopError>(order)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(order, [0.1, 0.2]);
/// ```
pub struct AsCompleted<T: 'static> {
    inner: Rc<Completing<T>>,
    /// What the stream waits on between results.
    signal: Option<WaitTake<()>>,
}

/// One `as_completed`: its tasks (with their done-callbacks' keys, removed
/// when it is dropped), and what the callbacks share.
struct Completing<T: 'static> {
    state: Rc<Completions<T>>,
    tasks: Vec<(Task<T>, CallbackKey)>,
    event_loop: LoopHandle,
    /// How a finished task's result is read ([`Gatherable::outcome`]).
    outcome: fn(&Task<T>) -> Result<T, FutureError>,
}

struct Completions<T: 'static> {
    done: RefCell<VecDeque<Task<T>>>,
    /// How many results are still to hand out.
    remaining: Cell<usize>,
    /// Released when a task finishes or the timeout passes: one per waiter.
    signals: RefCell<Vec<Future<()>>>,
    timed_out: Cell<bool>,
    timer: RefCell<Option<TimerHandle>>,
}

impl<T: 'static> Completions<T> {
    fn wake(&self) {
        let signals = std::mem::take(&mut *self.signals.borrow_mut());
        for signal in &signals {
            release(signal);
        }
    }

    /// Hands out no more results.
    fn finish(&self) {
        self.remaining.set(0);
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
    }
}

impl<T: 'static> Completing<T> {
    /// The next result to finish, waiting on `signal` for it; `None` once
    /// every result was handed out, or the timeout's error was.
    fn poll_next(
        &self,
        signal: &mut Option<WaitTake<()>>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<T, LoopError>>> {
        let state = &self.state;
        loop {
            if state.remaining.get() == 0 {
                return Poll::Ready(None);
            }
            let next = state.done.borrow_mut().pop_front();
            if let Some(task) = next {
                state.remaining.set(state.remaining.get() - 1);
                if state.remaining.get() == 0 {
                    state.finish();
                }
                return Poll::Ready(Some((self.outcome)(&task).map_err(LoopError::from)));
            }
            if state.timed_out.get() {
                state.finish();
                return Poll::Ready(Some(Err(LoopError::timeout(None))));
            }
            if signal.is_none() {
                let released = self.event_loop.create_future::<()>();
                state.signals.borrow_mut().push(released.clone());
                *signal = Some(released.wait_take());
            }
            let waiting = signal.as_mut().expect("made above");
            match Pin::new(waiting).poll(context) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => {
                    *signal = None;
                    // The awaiting task was cancelled.
                    outcome?;
                }
            }
        }
    }
}

impl<T: 'static> Drop for Completing<T> {
    fn drop(&mut self) {
        self.state.finish();
        for (task, key) in &self.tasks {
            task.remove_done_callback(*key);
        }
    }
}

/// Makes tasks of `awaitables` (in argument order) on the running loop and
/// streams their results as they finish; see [`AsCompleted`].
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a running
/// loop, [`is_foreign_future`](LoopError::is_foreign_future).
///
/// # Examples
///
/// See [`AsCompleted`].
pub fn as_completed<I>(
    awaitables: I,
) -> Result<AsCompleted<<I::Item as IntoTask>::Value>, LoopError>
where
    I: IntoIterator,
    I::Item: Gatherable,
{
    let event_loop = get_running_loop()?;
    let tasks = tasks_of(&event_loop, awaitables.into_iter().collect())?;
    let state = Rc::new(Completions {
        done: RefCell::new(VecDeque::new()),
        remaining: Cell::new(tasks.len()),
        signals: RefCell::new(Vec::new()),
        timed_out: Cell::new(false),
        timer: RefCell::new(None),
    });
    let mut registered = Vec::with_capacity(tasks.len());
    for task in tasks {
        let sink = Rc::clone(&state);
        let key = task.add_done_callback(move |task| {
            sink.done.borrow_mut().push_back(task.clone());
            sink.wake();
        })?;
        registered.push((task, key));
    }
    Ok(AsCompleted {
        inner: Rc::new(Completing {
            state,
            tasks: registered,
            event_loop,
            outcome: I::Item::outcome,
        }),
        signal: None,
    })
}

impl<T: 'static> AsCompleted<T> {
    /// Ends the stream with a timeout error once `timeout` has passed from
    /// now (asyncio's `timeout=`).
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{as_completed, EventLoop, ManualClock};
    /// use futures::StreamExt;
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let first = event_loop
    ///     .run_until_complete(async move {
    ///         let mut finished = as_completed([handle.sleep(5.0)])?.timeout(1.0)?;
    ///         Ok::<_, asyncio_loop::LoopError>(finished.next().await)
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert!(first.unwrap().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(self, timeout: impl Into<Delay>) -> Result<Self, LoopError> {
        let state = Rc::clone(&self.inner.state);
        let timer = self.inner.event_loop.call_later(timeout, move || {
            state.timed_out.set(true);
            state.wake();
        })?;
        if let Some(old) = self.inner.state.timer.borrow_mut().replace(timer) {
            old.cancel();
        }
        Ok(self)
    }
}

impl<T: 'static> Stream for AsCompleted<T> {
    type Item = Result<T, LoopError>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.inner.poll_next(&mut this.signal, context)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.inner.state.remaining.get()))
    }
}

impl<T: 'static> IntoIterator for AsCompleted<T> {
    type Item = NextCompleted<T>;
    type IntoIter = AsCompletedIter<T>;

    /// 3.11's `as_completed`: one awaitable per result still to come.
    fn into_iter(self) -> AsCompletedIter<T> {
        AsCompletedIter {
            left: self.inner.state.remaining.get(),
            inner: Rc::clone(&self.inner),
        }
    }
}

/// The awaitables of an [`AsCompleted`], as 3.11's `as_completed` yields
/// them: as many as there are results to come.
///
/// # Examples
///
/// See [`AsCompleted`].
pub struct AsCompletedIter<T: 'static> {
    inner: Rc<Completing<T>>,
    left: usize,
}

impl<T: 'static> Iterator for AsCompletedIter<T> {
    type Item = NextCompleted<T>;

    fn next(&mut self) -> Option<NextCompleted<T>> {
        self.left = self.left.checked_sub(1)?;
        Some(NextCompleted {
            inner: Rc::clone(&self.inner),
            signal: None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T: 'static> ExactSizeIterator for AsCompletedIter<T> {}

/// One awaitable of an [`AsCompletedIter`]: awaited, it gives the next
/// result to finish (whichever awaitable is awaited first gets the first),
/// or the timeout's error.
///
/// # Examples
///
/// See [`AsCompleted`].
#[must_use = "it gives nothing unless it is awaited"]
pub struct NextCompleted<T: 'static> {
    inner: Rc<Completing<T>>,
    signal: Option<WaitTake<()>>,
}

impl<T: 'static> StdFuture for NextCompleted<T> {
    type Output = Result<T, LoopError>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = &this.inner;
        inner
            .poll_next(&mut this.signal, context)
            .map(|next| match next {
                Some(result) => result,
                // The timeout's error went to an earlier awaitable.
                None if inner.state.timed_out.get() => Err(LoopError::timeout(None)),
                None => Err(LoopError::invalid_state(
                    "every result of as_completed was handed out already",
                )),
            })
    }
}

impl<T: 'static> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.inner.state.remaining.get())
            .finish_non_exhaustive()
    }
}

impl<T: 'static> fmt::Debug for AsCompletedIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedIter")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> fmt::Debug for NextCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextCompleted").finish_non_exhaustive()
    }
}

// ---- wait_for --------------------------------------------------------------

/// Waits for `awaitable` for at most `timeout`: asyncio 3.11's `wait_for`.
///
/// On timeout it cancels the task, waits until it is done, then fails with
/// [`is_timeout`](LoopError::is_timeout) (or gives the result, if the task
/// finished anyway). If the awaiting task is cancelled, the inner task is
/// cancelled and awaited too, and the cancellation propagates. A zero or
/// negative timeout gives a task already done its result, and cancels any
/// other at once.
///
/// # Errors
///
/// [`is_timeout`](LoopError::is_timeout), the task's own failure, the
/// awaiting task's cancellation, or [`is_no_running_loop`](LoopError::is_no_running_loop).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{wait_for, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let quick = event_loop
///     .run_until_complete(wait_for(handle.sleep_with(0.5, "quick"), 1.0))
///     .unwrap();
/// assert_eq!(quick.unwrap(), "quick");
/// ```
pub async fn wait_for<A>(awaitable: A, timeout: impl Into<Delay>) -> Result<A::Value, LoopError>
where
    A: Gatherable,
{
    let timeout = timeout.into();
    let event_loop = get_running_loop()?;
    let task = event_loop.ensure_future(awaitable)?;
    if timeout.seconds() <= 0.0 {
        // asyncio: a task already done gives its outcome as it is (its
        // cancellation too); one still running is cancelled and waited for.
        if task.done() {
            return A::outcome(&task).map_err(LoopError::from);
        }
        cancel_and_wait(&event_loop, &task).await?;
        return timed_out(A::outcome(&task));
    }
    let (waiter, key) = done_signal(&event_loop, &task)?;
    let timer = {
        let waiter = waiter.clone();
        event_loop.call_later(timeout, move || release(&waiter))?
    };
    let waited = waiter.wait().await;
    timer.cancel();
    if task.done() {
        return A::outcome(&task).map_err(LoopError::from);
    }
    task.remove_done_callback(key);
    cancel_and_wait(&event_loop, &task).await?;
    match waited {
        // The awaiting task was cancelled: so is the inner one, now done.
        Err(cancelled) => Err(cancelled.into()),
        Ok(()) => timed_out(A::outcome(&task)),
    }
}

/// The outcome of a task that `wait_for` cancelled when its time was up.
fn timed_out<T>(outcome: Result<T, FutureError>) -> Result<T, LoopError> {
    match outcome {
        Err(error) if error.is_cancelled() => Err(LoopError::timeout(Some(error))),
        outcome => outcome.map_err(LoopError::from),
    }
}

/// Cancels `task` and waits until it is done (asyncio's `_cancel_and_wait`).
async fn cancel_and_wait<T: 'static>(
    event_loop: &LoopHandle,
    task: &Task<T>,
) -> Result<(), LoopError> {
    let (waiter, key) = done_signal(event_loop, task)?;
    task.cancel();
    let waited = waiter.wait().await;
    task.remove_done_callback(key);
    waited.map_err(LoopError::from)
}

// ---- shield ----------------------------------------------------------------

/// Protects `awaitable` from the cancellation of the task that awaits it:
/// asyncio's `shield`.
///
/// The task is made (for a coroutine) at once. Cancelling the awaiting task
/// ends its await of the shield with the cancellation, and the shielded
/// task runs on. Its result is cloned out (it stays readable in the task).
///
/// # Errors
///
/// The shielded task's own failure, the awaiting task's cancellation, or
/// [`is_no_running_loop`](LoopError::is_no_running_loop).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{current_task, shield, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let inner = event_loop.create_task(handle.sleep_with(1.0, "kept")).unwrap();
/// let protected = inner.clone();
/// let outer = event_loop
///     .create_task(async move {
///         current_task().unwrap().cancel();
///         shield(protected).await
///     })
///     .unwrap();
/// assert!(event_loop.run_until_complete(&outer).unwrap_err().is_cancelled());
/// assert_eq!(event_loop.run_until_complete(&inner).unwrap(), "kept");
/// ```
pub fn shield<A>(awaitable: A) -> Shield<A::Value>
where
    A: IntoTask,
    A::Value: Clone,
{
    Shield {
        task: get_running_loop().and_then(|event_loop| event_loop.ensure_future(awaitable)),
    }
}

/// What [`shield`] makes; awaited, it gives the shielded task's result.
#[must_use = "a shield does nothing unless it is awaited"]
pub struct Shield<T: 'static> {
    task: Result<Task<T>, LoopError>,
}

impl<T: Clone + 'static> IntoFuture for Shield<T> {
    type Output = Result<T, LoopError>;
    type IntoFuture = Boxed<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let task = self.task?;
            if task.done() {
                return task.result().map_err(LoopError::from);
            }
            // What the awaiting task awaits is this future, not the task:
            // cancelling it cancels only the wait.
            let event_loop = get_running_loop()?;
            let (outer, key) = done_signal(&event_loop, &task)?;
            let waited = outer.wait().await;
            task.remove_done_callback(key);
            waited?;
            task.result().map_err(LoopError::from)
        })
    }
}

impl<T: 'static> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Ok(task) => f.debug_tuple("Shield").field(&task.as_any()).finish(),
            Err(error) => f.debug_tuple("Shield").field(error).finish(),
        }
    }
}

// ---- timeout ---------------------------------------------------------------

/// A deadline for a block of a task: asyncio 3.11's `asyncio.timeout()`.
///
/// [`Timeout::after`] or [`Timeout::at`] make one; [`run`](Self::run)
/// runs a future under it, inside the current task. When the deadline
/// passes first, the task is cancelled; if the future then ends with that
/// cancellation (propagated with `?`), `run` gives
/// [`is_timeout`](LoopError::is_timeout) instead. Clones are handles to
/// the same timeout, so the block itself can [`reschedule`](Self::reschedule)
/// it, and [`expired`](Self::expired) tells afterwards whether it fired.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{EventLoop, ManualClock, Timeout};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let outcome = event_loop
///     .run_until_complete(async move {
///         let deadline = Timeout::after(1.0)?;
///         let inner = deadline.clone();
///         let result = deadline
///             .run(async move {
///                 inner.reschedule(Some(2.0.into()))?; // two seconds from the start
///                 handle.sleep(1.5).await?;
///                 handle.sleep(1.0).await?;
///                 Ok::<_, asyncio_loop::LoopError>("never")
///             })
///             .await;
///         Ok::<_, asyncio_loop::LoopError>((result.unwrap_err().is_timeout(), deadline.expired()))
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(outcome, (true, true));
/// assert_eq!(event_loop.time(), 2.0);
/// ```
#[derive(Clone)]
pub struct Timeout {
    state: Rc<TimeoutState>,
}

struct TimeoutState {
    event_loop: LoopHandle,
    when: Cell<Option<When>>,
    phase: Cell<Phase>,
    timer: RefCell<Option<Armed>>,
    task: RefCell<Option<AnyTask>>,
    /// The task's `cancelling()` when the block began.
    cancelling: Cell<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Created,
    Entered,
    Expiring,
    Expired,
    Exited,
}

/// asyncio's `asyncio.timeout(delay)`: a [`Timeout`] `delay` from now on
/// the running loop's clock ([`Timeout::after`]).
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{sleep, timeout, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let outcome = event_loop
///     .run_until_complete(async { timeout(1.0)?.run(sleep(5.0)).await })
///     .unwrap();
/// assert!(outcome.unwrap_err().is_timeout());
/// assert_eq!(event_loop.time(), 1.0);
/// ```
pub fn timeout(delay: impl Into<Delay>) -> Result<Timeout, LoopError> {
    Timeout::after(delay)
}

/// asyncio's `asyncio.timeout_at(when)`: a [`Timeout`] at `when` on the
/// running loop's clock, or none for `None` ([`Timeout::at`]).
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop).
///
/// # Examples
///
/// ```
/// use asyncio_loop::{get_running_loop, sleep_with, timeout_at, EventLoop, ManualClock};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let outcome = event_loop
///     .run_until_complete(async {
///         let deadline = get_running_loop()?.time() + 2.0;
///         timeout_at(Some(deadline.into()))?.run(sleep_with(1.0, "in time")).await
///     })
///     .unwrap();
/// assert_eq!(outcome.unwrap().unwrap(), "in time");
/// ```
pub fn timeout_at(when: Option<When>) -> Result<Timeout, LoopError> {
    Timeout::at(when)
}

impl Timeout {
    /// A timeout `delay` from now on the running loop's clock
    /// (asyncio's `timeout(delay)`).
    ///
    /// # Errors
    ///
    /// [`is_no_running_loop`](LoopError::is_no_running_loop).
    ///
    /// # Examples
    ///
    /// See [`Timeout`].
    pub fn after(delay: impl Into<Delay>) -> Result<Timeout, LoopError> {
        let event_loop = get_running_loop()?;
        // A negative delay is a deadline in the past, as asyncio's
        // `loop.time() + delay`.
        let when = event_loop.time() + delay.into().seconds();
        Ok(Timeout::new(event_loop, Some(When::from(when))))
    }

    /// A timeout at `when` on the running loop's clock, or none for `None`
    /// (asyncio's `timeout_at(when)`).
    ///
    /// # Errors
    ///
    /// [`is_no_running_loop`](LoopError::is_no_running_loop).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock, Timeout};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let handle = event_loop.handle();
    /// let done = event_loop
    ///     .run_until_complete(async move {
    ///         let never = Timeout::at(None)?;
    ///         never.run(handle.sleep_with(3.0, "slept")).await
    ///     })
    ///     .unwrap();
    /// assert_eq!(done.unwrap().unwrap(), "slept");
    /// ```
    pub fn at(when: Option<When>) -> Result<Timeout, LoopError> {
        Ok(Timeout::new(get_running_loop()?, when))
    }

    fn new(event_loop: LoopHandle, when: Option<When>) -> Timeout {
        Timeout {
            state: Rc::new(TimeoutState {
                event_loop,
                when: Cell::new(when),
                phase: Cell::new(Phase::Created),
                timer: RefCell::new(None),
                task: RefCell::new(None),
                cancelling: Cell::new(0),
            }),
        }
    }

    /// The deadline, in the loop's `time()` seconds; `None` for none.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, ManualClock, Timeout};
    ///
    /// let event_loop = EventLoop::with_clock(&ManualClock::new());
    /// let when = event_loop
    ///     .run_until_complete(async { Timeout::after(2.5).map(|t| t.when()) })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(when, Some(2.5));
    /// ```
    pub fn when(&self) -> Option<f64> {
        self.state.when.get().map(When::seconds)
    }

    /// Whether the deadline passed while the block ran.
    ///
    /// # Examples
    ///
    /// See [`Timeout`].
    pub fn expired(&self) -> bool {
        matches!(self.state.phase.get(), Phase::Expiring | Phase::Expired)
    }

    /// Moves the deadline (`None`: no deadline) while the block runs.
    ///
    /// # Errors
    ///
    /// [`LoopErrorKind::InvalidState`](crate::LoopErrorKind::InvalidState)
    /// outside the block or once the timeout expired (asyncio's
    /// `RuntimeError`); [`is_closed`](LoopError::is_closed).
    ///
    /// # Examples
    ///
    /// See [`Timeout`].
    pub fn reschedule(&self, when: Option<When>) -> Result<(), LoopError> {
        if self.state.phase.get() != Phase::Entered {
            return Err(LoopError::invalid_state(
                "the timeout is not active: it was not entered, or it expired or finished",
            ));
        }
        self.state.when.set(when);
        self.arm()
    }

    fn arm(&self) -> Result<(), LoopError> {
        let state = &self.state;
        if let Some(old) = state.timer.borrow_mut().take() {
            old.cancel();
        }
        let Some(when) = state.when.get() else {
            return Ok(());
        };
        let fire = {
            let state = Rc::clone(&self.state);
            move || state.on_timeout()
        };
        // A deadline already passed is queued at once, as asyncio's
        // `call_soon(self._on_timeout)`: before whatever the block queues
        // next (a timer in the past would come after it).
        let armed = if when.seconds() <= state.event_loop.time() {
            Armed::Soon(state.event_loop.call_soon(fire)?)
        } else {
            Armed::At(state.event_loop.call_at(when, fire)?)
        };
        *state.timer.borrow_mut() = Some(armed);
        Ok(())
    }

    /// Runs `future` under this timeout, inside the current task (asyncio's
    /// `async with timeout:` block).
    ///
    /// # Errors
    ///
    /// [`is_timeout`](LoopError::is_timeout) when the deadline passed and
    /// `future` ended with the cancellation it caused (dropping that
    /// output); [`is_no_running_loop`](LoopError::is_no_running_loop)
    /// outside a task, or [`LoopErrorKind::InvalidState`](crate::LoopErrorKind::InvalidState)
    /// for a timeout used twice.
    ///
    /// # Examples
    ///
    /// See [`Timeout`].
    pub async fn run<F>(&self, future: F) -> Result<F::Output, LoopError>
    where
        F: StdFuture,
        F::Output: TaskOutput,
    {
        let state = &self.state;
        if state.phase.get() != Phase::Created {
            return Err(LoopError::invalid_state(
                "the timeout has already been used",
            ));
        }
        let task = current_task().ok_or_else(LoopError::no_running_loop)?;
        state.cancelling.set(task.cancelling());
        *state.task.borrow_mut() = Some(task);
        state.phase.set(Phase::Entered);
        self.arm()?;
        let output = future.await;
        if let Some(timer) = state.timer.borrow_mut().take() {
            timer.cancel();
        }
        let task = state.task.borrow_mut().take();
        if state.phase.get() == Phase::Expiring {
            state.phase.set(Phase::Expired);
            let ours = task.is_some_and(|task| task.uncancel() <= state.cancelling.get());
            if ours {
                if let Some(cancellation) = output.cancellation() {
                    return Err(LoopError::timeout(Some(cancellation)));
                }
            }
        } else {
            state.phase.set(Phase::Exited);
        }
        Ok(output)
    }
}

/// How a [`Timeout`]'s expiry is scheduled.
enum Armed {
    /// The deadline had passed: queued with `call_soon`.
    Soon(Handle),
    At(TimerHandle),
}

impl Armed {
    fn cancel(&self) {
        match self {
            Armed::Soon(handle) => handle.cancel(),
            Armed::At(timer) => timer.cancel(),
        }
    }
}

impl TimeoutState {
    fn on_timeout(&self) {
        if self.phase.get() != Phase::Entered {
            return;
        }
        self.timer.borrow_mut().take();
        if let Some(task) = self.task.borrow().as_ref() {
            task.cancel();
        }
        self.phase.set(Phase::Expiring);
    }
}

impl fmt::Debug for Timeout {
    /// asyncio's repr: `<Timeout [active] when=2.5>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.state.phase.get() {
            Phase::Created => "created",
            Phase::Entered => "active",
            Phase::Expiring => "expiring",
            Phase::Expired => "expired",
            Phase::Exited => "finished",
        };
        write!(f, "<Timeout [{phase}]")?;
        if self.state.phase.get() == Phase::Entered {
            match self.when() {
                Some(when) => write!(f, " when={when}")?,
                None => f.write_str(" when=None")?,
            }
        }
        f.write_str(">")
    }
}
