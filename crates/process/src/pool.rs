//! `ProcessPool`: functions run in worker processes (asyncio's
//! `run_in_executor(ProcessPoolExecutor(...), func, *args)`).
//!
//! A Rust closure cannot cross into another process, and forking a
//! process that has threads (the loop's executor, a reaper) may deadlock
//! the child before `exec`; so the workers are copies of the current
//! program, started again (multiprocessing's *spawn* method), and the
//! jobs are functions registered by name in a [`Registry`] that the
//! program builds the same way in every copy. Arguments and results
//! travel as JSON (`serde_json`: already a dependency of the workspace,
//! readable when a job goes wrong, and exact for the integers and strings
//! jobs take) in one line each way, tagged so that anything else the
//! worker prints is ignored.
//!
//! The workers start at the first submit, all of them (as Python 3.11's
//! pool does with `fork`). Each runs one job at a time; a worker that dies
//! mid-job fails that job with a [`WorkerDied`](crate::ProcessErrorKind::WorkerDied)
//! error and is replaced. A job whose future is cancelled before a worker
//! takes it never runs. Workers exit when their stdin closes ([`shutdown`](ProcessPool::shutdown),
//! or a dropped pool) and are killed if the parent dies first (Linux's
//! parent-death signal), so none outlives the program.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use asyncio_core::Future;
use asyncio_loop::LoopHandle;
use asyncio_sync::Queue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{create_subprocess_command, Process, ProcessError, ProcessOptions, Stdio, Stdios};

/// The environment variable that makes a copy of the program a worker.
const WORKER_VAR: &str = "ASYNCIO_PROCESS_POOL_WORKER";
/// What starts each line of the protocol, both ways.
const TAG: &str = "ASYNCIO-POOL ";

/// A registered function, on JSON values.
type Function = Box<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// The functions a [`ProcessPool`] runs, by name. Build it the same way in
/// the program's every run (the workers are copies of it) and hand it to
/// [`serve_if_worker`] first thing in `main`.
///
/// # Examples
///
/// ```
/// use asyncio_process::Registry;
///
/// fn blocks(n: u64) -> u64 {
///     n * n
/// }
///
/// let mut registry = Registry::new();
/// registry.register("blocks", blocks);
/// assert!(registry.contains("blocks"));
/// ```
#[derive(Default)]
pub struct Registry {
    functions: HashMap<&'static str, Function>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `function` as `name`: its argument and its result travel
    /// as JSON.
    pub fn register<A, R>(&mut self, name: &'static str, function: fn(A) -> R) -> &mut Registry
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        let call = move |argument: Value| -> Result<Value, String> {
            let argument: A = serde_json::from_value(argument)
                .map_err(|error| format!("bad argument for {name}: {error}"))?;
            serde_json::to_value(function(argument))
                .map_err(|error| format!("bad result of {name}: {error}"))
        };
        self.functions.insert(name, Box::new(call));
        self
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.functions.contains_key(name)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("Registry")
            .field("functions", &names)
            .finish()
    }
}

/// Call first thing in `main` (after setting up logging, which the
/// workers then share): in a worker started by a [`ProcessPool`], runs the
/// jobs it is sent with `registry` until its stdin closes, then exits the
/// process; in any other run, returns at once.
pub fn serve_if_worker(registry: &Registry) {
    if std::env::var_os(WORKER_VAR).is_none() {
        return;
    }
    // No worker outlives its parent.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Some(request) = line.strip_prefix(TAG) else {
            continue;
        };
        let answer = answer(registry, request);
        let written = writeln!(stdout, "{TAG}{answer}").and_then(|()| stdout.flush());
        if written.is_err() {
            break;
        }
    }
    std::process::exit(0);
}

/// A worker's answer to one request line.
fn answer(registry: &Registry, request: &str) -> Value {
    let request: Value = serde_json::from_str(request).unwrap_or(Value::Null);
    let name = request["name"].as_str().unwrap_or_default();
    let outcome = match registry.functions.get(name) {
        None => Err(format!("no function {name:?} is registered in the worker")),
        Some(function) => {
            let argument = request["argument"].clone();
            catch_unwind(AssertUnwindSafe(|| function(argument))).unwrap_or_else(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                Err(format!("{name} panicked: {message}"))
            })
        }
    };
    match outcome {
        Ok(value) => serde_json::json!({"ok": value}),
        Err(message) => serde_json::json!({"error": message}),
    }
}

/// One job waiting for a worker.
struct Job {
    name: String,
    argument: Value,
    result: Future<Result<Value, ProcessError>>,
}

struct PoolInner {
    handle: LoopHandle,
    workers: usize,
    program: OsString,
    arguments: Vec<OsString>,
    /// Jobs in order; `None` ends the worker task that takes it (one per
    /// task at shutdown, behind the jobs queued before).
    queue: Queue<Option<Job>>,
    started: Cell<bool>,
    closing: Cell<bool>,
    /// The workers' processes, for shutdown.
    running: RefCell<Vec<Rc<Process>>>,
    /// Drivers still running (one per worker); shutdown waits for zero.
    drivers: Cell<usize>,
    all_done: RefCell<Option<Future<()>>>,
}

