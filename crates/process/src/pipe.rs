//! `PipeTransport`: one of a child's standard streams on the loop, asyncio's
//! `_UnixReadPipeTransport` and `_UnixWritePipeTransport`
//! (`unix_events.py`), reporting to its subprocess transport.
//!
//! A read pipe reads once per readiness (up to 256 KiB) and hands the bytes
//! to the subprocess transport; its end of file or error ends it. A write
//! pipe (the child's stdin) writes at once when nothing is buffered and
//! buffers the rest behind a writer callback; it watches its own end for
//! readability, which on a pipe's write end means the reader went away
//! (asyncio's trick), and closes then, with a broken-pipe error if bytes
//! were still buffered.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::rc::{Rc, Weak};

use asyncio_loop::Registered;
use asyncio_net::StreamReader;

use crate::subprocess::Inner;
use crate::ProcessError;

/// What one read asks for (asyncio's `max_size`).
const MAX_READ: usize = 256 * 1024;
/// The write buffer's high-water mark: above it the subprocess protocol's
/// `pause_writing` is called (asyncio's default, 64 KiB).
const HIGH_WATER: usize = 64 * 1024;
/// The low-water mark: at or below it `resume_writing` is called.
const LOW_WATER: usize = HIGH_WATER / 4;
/// asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`: once this many writes
/// were dropped after the pipe closed, each further one logs a warning.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// One of a child's pipes (from
/// [`SubprocessTransport::get_pipe_transport`](crate::SubprocessTransport::get_pipe_transport)):
/// the write end of its stdin, or the read end of its stdout or stderr.
/// A cheap handle.
#[derive(Clone)]
pub struct PipeTransport {
    pub(crate) pipe: Rc<Pipe>,
}

pub(crate) struct Pipe {
    /// The child's descriptor this pipe is connected to: 0, 1 or 2.
    pub(crate) fd: i32,
    writes: bool,
    source: RefCell<Option<Registered<File>>>,
    /// Bytes a write could not send yet (write pipes).
    /// A ring: sent bytes leave its front without moving the rest.
    buffer: RefCell<VecDeque<u8>>,
    closing: Cell<bool>,
    /// asyncio's `_conn_lost` of a write pipe: writes dropped since it
    /// closed (1 to begin with when a write failed), for the warning.
    lost_writes: Cell<u32>,
    paused_reading: Cell<bool>,
    /// `pause_writing` was called and `resume_writing` not yet.
    paused_writing: Cell<bool>,
    owner: Weak<Inner>,
    handle: asyncio_loop::LoopHandle,
}

impl PipeTransport {
    /// Registers `file` with the loop: a read pipe when `writes` is false.
    pub(crate) fn new(
        owner: &Rc<Inner>,
        fd: i32,
        file: File,
        writes: bool,
    ) -> Result<PipeTransport, ProcessError> {
        let source = Registered::new(owner.handle(), file)?;
        let pipe = Rc::new(Pipe {
            fd,
            writes,
            source: RefCell::new(None),
            buffer: RefCell::new(VecDeque::new()),
            closing: Cell::new(false),
            lost_writes: Cell::new(0),
            paused_reading: Cell::new(false),
            paused_writing: Cell::new(false),
            owner: Rc::downgrade(owner),
            handle: owner.handle().clone(),
        });
        if writes {
            // Readable on a write end: the reader went away. Not before.
            source.clear_readable();
            let weak = Rc::downgrade(&pipe);
            source.set_reader(move || {
                if let Some(pipe) = weak.upgrade() {
                    pipe.reader_gone();
                }
            })?;
        } else {
            source.set_reader(read_callback(Rc::downgrade(&pipe)))?;
        }
        *pipe.source.borrow_mut() = Some(source);
        Ok(PipeTransport { pipe })
    }

    /// The child's descriptor this pipe is connected to (0, 1 or 2).
    pub fn fd(&self) -> i32 {
        self.pipe.fd
    }

    /// Writes `data` to the child's stdin: sent at once if nothing is
    /// buffered, the rest buffered and sent as the pipe takes it. Never
    /// blocks. After [`close`](Self::close), or once the child's end
    /// closed, the data is dropped, as asyncio drops it, and from the sixth
    /// such write on (the fifth after a failed write) each logs asyncio's
    /// warning `pipe closed by peer or os.write(pipe, data) raised
    /// exception.` through the [`log`] facade (target `asyncio`, level
    /// warn).
    ///
    /// # Errors
    ///
    /// An invalid-argument error on a read pipe (stdout, stderr).
    pub fn write(&self, data: &[u8]) -> Result<(), ProcessError> {
        if !self.pipe.writes {
            return Err(ProcessError::invalid_argument(
                "cannot write to a read pipe".to_owned(),
            ));
        }
        self.pipe.write(data);
        Ok(())
    }

