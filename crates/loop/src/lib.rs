//! asyncio's event loop for Rust: a deterministic, single-threaded loop of
//! callbacks and futures.
//!
//! This crate works alone (it brings `asyncio-core` and `asyncio-callbacks`).
//! The [`asyncio`](https://github.com/asyncio-rs/asyncio-rs/tree/main/crates/asyncio) crate re-exports it with the others under
//! asyncio's names, for programs that want all of it.
//!
//! An [`EventLoop`] runs callbacks queued with [`EventLoop::call_soon`](crate::LoopHandle::call_soon) in
//! FIFO order, one iteration at a time, with asyncio's rule that an
//! iteration runs exactly what was queued when it began. It creates futures
//! bound to it ([`EventLoop::create_future`](crate::LoopHandle::create_future)), whose done-callbacks it runs,
//! and drives coroutines (`async` blocks and `async fn` calls) to completion
//! with [`EventLoop::run_until_complete`].
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use asyncio_loop::EventLoop;
//!
//! let event_loop = EventLoop::new();
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let future = event_loop.create_future::<&str>();
//!
//! let sink = log.clone();
//! future.add_done_callback(move |f| sink.borrow_mut().push(format!("done: {}", f.result().unwrap()))).unwrap();
//! let (sink, setter) = (log.clone(), future.clone());
//! event_loop.call_soon(move || {
//!     sink.borrow_mut().push("setting".to_owned());
//!     setter.set_result("ok").unwrap();
//! }).unwrap();
//!
//! assert_eq!(event_loop.run_until_complete(&future).unwrap(), "ok");
//! assert_eq!(*log.borrow(), ["setting", "done: ok"]);
//! ```
//!
//! Timers: [`EventLoop::call_later`](crate::LoopHandle::call_later) and [`EventLoop::call_at`](crate::LoopHandle::call_at) schedule
//! a callback for a point on the loop's clock ([`EventLoop::time`](crate::LoopHandle::time)), and
//! [`EventLoop::sleep`](crate::LoopHandle::sleep) is asyncio's `sleep()`. A loop built with
//! [`EventLoop::with_clock`] reads a [`ManualClock`] instead of the real
//! one, so tests of timed code run at once and in exact order.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use asyncio_loop::{EventLoop, ManualClock};
//!
//! let event_loop = EventLoop::with_clock(&ManualClock::new());
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let handle = event_loop.handle();
//! let sink = log.clone();
//! event_loop.run_until_complete(async move {
//!     let later = sink.clone();
//!     handle.call_later(0.2, move || later.borrow_mut().push("timer")).unwrap();
//!     handle.sleep(0.4).await.unwrap();
//!     sink.borrow_mut().push("slept");
//! }).unwrap();
//! assert_eq!(*log.borrow(), ["timer", "slept"]);
//! assert_eq!(event_loop.time(), 0.4);
//! ```
//!
//! Tasks: [`EventLoop::create_task`](crate::LoopHandle::create_task) schedules a coroutine as a [`Task`],
//! asyncio's future-like handle with a name, a `Debug` in asyncio's style,
//! and asyncio's cancellation ([`Task::cancel`]): what the task awaits is
//! cancelled at once, and the coroutine sees a cancelled error at that
//! await, which it may handle or propagate with `?`. [`current_task`] and
//! [`all_tasks`] find them. [`wait`], [`gather`], [`as_completed`],
//! [`wait_for`], [`shield`], [`Timeout`] and [`TaskGroup`] compose them,
//! as asyncio's helpers do, and [`run`] is `asyncio.run()`. The loop's
//! handle implements `futures`' `LocalSpawn` and `Spawn`, so crates written
//! against those traits spawn onto it.
//!
//! ```
//! use asyncio_loop::{EventLoop, ManualClock};
//!
//! let event_loop = EventLoop::with_clock(&ManualClock::new());
//! let handle = event_loop.handle();
//! let worker = event_loop
//!     .create_task(async move {
//!         match handle.sleep(10.0).await {
//!             Err(error) if error.is_cancelled() => "cleaned up",
//!             _ => "slept",
//!         }
//!     })
//!     .unwrap();
//! let canceller = worker.clone();
//! event_loop.call_later(1.0, move || { canceller.cancel(); }).unwrap();
//! assert_eq!(event_loop.run_until_complete(&worker).unwrap(), "cleaned up");
//! assert_eq!(event_loop.time(), 1.0);
//! ```
//!
//! Other threads reach a loop through its [`ThreadsafeHandle`]
//! (`Send + Sync + Clone`): [`ThreadsafeHandle::call_soon_threadsafe`]
//! queues a callback to run on the loop's thread and wakes the loop, and
//! [`ThreadsafeHandle::stop`] stops it. An idle loop waits in the operating
//! system's poller (epoll, kqueue) until its next timer or a wake from
//! another thread, using no CPU. A host program that owns the thread (a GUI,
//! a game loop) drives the loop one iteration at a time with
//! [`EventLoop::run_once`], waiting at most a timeout it chooses.
//!
//! Blocking calls run on a thread pool with [`EventLoop::run_in_executor`](crate::LoopHandle::run_in_executor),
//! which gives a future of their result; a [`Completer`] completes a loop's
//! future from any thread.
//!
//! I/O (Unix): [`add_reader`](crate::LoopHandle::add_reader) and
//! [`add_writer`](crate::LoopHandle::add_writer) call a closure on every
//! iteration while a descriptor is ready, as asyncio's do; a
//! [`Registered`] socket is watched by the loop for as long as it lives,
//! and the `sock_*` coroutines ([`sock_recv`](crate::LoopHandle::sock_recv),
//! [`sock_sendall`](crate::LoopHandle::sock_sendall),
//! [`sock_connect`](crate::LoopHandle::sock_connect),
//! [`sock_accept`](crate::LoopHandle::sock_accept), ...) try each system
//! call first and wait for readiness only when it would block.
//!
//! ```
//! # #[cfg(unix)] {
//! use asyncio_loop::{EventLoop, Registered};
//!
//! let event_loop = EventLoop::new();
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let address = listener.local_addr().unwrap();
//! let listener = Registered::new(&event_loop, listener).unwrap();
//! let client = std::thread::spawn(move || {
//!     use std::io::{Read, Write};
//!     let mut stream = std::net::TcpStream::connect(address).unwrap();
//!     stream.write_all(b"ping").unwrap();
//!     let mut reply = [0; 4];
//!     stream.read_exact(&mut reply).unwrap();
//!     reply
//! });
//! let handle = event_loop.handle();
//! event_loop
//!     .run_until_complete(async move {
//!         let (connection, _) = handle.sock_accept(&listener).await?;
//!         let data = handle.sock_recv(&connection, 1024).await?;
//!         handle.sock_sendall(&connection, &data).await
//!     })
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(&client.join().unwrap(), b"ping");
//! # }
//! ```
//!
//! # What it is not
//!
//! Not a multi-threaded runtime: a loop and its futures live on one thread.
//! Not the synchronization primitives (locks, events, queues): those are
//! `asyncio-sync`, built on `asyncio-core` alone. Its I/O is the loop's
//! part of asyncio's: readiness, `add_reader`, the `sock_*` coroutines and
//! Unix signal handlers ([`LoopHandle::add_signal_handler`], Ctrl-C in
//! [`run`] and [`EventLoop::run_forever_interruptible`]; the chapter
//! "Receiving Unix Signals", `docs/signals.md`). Transports and protocols,
//! servers and streams are `asyncio-net`'s; subprocesses come in the issue
//! that follows (`ARCHITECTURE.md` says where each goes).
//!
//! # Which error type should a coroutine return?
//!
//! Any: a task fails with its coroutine's `Err`, and a cancellation
//! propagated into the error with `?` still cancels the task, whatever the
//! type (see [`asyncio_core::propagated`]). An application's coroutines
//! return `anyhow::Result` or `Result<T, asyncio_core::BoxError>`, which
//! `?` takes every error into. A coroutine that uses only these crates
//! returns `Result<T, FutureError>`: `?` takes a [`LoopError`] and
//! `asyncio-sync`'s errors into it (a cancellation stays one; any other
//! error is kept as the exception, typed). One that uses only the loop can
//! return `Result<T, LoopError>`, which takes a `FutureError`.
//!
//! ```
//! use asyncio_core::FutureError;
//! use asyncio_loop::{get_running_loop, EventLoop};
//!
//! async fn double_later(n: u32) -> Result<u32, FutureError> {
//!     let event_loop = get_running_loop()?; // a LoopError
//!     event_loop.sleep(0.0).await?; // a FutureError
//!     Ok(2 * n)
//! }
//!
//! let event_loop = EventLoop::new();
//! assert_eq!(event_loop.run_until_complete(double_later(21)).unwrap().unwrap(), 42);
//! ```
//!
//! # Differences from asyncio
//!
//! - Errors are values ([`LoopError`] with [`LoopErrorKind`],
//!   [`FutureError`](asyncio_core::FutureError)), `Send + Sync`, and a panic
//!   in a callback plays the part of an exception. No panic of user code,
//!   not even in a `Drop` the loop runs (a callback's captures at `close`, a
//!   finished coroutine), escapes the loop: each goes to the exception handler.
//! - `run_until_complete(&future)` clones the result out; `run_until_complete(future)`
//!   by value moves it out, so results need not be `Clone`.
//! - A stop queued by `run_until_complete` never outlives the call (CPython
//!   leaves it queued when the loop was stopped early, and it stops the next run).
//! - Callbacks are closures; arguments are captured (or bound with
//!   `asyncio_callbacks::partial`), and removal goes by key.
//! - `call_soon_threadsafe` returns no handle to cancel the callback, and a
//!   refused callback (the loop is closed) comes back in the error.
//! - A task's cancellation reaches its coroutine as a cancelled error at
//!   its next await of ours (Rust cannot throw into a coroutine); a
//!   coroutine waiting on another crate's future is dropped at that await.
//!   A coroutine's `Err` propagated with `?` fails the task, or cancels it
//!   when the error is the cancellation.
//! - Task names (`Task-N`) are numbered per loop, so they do not depend on
//!   what other loops or threads did; `close` marks the tasks it drops
//!   cancelled (asyncio leaves them pending forever).
//! - `wait` and `gather` take coroutines and make them tasks in argument
//!   order (3.11's `wait` refuses them), and `wait` returns lists in that
//!   order, where asyncio returns sets.
//! - Timers with equal deadlines run in the order they were scheduled
//!   (CPython's heap makes no promise), and a sleep's delay starts at its
//!   first poll, as asyncio's does at the first step of `sleep()`.
//!
//! # Read more
//!
//! - The chapters, asyncio's model with examples: [Cooperative
//!   Multitasking with Coroutines](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/coroutines.md),
//!   [Producing Results
//!   Asynchronously](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/futures.md),
//!   [Executing Tasks Concurrently](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/tasks.md),
//!   [Composing Coroutines with Control Structures](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/composing.md),
//!   [Scheduling Calls to Regular Functions](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/scheduling.md),
//!   [Combining Coroutines with Threads and Processes](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/executors.md),
//!   [Running, Embedding and Testing the Loop](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/running.md),
//!   and [all chapters](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/README.md).
//! - [ARCHITECTURE.md](https://github.com/asyncio-rs/asyncio-rs/blob/main/ARCHITECTURE.md):
//!   how the crates fit together, one loop iteration, the invariants.
//! - [Benchmarks](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/benchmarks.md).
#![doc(test(attr(deny(warnings))))]

