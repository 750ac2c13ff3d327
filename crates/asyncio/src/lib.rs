//! Python's asyncio for Rust, under asyncio's names: start here.
//!
//! This crate is the one to depend on. It re-exports, under the names and
//! the module structure of Python's `asyncio`, four crates that each work
//! alone: [`asyncio-core`](asyncio_core) (futures and their errors),
//! [`asyncio-callbacks`](asyncio_callbacks) (done-callback lists and
//! `partial`), [`asyncio-loop`](asyncio_loop) (the event loop, tasks,
//! composition, threads) and [`asyncio-sync`](asyncio_sync) (locks,
//! events, conditions, semaphores, barriers, queues). It adds no code of
//! its own: every item here is one of theirs, with its own documentation.
//!
//! A ported program reads as its Python did:
//!
//! ```
//! use asyncio::{gather, run, sleep, FutureError};
//!
//! async fn count(name: &'static str, seconds: f64) -> Result<&'static str, FutureError> {
//!     sleep(seconds).await?;
//!     Ok(name)
//! }
//!
//! let names = run(async { gather([count("a", 0.02), count("b", 0.01)]).await })
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(names, ["a", "b"]); // in argument order; "b" finished first
//! ```
//!
//! # What it is, and what it is not
//!
//! It is asyncio's model (futures with done-callbacks, an event loop that
//! runs callbacks in a known order, tasks with asyncio's cancellation,
//! `gather`/`wait`/`wait_for`/`timeout`/`TaskGroup`, synchronization
//! primitives) with asyncio's ordering, states and errors, the errors as
//! Rust types. The loop is single-threaded and deterministic: what runs
//! next is what asyncio would run next, and a loop on a [`ManualClock`]
//! runs timed code in no time and in exact order, for tests. Other threads
//! reach the loop through a [`ThreadsafeHandle`], blocking calls run on an
//! executor ([`to_thread`], [`LoopHandle::run_in_executor`]).
//!
//! On Unix it also has asyncio's I/O: transports and protocols
//! ([`create_server`], [`create_connection`]), streams
//! ([`start_server`], [`open_connection`]), name lookups, subprocesses
//! ([`create_subprocess_exec`]) and signal handlers
//! ([`LoopHandle::add_signal_handler`]). asyncio's warnings go to the
//! [`log`](https://docs.rs/log) facade with the target `asyncio`, as
//! Python's go to the `asyncio` logger: install a logger to see them.
//!
//! It is not a multi-threaded work-stealing runtime (use tokio for that),
//! and it has no TLS yet. Where it differs from asyncio on purpose, the
//! repository's README lists each difference.
//!
//! # A tour
//!
//! **Running a coroutine.** [`run`] is `asyncio.run()`: a fresh loop, the
//! coroutine to completion, then every task it left cancelled, the
//! executor shut down and the loop closed. A coroutine is any Rust future;
//! one that returns a `Result` fails its task with the `Err`.
//!
//! **Tasks.** [`create_task`] schedules a coroutine on the running loop
//! and gives a [`Task`]: awaitable (by several awaiters), cancellable with
//! asyncio's rules, with done-callbacks, a name and an asyncio-style
//! `Debug`. [`current_task`] and [`all_tasks`] are asyncio's.
//!
//! ```
//! use asyncio::{create_task, run, sleep, FutureError};
//!
//! let outcome = run(async {
//!     let task = create_task(async {
//!         sleep(3600.0).await?;
//!         Ok::<_, FutureError>("never")
//!     })?;
//!     sleep(0.0).await?; // let it start
//!     task.cancel();
//!     Ok::<_, FutureError>(task.await.unwrap_err().is_cancelled())
//! })
//! .unwrap();
//! assert!(outcome.unwrap());
//! ```
//!
//! **Composition.** [`gather`], [`wait`], [`wait_for`], [`as_completed`],
//! [`shield`], [`timeout`] and [`TaskGroup`] are asyncio's, with asyncio's
//! cancellation rules.
//!
//! ```
//! use asyncio::{run, sleep_with, timeout, wait_for};
//!
//! let (fast, slow) = run(async {
//!     let fast = wait_for(sleep_with(0.01, "fast"), 1.0).await;
//!     let slow = timeout(0.01)?.run(sleep_with(5.0, "slow")).await;
//!     Ok::<_, asyncio::LoopError>((fast, slow))
//! })
//! .unwrap()
//! .unwrap();
//! assert_eq!(fast.unwrap(), "fast");
//! assert!(slow.unwrap_err().is_timeout());
//! ```
//!
//! **Synchronization.** [`Lock`], [`Event`], [`Condition`], [`Semaphore`],
//! [`BoundedSemaphore`], [`Barrier`] and [`Queue`] (with [`LifoQueue`] and
//! [`PriorityQueue`]) are asyncio's, for tasks of one loop, first come
//! first served, with guards that release on drop.
//!
//! ```
//! use asyncio::{create_task, run, Queue};
//!
//! let total = run(async {
//!     let queue = Queue::with_maxsize(2);
//!     let producer = {
//!         let queue = queue.clone();
//!         create_task(async move {
//!             for n in 1..=5u32 {
//!                 queue.put(n).await?;
//!             }
//!             Ok::<_, asyncio::SyncError>(())
//!         })?
//!     };
//!     let mut total = 0;
//!     for _ in 0..5 {
//!         total += queue.get().await?;
//!     }
//!     producer.await?;
//!     Ok::<_, asyncio::FutureError>(total)
//! })
//! .unwrap();
//! assert_eq!(total.unwrap(), 15);
//! ```
//!
//! **The loop itself.** [`EventLoop`] is the loop a program owns: make it
//! (on the system clock, or on a [`ManualClock`] for tests), run it
//! (`run_until_complete`, `run_forever`, or one iteration at a time from a
//! host program's own loop with `run_once`), and drop it. Everything else
//! it does is [`LoopHandle`]'s, which it dereferences to, and which
//! callbacks and coroutines keep ([`get_running_loop`] gives one):
//! `call_soon`, `call_later`, `call_at`, `create_future`, `create_task`,
//! `sleep`, `time`, `run_in_executor`, the exception handler.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use asyncio::{EventLoop, ManualClock};
//!
//! let event_loop = EventLoop::with_clock(&ManualClock::new());
//! let log = Rc::new(RefCell::new(Vec::new()));
//! for (delay, name) in [(0.3, "c"), (0.1, "a"), (0.2, "b")] {
//!     let log = log.clone();
//!     event_loop.call_later(delay, move || log.borrow_mut().push(name)).unwrap();
//! }
//! let handle = event_loop.handle();
//! event_loop.call_later(1.0, move || handle.stop()).unwrap();
//! event_loop.run_forever().unwrap();
//! assert_eq!(*log.borrow(), ["a", "b", "c"]);
//! assert_eq!(event_loop.time(), 1.0); // and no real time passed
//! ```
//!
//! **Errors.** Each crate has one error type with a `kind()` and query
//! methods ([`FutureError`], [`LoopError`], [`SyncError`], all in
//! [`exceptions`]); all are `Send + Sync + 'static`, so `?` takes them into
//! `anyhow` or a `Box<dyn Error + Send + Sync>`. Any error type a
//! coroutine returns works, and a cancellation propagated into it with
//! `?` still cancels the task. A panic in a callback or a task goes to the
//! loop's exception handler, and the loop goes on.
//!
//! # The chapters
//!
//! The documentation's chapters port the examples of *Python 3 Module of
//! the Week*'s asyncio chapter, each with its Rust source and output:
//!
//! 1. [Cooperative Multitasking with Coroutines](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/coroutines.md)
//! 2. [Scheduling Calls to Regular Functions](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/scheduling.md)
//! 3. [Producing Results Asynchronously](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/futures.md)
//! 4. [Executing Tasks Concurrently](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/tasks.md)
//! 5. [Composing Coroutines with Control Structures](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/composing.md)
//! 6. [Synchronization Primitives](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/synchronization.md)
//! 7. [Asynchronous I/O with Protocol Class Abstractions](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/protocols.md)
//! 8. [Asynchronous I/O Using Coroutines and Streams](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/streams.md)
//! 9. [Interacting with Domain Name Services](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/dns.md)
//! 10. [Working with Subprocesses](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/subprocesses.md)
//! 11. [Receiving Unix Signals](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/signals.md)
//! 12. [Combining Coroutines with Threads and Processes](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/executors.md)
//! 13. [Running, Embedding and Testing the Loop](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/running.md)
//!
//! # Where things are
//!
//! Every item is at the crate's root, as in `asyncio.X`; the modules group
//! them as asyncio's own modules do, for reading: [`events`] (the loop and
//! its handles), [`futures`], [`tasks`], [`locks`], [`queues`],
//! [`exceptions`], [`timeouts`], [`taskgroups`], [`runners`], [`threads`],
//! and [`contextvars`] (Python's `contextvars`, which asyncio's tasks and
//! callbacks use); on Unix also [`protocols`], [`transports`],
//! [`streams`] and [`subprocess`]. [`callbacks`] has the callback lists and `partial`;
//! [`parts`] what an executor or a primitive of another crate builds on.

