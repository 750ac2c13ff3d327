//! asyncio's subprocesses for Rust, on an [`asyncio-loop`](asyncio_loop)
//! event loop (Unix): [`subprocess_exec`], [`subprocess_shell`] and
//! [`subprocess_command`] start a child whose pipes and exit a
//! [`SubprocessProtocol`] hears, through a [`SubprocessTransport`]
//! (`get_pid`, `get_returncode`, `get_pipe_transport`, `send_signal`,
//! `terminate`, `kill`, `close`, `wait`); [`create_subprocess_exec`],
//! [`create_subprocess_shell`] and [`create_subprocess_command`] give a
//! [`Process`] whose pipes are `asyncio-net` stream readers and writers
//! (`communicate`, `wait`). The chapter is "Working with Subprocesses"
//! (`docs/subprocesses.md`).
//!
//! The child's exit is watched without a thread where the OS allows (a
//! pidfd on Linux), else with one thread per child, as asyncio 3.11's
//! default watcher does; either way it is reaped, so no zombie is left,
//! even when the loop closes first.
//!
//! # Examples
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use asyncio_loop::EventLoop;
//! use asyncio_process::{subprocess_exec, SubprocessProtocol};
//!
//! /// Collects what the child writes to stdout.
//! struct Collect(Rc<RefCell<Vec<u8>>>);
//!
//! impl SubprocessProtocol for Collect {
//!     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
//!         if fd == 1 {
//!             self.0.borrow_mut().extend_from_slice(data);
//!         }
//!     }
//! }
//!
//! let event_loop = EventLoop::new();
//! let handle = event_loop.handle();
//! let output = Rc::new(RefCell::new(Vec::new()));
//! let sink = Rc::clone(&output);
//! let code = event_loop
//!     .run_until_complete(async move {
//!         let transport = subprocess_exec(&handle, move || Collect(sink), "echo", &["hello"]).await?;
//!         transport.wait().await
//!     })
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(code, 0);
//! assert_eq!(*output.borrow(), b"hello\n");
//! ```
//!
//! # Logging
//!
//! asyncio's warning for writes to a pipe the child closed goes to the
//! [`log`] facade (target `asyncio`, level warn), as `asyncio-net`'s
//! transports log theirs.
//!
//! # What it is not
//!
//! [`ProcessPool`] runs functions registered in a [`Registry`] in worker
//! processes (the chapter "Combining Coroutines with Threads and
//! Processes", `docs/executors.md`); [`serve_if_worker`] is the workers'
//! entry.
//!
//! Not a process library: starting the child is `std::process::Command`'s
//! work.
#![cfg(unix)]

mod error;
mod pipe;
mod pool;
mod process;
mod subprocess;
mod watch;

pub use error::{ProcessError, ProcessErrorKind};
pub use pipe::PipeTransport;
pub use pool::{serve_if_worker, ProcessPool, Registry};
pub use process::{
    create_subprocess_command, create_subprocess_exec, create_subprocess_shell, Process,
    ProcessOptions,
};
pub use subprocess::{
    subprocess_command, subprocess_exec, subprocess_shell, Stdio, Stdios, SubprocessProtocol,
    SubprocessTransport,
};