/// A pool of worker processes that run registered functions (asyncio's
/// `ProcessPoolExecutor` with `run_in_executor`). See the module docs
/// above and [`serve_if_worker`].
///
/// # Examples
///
/// ```no_run
/// use asyncio_loop::EventLoop;
/// use asyncio_process::{serve_if_worker, ProcessPool, Registry};
///
/// fn blocks(n: u64) -> u64 {
///     n * n
/// }
///
/// fn main() {
///     let mut registry = Registry::new();
///     registry.register("blocks", blocks);
///     serve_if_worker(&registry);
///
///     let event_loop = EventLoop::new();
///     let pool = ProcessPool::new(&event_loop, 3);
///     let squares = event_loop
///         .run_until_complete(async move {
///             let square = pool.submit::<u64, u64>("blocks", &7).await?;
///             pool.shutdown().await?;
///             Ok::<_, asyncio_process::ProcessError>(square)
///         })
///         .unwrap()
///         .unwrap();
///     assert_eq!(squares, 49);
/// }
/// ```
#[derive(Clone)]
pub struct ProcessPool {
    inner: Rc<PoolInner>,
    /// Held by the pool's handles only (the workers' tasks hold `inner`):
    /// when the last handle goes, the pool shuts down.
    _owner: Rc<Owner>,
}

/// Shuts its pool down when the last handle is dropped.
struct Owner(Rc<PoolInner>);

impl Drop for Owner {
    fn drop(&mut self) {
        begin_shutdown(&self.0);
    }
}

/// No new jobs; each worker's task ends once the jobs queued before are
/// done (a `None` per task, queued behind them).
fn begin_shutdown(inner: &PoolInner) {
    if inner.closing.replace(true) {
        return;
    }
    for _ in 0..inner.drivers.get() {
        let _ = inner.queue.put_nowait(None);
    }
}

impl ProcessPool {
    /// A pool of `workers` copies of the current program (at least one),
    /// started at the first submit.
    pub fn new(handle: &LoopHandle, workers: usize) -> ProcessPool {
        let program = std::env::current_exe()
            .map(OsString::from)
            .unwrap_or_else(|_| std::env::args_os().next().unwrap_or_default());
        ProcessPool::with_command(handle, workers, program, Vec::<OsString>::new())
    }

