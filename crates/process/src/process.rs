//! `Process`: a child with stream halves for its pipes, asyncio's
//! `create_subprocess_exec`, `create_subprocess_shell` and
//! `asyncio.subprocess.Process` (`subprocess.py`), on the protocol layer
//! of `subprocess.rs`: its protocol feeds [`StreamReader`]s and tells a
//! [`StreamWriter`] when to wait, as asyncio's `SubprocessStreamProtocol`
//! does.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fmt;
use std::future::Future as StdFuture;
use std::io;
use std::pin::pin;
use std::process::Command;
use std::rc::Rc;
use std::task::Poll;

use asyncio_loop::LoopHandle;
use asyncio_net::{NetError, StreamReader, StreamWriter, WriterFlow, DEFAULT_LIMIT};

use crate::{subprocess_command, ProcessError, Stdios, SubprocessProtocol, SubprocessTransport};

/// How [`create_subprocess_exec`] starts a child: its standard streams
/// (each inherited unless set, asyncio's defaults for these functions) and
/// the limit of its stdout and stderr readers (64 KiB).
///
/// # Examples
///
/// ```
/// use asyncio_process::{ProcessOptions, Stdio, Stdios};
///
/// let options = ProcessOptions::new()
///     .stdios(Stdios::inherit().stdout(Stdio::Pipe))
///     .limit(1024);
/// assert_eq!(options.get_limit(), 1024);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    stdios: Stdios,
    limit: usize,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions::new()
    }
}

impl ProcessOptions {
    /// Every stream inherited, the default limit.
    pub fn new() -> ProcessOptions {
        ProcessOptions {
            stdios: Stdios::inherit(),
            limit: DEFAULT_LIMIT,
        }
    }

    /// Sets the three standard streams.
    pub fn stdios(mut self, stdios: Stdios) -> ProcessOptions {
        self.stdios = stdios;
        self
    }

    /// Sets the limit of the stdout and stderr readers.
    pub fn limit(mut self, limit: usize) -> ProcessOptions {
        self.limit = limit;
        self
    }

    /// The readers' limit.
    pub fn get_limit(&self) -> usize {
        self.limit
    }
}

/// A child process with streams for its pipes (asyncio's
/// `asyncio.subprocess.Process`): [`stdin`](Self::stdin) a
/// [`StreamWriter`], [`stdout`](Self::stdout) and [`stderr`](Self::stderr)
/// [`StreamReader`]s, each present when piped. Take them out (as
/// `std::process::Child`'s) to hand them to other tasks.
pub struct Process {
    transport: SubprocessTransport,
    /// The child's stdin, when piped.
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, when piped.
    pub stdout: Option<StreamReader>,
    /// The child's stderr, when piped.
    pub stderr: Option<StreamReader>,
}

/// asyncio's `SubprocessStreamProtocol`: the child's pipes as streams.
struct StreamsProtocol {
    limit: usize,
    stdin: Option<(StreamWriter, WriterFlow)>,
    stdout: Option<StreamReader>,
    stderr: Option<StreamReader>,
    /// Where `connection_made` leaves the streams for the `Process`: the
    /// protocol itself may be gone by the time the caller looks (a child
    /// that exits and closes its pipes at once ends the protocol's calls
    /// before the caller's task resumes).
    made: Rc<RefCell<Streams>>,
}

/// A process's three streams, each when piped.
type Streams = (
    Option<StreamWriter>,
    Option<StreamReader>,
    Option<StreamReader>,
);

impl StreamsProtocol {
    fn reader(&self, fd: i32) -> Option<&StreamReader> {
        match fd {
            1 => self.stdout.as_ref(),
            2 => self.stderr.as_ref(),
            _ => None,
        }
    }
}

/// A pipe's error as the streams report it.
fn net_error(error: &ProcessError) -> NetError {
    let kind = error
        .io_error()
        .map_or(io::ErrorKind::Other, io::Error::kind);
    NetError::from(io::Error::new(kind, error.clone()))
}

