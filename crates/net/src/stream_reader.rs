//! `StreamReader`: asyncio's `streams.StreamReader`, a buffer that a
//! connection feeds and coroutines read from.
//!
//! Every read checks the buffer first and waits only when it must; what it
//! returns is taken out of the buffer in the same step as the check, after
//! the last wait, so a read cancelled at its wait leaves every byte where
//! the next read finds it.

use std::cell::RefCell;
use std::fmt;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use asyncio_core::cancel;

use crate::carrier::Carrier;
use crate::chunk::{Spare, KEPT_CAPACITY};
use crate::transport::MAX_READ;
use crate::{Chunk, NetError, StreamTransport, Transport};

/// The default limit of a stream (asyncio's `_DEFAULT_LIMIT`, 64 KiB).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// The least room a connection's read into the buffer asks for, and where
/// the adaptive read size starts (as `std`'s and tokio's `BufReader`).
const MIN_READ: usize = 8 * 1024;

/// The reading half of a stream (asyncio's `StreamReader`): the bytes a
/// connection delivered, read with [`read`](Self::read),
/// [`readline`](Self::readline), [`readuntil`](Self::readuntil) and
/// [`readexactly`](Self::readexactly). A cheap handle: clones share the
/// buffer.
///
/// Made by [`open_connection`](crate::open_connection) and
/// [`start_server`](crate::start_server), or on its own (fed by hand with
/// [`feed_data`](Self::feed_data), as asyncio's tests do).
///
/// One read waits at a time: a second read that would wait while another
/// waits fails with an invalid-state error (asyncio's `RuntimeError`). A
/// connection's reading is paused while the buffer holds more than twice
/// the limit, and resumed once reads bring it to the limit or below, or
/// when a read must wait.
///
/// # Examples
///
/// ```
/// use asyncio_net::StreamReader;
///
/// let event_loop = asyncio_loop::EventLoop::new();
/// let reader = StreamReader::new();
/// reader.feed_data(b"line one\nline two\nrest").unwrap();
/// reader.feed_eof();
/// let lines = event_loop
///     .run_until_complete(async move {
///         let first = reader.readline().await?;
///         let second = reader.readline().await?;
///         let rest = reader.read(-1).await?;
///         Ok::<_, asyncio_net::NetError>((first, second, rest))
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(lines.0, b"line one\n");
/// assert_eq!(lines.1, b"line two\n");
/// assert_eq!(lines.2, b"rest");
/// ```
#[derive(Clone)]
pub struct StreamReader {
    inner: Rc<RefCell<State>>,
}

struct State {
    /// The buffered bytes are `buffer[start..end]`; `buffer[end..]` is
    /// initialised room that a connection's next read fills in place.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// How much room a connection's read is given: doubled (up to one
    /// transport read's worth) when a read fills it, halved (down to
    /// [`MIN_READ`]) when a read brings less than an eighth of it.
    read_size: usize,
    /// Where dropped [`Chunk`]s put their buffer back, for the next read.
    spare: Rc<Spare>,
    limit: usize,
    eof: bool,
    exception: Option<NetError>,
    /// The waiting read's waker, taken (and woken) by what it waits for.
    waker: Option<Waker>,
    /// A read is waiting (its waker may already have been taken).
    waiting: bool,
    transport: Option<Carrier>,
    /// The transport's reading was paused by this reader.
    paused: bool,
}