#![doc(test(attr(deny(warnings))))]

pub use asyncio_callbacks::partial;
pub use asyncio_core::{
    named, BoxError, Callback, CallbackKey, Exception, ExceptionContext, Future, FutureError,
    FutureErrorKind, IntoThunk, Named, Panic, Panicked, Wait, WaitTake,
};
pub use asyncio_loop::{
    all_tasks, as_completed, create_task, current_task, default_exception_handler, ensure_future,
    gather, get_running_loop, run, shield, sleep, sleep_with, timeout, timeout_at, to_thread, wait,
    wait_for, AnyTask, AsCompleted, AsCompletedIter, Completer, CompleterDropped, ConcurrentFuture,
    Delay, EventLoop, ExceptionHandler, Executor, Gather, GatherAll, GatherAllHandle, GatherHandle,
    Gatherable, Handle, IntoTask, Job, LoopError, LoopErrorKind, LoopHandle, ManualClock,
    NextCompleted, Rejected, ReturnWhen, Shield, Sleep, Task, TaskGroup, TaskOutput, TaskValue,
    TaskWait, ThreadPool, ThreadsafeHandle, Timeout, TimerHandle, WaitSet, Waited, When,
};
#[cfg(unix)]
pub use asyncio_loop::{socket2, Readiness, Registered};
#[cfg(unix)]
pub use asyncio_net::{
    buffered, callback, create_connection, create_connection_with, create_server,
    create_server_with, create_unix_connection, create_unix_server, getaddrinfo, getnameinfo,
    open_connection, open_connection_with, open_unix_connection, start_server, start_server_with,
    start_unix_server, AddrInfo, AddrInfoHints, AnyProtocolBox, Buffered, BufferedProtocol, Chunk,
    ClientConnected, ConnectOptions, Lines, NetError, NetErrorKind, PlainCallback, Protocol,
    ProtocolFactory, Server, ServerOptions, StreamBufReader, StreamOptions, StreamReader,
    StreamTransport, StreamWriter, Transport, WriterFlow,
};
#[cfg(unix)]
pub use asyncio_process::{
    create_subprocess_command, create_subprocess_exec, create_subprocess_shell, serve_if_worker,
    subprocess_command, subprocess_exec, subprocess_shell, PipeTransport, Process, ProcessError,
    ProcessErrorKind, ProcessOptions, ProcessPool, Registry, Stdios, SubprocessProtocol,
    SubprocessTransport,
};
pub use asyncio_sync::{
    Acquire, Barrier, BarrierWait, BoundedSemaphore, Condition, ConditionAcquire, ConditionGuard,
    ConditionWait, Discipline, Event, EventWait, Fifo, GenericQueue, Get, Join, Lifo, LifoQueue,
    Lock, LockGuard, Priority, PriorityQueue, Put, PutError, Queue, Semaphore, SemaphoreAcquire,
    SemaphoreGuard, SyncError, SyncErrorKind,
};

