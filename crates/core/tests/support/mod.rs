//! A scheduler for the behaviour tests: a plain FIFO queue run by hand, and
//! a record of what it was asked to report.
#![allow(dead_code, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use asyncio_core::{Callback, Closed, ExceptionContext, Future, Schedule};

#[derive(Default)]
pub struct Queue {
    jobs: RefCell<VecDeque<Callback<()>>>,
    reports: RefCell<Vec<String>>,
    closed: Cell<bool>,
}

impl Schedule for Queue {
    fn schedule(&self, job: Callback<()>) -> Result<(), Closed> {
        if self.closed.get() {
            return Err(Closed);
        }
        self.jobs.borrow_mut().push_back(job);
        Ok(())
    }

    fn call_exception_handler(&self, context: ExceptionContext) {
        let exception = context.exception.map(|e| e.to_string()).unwrap_or_default();
        self.reports
            .borrow_mut()
            .push(format!("{}: {exception}", context.message));
    }
}

/// A scheduler and the futures bound to it.
pub struct Harness {
    pub queue: Rc<Queue>,
    scheduler: Rc<dyn Schedule>,
}

impl Harness {
    pub fn new() -> Self {
        let queue = Rc::new(Queue::default());
        let scheduler: Rc<dyn Schedule> = queue.clone();
        Harness { queue, scheduler }
    }

    pub fn future<T: 'static>(&self) -> Future<T> {
        Future::with_scheduler(Rc::downgrade(&self.scheduler))
    }

    /// How many jobs are queued.
    pub fn queued(&self) -> usize {
        self.queue.jobs.borrow().len()
    }

    /// Runs queued jobs in FIFO order until none is left.
    pub fn run(&self) {
        loop {
            let job = self.queue.jobs.borrow_mut().pop_front();
            match job {
                Some(job) => job.call(&()),
                None => break,
            }
        }
    }

    /// Drops every queued job without running it, as a closing loop does.
    pub fn drop_jobs(&self) {
        let jobs = std::mem::take(&mut *self.queue.jobs.borrow_mut());
        drop(jobs);
    }

    pub fn close(&self) {
        self.queue.closed.set(true);
    }

    pub fn take_reports(&self) -> Vec<String> {
        std::mem::take(&mut *self.queue.reports.borrow_mut())
    }

    /// Schedules a plain job, as a loop's `call_soon` would.
    pub fn call_soon(&self, job: impl FnOnce() + 'static) {
        self.scheduler.schedule(Callback::from_thunk(job)).unwrap();
    }
}

/// An ordered log of events.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn log(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}