impl State {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn data(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// Takes the first `n` buffered bytes out. Everything buffered, when it
    /// fills at least a quarter of the buffer, leaves in the buffer itself
    /// (no copy; the spare becomes the buffer); otherwise the bytes are
    /// copied into the spare buffer if it is no more than four times their
    /// size, else into one of their own. So a chunk never holds more than
    /// four times its length, and a steady echo allocates nothing.
    fn take(&mut self, n: usize) -> Chunk {
        if n == 0 {
            return Chunk::new();
        }
        if n == self.len() && n * 4 >= self.buffer.capacity() {
            let buffer = std::mem::replace(&mut self.buffer, self.spare.take().unwrap_or_default());
            let chunk = Chunk::pooled(buffer, self.start, self.end, &self.spare);
            self.start = 0;
            self.end = 0;
            return chunk;
        }
        let mut buffer = match self.spare.take() {
            Some(spare) if spare.capacity() >= n && spare.capacity() <= 4 * n.max(1024) => spare,
            other => {
                if let Some(spare) = other {
                    self.spare.give(spare);
                }
                Vec::with_capacity(n)
            }
        };
        buffer.clear();
        buffer.extend_from_slice(&self.buffer[self.start..self.start + n]);
        self.advance(n);
        Chunk::pooled(buffer, 0, n, &self.spare)
    }

    /// Drops the first `n` buffered bytes.
    fn advance(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        if self.buffer.capacity() > KEPT_CAPACITY {
            self.buffer = Vec::new();
        }
    }

    /// Moves the buffered bytes to the front when that frees at least as
    /// much room as it copies.
    fn compact(&mut self) {
        if self.start > 0 && self.start >= self.len() {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    fn append(&mut self, data: &[u8]) {
        if self.buffer.len() - self.end < data.len() {
            self.compact();
        }
        if self.buffer.len() - self.end < data.len() {
            self.buffer.truncate(self.end);
            self.buffer.extend_from_slice(data);
        } else {
            self.buffer[self.end..self.end + data.len()].copy_from_slice(data);
        }
        self.end += data.len();
    }

    /// The room a connection's read fills in place: at least `read_size`
    /// bytes (initialised once, when the buffer grows).
    fn room(&mut self) -> &mut [u8] {
        if self.buffer.len() - self.end < self.read_size {
            self.compact();
            if self.buffer.len() - self.end < self.read_size {
                self.buffer.resize(self.end + self.read_size, 0);
            }
        }
        &mut self.buffer[self.end..]
    }

    /// `n` bytes were read into a room of `given` bytes.
    fn filled(&mut self, n: usize, given: usize) {
        self.end += n;
        if n == given {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        } else if n < self.read_size / 8 {
            self.read_size = (self.read_size / 2).max(MIN_READ);
        }
    }

    /// The transport to pause, if more than twice the limit is buffered
    /// and reading was not paused yet (asyncio's `_maybe_pause_transport`).
    ///
    /// Not while a read waits: it wants more than is buffered (`read(-1)`,
    /// `readexactly` of a large count), would resume the transport at once,
    /// and only takes what it asked for (or fails at the limit), so the
    /// buffer stays bounded by the request; pausing then only churned
    /// (`communicate` of 10 MB through `cat`: 15.2 ms, 1.8x tokio's).
    fn pause_above_limit(&mut self) -> Option<Carrier> {
        if !self.paused && !self.waiting && self.len() > 2 * self.limit {
            self.paused = self.transport.is_some();
            return self.transport.clone();
        }
        None
    }

    fn wake_waiter(&mut self) -> Option<Waker> {
        self.waker.take()
    }

    /// The transport to resume, if reading was paused.
    fn unpause(&mut self) -> Option<Carrier> {
        if self.paused {
            self.paused = false;
            return self.transport.clone();
        }
        None
    }

    /// The transport to resume, if reading was paused and the buffer is at
    /// the limit or below (asyncio's `_maybe_resume_transport`).
    fn resumable(&mut self) -> Option<Carrier> {
        if self.len() <= self.limit {
            return self.unpause();
        }
        None
    }
}

impl Default for StreamReader {
    fn default() -> Self {
        StreamReader::new()
    }
}

impl StreamReader {
    /// A reader with the default limit (64 KiB).
    pub fn new() -> Self {
        StreamReader::from_limit(DEFAULT_LIMIT)
    }

    /// A reader with `limit`: the longest line or separated chunk it
    /// returns, and half the most it buffers before it pauses its
    /// connection.
    ///
    /// # Errors
    ///
    /// An invalid-argument error for a limit of 0 (asyncio's
    /// `ValueError('Limit cannot be <= 0')`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_net::StreamReader;
    ///
    /// assert_eq!(StreamReader::with_limit(16).unwrap().limit(), 16);
    /// assert!(StreamReader::with_limit(0).unwrap_err().is_invalid_argument());
    /// ```
    pub fn with_limit(limit: usize) -> Result<Self, NetError> {
        if limit == 0 {
            return Err(NetError::invalid_argument(
                "Limit cannot be <= 0".to_owned(),
            ));
        }
        Ok(StreamReader::from_limit(limit))
    }

    fn from_limit(limit: usize) -> Self {
        StreamReader {
            inner: Rc::new(RefCell::new(State {
                buffer: Vec::new(),
                start: 0,
                end: 0,
                read_size: MIN_READ,
                spare: Rc::default(),
                limit,
                eof: false,
                exception: None,
                waker: None,
                waiting: false,
                transport: None,
                paused: false,
            })),
        }
    }

    /// The reader's limit.
    pub fn limit(&self) -> usize {
        self.inner.borrow().limit
    }

    /// How many bytes are buffered.
    pub fn buffered(&self) -> usize {
        self.inner.borrow().len()
    }

    /// Whether the end of the stream was fed and every byte read (asyncio's
    /// `at_eof`).
    pub fn at_eof(&self) -> bool {
        let state = self.inner.borrow();
        state.eof && state.len() == 0
    }

    /// The error the stream ended with, if any (asyncio's `exception()`).
    pub fn exception(&self) -> Option<NetError> {
        self.inner.borrow().exception.clone()
    }

    /// Ends the stream with `error`: every read from now on fails with it,
    /// and a waiting read wakes to it (asyncio's `set_exception`).
    pub fn set_exception(&self, error: NetError) {
        let waker = {
            let mut state = self.inner.borrow_mut();
            state.exception = Some(error);
            state.wake_waiter()
        };
        wake(waker);
    }

    /// Adds `data` to the buffer and wakes a waiting read; pauses the
    /// connection's reading above twice the limit (asyncio's `feed_data`).
    ///
    /// # Errors
    ///
    /// An invalid-state error after [`feed_eof`](Self::feed_eof) (asyncio
    /// asserts).
    pub fn feed_data(&self, data: &[u8]) -> Result<(), NetError> {
        if data.is_empty() {
            if self.inner.borrow().eof {
                return Err(NetError::invalid_state("feed_data after feed_eof"));
            }
            return Ok(());
        }
        let (waker, pause) = {
            let mut state = self.inner.borrow_mut();
            if state.eof {
                return Err(NetError::invalid_state("feed_data after feed_eof"));
            }
            state.append(data);
            let pause = state.pause_above_limit();
            (state.wake_waiter(), pause)
        };
        wake(waker);
        if let Some(transport) = pause {
            transport.pause_reading();
        }
        Ok(())
    }

    /// Reads into the buffer in place: `read` is lent the buffer's free
    /// room and returns how many bytes it put at the front of it, which are
    /// then buffered as [`feed_data`](Self::feed_data) buffers its copy (a
    /// waiting read wakes; above twice the limit the transport's reading is
    /// paused). For a transport of another crate that reads into the reader
    /// itself, such as a child's pipe: one copy out of the kernel, where
    /// `feed_data` adds a second. asyncio has no counterpart.
    ///
    /// `Ok(0)` buffers nothing: the end of the stream is still
    /// [`feed_eof`](Self::feed_eof)'s to mark.
    ///
    /// # Errors
    ///
    /// The error `read` returned (as an I/O error,
    /// [`io_error`](NetError::io_error) gives it back); an invalid-data
    /// error if it claims more bytes than the room it was lent (nothing is
    /// buffered then); an invalid-state error after `feed_eof` (`read` is
    /// not called).
    ///
    /// # Panics
    ///
    /// If `read` calls a method of this reader (or of a clone): the reader
    /// is borrowed while `read` runs, as a `RefCell` is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use asyncio_net::StreamReader;
    ///
    /// let reader = StreamReader::new();
    /// let mut source: &[u8] = b"read in place";
    /// assert_eq!(reader.feed_with(|room| source.read(room)).unwrap(), 13);
    /// reader.feed_eof();
    /// ```
    pub fn feed_with(
        &self,
        read: impl FnOnce(&mut [u8]) -> std::io::Result<usize>,
    ) -> Result<usize, NetError> {
        if self.inner.borrow().eof {
            return Err(NetError::invalid_state("feed_with after feed_eof"));
        }
        Ok(self.fill(read)?)
    }

    /// Marks the end of the stream and wakes a waiting read (asyncio's
    /// `feed_eof`).
    pub fn feed_eof(&self) {
        let waker = {
            let mut state = self.inner.borrow_mut();
            state.eof = true;
            state.wake_waiter()
        };
        wake(waker);
    }

    /// The transport this reader pauses and resumes.
    pub(crate) fn set_transport(&self, transport: Transport) {
        self.inner.borrow_mut().transport = Some(Carrier::Socket(transport));
    }

    /// Makes `transport` the one this reader pauses while it holds more
    /// than twice its limit and resumes at the limit or when a read waits,
    /// for a reader fed by another crate's transport (a child's stdout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use asyncio_net::{NetError, StreamReader, StreamTransport};
    ///
    /// struct Counter(asyncio_loop::LoopHandle, Cell<u32>);
    /// impl StreamTransport for Counter {
    ///     fn write(&self, _: &[u8]) -> Result<(), NetError> { Ok(()) }
    ///     fn write_eof(&self) -> Result<(), NetError> { Ok(()) }
    ///     fn can_write_eof(&self) -> bool { false }
    ///     fn close(&self) {}
    ///     fn is_closing(&self) -> bool { false }
    ///     fn pause_reading(&self) { self.1.set(self.1.get() + 1) }
    ///     fn get_loop(&self) -> &asyncio_loop::LoopHandle { &self.0 }
    /// }
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let feeder = Rc::new(Counter(event_loop.handle(), Cell::new(0)));
    /// let reader = StreamReader::with_limit(4).unwrap();
    /// reader.attach(feeder.clone());
    /// reader.feed_data(b"more than eight").unwrap();
    /// assert_eq!(feeder.1.get(), 1);
    /// ```
    pub fn attach(&self, transport: Rc<dyn StreamTransport>) {
        self.inner.borrow_mut().transport = Some(Carrier::Other(transport));
    }

    /// Lets go of the transport (the connection was lost).
    pub(crate) fn forget_transport(&self) {
        self.inner.borrow_mut().transport = None;
    }

    /// For a read that waited for more than was buffered (`readexactly`,
    /// `readuntil`) and woke to the stream's error: that error, or, if
    /// bytes are buffered, an incomplete read with them (the buffer
    /// emptied) whose source is that error, so what the peer sent before
    /// the connection failed is not lost (asyncio raises the error and
    /// leaves the bytes where no read can reach them).
    fn check_exception_keeping(&self, expected: Option<usize>) -> Result<(), NetError> {
        let state = self.inner.borrow_mut();
        let Some(error) = state.exception.clone() else {
            return Ok(());
        };
        if state.len() == 0 {
            return Err(error);
        }
        Err(self.incomplete(state, expected, Some(error)))
    }

    /// An incomplete read with everything buffered, which it takes out
    /// (resuming a paused connection).
    fn incomplete(
        &self,
        mut state: std::cell::RefMut<'_, State>,
        expected: Option<usize>,
        cause: Option<NetError>,
    ) -> NetError {
        let length = state.len();
        let partial = state.take(length).into_vec();
        drop(state);
        self.resume_if_drained();
        NetError::incomplete_read(partial, expected, cause)
    }

    fn check_exception(&self) -> Result<(), NetError> {
        match &self.inner.borrow().exception {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn resume_if_drained(&self) {
        let transport = self.inner.borrow_mut().resumable();
        if let Some(transport) = transport {
            transport.resume_reading();
        }
    }

    /// Waits until the buffer or the stream's state changes (asyncio's
    /// `_wait_for_data`).
    fn wait_for_data(&self, what: &'static str) -> WaitForData<'_> {
        WaitForData {
            reader: self,
            what,
            waiting: false,
        }
    }

    /// Reads up to `n` bytes (asyncio's `read(n=-1)`): with `n > 0`, what is
    /// buffered up to `n` bytes, waiting for at least one; with `n < 0`,
    /// everything until the end of the stream; with `n == 0`, nothing.
    /// Empty at the end of the stream.
    ///
    /// `read(-1)` keeps what came in the buffer until the end arrives, so
    /// that a cancelled `read(-1)` loses nothing either (asyncio's collects
    /// blocks outside the buffer).
    ///
    /// # Errors
    ///
    /// The stream's error ([`exception`](Self::exception)), an
    /// invalid-state error if another read is waiting, the cancellation of
    /// the awaiting task.
    pub async fn read(&self, n: isize) -> Result<Chunk, NetError> {
        if n == 0 {
            self.check_exception()?;
            return Ok(Chunk::new());
        }
        if n < 0 {
            self.check_exception()?;
            while !self.inner.borrow().eof {
                self.wait_for_data("read").await?;
                self.check_exception()?;
            }
            let all = {
                let mut state = self.inner.borrow_mut();
                let len = state.len();
                state.take(len)
            };
            self.resume_if_drained();
            return Ok(all);
        }
        let n = n.unsigned_abs();
        loop {
            if let Some(data) = self.take_some(n) {
                return data;
            }
            self.wait_for_data("read").await?;
        }
    }

    /// `read(n)`'s step, under one borrow: the stream's error, or up to `n`
    /// buffered bytes (empty at the end), or `None` to wait.
    fn take_some(&self, n: usize) -> Option<Result<Chunk, NetError>> {
        let mut state = self.inner.borrow_mut();
        if let Some(error) = &state.exception {
            return Some(Err(error.clone()));
        }
        if state.len() == 0 && !state.eof {
            return None;
        }
        let count = state.len().min(n);
        let data = state.take(count);
        let resume = state.resumable();
        drop(state);
        if let Some(transport) = resume {
            transport.resume_reading();
        }
        Some(Ok(data))
    }

    /// Reads into `buffer` what is buffered, up to its length, waiting for
    /// at least one byte: the number of bytes read, 0 at the end of the
    /// stream (or for an empty `buffer`). Nothing is allocated.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_into(&self, buffer: &mut [u8]) -> Result<usize, NetError> {
        std::future::poll_fn(|cx| self.poll_read_into(cx, buffer)).await
    }

    /// One poll of a read into `buffer`, for [`read_into`](Self::read_into)
    /// and the `AsyncRead` implementation: no cancellation is taken here
    /// (a dropped poll loses nothing).
    pub(crate) fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<Result<usize, NetError>> {
        let count = {
            let mut state = self.inner.borrow_mut();
            if let Some(error) = &state.exception {
                return Poll::Ready(Err(error.clone()));
            }
            if buffer.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if state.len() == 0 {
                if state.eof {
                    return Poll::Ready(Ok(0));
                }
                return park(state, cx);
            }
            let count = state.len().min(buffer.len());
            buffer[..count].copy_from_slice(&state.data()[..count]);
            state.advance(count);
            count
        };
        self.resume_if_drained();
        Poll::Ready(Ok(count))
    }

    /// For `AsyncBufRead`: everything buffered as one chunk (empty at the
    /// end of the stream), waiting for some bytes.
    pub(crate) fn poll_take_all(&self, cx: &mut Context<'_>) -> Poll<Result<Chunk, NetError>> {
        let chunk = {
            let mut state = self.inner.borrow_mut();
            if let Some(error) = &state.exception {
                return Poll::Ready(Err(error.clone()));
            }
            if state.len() == 0 {
                if state.eof {
                    return Poll::Ready(Ok(Chunk::new()));
                }
                return park(state, cx);
            }
            let length = state.len();
            state.take(length)
        };
        self.resume_if_drained();
        Poll::Ready(Ok(chunk))
    }

    /// Reads from a connection into the buffer, in place: `recv` is given
    /// the room to fill (one system call, no user code). What it read wakes
    /// the waiting read; above twice the limit the connection's reading is
    /// paused, as [`feed_data`](Self::feed_data) does.
    pub(crate) fn read_in_place(
        &self,
        recv: &mut dyn FnMut(&mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        self.fill(recv)
    }

    /// [`read_in_place`](Self::read_in_place) and
    /// [`feed_with`](Self::feed_with): `recv` fills the room once.
    fn fill(
        &self,
        recv: impl FnOnce(&mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        let (read, waker, pause) = {
            let mut state = self.inner.borrow_mut();
            let room = state.room();
            let given = room.len();
            let read = match recv(room) {
                Ok(n) if n > given => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("a read into {given} bytes of room reported {n}"),
                )),
                read => read,
            };
            match read {
                Ok(n) if n > 0 => {
                    state.filled(n, given);
                    let pause = state.pause_above_limit();
                    (read, state.wake_waiter(), pause)
                }
                _ => (read, None, None),
            }
        };
        wake(waker);
        if let Some(transport) = pause {
            transport.pause_reading();
        }
        read
    }

    /// Reads one line, `\n` included (asyncio's `readline`): at the end of
    /// the stream, what is left (empty when nothing is).
    ///
    /// # Errors
    ///
    /// A [`LimitOverrun`](crate::NetErrorKind::LimitOverrun) error for a
    /// line longer than the limit, which is then dropped from the buffer
    /// (up to and including its `\n` if that came, else the whole buffer),
    /// as asyncio does before its `ValueError`; otherwise as
    /// [`read`](Self::read).
    pub async fn readline(&self) -> Result<Chunk, NetError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(error) => {
                if let Some(partial) = error.partial() {
                    return Ok(Chunk::from(partial));
                }
                if let Some(consumed) = error.consumed() {
                    {
                        let mut state = self.inner.borrow_mut();
                        let rest = &state.data()[consumed.min(state.len())..];
                        if rest.starts_with(b"\n") {
                            state.advance(consumed + 1);
                        } else {
                            state.clear();
                        }
                    }
                    self.resume_if_drained();
                }
                Err(error)
            }
        }
    }

    /// Reads up to and including `separator` (asyncio's `readuntil`).
    ///
    /// # Errors
    ///
    /// An invalid-argument error for an empty separator. At the end of the
    /// stream before the separator: an
    /// [`IncompleteRead`](crate::NetErrorKind::IncompleteRead) error with
    /// what was buffered (the buffer is then empty). A
    /// [`LimitOverrun`](crate::NetErrorKind::LimitOverrun) error when more
    /// than the limit is buffered without the separator, or the separator
    /// ends past the limit: the data stays in the buffer. Otherwise as
    /// [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_net::{NetErrorKind, StreamReader};
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let reader = StreamReader::new();
    /// reader.feed_data(b"key=value;tail").unwrap();
    /// reader.feed_eof();
    /// let (first, error) = event_loop
    ///     .run_until_complete(async move {
    ///         let first = reader.readuntil(b";").await.unwrap();
    ///         (first, reader.readuntil(b";").await.unwrap_err())
    ///     })
    ///     .unwrap();
    /// assert_eq!(first, b"key=value;");
    /// assert_eq!(error.kind(), NetErrorKind::IncompleteRead);
    /// assert_eq!(error.partial(), Some(&b"tail"[..]));
    /// ```
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Chunk, NetError> {
        self.readuntil_any(&[separator]).await
    }

    /// Reads up to and including the first of `separators` to end in the
    /// stream (asyncio 3.13's `readuntil` with a tuple).
    ///
    /// # Errors
    ///
    /// As [`readuntil`](Self::readuntil); an invalid-argument error for no
    /// separator or an empty one.
    pub async fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Chunk, NetError> {
        if separators.is_empty() {
            return Err(NetError::invalid_argument(
                "Separator should contain at least one element".to_owned(),
            ));
        }
        if separators.iter().any(|separator| separator.is_empty()) {
            return Err(NetError::invalid_argument(
                "Separator should be at least one-byte string".to_owned(),
            ));
        }
        let shortest = separators.iter().map(|s| s.len()).min().unwrap_or(1);
        let longest = separators.iter().map(|s| s.len()).max().unwrap_or(1);
        self.check_exception()?;
        // Where the search resumes: the bytes before it were searched.
        let mut offset = 0;
        loop {
            {
                let mut state = self.inner.borrow_mut();
                let length = state.len();
                // A read that did not wait may have taken bytes meanwhile.
                if offset > length {
                    offset = 0;
                }
                if length >= offset + shortest {
                    let data = state.data();
                    let found = separators
                        .iter()
                        .filter_map(|separator| {
                            find(&data[offset..], separator)
                                .map(|at| (offset + at, offset + at + separator.len()))
                        })
                        .min_by_key(|&(_, end)| end);
                    if let Some((match_start, match_end)) = found {
                        if match_start > state.limit {
                            return Err(NetError::limit_overrun(
                                "Separator is found, but chunk is longer than limit",
                                match_start,
                            ));
                        }
                        let chunk = state.take(match_end);
                        let resume = state.resumable();
                        drop(state);
                        if let Some(transport) = resume {
                            transport.resume_reading();
                        }
                        return Ok(chunk);
                    }
                    offset = (length + 1).saturating_sub(longest);
                    if offset > state.limit {
                        return Err(NetError::limit_overrun(
                            "Separator is not found, and chunk exceed the limit",
                            offset,
                        ));
                    }
                }
                if state.eof {
                    return Err(self.incomplete(state, None, None));
                }
            }
            self.wait_for_data("readuntil").await?;
            self.check_exception_keeping(None)?;
        }
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`).
    ///
    /// # Errors
    ///
    /// At the end of the stream before `n` bytes: an
    /// [`IncompleteRead`](crate::NetErrorKind::IncompleteRead) error with
    /// the bytes there were and `expected` `n` (the buffer is then empty);
    /// the same when the connection fails while the read waits, with the
    /// connection's error as its `source()`; otherwise as
    /// [`read`](Self::read).
    pub async fn readexactly(&self, n: usize) -> Result<Chunk, NetError> {
        self.check_exception()?;
        if n == 0 {
            return Ok(Chunk::new());
        }
        loop {
            {
                let state = self.inner.borrow_mut();
                let length = state.len();
                if length >= n {
                    break;
                }
                if state.eof {
                    return Err(self.incomplete(state, Some(n), None));
                }
            }
            self.wait_for_data("readexactly").await?;
            self.check_exception_keeping(Some(n))?;
        }
        let data = self.inner.borrow_mut().take(n);
        self.resume_if_drained();
        Ok(data)
    }

    /// The lines of the stream, as [`readline`](Self::readline) reads them,
    /// until the end (asyncio's `async for line in reader`): a
    /// `futures::Stream` of `Result<Chunk, NetError>` that ends after an
    /// error.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use asyncio_net::StreamReader;
    ///
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let reader = StreamReader::new();
    /// reader.feed_data(b"a\nb\n").unwrap();
    /// reader.feed_eof();
    /// let lines: Vec<_> = event_loop
    ///     .run_until_complete(async move { reader.lines().collect::<Vec<_>>().await })
    ///     .unwrap();
    /// assert_eq!(lines.len(), 2);
    /// assert_eq!(lines[1].as_deref().unwrap(), b"b\n");
    /// ```
    pub fn lines(&self) -> Lines {
        Lines {
            next: None,
            reader: self.clone(),
            done: false,
        }
    }
}

/// Parks a poll-based read (`AsyncRead`, `AsyncBufRead`) until the buffer
/// changes, resuming a paused connection (else nothing would come); an
/// error if a read of the async methods is waiting (one reader at a time).
fn park<T>(
    mut state: std::cell::RefMut<'_, State>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, NetError>> {
    if state.waiting {
        return Poll::Ready(Err(NetError::invalid_state(
            "read() called while another coroutine is already waiting for incoming data",
        )));
    }
    state.waker = Some(cx.waker().clone());
    let transport = state.unpause();
    drop(state);
    if let Some(transport) = transport {
        transport.resume_reading();
    }
    Poll::Pending
}

/// Wakes `waker` once no borrow is held.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Where `needle` first starts in `haystack` (memchr's vectorised search:
/// a line of 100 KiB is scanned in microseconds).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => memchr::memchr(*byte, haystack),
        _ => memchr::memmem::find(haystack, needle),
    }
}

/// The wait of a read for the buffer to change: the stream's one waiter.
struct WaitForData<'a> {
    reader: &'a StreamReader,
    what: &'static str,
    /// This wait is the reader's waiter.
    waiting: bool,
}

impl StdFuture for WaitForData<'_> {
    type Output = Result<(), NetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled.into()));
        }
        let resume = {
            let mut state = self.reader.inner.borrow_mut();
            if self.waiting {
                if state.waker.is_none() {
                    // Woken by what it waited for.
                    state.waiting = false;
                    self.waiting = false;
                    return Poll::Ready(Ok(()));
                }
                state.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if state.waiting {
                return Poll::Ready(Err(NetError::invalid_state(match self.what {
                    "readuntil" => {
                        "readuntil() called while another coroutine is already waiting for incoming data"
                    }
                    "readexactly" => {
                        "readexactly() called while another coroutine is already waiting for incoming data"
                    }
                    _ => "read() called while another coroutine is already waiting for incoming data",
                })));
            }
            state.waiting = true;
            state.waker = Some(cx.waker().clone());
            self.waiting = true;
            // A paused connection would never wake this wait (asyncio
            // resumes it first too).
            state.unpause()
        };
        if let Some(transport) = resume {
            transport.resume_reading();
        }
        Poll::Pending
    }
}

