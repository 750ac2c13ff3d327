//! Subprocesses with a protocol: asyncio's `loop.subprocess_exec`,
//! `loop.subprocess_shell`, `SubprocessProtocol` and the subprocess
//! transport (`base_subprocess.py`).
//!
//! The child is started synchronously (fork and exec, as `Popen` does);
//! its pipes become [`PipeTransport`]s and its exit is watched
//! (`watch.rs`). Everything the protocol hears goes through `call`:
//! queued until `connection_made` has been queued, then queued with
//! `call_soon`, so each callback runs as an ordinary callback in a later
//! iteration, in the order asyncio's run: data read from a pipe is
//! delivered one iteration after the read, an exit two iterations after
//! the loop saw it, so bytes the child wrote before it exited always come
//! before `process_exited` (IO58); `connection_lost` comes once the child
//! has exited and every pipe is closed (IO57).

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio as StdStdio};
use std::rc::Rc;

use asyncio_core::{Exception, ExceptionContext, Future};
use asyncio_loop::LoopHandle;
use asyncio_net::StreamReader;

use crate::pipe::PipeTransport;
use crate::{watch, ProcessError};

/// What a child's standard stream is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Stdio {
    /// A pipe to this process (asyncio's `PIPE`).
    #[default]
    Pipe,
    /// This process's own stream (asyncio's `None`).
    Inherit,
    /// `/dev/null` (asyncio's `DEVNULL`).
    Null,
    /// For stderr only: wherever stdout goes (asyncio's `STDOUT`).
    Stdout,
}

/// The three standard streams of a child, for [`subprocess_command`]:
/// each a pipe unless set otherwise (asyncio's `subprocess_exec`
/// defaults).
///
/// # Examples
///
/// ```
/// use asyncio_process::{Stdio, Stdios};
///
/// let stdios = Stdios::pipes().stdin(Stdio::Null).stderr(Stdio::Stdout);
/// assert_eq!(stdios, Stdios::pipes().stdin(Stdio::Null).stderr(Stdio::Stdout));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stdios {
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
}

impl Stdios {
    /// All three piped.
    pub fn pipes() -> Stdios {
        Stdios::default()
    }

    /// All three inherited (what `create_subprocess_exec` defaults to).
    pub fn inherit() -> Stdios {
        Stdios {
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
        }
    }

    /// Sets stdin.
    pub fn stdin(mut self, stdin: Stdio) -> Stdios {
        self.stdin = stdin;
        self
    }

    /// Sets stdout.
    pub fn stdout(mut self, stdout: Stdio) -> Stdios {
        self.stdout = stdout;
        self
    }

    /// Sets stderr.
    pub fn stderr(mut self, stderr: Stdio) -> Stdios {
        self.stderr = stderr;
        self
    }
}