impl SubprocessProtocol for StreamsProtocol {
    fn connection_made(&mut self, transport: &SubprocessTransport) {
        for fd in [1, 2] {
            let Some(pipe) = transport.get_pipe_transport(fd) else {
                continue;
            };
            // The limit was checked when the options were.
            let reader = StreamReader::with_limit(self.limit).unwrap_or_default();
            reader.attach(Rc::new(pipe));
            // The pipe reads into the reader itself from now on;
            // `pipe_data_received` below only takes what was read before.
            transport.read_into(fd, reader.clone());
            match fd {
                1 => self.stdout = Some(reader),
                _ => self.stderr = Some(reader),
            }
        }
        if let Some(pipe) = transport.get_pipe_transport(0) {
            self.stdin = Some(StreamWriter::from_transport(Rc::new(pipe), None));
        }
        *self.made.borrow_mut() = (
            self.stdin.as_ref().map(|(writer, _)| writer.clone()),
            self.stdout.clone(),
            self.stderr.clone(),
        );
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        if let Some(reader) = self.reader(fd) {
            // Only after the end can feeding fail, and nothing comes then.
            let _ = reader.feed_data(data);
        }
    }

    fn pipe_connection_lost(&mut self, fd: i32, error: Option<ProcessError>) {
        if fd == 0 {
            if let Some((_, flow)) = &self.stdin {
                flow.lose(error.as_ref().map(net_error));
            }
            return;
        }
        if let Some(reader) = self.reader(fd) {
            match &error {
                Some(error) => reader.set_exception(net_error(error)),
                None => reader.feed_eof(),
            }
        }
    }

    fn pause_writing(&mut self) {
        if let Some((_, flow)) = &self.stdin {
            flow.pause();
        }
    }

    fn resume_writing(&mut self) {
        if let Some((_, flow)) = &self.stdin {
            flow.resume();
        }
    }
}

/// Starts `program` with `args` (asyncio's `create_subprocess_exec`), its
/// streams as `options` say (inherited unless set).
///
/// # Errors
///
/// As [`subprocess_exec`](crate::subprocess_exec); an invalid-argument
/// error for a limit of 0.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_process::{create_subprocess_exec, ProcessOptions, Stdio, Stdios};
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let (code, line) = event_loop
///     .run_until_complete(async move {
///         let options = ProcessOptions::new().stdios(Stdios::inherit().stdout(Stdio::Pipe));
///         let process = create_subprocess_exec(&handle, "echo", &["one line"], options).await?;
///         let line = process.stdout.as_ref().unwrap().readline().await?;
///         Ok::<_, Box<dyn std::error::Error>>((process.wait().await?, line))
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!((code, line.into_vec()), (0, b"one line\n".to_vec()));
/// ```
pub async fn create_subprocess_exec<S: AsRef<OsStr>>(
    handle: &LoopHandle,
    program: impl AsRef<OsStr>,
    args: &[S],
    options: ProcessOptions,
) -> Result<Process, ProcessError> {
    let mut command = Command::new(program);
    command.args(args);
    create_subprocess_command(handle, command, options).await
}

/// Runs `cmd` with the shell (`/bin/sh -c cmd`; asyncio's
/// `create_subprocess_shell`).
///
/// # Errors
///
/// As [`create_subprocess_exec`].
pub async fn create_subprocess_shell(
    handle: &LoopHandle,
    cmd: impl AsRef<OsStr>,
    options: ProcessOptions,
) -> Result<Process, ProcessError> {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    create_subprocess_command(handle, command, options).await
}

/// Starts `command` (program, arguments, environment, working directory)
/// with its streams as `options` say: the general form of
/// [`create_subprocess_exec`].
///
/// # Errors
///
/// As [`create_subprocess_exec`].
pub async fn create_subprocess_command(
    handle: &LoopHandle,
    command: Command,
    options: ProcessOptions,
) -> Result<Process, ProcessError> {
    if options.limit == 0 {
        return Err(ProcessError::invalid_argument("Limit cannot be <= 0"));
    }
    let limit = options.limit;
    let made = Rc::new(RefCell::new((None, None, None)));
    let slot = Rc::clone(&made);
    let factory = move || StreamsProtocol {
        limit,
        stdin: None,
        stdout: None,
        stderr: None,
        made: slot,
    };
    let transport = subprocess_command(handle, factory, command, options.stdios).await?;
    let (stdin, stdout, stderr) = made.take();
    Ok(Process {
        transport,
        stdin,
        stdout,
        stderr,
    })
}

