//! The loop's task table: what the loop knows of a task ([`TaskStep`], which
//! `crate::task` implements), the live tasks by key for wakers, and which
//! one is running.
//!
//! **Invariants:** a task is in the table from its creation until its step
//! finishes it (or `close` drops it); its key names it only together with
//! its `seq`, which no later task gets, so a waker of a finished task never
//! wakes the task that reuses its key. `current` is the key of the task
//! whose step runs, restored when the step ends (steps do not nest, but a
//! guard costs nothing and survives a panic).

use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::atomic::{self, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread;

use asyncio_core::{CallbackKey, Exception, FutureError};

use super::{registry, Shared};
use crate::ready::Job;
use crate::remote::{Remote, RemoteItem};
use crate::LoopError;

/// How many dropped tasks' wakers a loop keeps for its next tasks: each is
/// 64 heap bytes, and reusing one saves a task its allocation and the
/// atomic reference counts of making and dropping it.
const SPARE_WAKERS: usize = 1024;

/// What the loop needs from a task, with its output type erased: the step
/// it queues and runs, and the operations of an erased task handle
/// (`crate::AnyTask`). The loop's state defines it; `crate::task`
/// implements it.
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

    /// The loop is closing with the task still pending: its result is
    /// cancelled, and its done-callbacks (which may hold the task) are
    /// dropped unrun, since a closed loop runs nothing.
    fn abandon(&self);

    /// The loop the task belongs to.
    fn owner(&self) -> &Weak<Shared>;

    fn name(&self) -> String;

    fn set_name(&self, name: String);

    /// asyncio's `cancelling()`.
    fn cancelling(&self) -> u32;

    /// asyncio's `uncancel()`.
    fn uncancel(&self) -> u32;

    fn cancel(&self, message: Option<Arc<str>>) -> bool;

    fn done(&self) -> bool;

    fn write_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Runs `callback` (as a done-callback) once the task is done.
    fn on_done(&self, callback: Box<dyn FnOnce()>) -> Result<CallbackKey, FutureError>;

    /// The exception the task failed with, marked as retrieved; `None`
    /// if it finished, was cancelled, or is still running.
    fn failure(&self) -> Option<Exception>;
}

/// A task's name for the loop: plain data, `Send`, which finds the task
/// on the loop's thread while it lives (its key and the `seq` that tells it
/// from a later task on the same key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskId {
    pub(crate) loop_id: u64,
    pub(crate) key: usize,
    pub(crate) seq: u64,
}

impl TaskId {
    /// Cancels the task, from the loop's own thread, if it still exists.
    pub(crate) fn cancel_here(self) {
        if let Some(shared) = registry::find(self.loop_id) {
            if let Some(task) = shared.find_task(self.key, self.seq) {
                task.cancel(None);
            }
        }
    }

    /// Queues the task's step, from the loop's own thread.
    pub(crate) fn wake_here(self) {
        if let Some(shared) = registry::find(self.loop_id) {
            shared.wake_task(self.key, self.seq);
        }
    }
}

/// The waker of one task: `Send + Sync`, it names the task by
/// `(loop, key, seq)` instead of holding it. A dropped task's waker that
/// nothing else holds is reused for a later task (`Shared::retire_wakers`),
/// which is why its key and seq are atomics: written only while the loop
/// holds the one reference, read by wakes.
pub(crate) struct TaskWaker {
    loop_id: u64,
    key: AtomicUsize,
    seq: AtomicU64,
    remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let (key, seq) = (
            self.key.load(Ordering::Relaxed),
            self.seq.load(Ordering::Relaxed),
        );
        if let Some(shared) = registry::find(self.loop_id) {
            // On the loop's thread: queue the step now, in order.
            shared.wake_task(key, seq);
        } else if thread::current().id() != self.remote.thread_id() {
            // Refused only by a closed loop, which has nothing left to wake.
            let _ = self.remote.push(RemoteItem::Wake(key, seq));
        }
        // Otherwise the loop is gone: there is nothing left to wake.
    }
}

/// A task's waker and the `Arc` it was made from, which counts its clones:
/// the pair's own two, plus one per clone held by a future or anyone else.
pub(crate) struct Wakers {
    pub(crate) waker: Waker,
    counted: Arc<TaskWaker>,
}

impl Wakers {
    /// How many clones exist beyond the pair's own two.
    #[inline]
    pub(crate) fn clones(&self) -> usize {
        Arc::strong_count(&self.counted) - 2
    }
}

/// A task's entry in the table.
pub(super) struct TaskEntry {
    /// Tells the task from a later one that reuses its key.
    seq: u64,
    pub(super) task: Rc<dyn TaskStep>,
}