/// The event loop and its handles: asyncio's `events` module
/// (`AbstractEventLoop`, `Handle`, `TimerHandle`, `get_running_loop`).
pub mod events {
    pub use asyncio_loop::{
        default_exception_handler, get_running_loop, Completer, Delay, EventLoop, ExceptionHandler,
        Executor, Handle, Job, LoopHandle, ManualClock, Rejected, ThreadPool, ThreadsafeHandle,
        TimerHandle, When,
    };
    /// The loop's I/O (Unix): what `add_reader` and the `sock_*`
    /// coroutines of [`LoopHandle`] take.
    #[cfg(unix)]
    pub use asyncio_loop::{socket2, Readiness, Registered};
    /// Connections and servers (Unix): asyncio's `loop.create_connection`,
    /// `loop.create_server` and `Server`.
    #[cfg(unix)]
    pub use asyncio_net::{
        create_connection, create_connection_with, create_server, create_server_with,
        create_unix_connection, create_unix_server, getaddrinfo, getnameinfo, AddrInfo,
        AddrInfoHints, ConnectOptions, Server, ServerOptions,
    };
}

/// Streams: asyncio's `streams` module (Unix).
#[cfg(unix)]
pub mod streams {
    pub use asyncio_net::{
        callback, open_connection, open_connection_with, open_unix_connection, start_server,
        start_server_with, start_unix_server, Chunk, ClientConnected, Lines, PlainCallback,
        StreamBufReader, StreamOptions, StreamReader, StreamTransport, StreamWriter, WriterFlow,
        DEFAULT_LIMIT,
    };
}

/// Protocols: asyncio's `protocols` module (Unix).
#[cfg(unix)]
pub mod protocols {
    pub use asyncio_net::{
        buffered, AnyProtocolBox, Buffered, BufferedProtocol, Protocol, ProtocolFactory,
    };
}