impl WaitForData<'_> {
    fn give_up(&mut self) {
        if self.waiting {
            let mut state = self.reader.inner.borrow_mut();
            state.waiting = false;
            state.waker = None;
            self.waiting = false;
        }
    }
}

impl Drop for WaitForData<'_> {
    fn drop(&mut self) {
        self.give_up();
    }
}

/// One `readline` of [`Lines`].
type LineFuture = Pin<Box<dyn StdFuture<Output = Result<Chunk, NetError>>>>;

/// The lines of a [`StreamReader`], from [`StreamReader::lines`].
pub struct Lines {
    reader: StreamReader,
    next: Option<LineFuture>,
    done: bool,
}

impl futures_core::Stream for Lines {
    type Item = Result<Chunk, NetError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let reader = self.reader.clone();
        let next = self
            .next
            .get_or_insert_with(|| Box::pin(async move { reader.readline().await }));
        let line = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(line) => line,
        };
        self.next = None;
        match line {
            Ok(line) if line.is_empty() => {
                self.done = true;
                Poll::Ready(None)
            }
            Ok(line) => Poll::Ready(Some(Ok(line))),
            Err(error) => {
                self.done = true;
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        let mut out = f.debug_struct("StreamReader");
        out.field("buffered", &state.len());
        if state.limit != DEFAULT_LIMIT {
            out.field("limit", &state.limit);
        }
        if state.eof {
            out.field("eof", &true);
        }
        if let Some(error) = &state.exception {
            out.field("exception", error);
        }
        if state.waiting {
            out.field("waiting", &true);
        }
        if state.paused {
            out.field("paused", &true);
        }
        out.finish()
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("reader", &self.reader)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A read into the room that writes `bytes` (or fills the room when
    /// shorter), remembering where the room was.
    fn recv_of<'a>(
        bytes: &'a [u8],
        room_at: &'a mut Option<(*const u8, usize)>,
    ) -> impl FnMut(&mut [u8]) -> std::io::Result<usize> + 'a {
        move |room| {
            *room_at = Some((room.as_ptr(), room.len()));
            let n = bytes.len().min(room.len());
            room[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        }
    }

    #[test]
    fn taking_most_of_the_buffer_hands_the_buffer_over() {
        let reader = StreamReader::new();
        let message = vec![7; 6000];
        let mut room = None;
        let read = reader.read_in_place(&mut recv_of(&message, &mut room));
        assert_eq!(read.unwrap(), 6000);
        let (at, given) = room.unwrap();
        assert_eq!(given, MIN_READ);
        let chunk = reader.inner.borrow_mut().take(6000);
        assert_eq!(
            chunk.as_ptr(),
            at,
            "the connection's buffer itself, no copy"
        );
        assert_eq!(chunk, message);
        assert_eq!(reader.buffered(), 0);
        drop(chunk);
        // Given back, it is the buffer the next swap installs: the next
        // read goes into a new one, the one after into the first again.
        let mut second = None;
        reader
            .read_in_place(&mut recv_of(&message, &mut second))
            .unwrap();
        assert_ne!(second.unwrap().0, at);
        let chunk = reader.inner.borrow_mut().take(6000);
        let chunk2 = {
            let mut room3 = None;
            reader
                .read_in_place(&mut recv_of(&message, &mut room3))
                .unwrap();
            assert_eq!(room3.unwrap().0, at, "the spare became the buffer");
            reader.inner.borrow_mut().take(6000)
        };
        assert_eq!(chunk, message);
        assert_eq!(chunk2.len(), 6000);
    }

    #[test]
    fn a_small_read_is_copied_into_a_buffer_at_most_four_times_its_size() {
        let reader = StreamReader::new();
        let mut room = None;
        reader
            .read_in_place(&mut recv_of(&[1; 1500], &mut room))
            .unwrap();
        let chunk = reader.inner.borrow_mut().take(1500);
        assert_ne!(chunk.as_ptr(), room.unwrap().0);
        assert!(chunk.capacity() <= 4 * 1500);
        let pointer = chunk.as_ptr();
        drop(chunk);
        // The next one reuses that buffer: nothing allocated.
        reader
            .read_in_place(&mut recv_of(&[2; 1400], &mut room))
            .unwrap();
        let chunk = reader.inner.borrow_mut().take(1400);
        assert_eq!((chunk.as_ptr(), chunk[0]), (pointer, 2));
        // A kept chunk is not reused: the next read gets its own buffer.
        reader
            .read_in_place(&mut recv_of(&[3; 10], &mut room))
            .unwrap();
        let small = reader.inner.borrow_mut().take(10);
        assert_ne!(small.as_ptr(), pointer);
        assert!(small.capacity() <= 4 * 1024);
        assert_eq!(chunk.len(), 1400);
        assert_eq!(small, [3; 10]);
    }

    #[test]
    fn the_read_size_grows_on_full_reads_and_shrinks_on_small_ones() {
        let reader = StreamReader::new();
        let full = vec![0; MAX_READ * 2];
        let mut sizes = Vec::new();
        for _ in 0..7 {
            let mut room = None;
            reader
                .read_in_place(&mut recv_of(&full, &mut room))
                .unwrap();
            sizes.push(reader.inner.borrow().read_size);
            let length = reader.buffered();
            drop(reader.inner.borrow_mut().take(length));
        }
        assert_eq!(
            sizes,
            [16, 32, 64, 128, 256, 256, 256].map(|kib| kib * 1024)
        );
        for _ in 0..10 {
            let mut room = None;
            reader.read_in_place(&mut recv_of(&[1], &mut room)).unwrap();
            drop(reader.inner.borrow_mut().take(1));
        }
        assert_eq!(reader.inner.borrow().read_size, MIN_READ);
    }

    #[test]
    fn no_byte_is_lost_or_reordered_whatever_the_mix_of_feeds_and_reads() {
        // xorshift: deterministic, no dependency.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        let reader = StreamReader::new();
        let mut model = VecDeque::new();
        let mut kept = Vec::new();
        let mut counter = 0u8;
        for _ in 0..4_000 {
            let size = [1, 100, 3000, 20_000, 300_000][next(5)];
            let mut bytes = vec![0; next(size) + 1];
            for byte in &mut bytes {
                *byte = counter;
                counter = counter.wrapping_add(1);
            }
            match next(4) {
                0 => reader.feed_data(&bytes).unwrap(),
                1 => {
                    let mut room = None;
                    let n = reader
                        .read_in_place(&mut recv_of(&bytes, &mut room))
                        .unwrap();
                    bytes.truncate(n);
                    counter = bytes.last().map_or(counter, |b| b.wrapping_add(1));
                }
                _ => {
                    let count = next(reader.buffered() + 1);
                    let chunk = reader.inner.borrow_mut().take(count);
                    let expected: Vec<u8> = model.drain(..count).collect();
                    assert_eq!(chunk, expected);
                    if next(3) == 0 {
                        kept.push(chunk);
                    }
                    if kept.len() > 8 {
                        kept.clear();
                    }
                    continue;
                }
            }
            model.extend(bytes);
            assert_eq!(reader.buffered(), model.len());
        }
    }
}