    /// How many bytes wait in the write buffer.
    pub fn get_write_buffer_size(&self) -> usize {
        self.pipe.buffer.borrow().len()
    }

    /// Closes the pipe: a write pipe once its buffer is sent (the child
    /// reads its end of file then), a read pipe at once.
    pub fn close(&self) {
        self.pipe.close();
    }

    /// Whether the pipe is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.pipe.closing.get()
    }

    /// Stops reading (a read pipe) until [`resume_reading`](Self::resume_reading).
    pub fn pause_reading(&self) {
        if self.pipe.writes || self.pipe.closing.get() || self.pipe.paused_reading.replace(true) {
            return;
        }
        if let Some(source) = &*self.pipe.source.borrow() {
            source.remove_reader();
        }
    }

    /// Reads again after [`pause_reading`](Self::pause_reading).
    pub fn resume_reading(&self) {
        if self.pipe.writes || self.pipe.closing.get() || !self.pipe.paused_reading.replace(false) {
            return;
        }
        if let Some(source) = &*self.pipe.source.borrow() {
            let _ = source.set_reader(read_callback(Rc::downgrade(&self.pipe)));
        }
    }
}

/// An error that means "not now" (the pipe is full or empty, or a signal
/// interrupted the call): the next readiness tries again.
fn not_yet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// A read pipe's reader callback.
fn read_callback(pipe: Weak<Pipe>) -> impl FnMut() + 'static {
    move || {
        if let Some(pipe) = pipe.upgrade() {
            pipe.read_ready();
        }
    }
}