/// What a subprocess calls (asyncio's `SubprocessProtocol`). Every method
/// has a default that does nothing.
///
/// Order: `connection_made`, then `pipe_data_received` and
/// `pipe_connection_lost` for each pipe and `process_exited` as they come
/// (data the child wrote before it exited first), then `connection_lost`
/// once, when the child has exited and every pipe is closed. A panic in
/// one of them is reported to the loop's exception handler; the process
/// goes on.
pub trait SubprocessProtocol: 'static {
    /// The child started and its pipes are connected.
    fn connection_made(&mut self, transport: &SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` to its `fd` (1: stdout, 2: stderr).
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// The pipe of the child's `fd` closed: at its end of file (`None`) or
    /// on an error (a broken pipe, for stdin).
    fn pipe_connection_lost(&mut self, fd: i32, error: Option<ProcessError>) {
        let _ = (fd, error);
    }

    /// The child exited; its return code is the transport's
    /// [`get_returncode`](SubprocessTransport::get_returncode).
    fn process_exited(&mut self) {}

    /// The child exited and every pipe closed: the last call.
    fn connection_lost(&mut self, error: Option<ProcessError>) {
        let _ = error;
    }

    /// The child's stdin buffered more than 64 KiB.
    fn pause_writing(&mut self) {}

    /// The child's stdin buffer went down to 16 KiB.
    fn resume_writing(&mut self) {}
}

/// A [`SubprocessProtocol`] that can be found again by its type.
trait ProtocolAny: SubprocessProtocol {
    fn as_any(&mut self) -> &mut dyn std::any::Any;
    fn as_protocol(&mut self) -> &mut dyn SubprocessProtocol;
}

impl<P: SubprocessProtocol> ProtocolAny for P {
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn as_protocol(&mut self) -> &mut dyn SubprocessProtocol {
        self
    }
}

/// A child process and its pipes (asyncio's `SubprocessTransport`): a
/// cheap handle, cloned freely. Dropping the last handle while the child
/// runs closes the transport, which kills the child, as asyncio's does
/// when its transport is collected.
#[derive(Clone)]
pub struct SubprocessTransport {
    inner: Rc<Inner>,
}

pub(crate) struct Inner {
    handle: LoopHandle,
    pid: u32,
    state: RefCell<State>,
    /// Taken out while one of its methods runs; gone after
    /// `connection_lost`.
    protocol: RefCell<Option<Box<dyn ProtocolAny>>>,
    /// Readers that the pipes of stdout and stderr read into in place,
    /// past the protocol (a `Process`'s streams: its protocol would only
    /// copy the bytes into them).
    readers: RefCell<[Option<StreamReader>; 3]>,
    /// `pipe_data_received` calls queued and not run yet: while any is,
    /// data keeps that road, so that it stays in order.
    queued_data: Cell<usize>,
    /// One of the protocol's methods is running.
    running: Cell<bool>,
    /// Pause (`true`) or resume writing, to tell the protocol when its
    /// running method returns.
    flow_after: Cell<Option<bool>>,
}

struct State {
    returncode: Option<i32>,
    /// The pipes by the child's fd, while connected.
    pipes: [Option<PipeTransport>; 3],
    /// Which of the child's fds were piped, and which of those closed.
    piped: [bool; 3],
    disconnected: [bool; 3],
    /// Calls for the protocol made before `connection_made` was queued.
    pending: Option<Vec<Box<dyn FnOnce()>>>,
    finished: bool,
    closed: bool,
    /// Futures of `wait()`, resolved after `connection_lost`.
    exit_waiters: Vec<Future<i32>>,
}

impl Inner {
    pub(crate) fn handle(&self) -> &LoopHandle {
        &self.handle
    }

    /// Runs `call` on the protocol, soon: queued until the protocol is
    /// connected, then with `call_soon` (asyncio's `_call`).
    fn call(
        self: &Rc<Self>,
        what: &'static str,
        call: impl FnOnce(&mut dyn SubprocessProtocol, &SubprocessTransport) + 'static,
    ) {
        let this = Rc::clone(self);
        self.queue(Box::new(move || this.run_protocol(what, call)));
    }

    /// Runs `job` soon: kept until `connection_made` is queued, then queued
    /// with `call_soon`.
    fn queue(&self, job: Box<dyn FnOnce()>) {
        let mut state = self.state.borrow_mut();
        if let Some(pending) = &mut state.pending {
            pending.push(job);
            return;
        }
        drop(state);
        let _ = self.handle.call_soon(job);
    }

    /// Calls the protocol now, catching and reporting a panic.
    fn run_protocol(
        self: &Rc<Self>,
        what: &'static str,
        call: impl FnOnce(&mut dyn SubprocessProtocol, &SubprocessTransport),
    ) {
        let Some(mut protocol) = self.protocol.borrow_mut().take() else {
            return;
        };
        let transport = SubprocessTransport {
            inner: Rc::clone(self),
        };
        self.running.set(true);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            call(protocol.as_protocol(), &transport)
        }));
        self.running.set(false);
        let displaced = {
            let mut slot = self.protocol.borrow_mut();
            match *slot {
                None => {
                    *slot = Some(protocol);
                    None
                }
                Some(_) => Some(protocol),
            }
        };
        if let Some(protocol) = displaced {
            drop_reporting(&self.handle, protocol);
        }
        if let Err(payload) = outcome {
            self.handle.call_exception_handler(
                ExceptionContext::new(format!("Exception in subprocess protocol.{what}()"))
                    .with_exception(Exception::from_panic(payload)),
            );
        }
        if let Some(pause) = self.flow_after.take() {
            self.tell_flow(pause);
        }
    }

    /// `data` came from the child's `fd`.
    pub(crate) fn pipe_data(self: &Rc<Self>, fd: i32, data: Vec<u8>) {
        self.queued_data.set(self.queued_data.get() + 1);
        let this = Rc::clone(self);
        self.queue(Box::new(move || {
            this.queued_data.set(this.queued_data.get() - 1);
            this.run_protocol("pipe_data_received", move |protocol, _| {
                protocol.pipe_data_received(fd, &data);
            });
        }));
    }

    /// The reader that the pipe of `fd` may read into in place now: one
    /// was given, and no data of the protocol's road is still queued.
    pub(crate) fn reader(&self, fd: i32) -> Option<StreamReader> {
        if self.queued_data.get() > 0 {
            return None;
        }
        self.readers.borrow().get(fd as usize)?.clone()
    }

    /// The pipe of `fd` reads for the protocol from now on.
    pub(crate) fn forget_reader(&self, fd: i32) {
        if let Some(reader) = self.readers.borrow_mut().get_mut(fd as usize) {
            *reader = None;
        }
    }

    /// The pipe of `fd` ended; its protocol call comes one iteration later
    /// (asyncio's pipe transport queues its `connection_lost`).
    pub(crate) fn pipe_lost(self: &Rc<Self>, fd: i32, error: Option<ProcessError>) {
        let this = Rc::clone(self);
        let _ = self.handle.call_soon(move || {
            {
                let mut state = this.state.borrow_mut();
                if let Some(slot) = state.disconnected.get_mut(fd as usize) {
                    *slot = true;
                }
                if let Some(pipe) = state.pipes.get_mut(fd as usize) {
                    *pipe = None;
                }
            }
            this.forget_reader(fd);
            this.call("pipe_connection_lost", move |protocol, _| {
                protocol.pipe_connection_lost(fd, error);
            });
            this.try_finish();
        });
    }

    /// The child exited with `returncode` (seen this iteration; recorded
    /// in the next, as asyncio's watcher callback is queued).
    fn exited(self: &Rc<Self>, returncode: i32) {
        let this = Rc::clone(self);
        let _ = self.handle.call_soon(move || {
            this.state.borrow_mut().returncode = Some(returncode);
            this.call("process_exited", |protocol, _| protocol.process_exited());
            this.try_finish();
        });
    }

    /// Writing to stdin paused (`true`) or resumed: the protocol is told
    /// at once, as asyncio's pipe transport tells it (so that a `drain`
    /// right after a `write` already waits); from inside one of the
    /// protocol's own calls, as soon as that call returns (a pause and a
    /// resume within one call cancel out); before `connection_made`, in
    /// turn after it.
    pub(crate) fn flow(self: &Rc<Self>, pause: bool) {
        if self.state.borrow().pending.is_some() {
            self.call(flow_name(pause), move |protocol, _| {
                tell(protocol, pause);
            });
        } else if self.running.get() {
            let after = match self.flow_after.get() {
                Some(earlier) if earlier != pause => None,
                _ => Some(pause),
            };
            self.flow_after.set(after);
        } else {
            self.tell_flow(pause);
        }
    }

    fn tell_flow(self: &Rc<Self>, pause: bool) {
        self.run_protocol(flow_name(pause), move |protocol, _| {
            tell(protocol, pause);
        });
    }

    /// `connection_lost` once the child exited and every pipe closed
    /// (asyncio's `_try_finish`).
    fn try_finish(self: &Rc<Self>) {
        {
            let mut state = self.state.borrow_mut();
            if state.finished || state.returncode.is_none() {
                return;
            }
            let all_closed = (0..3).all(|fd| !state.piped[fd] || state.disconnected[fd]);
            if !all_closed {
                return;
            }
            state.finished = true;
        }
        let this = Rc::clone(self);
        self.queue(Box::new(move || {
            this.run_protocol("connection_lost", |protocol, _| {
                protocol.connection_lost(None)
            });
            // The last call: the protocol goes (and with it a transport it
            // kept), then `wait()` returns (asyncio's `finally`).
            let protocol = this.protocol.borrow_mut().take();
            if let Some(protocol) = protocol {
                drop_reporting(&this.handle, protocol);
            }
            let (returncode, waiters) = {
                let mut state = this.state.borrow_mut();
                (
                    state.returncode.unwrap_or_default(),
                    std::mem::take(&mut state.exit_waiters),
                )
            };
            for waiter in waiters {
                let _ = waiter.set_result(returncode);
            }
        }));
    }

    fn close(&self) {
        let pipes: Vec<PipeTransport> = {
            let mut state = self.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closed = true;
            state.pipes.iter().flatten().cloned().collect()
        };
        for pipe in pipes {
            pipe.close();
        }
        if self.state.borrow().returncode.is_none() {
            // Killed if it still runs; the watch reaps it.
            let _ = self.send_signal(libc_sigkill());
        }
    }

    fn send_signal(&self, signal: i32) -> Result<(), ProcessError> {
        if self.state.borrow().returncode.is_some() {
            return Err(ProcessError::process_lookup());
        }
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(ProcessError::process_lookup)?;
        let signal = rustix::process::Signal::from_named_raw(signal).ok_or_else(|| {
            ProcessError::invalid_argument(format!("invalid signal number {signal}"))
        })?;
        match rustix::process::kill_process(pid, signal) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::SRCH) => Err(ProcessError::process_lookup()),
            Err(error) => Err(ProcessError::io(error.into())),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

/// The protocol's method that [`Inner::flow`] calls.
fn flow_name(pause: bool) -> &'static str {
    if pause {
        "pause_writing"
    } else {
        "resume_writing"
    }
}

fn tell(protocol: &mut dyn SubprocessProtocol, pause: bool) {
    if pause {
        protocol.pause_writing();
    } else {
        protocol.resume_writing();
    }
}

/// `SIGKILL`'s number.
fn libc_sigkill() -> i32 {
    rustix::process::Signal::KILL.as_raw()
}

/// `SIGTERM`'s number.
fn libc_sigterm() -> i32 {
    rustix::process::Signal::TERM.as_raw()
}

/// Drops a protocol (user code), reporting a panic.
fn drop_reporting(handle: &LoopHandle, protocol: Box<dyn ProtocolAny>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(protocol))) {
        handle.call_exception_handler(
            ExceptionContext::new("Exception in dropping a subprocess protocol")
                .with_exception(Exception::from_panic(payload)),
        );
    }
}

impl SubprocessTransport {
    /// The child's process id.
    pub fn get_pid(&self) -> u32 {
        self.inner.pid
    }

    /// The child's return code once it exited (minus the signal that ended
    /// it, if one did), `None` before.
    pub fn get_returncode(&self) -> Option<i32> {
        self.inner.state.borrow().returncode
    }

    /// The pipe of the child's `fd` (0: stdin, 1: stdout, 2: stderr), while
    /// it is connected.
    pub fn get_pipe_transport(&self, fd: i32) -> Option<PipeTransport> {
        let state = self.inner.state.borrow();
        state.pipes.get(usize::try_from(fd).ok()?)?.clone()
    }

    /// Sends `signal` to the child.
    ///
    /// # Errors
    ///
    /// A [`ProcessLookup`](crate::ProcessErrorKind::ProcessLookup) error
    /// once the child has exited (asyncio's `ProcessLookupError`); an
    /// invalid-argument error for a number that is no signal.
    pub fn send_signal(&self, signal: i32) -> Result<(), ProcessError> {
        self.inner.send_signal(signal)
    }

    /// Sends `SIGTERM`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.inner.send_signal(libc_sigterm())
    }

    /// Sends `SIGKILL`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.inner.send_signal(libc_sigkill())
    }

    /// Closes the pipes and, if the child still runs, kills it (asyncio's
    /// `close`). The protocol still hears the exit and `connection_lost`.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        self.inner.state.borrow().closed
    }

    /// Waits for the child's exit and the end of its pipes: its return
    /// code (asyncio 3.11's `transport._wait()`, which `Process.wait`
    /// awaits).
    ///
    /// # Errors
    ///
    /// The loop's error if it closed meanwhile.
    pub async fn wait(&self) -> Result<i32, ProcessError> {
        let waiter = {
            let mut state = self.inner.state.borrow_mut();
            if state.finished
                && state.exit_waiters.is_empty()
                && self.inner.protocol.borrow().is_none()
            {
                if let Some(code) = state.returncode {
                    return Ok(code);
                }
            }
            let waiter = self.inner.handle.create_future::<i32>();
            state.exit_waiters.push(waiter.clone());
            waiter
        };
        Ok(waiter.wait().await?)
    }

    /// Makes the pipe of `fd` (stdout or stderr) read into `reader` in
    /// place, past the protocol's `pipe_data_received`.
    pub(crate) fn read_into(&self, fd: i32, reader: StreamReader) {
        if let Some(slot) = self.inner.readers.borrow_mut().get_mut(fd as usize) {
            *slot = Some(reader);
        }
    }

    /// Runs `f` on the protocol if it is of type `P` and not running.
    pub fn with_protocol<P: 'static, R>(&self, f: impl FnOnce(&mut P) -> R) -> Option<R> {
        let mut slot = self.inner.protocol.borrow_mut();
        let protocol = slot.as_mut()?;
        let any: &mut dyn std::any::Any = protocol.as_any();
        any.downcast_mut::<P>().map(f)
    }
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        let mut out = f.debug_struct("SubprocessTransport");
        out.field("pid", &self.inner.pid);
        match state.returncode {
            Some(code) => out.field("returncode", &code),
            None => out.field("running", &true),
        };
        if state.closed {
            out.field("closed", &true);
        }
        out.finish()
    }
}

/// Starts `program` with `args` in a child whose three standard streams
/// are pipes (asyncio's `loop.subprocess_exec` defaults), with a protocol
/// from `factory`. Returns once the protocol's `connection_made` has run.
///
/// # Errors
///
/// A [`Spawn`](crate::ProcessErrorKind::Spawn) error when the program
/// cannot be started (no child is left, no descriptor leaked); the loop's
/// error on a closed loop.
pub async fn subprocess_exec<P, S>(
    handle: &LoopHandle,
    factory: impl FnOnce() -> P,
    program: impl AsRef<OsStr>,
    args: &[S],
) -> Result<SubprocessTransport, ProcessError>
where
    P: SubprocessProtocol,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    subprocess_command(handle, factory, command, Stdios::pipes()).await
}

/// Runs `cmd` with the shell (`/bin/sh -c cmd`), as
/// [`subprocess_exec`] runs a program (asyncio's `loop.subprocess_shell`).
///
/// # Errors
///
/// As [`subprocess_exec`].
pub async fn subprocess_shell<P>(
    handle: &LoopHandle,
    factory: impl FnOnce() -> P,
    cmd: impl AsRef<OsStr>,
) -> Result<SubprocessTransport, ProcessError>
where
    P: SubprocessProtocol,
{
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    subprocess_command(handle, factory, command, Stdios::pipes()).await
}

/// Starts `command` (its program, arguments, environment and working
/// directory; its standard streams are `stdios`) with a protocol from
/// `factory`: the general form of [`subprocess_exec`].
///
/// # Errors
///
/// As [`subprocess_exec`]; an invalid-argument error for
/// [`Stdio::Stdout`] given for stdin or stdout.
pub async fn subprocess_command<P>(
    handle: &LoopHandle,
    factory: impl FnOnce() -> P,
    command: Command,
    stdios: Stdios,
) -> Result<SubprocessTransport, ProcessError>
where
    P: SubprocessProtocol,
{
    let transport = start(handle, Box::new(factory()), command, stdios)?;
    let connected = handle.create_future::<()>();
    let (inner, done) = (Rc::clone(&transport.inner), connected.clone());
    handle.call_soon(move || {
        // asyncio's `_connect_pipes`, its end: `connection_made`, then
        // what came meanwhile, each queued, then the caller resumes.
        let pending = inner.state.borrow_mut().pending.take().unwrap_or_default();
        inner.call("connection_made", |protocol, transport| {
            protocol.connection_made(transport);
        });
        for job in pending {
            let _ = inner.handle.call_soon(job);
        }
        let _ = done.set_result(());
    })?;
    connected.wait().await?;
    Ok(transport)
}

/// Starts the child and connects its pipes and its exit watch.
fn start(
    handle: &LoopHandle,
    protocol: Box<dyn ProtocolAny>,
    mut command: Command,
    stdios: Stdios,
) -> Result<SubprocessTransport, ProcessError> {
    // A closed loop refuses before any child is started (`call_soon`
    // gives the closed loop's error).
    if handle.is_closed() {
        handle.call_soon(|| {})?;
    }
    let stdio = |which: Stdio, name: &str| -> Result<StdStdio, ProcessError> {
        Ok(match which {
            Stdio::Pipe => StdStdio::piped(),
            Stdio::Inherit => StdStdio::inherit(),
            Stdio::Null => StdStdio::null(),
            Stdio::Stdout => {
                return Err(ProcessError::invalid_argument(format!(
                    "{name} cannot go to stdout"
                )))
            }
        })
    };
    command.stdin(stdio(stdios.stdin, "stdin")?);
    command.stdout(stdio(stdios.stdout, "stdout")?);
    let mut stderr_to_stdout = false;
    if stdios.stderr == Stdio::Stdout {
        stderr_to_stdout = true;
    } else {
        command.stderr(stdio(stdios.stderr, "stderr")?);
    }
    let mut child = if stderr_to_stdout {
        spawn_stderr_to_stdout(&mut command, stdios.stdout)?
    } else {
        command.spawn().map_err(ProcessError::spawn)?
    };
    let inner = Rc::new(Inner {
        handle: handle.clone(),
        pid: child.id(),
        state: RefCell::new(State {
            returncode: None,
            pipes: [None, None, None],
            piped: [false; 3],
            disconnected: [false; 3],
            pending: Some(Vec::new()),
            finished: false,
            closed: false,
            exit_waiters: Vec::new(),
        }),
        protocol: RefCell::new(Some(protocol)),
        readers: RefCell::new([None, None, None]),
        queued_data: Cell::new(0),
        running: Cell::new(false),
        flow_after: Cell::new(None),
    });
    let streams: [(i32, Option<OwnedFd>, bool); 3] = [
        (0, child.stdin.take().map(OwnedFd::from), true),
        (1, child.stdout.take().map(OwnedFd::from), false),
        (2, child.stderr.take().map(OwnedFd::from), false),
    ];
    // The watch first: whatever fails after it, the child is reaped.
    let weak = Rc::downgrade(&inner);
    watch::watch(
        handle,
        inner.pid,
        Box::new(move |code| {
            if let Some(inner) = weak.upgrade() {
                inner.exited(code);
            }
        }),
    )?;
    for (fd, stream, writes) in streams {
        let Some(stream) = stream else { continue };
        let pipe = PipeTransport::new(&inner, fd, File::from(stream), writes)?;
        let mut state = inner.state.borrow_mut();
        state.pipes[fd as usize] = Some(pipe);
        state.piped[fd as usize] = true;
    }
    Ok(SubprocessTransport { inner })
}

/// Spawns with stderr going where stdout goes: one pipe for both, or
/// this process's stdout, or `/dev/null`.
fn spawn_stderr_to_stdout(
    command: &mut Command,
    stdout: Stdio,
) -> Result<std::process::Child, ProcessError> {
    let target: OwnedFd = match stdout {
        Stdio::Pipe => {
            let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|error| ProcessError::io(error.into()))?;
            command.stdout(StdStdio::from(
                writer.try_clone().map_err(ProcessError::io)?,
            ));
            command.stderr(StdStdio::from(writer));
            let mut child = command.spawn().map_err(ProcessError::spawn)?;
            // The parent's copies of the write end close with the
            // command's, when the caller drops it; ours is the read end.
            child.stdout = Some(std::process::ChildStdout::from(reader));
            return Ok(child);
        }
        Stdio::Inherit => std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(ProcessError::io)?,
        Stdio::Null => File::options()
            .write(true)
            .open("/dev/null")
            .map_err(ProcessError::io)?
            .into(),
        Stdio::Stdout => {
            return Err(ProcessError::invalid_argument(
                "stdout cannot go to stdout".to_owned(),
            ))
        }
    };
    command.stderr(StdStdio::from(target));
    command.spawn().map_err(ProcessError::spawn)
}
