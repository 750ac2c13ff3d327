//! Futures of the loop that another thread will complete: the table a
//! `Completer` (made by `crate::completer`, above the state) names by key.
//!
//! **Invariant:** an entry lives from the completer's making until its
//! result arrives (a job on this thread) or its drop is reported; either
//! removes it, so a key is used once. While the table is not empty, real-time
//! work is outstanding: a manual clock waits for it instead of jumping, and
//! the stuck check counts it as something that can still bring work.

use std::any::Any;

use asyncio_core::{Exception, Future};

use super::Shared;
use crate::error::CompleterDropped;
use crate::LoopError;

/// A future that waits for a completer, its type erased, with the function
/// that fails it (for a completer dropped unused).
pub(super) struct Entry {
    future: Box<dyn Any>,
    fail: fn(Box<dyn Any>, CompleterDropped),
}

impl Entry {
    fn new<T: 'static>(future: Future<T>) -> Entry {
        fn fail<T: 'static>(future: Box<dyn Any>, error: CompleterDropped) {
            if let Ok(future) = future.downcast::<Future<T>>() {
                let _ = future.set_exception(error);
            }
        }
        Entry {
            future: Box::new(future),
            fail: fail::<T>,
        }
    }
}

/// A loop's futures that wait for a completer.
pub(super) type Awaiting = slab::Slab<Entry>;

impl Shared {
    /// Whether `future` was created by this loop.
    pub(crate) fn owns<T: 'static>(&self, future: &Future<T>) -> bool {
        future
            .scheduler()
            .is_some_and(|scheduler| std::ptr::addr_eq(scheduler.as_ptr(), self.this.as_ptr()))
    }

    /// Enters `future`, which must be this open loop's and pending, in the
    /// table; returns its key for a completer.
    pub(crate) fn await_completion<T: Send + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<usize, LoopError> {
        if self.closed.get() {
            return Err(LoopError::closed());
        }
        if !self.owns(future) {
            return Err(LoopError::foreign_future());
        }
        Ok(self
            .awaiting
            .borrow_mut()
            .insert(Entry::new(future.clone())))
    }

    /// A completer's result arrived (on this thread, as a job). A future
    /// cancelled meanwhile keeps its cancellation, as asyncio's
    /// `_set_result_unless_cancelled` does.
    pub(crate) fn complete_from_afar<T: 'static>(&self, key: usize, outcome: Result<T, Exception>) {
        let entry = self.awaiting.borrow_mut().try_remove(key);
        let future = entry.and_then(|entry| entry.future.downcast::<Future<T>>().ok());
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
            (entry.fail)(entry.future, CompleterDropped);
        }
    }

    /// Whether some future waits for a completer (real-time work outstanding).
    pub(super) fn awaits_completions(&self) -> bool {
        !self.awaiting.borrow().is_empty()
    }
}