thread_local! {
    /// The buffer that read pipes of this thread read into before they
    /// copy the bytes out for their protocol (allocated at the first such
    /// read, then shared).
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Pipe {
    fn owner(&self) -> Option<Rc<Inner>> {
        self.owner.upgrade()
    }

    /// One read (asyncio's `_read_ready`): into the stream reader given
    /// for this pipe, in place, or else a copy for the protocol.
    fn read_ready(self: &Rc<Self>) {
        let Some(owner) = self.owner() else { return };
        let read = match owner.reader(self.fd).map(|reader| self.read_into(&reader)) {
            Some(Some(read)) => read,
            // A reader told its end by hand refuses data: the protocol's
            // road drops it, as asyncio's `feed_data` after `feed_eof`.
            Some(None) => {
                owner.forget_reader(self.fd);
                self.read_for(&owner)
            }
            None => self.read_for(&owner),
        };
        match read {
            Ok(0) => self.lose(None),
            Ok(_) => {}
            Err(error) if not_yet(&error) => {}
            Err(error) => self.lose(Some(ProcessError::io(error))),
        }
    }

    /// One read into `reader`'s own buffer; `None` if the reader refuses
    /// data (its end was fed).
    fn read_into(&self, reader: &StreamReader) -> Option<io::Result<usize>> {
        let source = self.source.borrow();
        let Some(source) = &*source else {
            return Some(Err(io::ErrorKind::WouldBlock.into()));
        };
        // The read's own error, kept whole (the reader reports a copy).
        let mut failed = None;
        let fed = reader.feed_with(|room| {
            source
                .try_read_with(|file| (&mut &*file).read(room))
                .map_err(|error| {
                    let kind = error.kind();
                    failed = Some(error);
                    io::Error::from(kind)
                })
        });
        match (fed, failed) {
            (Ok(n), _) => Some(Ok(n)),
            (Err(_), Some(error)) => Some(Err(error)),
            (Err(_), None) => None,
        }
    }

    /// One read, handed to the protocol as a copy (a call queued for it).
    fn read_for(&self, owner: &Rc<Inner>) -> io::Result<usize> {
        let source = self.source.borrow();
        let Some(source) = &*source else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        READ_BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            if buffer.len() < MAX_READ {
                buffer.resize(MAX_READ, 0);
            }
            let read = source.try_read_with(|file| (&mut &*file).read(&mut buffer));
            if let Ok(n) = read {
                if n > 0 {
                    owner.pipe_data(self.fd, buffer[..n].to_vec());
                }
            }
            read
        })
    }

    fn write(self: &Rc<Self>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.closing.get() {
            let dropped = self.lost_writes.get();
            self.lost_writes.set(dropped.saturating_add(1));
            if dropped >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                log::warn!(
                    target: "asyncio",
                    "pipe closed by peer or os.write(pipe, data) raised exception."
                );
            }
            return;
        }
        let mut data = data;
        if self.buffer.borrow().is_empty() {
            let written = {
                let source = self.source.borrow();
                let Some(source) = &*source else { return };
                source.try_write_with(|file| (&mut &*file).write(data))
            };
            match written {
                Ok(n) if n == data.len() => return,
                Ok(n) => data = &data[n..],
                Err(error) if not_yet(&error) => {}
                Err(error) => {
                    self.write_failed(error);
                    return;
                }
            }
            let weak = Rc::downgrade(self);
            if let Some(source) = &*self.source.borrow() {
                let _ = source.set_writer(move || {
                    if let Some(pipe) = weak.upgrade() {
                        pipe.write_ready();
                    }
                });
            }
        }
        self.buffer.borrow_mut().extend(data);
        self.maybe_pause();
    }

    /// Sends what is buffered (asyncio's `_write_ready`).
    fn write_ready(self: &Rc<Self>) {
        let written = {
            let source = self.source.borrow();
            let Some(source) = &*source else { return };
            let buffer = self.buffer.borrow();
            let (front, _) = buffer.as_slices();
            source.try_write_with(|file| (&mut &*file).write(front))
        };
        match written {
            Ok(n) => {
                let empty = {
                    let mut buffer = self.buffer.borrow_mut();
                    buffer.drain(..n);
                    buffer.is_empty()
                };
                self.maybe_resume();
                if empty {
                    if let Some(source) = &*self.source.borrow() {
                        source.remove_writer();
                    }
                    if self.closing.get() {
                        self.lose(None);
                    }
                }
            }
            Err(error) if not_yet(&error) => {}
            Err(error) => self.write_failed(error),
        }
    }

    fn maybe_pause(&self) {
        if self.buffer.borrow().len() > HIGH_WATER && !self.paused_writing.replace(true) {
            if let Some(owner) = self.owner() {
                owner.flow(true);
            }
        }
    }

    fn maybe_resume(&self) {
        if self.paused_writing.get() && self.buffer.borrow().len() <= LOW_WATER {
            self.paused_writing.set(false);
            if let Some(owner) = self.owner() {
                owner.flow(false);
            }
        }
    }

    /// A write failed: the pipe is lost with the error, and the failure
    /// counts as the first dropped write (asyncio's `_conn_lost += 1`
    /// before `_fatal_error`).
    fn write_failed(self: &Rc<Self>, error: io::Error) {
        self.lost_writes.set(self.lost_writes.get() + 1);
        self.lose(Some(ProcessError::io(error)));
    }

    /// The write end turned readable: the child closed its stdin.
    fn reader_gone(self: &Rc<Self>) {
        if self.buffer.borrow().is_empty() {
            self.lose(None);
        } else {
            self.lose(Some(ProcessError::io(io::Error::from(
                io::ErrorKind::BrokenPipe,
            ))));
        }
    }

    pub(crate) fn close(self: &Rc<Self>) {
        if self.closing.replace(true) {
            return;
        }
        if !self.writes || self.buffer.borrow().is_empty() {
            self.lose(None);
        }
    }

    /// Ends the pipe: the descriptor closed, the subprocess transport told
    /// (in a later iteration, as asyncio's `_call_connection_lost`).
    fn lose(self: &Rc<Self>, error: Option<ProcessError>) {
        self.closing.set(true);
        self.buffer.borrow_mut().clear();
        let source = self.source.borrow_mut().take();
        let Some(source) = source else { return };
        drop(source);
        if let Some(owner) = self.owner() {
            owner.pipe_lost(self.fd, error);
        }
    }
}

/// A child's pipe under a stream half (`Process`'s stdin writer, stdout
/// and stderr readers).
impl asyncio_net::StreamTransport for PipeTransport {
    fn write(&self, data: &[u8]) -> Result<(), asyncio_net::NetError> {
        PipeTransport::write(self, data).map_err(|error| {
            asyncio_net::NetError::from(io::Error::new(io::ErrorKind::InvalidInput, error))
        })
    }

    /// Closes the pipe once its buffer is sent: the child reads its end of
    /// file (asyncio's pipe `write_eof`).
    fn write_eof(&self) -> Result<(), asyncio_net::NetError> {
        self.close();
        Ok(())
    }

    fn can_write_eof(&self) -> bool {
        self.pipe.writes
    }

    fn close(&self) {
        PipeTransport::close(self);
    }

    fn is_closing(&self) -> bool {
        PipeTransport::is_closing(self)
    }

    fn pause_reading(&self) {
        PipeTransport::pause_reading(self);
    }

    fn resume_reading(&self) {
        PipeTransport::resume_reading(self);
    }

    fn get_loop(&self) -> &asyncio_loop::LoopHandle {
        &self.pipe.handle
    }
}

impl fmt::Debug for PipeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeTransport")
            .field("fd", &self.pipe.fd)
            .field("closing", &self.pipe.closing.get())
            .field("buffered", &self.pipe.buffer.borrow().len())
            .finish()
    }
}