impl Process {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.transport.get_pid()
    }

    /// The return code once the child exited (minus the signal that ended
    /// it), `None` before.
    pub fn returncode(&self) -> Option<i32> {
        self.transport.get_returncode()
    }

    /// Waits for the child to exit and its pipes to close: its return
    /// code. Read what it writes meanwhile (or use
    /// [`communicate`](Self::communicate)): a child blocked on a full pipe
    /// never exits.
    ///
    /// # Errors
    ///
    /// The cancellation of the awaiting task; the loop's error.
    pub async fn wait(&self) -> Result<i32, ProcessError> {
        self.transport.wait().await
    }

    /// Sends `input` (if any) to the child's stdin and closes it, reads its
    /// stdout and stderr to their ends, all at once so that no pipe fills
    /// while another is waited on, then waits for the child: what it
    /// wrote, `None` for a stream that is not piped (asyncio's
    /// `communicate`). A child that stops reading its stdin is no error.
    ///
    /// # Errors
    ///
    /// A stream's error; the cancellation of the awaiting task.
    pub async fn communicate(
        &self,
        input: Option<&[u8]>,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), ProcessError> {
        let feed = pin!(feed_stdin(self.stdin.as_ref(), input));
        let out = pin!(read_all(self.stdout.as_ref()));
        let err = pin!(read_all(self.stderr.as_ref()));
        let (fed, out, err) = join3(feed, out, err).await;
        fed?;
        let (out, err) = (out?, err?);
        self.wait().await?;
        Ok((out, err))
    }

    /// Sends `signal` to the child.
    ///
    /// # Errors
    ///
    /// A [`ProcessLookup`](crate::ProcessErrorKind::ProcessLookup) error
    /// once the child has exited.
    pub fn send_signal(&self, signal: i32) -> Result<(), ProcessError> {
        self.transport.send_signal(signal)
    }

    /// Sends `SIGTERM`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.transport.terminate()
    }

    /// Sends `SIGKILL`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.transport.kill()
    }

    /// The subprocess transport underneath.
    pub fn transport(&self) -> &SubprocessTransport {
        &self.transport
    }
}

/// `communicate`'s stdin: the input written, drained, then the pipe
/// closed; a pipe the child closed first is no error (asyncio ignores
/// `BrokenPipeError` and `ConnectionResetError` here).
async fn feed_stdin(
    stdin: Option<&StreamWriter>,
    input: Option<&[u8]>,
) -> Result<(), ProcessError> {
    let Some(stdin) = stdin else { return Ok(()) };
    // In pieces of the high-water mark, each drained: the pipe's buffer
    // never holds a copy of the whole input (asyncio's writes it all at
    // once: 10 MB of input was 10 MB more memory, and its page faults).
    for piece in input.unwrap_or_default().chunks(64 * 1024) {
        if stdin.is_closing() {
            break;
        }
        let _ = stdin.write(piece);
        if let Err(error) = stdin.drain().await {
            if error
                .loop_error()
                .is_some_and(asyncio_loop::LoopError::is_cancelled)
            {
                return Err(io_to_process(error));
            }
            // The child closed its stdin: the rest is not wanted.
            break;
        }
    }
    stdin.close();
    Ok(())
}

/// `communicate`'s readers: everything to the end.
async fn read_all(reader: Option<&StreamReader>) -> Result<Option<Vec<u8>>, ProcessError> {
    match reader {
        Some(reader) => Ok(Some(
            reader.read(-1).await.map_err(io_to_process)?.into_vec(),
        )),
        None => Ok(None),
    }
}

/// A stream's error as a `ProcessError`: a cancellation stays one.
fn io_to_process(error: NetError) -> ProcessError {
    match error.loop_error() {
        Some(loop_error) => ProcessError::from(loop_error.clone()),
        None => ProcessError::io(io::Error::new(
            error
                .io_error()
                .map_or(io::ErrorKind::Other, io::Error::kind),
            error,
        )),
    }
}

/// Polls three futures until all are done.
async fn join3<A, B, C>(
    mut a: std::pin::Pin<&mut A>,
    mut b: std::pin::Pin<&mut B>,
    mut c: std::pin::Pin<&mut C>,
) -> (A::Output, B::Output, C::Output)
where
    A: StdFuture,
    B: StdFuture,
    C: StdFuture,
{
    let (mut ra, mut rb, mut rc) = (None, None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(value) = a.as_mut().poll(cx) {
                ra = Some(value);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(value) = b.as_mut().poll(cx) {
                rb = Some(value);
            }
        }
        if rc.is_none() {
            if let Poll::Ready(value) = c.as_mut().poll(cx) {
                rc = Some(value);
            }
        }
        match (ra.take(), rb.take(), rc.take()) {
            (Some(a), Some(b), Some(c)) => Poll::Ready((a, b, c)),
            (a, b, c) => {
                (ra, rb, rc) = (a, b, c);
                Poll::Pending
            }
        }
    })
    .await
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.pid())
            .field("returncode", &self.returncode())
            .finish()
    }
}
