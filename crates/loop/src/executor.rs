//! Executors for blocking calls: asyncio's `run_in_executor` and its
//! default `ThreadPoolExecutor`.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

/// A job for an executor: a blocking closure, already wrapped so that its
/// result (or its panic) completes a loop future.
pub type Job = Box<dyn FnOnce() + Send>;

/// Where [`run_in_executor`](crate::LoopHandle::run_in_executor) runs
/// blocking calls: a small trait, so that a program can hand the loop its
/// own pool (asyncio's `run_in_executor(executor, ...)` and
/// `set_default_executor`).
///
/// [`execute`](Executor::execute) must run the job on some thread, once, or
/// drop it (the job's future then fails with
/// [`CompleterDropped`](crate::CompleterDropped)); it must not run it on
/// the loop's thread while the loop waits for it.
///
/// # Examples
///
/// An executor that runs each job on a thread of its own:
///
/// ```
/// use asyncio_loop::{EventLoop, Executor, Job};
///
/// struct ThreadPerJob;
///
/// impl Executor for ThreadPerJob {
///     fn execute(&self, job: Job) {
///         std::thread::spawn(job);
///     }
/// }
///
/// let event_loop = EventLoop::new();
/// event_loop.set_default_executor(ThreadPerJob).unwrap();
/// let answer = event_loop.run_in_executor(|| 6 * 7).unwrap();
/// assert_eq!(event_loop.run_until_complete(answer).unwrap(), 42);
/// ```
pub trait Executor: Send + Sync + 'static {
    /// Runs `job` on a thread other than the loop's.
    fn execute(&self, job: Job);

    /// Finishes the jobs submitted so far and joins the executor's threads
    /// (asyncio's `shutdown_default_executor`). The loop calls it when it
    /// closes. The default does nothing.
    fn shutdown(&self) {}
}

/// The default executor: a pool of at most `max_workers` threads, started
/// one by one as jobs arrive while every worker is busy (as CPython's
/// `ThreadPoolExecutor` does), each named `asyncio-executor-N`. Jobs run in
/// the order they were submitted. A panic in a job is caught (and reaches
/// the job's future as its exception), so a worker never dies of one.
/// [`shutdown`](Executor::shutdown) lets queued jobs finish, then joins
/// every worker.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{EventLoop, ThreadPool};
///
/// let event_loop = EventLoop::new();
/// event_loop.set_default_executor(ThreadPool::new(2)).unwrap();
/// let names: Vec<_> = (0..4)
///     .map(|_| event_loop.run_in_executor(|| std::thread::current().name().map(str::to_owned)).unwrap())
///     .collect();
/// for name in names {
///     let name = event_loop.run_until_complete(name).unwrap().unwrap();
///     assert!(name.starts_with("asyncio-executor-"));
/// }
/// ```
pub struct ThreadPool {
    shared: Arc<Pool>,
}

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    max_workers: usize,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
    started: usize,
    shutdown: bool,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// A pool of at most `max_workers` threads (at least one).
    pub fn new(max_workers: usize) -> Self {
        ThreadPool {
            shared: Arc::new(Pool {
                state: Mutex::new(PoolState::default()),
                work: Condvar::new(),
                max_workers: max_workers.max(1),
            }),
        }
    }

    /// asyncio's default size: `min(32, cores + 4)` threads.
    pub fn with_default_size() -> Self {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        ThreadPool::new((cores + 4).min(32))
    }

    /// The most threads this pool starts.
    pub fn max_workers(&self) -> usize {
        self.shared.max_workers
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A job's panic is caught outside the lock: it cannot poison it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn work(self: &Arc<Self>) {
        loop {
            let job = {
                let mut state = self.lock();
                loop {
                    if let Some(job) = state.jobs.pop_front() {
                        break job;
                    }
                    if state.shutdown {
                        return;
                    }
                    state.idle += 1;
                    state = self
                        .work
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    state.idle -= 1;
                }
            };
            // The job's own wrapper catches the call's panic; this catches a
            // panic in dropping what it captured, so the worker lives on.
            let _ = catch_unwind(AssertUnwindSafe(job));
        }
    }
}

impl Executor for ThreadPool {
    fn execute(&self, job: Job) {
        let mut state = self.shared.lock();
        if state.shutdown {
            // Dropped: its future fails with `CompleterDropped`.
            drop(state);
            drop(job);
            return;
        }
        state.jobs.push_back(job);
        if state.idle == 0 && state.started < self.shared.max_workers {
            let number = state.started;
            let pool = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name(format!("asyncio-executor-{number}"))
                .spawn(move || pool.work());
            match spawned {
                Ok(worker) => {
                    state.started += 1;
                    state.workers.push(worker);
                }
                // No thread can be made and none runs: the job would wait
                // for ever. Dropped: its future fails with `CompleterDropped`.
                Err(_) if state.started == 0 => {
                    let job = state.jobs.pop_back();
                    drop(state);
                    drop(job);
                }
                // A busy worker will take it.
                Err(_) => {}
            }
        } else {
            self.shared.work.notify_one();
        }
    }

    fn shutdown(&self) {
        let workers = {
            let mut state = self.shared.lock();
            state.shutdown = true;
            std::mem::take(&mut state.workers)
        };
        self.shared.work.notify_all();
        let me = thread::current().id();
        for worker in workers {
            if worker.thread().id() != me {
                let _ = worker.join();
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ThreadPool")
            .field("max_workers", &self.shared.max_workers)
            .field("started", &state.started)
            .field("queued", &state.jobs.len())
            .finish()
    }
}