mod clock;
mod completer;
mod compose;
mod error;
mod event_loop;
mod executor;
mod handle;
mod loop_handle;
mod poller;
mod ready;
mod remote;
mod shared;
mod sleep;
#[cfg(unix)]
mod sources;
mod task;
mod threadsafe;
mod timers;

pub use crate::clock::{Delay, ManualClock, When};
pub use crate::completer::Completer;
pub use crate::compose::group::TaskGroup;
pub use crate::compose::run::run;
pub use crate::compose::threads::{to_thread, ConcurrentFuture};
pub use crate::compose::{
    as_completed, gather, shield, timeout, timeout_at, wait, wait_for, AsCompleted,
    AsCompletedIter, Gather, GatherAll, GatherAllHandle, GatherHandle, Gatherable, NextCompleted,
    ReturnWhen, Shield, Timeout, WaitSet, Waited,
};
pub use crate::error::{CompleterDropped, LoopError, LoopErrorKind};
pub use crate::event_loop::EventLoop;
pub use crate::executor::{Executor, Job, ThreadPool};
pub use crate::handle::{Handle, TimerHandle};
pub use crate::loop_handle::{
    all_tasks, create_task, current_task, ensure_future, get_running_loop, IntoTask, LoopHandle,
};
#[cfg(unix)]
pub use crate::loop_handle::{Readiness, Registered};
pub use crate::shared::{default_exception_handler, ExceptionHandler};
pub use crate::sleep::{sleep, sleep_with, Sleep};
pub use crate::task::{AnyTask, Task, TaskOutput, TaskValue, TaskWait};
pub use crate::threadsafe::{Rejected, ThreadsafeHandle};
/// The socket crate whose types the `sock_*` coroutines take and return
/// (`Socket`, `SockAddr`, `Domain`, `Type`), re-exported so that a program
/// uses the same version.
#[cfg(unix)]
pub use socket2;

/// This crate's README code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
