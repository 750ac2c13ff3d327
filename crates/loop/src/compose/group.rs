//! `TaskGroup`: asyncio 3.11's structured concurrency, above the loop.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future as StdFuture;
use std::rc::Rc;

use asyncio_core::{Exception, Future, FutureError};

use crate::task::cancellation;
use crate::{current_task, get_running_loop, AnyTask, LoopError, LoopHandle, Task, TaskOutput};

/// A scope that owns the tasks made in it: asyncio 3.11's `TaskGroup`.
///
/// [`TaskGroup::run`] runs a body with the group (asyncio's
/// `async with TaskGroup() as group:`), and returns only once every task
/// made with [`create_task`](Self::create_task) is done. The first task
/// to fail cancels the others and the body (the task running the group is
/// cancelled, and the cancellation taken back when the group ends); the
/// group then fails with every failure, as
/// [`LoopErrorKind::TaskGroup`](crate::LoopErrorKind::TaskGroup) with
/// [`exceptions`](LoopError::exceptions) (asyncio's `ExceptionGroup`).
/// Cancelled tasks are not failures. If the task running the group is
/// cancelled from outside, the tasks are cancelled, awaited, and the
/// cancellation propagates, unless tasks failed, whose errors come first.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{EventLoop, LoopError, ManualClock, TaskGroup};
///
/// let event_loop = EventLoop::with_clock(&ManualClock::new());
/// let handle = event_loop.handle();
/// let total = event_loop
///     .run_until_complete(TaskGroup::run(|group| async move {
///         let first = group.create_task(handle.sleep_with(1.0, 1))?;
///         let second = group.create_task(handle.sleep_with(2.0, 2))?;
///         Ok::<_, LoopError>((first, second))
///     }))
///     .unwrap()
///     .map(|(first, second)| first.result().unwrap() + second.result().unwrap())
///     .unwrap();
/// assert_eq!(total, 3);
/// assert_eq!(event_loop.time(), 2.0, "the group waited for both");
/// ```
#[derive(Clone)]
pub struct TaskGroup {
    state: Rc<GroupState>,
}

struct GroupState {
    event_loop: LoopHandle,
    parent: AnyTask,
    tasks: RefCell<Vec<AnyTask>>,
    errors: RefCell<Vec<Exception>>,
    on_completed: RefCell<Option<Future<()>>>,
    exiting: Cell<bool>,
    aborting: Cell<bool>,
    parent_cancel_requested: Cell<bool>,
}

impl TaskGroup {
    /// Runs `body` with a new group inside the current task, then waits
    /// for every task of the group (see [`TaskGroup`]).
    ///
    /// # Errors
    ///
    /// [`LoopErrorKind::TaskGroup`](crate::LoopErrorKind::TaskGroup) when
    /// tasks (or the body, with an error that is not a cancellation)
    /// failed; the cancellation of the running task; and
    /// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a task.
    ///
    /// # Examples
    ///
    /// See [`TaskGroup`].
    pub async fn run<B, F>(body: B) -> Result<<F::Output as TaskOutput>::Value, LoopError>
    where
        B: FnOnce(TaskGroup) -> F,
        F: StdFuture,
        F::Output: TaskOutput,
    {
        let event_loop = get_running_loop()?;
        let parent = current_task().ok_or_else(LoopError::no_running_loop)?;
        let group = TaskGroup {
            state: Rc::new(GroupState {
                event_loop,
                parent,
                tasks: RefCell::new(Vec::new()),
                errors: RefCell::new(Vec::new()),
                on_completed: RefCell::new(None),
                exiting: Cell::new(false),
                aborting: Cell::new(false),
                parent_cancel_requested: Cell::new(false),
            }),
        };
        let outcome = body(group.clone()).await.into_outcome();
        group.exit(outcome.map_err(Exception::from_boxed)).await
    }