    /// A pool whose workers run `program` with `arguments` (which must
    /// reach [`serve_if_worker`] with the same registry): for a test
    /// binary, the harness's arguments that run one test.
    pub fn with_command(
        handle: &LoopHandle,
        workers: usize,
        program: impl Into<OsString>,
        arguments: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> ProcessPool {
        let inner = Rc::new(PoolInner {
            handle: handle.clone(),
            workers: workers.max(1),
            program: program.into(),
            arguments: arguments.into_iter().map(Into::into).collect(),
            queue: Queue::new(),
            started: Cell::new(false),
            closing: Cell::new(false),
            running: RefCell::new(Vec::new()),
            drivers: Cell::new(0),
            all_done: RefCell::new(None),
        });
        ProcessPool {
            _owner: Rc::new(Owner(Rc::clone(&inner))),
            inner,
        }
    }

    /// Runs the function registered as `name` with `argument` in a worker:
    /// its result. Cancelling the awaiting task before a worker took the
    /// job means it never runs.
    ///
    /// # Errors
    ///
    /// [`WorkerDied`](crate::ProcessErrorKind::WorkerDied) when the worker
    /// running it died (it is replaced); [`Job`](crate::ProcessErrorKind::Job)
    /// when the function panicked or no function has that name in the
    /// worker; an invalid-argument error when the argument or the result
    /// does not (de)serialise, or after [`shutdown`](Self::shutdown); the
    /// cancellation of the awaiting task.
    pub async fn submit<A, R>(&self, name: &str, argument: &A) -> Result<R, ProcessError>
    where
        A: Serialize,
        R: DeserializeOwned,
    {
        if self.inner.closing.get() {
            return Err(ProcessError::invalid_argument(
                "cannot schedule new jobs after shutdown",
            ));
        }
        let argument = serde_json::to_value(argument)
            .map_err(|error| ProcessError::invalid_argument(format!("bad argument: {error}")))?;
        self.start()?;
        if self.inner.drivers.get() == 0 {
            // Every worker failed to start: try again for this job.
            spawn_driver(&self.inner)?;
        }
        let result = self.inner.handle.create_future();
        let job = Job {
            name: name.to_owned(),
            argument,
            result: result.clone(),
        };
        if self.inner.queue.put_nowait(Some(job)).is_err() {
            return Err(ProcessError::invalid_argument(
                "the pool's queue refused the job",
            ));
        }
        let value = result.wait_take().await??;
        serde_json::from_value(value)
            .map_err(|error| ProcessError::invalid_argument(format!("bad result: {error}")))
    }

    /// Starts every worker, once.
    fn start(&self) -> Result<(), ProcessError> {
        if self.inner.started.replace(true) {
            return Ok(());
        }
        for _ in 0..self.inner.workers {
            spawn_driver(&self.inner)?;
        }
        Ok(())
    }

    /// Lets the queued jobs finish, then ends the workers and waits for
    /// them (asyncio's `shutdown(wait=True)`). Later submits fail.
    ///
    /// # Errors
    ///
    /// The cancellation of the awaiting task.
    pub async fn shutdown(&self) -> Result<(), ProcessError> {
        begin_shutdown(&self.inner);
        if self.inner.drivers.get() == 0 {
            return Ok(());
        }
        let done = self
            .inner
            .all_done
            .borrow_mut()
            .get_or_insert_with(|| self.inner.handle.create_future())
            .clone();
        done.wait().await?;
        Ok(())
    }

    /// The workers' process ids (empty before the first submit).
    pub fn pids(&self) -> Vec<u32> {
        self.inner
            .running
            .borrow()
            .iter()
            .map(|process| process.pid())
            .collect()
    }
}

/// Starts one worker and the task that feeds it jobs.
fn spawn_driver(inner: &Rc<PoolInner>) -> Result<(), ProcessError> {
    let pool = Rc::clone(inner);
    inner.drivers.set(inner.drivers.get() + 1);
    let task = inner.handle.create_task(async move {
        drive(&pool).await;
        pool.drivers.set(pool.drivers.get() - 1);
        if pool.drivers.get() == 0 {
            if let Some(done) = pool.all_done.borrow_mut().take() {
                let _ = done.set_result(());
            }
        }
    });
    if let Err(error) = task {
        inner.drivers.set(inner.drivers.get() - 1);
        return Err(error.into());
    }
    Ok(())
}

/// One worker's life: start it, feed it jobs one at a time, replace it if
/// it dies, end it at shutdown.
async fn drive(pool: &Rc<PoolInner>) {
    let mut command = std::process::Command::new(&pool.program);
    command.args(&pool.arguments).env(WORKER_VAR, "1");
    let options =
        ProcessOptions::new().stdios(Stdios::inherit().stdin(Stdio::Pipe).stdout(Stdio::Pipe));
    let process = match create_subprocess_command(&pool.handle, command, options).await {
        Ok(process) => process,
        Err(error) => {
            // No worker: the jobs waiting now fail with the reason rather
            // than wait for ever (a later submit tries to start one again).
            while let Ok(job) = pool.queue.get_nowait() {
                if let Some(job) = job {
                    let _ = job.result.set_result(Err(error.clone()));
                }
            }
            return;
        }
    };
    let process = Rc::new(process);
    pool.running.borrow_mut().push(Rc::clone(&process));
    let (Some(stdin), Some(stdout)) = (process.stdin.clone(), process.stdout.clone()) else {
        return;
    };
    loop {
        let Ok(Some(job)) = pool.queue.get().await else {
            break;
        };
        // Cancelled while queued (its awaiting task was): never runs.
        if job.result.done() {
            continue;
        }
        let request = serde_json::json!({"name": job.name, "argument": job.argument});
        let _ = stdin.write(format!("{TAG}{request}\n").as_bytes());
        let answer = loop {
            match stdout.readline().await {
                Ok(line) if line.is_empty() => break None,
                Ok(line) => {
                    // Anywhere in the line: what the program printed
                    // before, without a newline, may precede it.
                    if let Some(answer) = std::str::from_utf8(&line)
                        .ok()
                        .and_then(|line| Some(&line[line.find(TAG)? + TAG.len()..]))
                    {
                        break serde_json::from_str::<Value>(answer.trim_end()).ok();
                    }
                }
                Err(_) => break None,
            }
        };
        let Some(answer) = answer else {
            // The worker died mid-job: that job fails, a new one replaces it.
            let _ = job.result.set_result(Err(ProcessError::worker_died()));
            pool.running
                .borrow_mut()
                .retain(|running| !Rc::ptr_eq(running, &process));
            let _ = process.wait().await;
            if !pool.closing.get() || !pool.queue.empty() {
                let _ = spawn_driver(pool);
            }
            return;
        };
        let outcome = match answer.get("ok") {
            Some(value) => Ok(value.clone()),
            None => Err(ProcessError::job(
                answer["error"]
                    .as_str()
                    .unwrap_or("the job failed")
                    .to_owned(),
            )),
        };
        let _ = job.result.set_result(outcome);
    }
    stdin.close();
    let _ = process.wait().await;
    pool.running
        .borrow_mut()
        .retain(|running| !Rc::ptr_eq(running, &process));
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.inner.workers)
            .field("started", &self.inner.started.get())
            .field("queued", &self.inner.queue.qsize())
            .finish()
    }
}