impl Shared {
    /// Adds a task: `make` builds it from its key in the table and its
    /// number (0 for the loop's first task), and says what to return.
    /// The caller queues its first step.
    #[inline(always)]
    pub(crate) fn insert_task<R>(
        &self,
        make: impl FnOnce(usize, u64) -> (Rc<dyn TaskStep>, R),
    ) -> R {
        let seq = self.next_task_seq.get();
        self.next_task_seq.set(seq + 1);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let (task, made) = make(entry.key(), seq);
        entry.insert(TaskEntry { seq, task });
        made
    }

    /// Queues a step of `task`, whose `scheduled` flag the caller set.
    #[inline]
    pub(crate) fn queue_step(&self, task: Rc<dyn TaskStep>) -> Result<u64, LoopError> {
        self.push_with(|| Job::Task(task))
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
    pub(crate) fn current_task(&self) -> Option<Rc<dyn TaskStep>> {
        let key = self.current.get()?;
        let tasks = self.tasks.borrow();
        tasks.get(key).map(|entry| Rc::clone(&entry.task))
    }

    /// The tasks not done yet, in creation order.
    pub(crate) fn all_tasks(&self) -> Vec<Rc<dyn TaskStep>> {
        let tasks = self.tasks.borrow();
        let mut live: Vec<(u64, Rc<dyn TaskStep>)> = tasks
            .iter()
            .map(|(_, entry)| (entry.seq, Rc::clone(&entry.task)))
            .collect();
        drop(tasks);
        live.sort_by_key(|(seq, _)| *seq);
        live.into_iter().map(|(_, task)| task).collect()
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
    pub(crate) fn find_task(&self, key: usize, seq: u64) -> Option<Rc<dyn TaskStep>> {
        let tasks = self.tasks.borrow();
        let entry = tasks.get(key).filter(|entry| entry.seq == seq)?;
        Some(Rc::clone(&entry.task))
    }

    /// How many clones of live tasks' wakers exist beyond the tasks' own.
    pub(super) fn live_waker_clones(&self) -> usize {
        let tasks = self.tasks.borrow();
        tasks
            .iter()
            .map(|(_, entry)| entry.task.waker_clones())
            .sum()
    }

    /// The wakers for the task `(key, seq)`: a dropped task's, reused, or
    /// new ones.
    #[inline]
    pub(crate) fn wakers_for(&self, key: usize, seq: u64) -> Wakers {
        let spare = self.spare_wakers.borrow_mut().pop();
        match spare {
            Some(wakers) => {
                // Nothing else holds it (`retire_wakers`): plain stores.
                wakers.counted.key.store(key, Ordering::Relaxed);
                wakers.counted.seq.store(seq, Ordering::Relaxed);
                wakers
            }
            None => {
                let counted = Arc::new(TaskWaker {
                    loop_id: self.id,
                    key: AtomicUsize::new(key),
                    seq: AtomicU64::new(seq),
                    remote: Arc::clone(&self.remote),
                });
                Wakers {
                    waker: Waker::from(Arc::clone(&counted)),
                    counted,
                }
            }
        }
    }

    /// A task finished: clones of its waker that outlive it still count in
    /// the stuck check (see `outlived`).
    pub(crate) fn note_outliving(&self, wakers: &Wakers) {
        if wakers.clones() > 0 {
            self.keep_outlived(Arc::clone(&wakers.counted));
        }
    }

    /// The wakers of a dropped task: kept for a later task if nothing else
    /// holds a clone (and the open loop keeps fewer than `SPARE_WAKERS`),
    /// dropped otherwise. Runs no user code.
    #[inline]
    pub(crate) fn retire_wakers(&self, wakers: Wakers) {
        if wakers.clones() != 0 || self.closed.get() {
            return;
        }
        // The last clone's drop (on any thread) released its reads of key
        // and seq: order them before the next task's stores.
        atomic::fence(Ordering::Acquire);
        let mut spare = self.spare_wakers.borrow_mut();
        if spare.len() < SPARE_WAKERS {
            spare.push(wakers);
        }
    }

    /// A finished task's waker that is still cloned (see `outlived`).
    fn keep_outlived(&self, waker: Arc<TaskWaker>) {
        let mut outlived = self.outlived.borrow_mut();
        // Amortised: prune when the list has doubled since the last prune.
        if outlived.len() >= 64 && outlived.len() == outlived.capacity() {
            outlived.retain(|waker| Arc::strong_count(waker) > 1);
        }
        outlived.push(waker);
    }

    /// Forgets the outlived wakers nobody else holds now; returns how many
    /// clones of the others exist beyond the loop's own.
    pub(super) fn prune_outlived(&self) -> usize {
        let mut outlived = self.outlived.borrow_mut();
        outlived.retain(|waker| Arc::strong_count(waker) > 1);
        outlived
            .iter()
            .map(|waker| Arc::strong_count(waker) - 1)
            .sum()
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