/// Transports: asyncio's `transports` module (Unix).
#[cfg(unix)]
pub mod transports {
    pub use asyncio_net::Transport;
    pub use asyncio_process::{PipeTransport, SubprocessTransport};
}

/// Subprocesses: asyncio's `subprocess` module and the loop's
/// `subprocess_exec`/`subprocess_shell` (Unix).
#[cfg(unix)]
pub mod subprocess {
    pub use asyncio_process::{
        create_subprocess_command, create_subprocess_exec, create_subprocess_shell,
        subprocess_command, subprocess_exec, subprocess_shell, PipeTransport, Process,
        ProcessError, ProcessErrorKind, ProcessOptions, Stdio, Stdios, SubprocessProtocol,
        SubprocessTransport,
    };
}

/// Futures: asyncio's `futures` module. A [`Future`]
/// is awaitable under any executor; [`ConcurrentFuture`]
/// is what another thread holds (`concurrent.futures.Future`).
pub mod futures {
    pub use asyncio_core::{Future, Wait, WaitTake};
    pub use asyncio_loop::ConcurrentFuture;
}

/// Tasks and what waits on them: asyncio's `tasks` module.
pub mod tasks {
    pub use asyncio_loop::{
        all_tasks, as_completed, create_task, current_task, ensure_future, gather, shield, sleep,
        sleep_with, wait, wait_for, AnyTask, AsCompleted, AsCompletedIter, Gather, GatherAll,
        GatherAllHandle, GatherHandle, Gatherable, IntoTask, NextCompleted, ReturnWhen, Shield,
        Sleep, Task, TaskOutput, TaskValue, TaskWait, WaitSet, Waited,
    };
}

/// Synchronization primitives: asyncio's `locks` module.
pub mod locks {
    pub use asyncio_sync::{
        Acquire, Barrier, BarrierWait, BoundedSemaphore, Condition, ConditionAcquire,
        ConditionGuard, ConditionWait, Event, EventWait, Lock, LockGuard, Semaphore,
        SemaphoreAcquire, SemaphoreGuard,
    };
}

/// Queues: asyncio's `queues` module.
pub mod queues {
    pub use asyncio_sync::{
        Discipline, Fifo, GenericQueue, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put,
        PutError, Queue,
    };
}

/// The errors: asyncio's `exceptions` module (`CancelledError`,
/// `InvalidStateError`, `TimeoutError`, `QueueFull`, ... are kinds of these
/// types; each type's documentation has the table).
pub mod exceptions {
    pub use asyncio_core::{
        BoxError, Exception, ExceptionContext, FutureError, FutureErrorKind, Panic, Panicked,
    };
    pub use asyncio_loop::{CompleterDropped, LoopError, LoopErrorKind, Rejected};
    #[cfg(unix)]
    pub use asyncio_net::{NetError, NetErrorKind};
    #[cfg(unix)]
    pub use asyncio_process::{ProcessError, ProcessErrorKind};
    pub use asyncio_sync::{PutError, SyncError, SyncErrorKind};
}

/// Timeouts: asyncio's `timeouts` module (3.11).
pub mod timeouts {
    pub use asyncio_loop::{timeout, timeout_at, Timeout};
}

/// Task groups: asyncio's `taskgroups` module (3.11).
pub mod taskgroups {
    pub use asyncio_loop::TaskGroup;
}

/// `run`: asyncio's `runners` module.
pub mod runners {
    pub use asyncio_loop::run;
}

/// The loop and other threads: asyncio's `threads` module (`to_thread`),
/// with `run_coroutine_threadsafe` (a
/// [`ThreadsafeHandle`] method) and its
/// [`ConcurrentFuture`].
pub mod threads {
    pub use asyncio_loop::{to_thread, ConcurrentFuture, ThreadsafeHandle};
}

/// Context variables: Python's `contextvars`, which asyncio's tasks and
/// callbacks copy (`asyncio_core::context`).
pub mod contextvars {
    pub use asyncio_core::context::*;
}

/// Callbacks: the ordered, keyed lists behind `add_done_callback`, naming,
/// and `partial` (`asyncio-callbacks`).
pub mod callbacks {
    pub use asyncio_callbacks::*;
}

/// What an executor, or a primitive of another crate, builds on: the
/// [`Schedule`](asyncio_core::Schedule) trait a loop implements for its
/// futures, the awaitable conversions, and `asyncio-core`'s protocols
/// between a task and what it awaits ([`cancel`](asyncio_core::cancel),
/// [`census`](asyncio_core::census), [`propagated`](asyncio_core::propagated)).
pub mod parts {
    pub use asyncio_core::{cancel, census, propagated};
    pub use asyncio_core::{Awaitable, Closed, IntoAwaitable, Schedule};
}

/// This crate's README code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
