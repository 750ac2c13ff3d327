//! Tasks: a coroutine driven by the loop, one poll per step.
//!
//! asyncio wraps a coroutine given to `run_until_complete` in a `Task`
//! whose first step is queued with `call_soon`, and whose wake-up is queued
//! the same way when an awaited future completes. Here the wake-up comes
//! through a [`Waker`]: on the loop's thread it queues the step at once (so it
//! keeps its place among other callbacks), from another thread it goes
//! through the loop's [`Remote`] queue.

use std::cell::{Cell, RefCell};
use std::future::Future as StdFuture;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use asyncio_core::{census, Exception, Future};

use crate::registry;
use crate::remote::{Remote, RemoteItem};
use crate::shared::Shared;

/// What the loop needs from a task, with the output type erased.
pub(crate) trait TaskStep {
    /// Polls the coroutine once (the task was popped from the ready queue).
    /// No panic of user code escapes it: the poll, dropping the finished
    /// coroutine, completing the result and dropping the finished task are
    /// each caught and reported. (A pending task is not the last reference
    /// to itself: the task table holds one.)
    fn step(self: Rc<Self>, shared: &Shared);

    /// Set while a step is queued, so that several wakes queue one step.
    fn scheduled(&self) -> &Cell<bool>;

    /// How many clones of the task's waker exist beyond the task's own:
    /// held by futures of this thread, or by anything else.
    fn waker_clones(&self) -> usize;
}

pub(crate) struct Task<T: 'static> {
    /// `None` while a step is polling it and after it finished.
    coroutine: RefCell<Option<Pin<Box<dyn StdFuture<Output = T>>>>>,
    /// Completed with the coroutine's output, or with its panic.
    result: Future<T>,
    scheduled: Cell<bool>,
    /// Made once: wakes this task by its key in the loop's task slab.
    waker: Waker,
    /// The same waker's shared part, for counting its clones.
    counted: Arc<TaskWaker>,
    /// The task's key in `Shared::tasks`.
    key: usize,
}

impl<T: 'static> Task<T> {
    pub(crate) fn new(
        coroutine: Pin<Box<dyn StdFuture<Output = T>>>,
        result: Future<T>,
        waker: Arc<TaskWaker>,
        key: usize,
    ) -> Self {
        Task {
            coroutine: RefCell::new(Some(coroutine)),
            result,
            scheduled: Cell::new(false),
            waker: Waker::from(Arc::clone(&waker)),
            counted: waker,
            key,
        }
    }
}

impl<T: 'static> TaskStep for Task<T> {
    fn step(self: Rc<Self>, shared: &Shared) {
        self.scheduled.set(false);
        let Some(mut coroutine) = self.coroutine.borrow_mut().take() else {
            return;
        };
        let mut context = Context::from_waker(&self.waker);
        let polled = {
            // Futures of ours that keep this waker count it as theirs, for
            // the check that nothing outside the loop can wake the task.
            let _scope = census::PollScope::enter(&self.waker, shared.census_id());
            catch_unwind(AssertUnwindSafe(|| coroutine.as_mut().poll(&mut context)))
        };
        let outcome = match polled {
            Ok(Poll::Pending) => {
                *self.coroutine.borrow_mut() = Some(coroutine);
                return;
            }
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(Exception::from_panic(payload)),
        };
        // Finished: forget the task before anything can wake it again, then
        // drop the coroutine outside every borrow (its `Drop` is user code).
        drop(shared.remove_task(self.key));
        shared.drop_reporting("a finished coroutine", coroutine);
        // Clones of the waker that outlive the task (`waker` and `counted`
        // are its own two) still count in the stuck check.
        if Arc::strong_count(&self.counted) > 2 {
            shared.keep_outlived(Arc::clone(&self.counted));
        }
        // The result future is private to the loop until now, so it is pending
        // and these cannot fail. Completing wakes its awaiters, whose wakers
        // may be another executor's code: caught, as the poll was.
        let completed = catch_unwind(AssertUnwindSafe(|| match outcome {
            Ok(output) => self.result.set_result(output),
            Err(exception) => self.result.set_exception(exception),
        }));
        if let Err(payload) = completed {
            shared.report_panic("Exception in completing a task".to_owned(), payload);
        }
        // The last reference, now that the task table forgot it: dropping it
        // may drop the result future's last handle, and with it the result.
        shared.drop_reporting("a finished task", self);
    }

    fn scheduled(&self) -> &Cell<bool> {
        &self.scheduled
    }

    fn waker_clones(&self) -> usize {
        // `waker` and `counted` are the task's own two.
        Arc::strong_count(&self.counted) - 2
    }
}

/// The waker of one task: `Send + Sync`, it names the task by
/// `(loop, key, seq)` instead of holding it.
pub(crate) struct TaskWaker {
    pub(crate) loop_id: u64,
    pub(crate) key: usize,
    pub(crate) seq: u64,
    pub(crate) remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(shared) = registry::find(self.loop_id) {
            // On the loop's thread: queue the step now, in order.
            shared.wake_task(self.key, self.seq);
        } else if thread::current().id() != self.remote.thread_id() {
            // Refused only by a closed loop, which has nothing left to wake.
            let _ = self.remote.push(RemoteItem::Wake(self.key, self.seq));
        }
        // Otherwise the loop is gone: there is nothing left to wake.
    }
}