    /// asyncio's `__aexit__`.
    async fn exit<V>(&self, outcome: Result<V, Exception>) -> Result<V, LoopError> {
        let state = &self.state;
        state.exiting.set(true);
        let (value, body_error, mut propagate) = match outcome {
            Ok(value) => (Some(value), None, None),
            Err(error) => match cancellation(&error) {
                Some(message) => (None, None, Some(cancelled_error(message))),
                // Unwrapped as a task's failure is.
                None => (None, Some(crate::task::unwrapped(error)), None),
            },
        };
        if state.parent_cancel_requested.get() && state.parent.uncancel() == 0 {
            // The group cancelled its task itself, and nobody else did.
            propagate = None;
        }
        if value.is_none() && !state.aborting.get() {
            state.abort();
        }
        while !state.tasks.borrow().is_empty() {
            let completed = state.event_loop.create_future::<()>();
            *state.on_completed.borrow_mut() = Some(completed.clone());
            if let Err(cancelled) = completed.wait().await {
                if !state.aborting.get() {
                    // The task running the group is being cancelled.
                    propagate = Some(cancelled.into());
                    state.abort();
                }
            }
            state.on_completed.borrow_mut().take();
        }
        let mut errors = std::mem::take(&mut *state.errors.borrow_mut());
        if let Some(cancelled) = propagate {
            if errors.is_empty() {
                return Err(cancelled);
            }
        }
        errors.extend(body_error);
        if !errors.is_empty() {
            return Err(LoopError::group(errors));
        }
        value.ok_or_else(|| cancelled_error(None))
    }

    /// Makes a task in the group (asyncio's `TaskGroup.create_task`).
    ///
    /// # Errors
    ///
    /// [`LoopErrorKind::InvalidState`](crate::LoopErrorKind::InvalidState)
    /// once the group is finished or shutting down after a failure
    /// (asyncio's `RuntimeError`); [`is_closed`](LoopError::is_closed).
    ///
    /// # Examples
    ///
    /// See [`TaskGroup`].
    pub fn create_task<F>(
        &self,
        coroutine: F,
    ) -> Result<Task<<F::Output as TaskOutput>::Value>, LoopError>
    where
        F: StdFuture + 'static,
        F::Output: TaskOutput,
    {
        let state = &self.state;
        let finished = state.exiting.get() && state.tasks.borrow().is_empty();
        if finished {
            return Err(LoopError::invalid_state("the task group is finished"));
        }
        if state.aborting.get() {
            return Err(LoopError::invalid_state("the task group is shutting down"));
        }
        let task = state.event_loop.create_task(coroutine)?;
        let watcher = Rc::downgrade(&self.state);
        task.add_done_callback(move |task| {
            if let Some(state) = watcher.upgrade() {
                let failure = if task.cancelled() {
                    None
                } else {
                    task.exception().ok().flatten()
                };
                state.on_task_done(&task.as_any(), failure);
            }
        })?;
        state.tasks.borrow_mut().push(task.as_any());
        Ok(task)
    }
}

impl GroupState {
    fn abort(&self) {
        self.aborting.set(true);
        let tasks = self.tasks.borrow().clone();
        for task in tasks {
            if !task.done() {
                task.cancel();
            }
        }
    }

    fn on_task_done(&self, task: &AnyTask, failure: Option<Exception>) {
        self.tasks.borrow_mut().retain(|known| !known.ptr_eq(task));
        if self.tasks.borrow().is_empty() {
            let completed = self.on_completed.borrow().clone();
            if let Some(completed) = completed {
                if !completed.done() {
                    let _ = completed.set_result(());
                }
            }
        }
        let Some(exception) = failure else { return };
        self.errors.borrow_mut().push(exception);
        if !self.aborting.get() && !self.parent_cancel_requested.get() {
            // Stop the body as well as the other tasks.
            self.abort();
            self.parent_cancel_requested.set(true);
            self.parent.cancel();
        }
    }
}

fn cancelled_error(message: Option<std::sync::Arc<str>>) -> LoopError {
    FutureError::cancellation(message.as_deref()).into()
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &self.state;
        write!(f, "<TaskGroup")?;
        let tasks = state.tasks.borrow().len();
        if tasks > 0 {
            write!(f, " tasks={tasks}")?;
        }
        let errors = state.errors.borrow().len();
        if errors > 0 {
            write!(f, " errors={errors}")?;
        }
        if state.aborting.get() {
            f.write_str(" cancelling")?;
        } else if state.exiting.get() {
            f.write_str(" exiting")?;
        } else {
            f.write_str(" entered")?;
        }
        f.write_str(">")
    }
}
