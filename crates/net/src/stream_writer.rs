//! `StreamWriter`: asyncio's `streams.StreamWriter`, a transport with
//! `drain()`, and the flow state it shares with its connection's protocol.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use asyncio_core::{cancel, Future};
use asyncio_loop::socket2::SockAddr;
use asyncio_loop::LoopHandle;

use crate::carrier::Carrier;
use crate::{NetError, StreamReader, StreamTransport, Transport};

/// What a stream's protocol tells its writer: whether writing is paused
/// (between `pause_writing` and `resume_writing`), whether and how the
/// connection was lost, and who waits in `drain()`.
pub(crate) struct Flow {
    paused: Cell<bool>,
    lost: Cell<bool>,
    lost_error: RefCell<Option<NetError>>,
    /// Each waiting drain with the release it waits for, in arrival order.
    drains: RefCell<VecDeque<(u64, Waker)>>,
    next_drain: Cell<u64>,
    /// Counts the releases (a `resume_writing` or the loss).
    releases: Cell<u64>,
    /// Set when the connection is lost, with its error (for `wait_closed`).
    closed: Future<Option<NetError>>,
}

impl Flow {
    pub(crate) fn new(handle: &LoopHandle) -> Rc<Flow> {
        Rc::new(Flow {
            paused: Cell::new(false),
            lost: Cell::new(false),
            lost_error: RefCell::new(None),
            drains: RefCell::new(VecDeque::new()),
            next_drain: Cell::new(1),
            releases: Cell::new(0),
            closed: handle.create_future(),
        })
    }

    pub(crate) fn pause(&self) {
        self.paused.set(true);
    }

    /// `resume_writing`: every waiting drain returns, in arrival order.
    pub(crate) fn resume(&self) {
        self.paused.set(false);
        self.release();
    }

    /// `connection_lost`: waiting drains return (with the error if writing
    /// was paused, asyncio's rule) and `wait_closed` ends.
    pub(crate) fn lose(&self, error: Option<NetError>) {
        self.lost.set(true);
        *self.lost_error.borrow_mut() = error.clone();
        if !self.closed.done() {
            let _ = self.closed.set_result(error);
        }
        self.release();
    }

    fn release(&self) {
        self.releases.set(self.releases.get() + 1);
        let waiting = std::mem::take(&mut *self.drains.borrow_mut());
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    /// asyncio's `_drain_helper`, one poll: ready at once unless writing is
    /// paused; then ready at the next release. `wait` is this drain's place
    /// (its id and the release count it saw).
    fn poll_drain(&self, cx: &mut Context<'_>, wait: &mut Option<(u64, u64)>) -> Poll<()> {
        if let Some((id, seen)) = *wait {
            if self.releases.get() != seen {
                *wait = None;
                return Poll::Ready(());
            }
            let mut drains = self.drains.borrow_mut();
            match drains.iter_mut().find(|(drain, _)| *drain == id) {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => drains.push_back((id, cx.waker().clone())),
            }
            return Poll::Pending;
        }
        if self.lost.get() || !self.paused.get() {
            return Poll::Ready(());
        }
        let id = self.next_drain.get();
        self.next_drain.set(id + 1);
        self.drains.borrow_mut().push_back((id, cx.waker().clone()));
        *wait = Some((id, self.releases.get()));
        Poll::Pending
    }

    fn forget_drain(&self, wait: &mut Option<(u64, u64)>) {
        if let Some((id, _)) = wait.take() {
            self.drains.borrow_mut().retain(|(drain, _)| *drain != id);
        }
    }

    /// The error a drain that begins after the loss gets (asyncio's
    /// `ConnectionResetError('Connection lost')`).
    fn lost_error(&self) -> Option<NetError> {
        self.lost.get().then(connection_lost)
    }

    /// The error a drain that was waiting when the connection was lost
    /// gets: the connection's error, or `Connection lost` after a clean
    /// loss (asyncio's waiter returns then, though the data may never have
    /// been sent).
    fn lost_while_waiting(&self) -> Option<NetError> {
        self.lost.get().then(|| {
            self.lost_error
                .borrow()
                .clone()
                .unwrap_or_else(connection_lost)
        })
    }
}

fn connection_lost() -> NetError {
    NetError::from(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "Connection lost",
    ))
}

/// How the owner of a transport a [`StreamWriter`] was made over (with
/// [`StreamWriter::from_transport`]) tells the writer what asyncio's
/// stream protocol would: writing paused or resumed (the transport's
/// buffer crossed its marks), and the end of the transport. A cheap
/// handle.
#[derive(Clone)]
pub struct WriterFlow(Rc<Flow>);

impl WriterFlow {
    /// The transport's buffer went above its high-water mark: drains wait.
    pub fn pause(&self) {
        self.0.pause();
    }

    /// The buffer is down to the low-water mark: waiting drains return, in
    /// the order they began.
    pub fn resume(&self) {
        self.0.resume();
    }

    /// The transport ended, with `error` if it failed: waiting drains
    /// return (with the error if writing was paused), later ones fail,
    /// and `wait_closed` returns.
    pub fn lose(&self, error: Option<NetError>) {
        self.0.lose(error);
    }
}

impl fmt::Debug for WriterFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterFlow")
            .field("paused", &self.0.paused.get())
            .field("lost", &self.0.lost.get())
            .finish()
    }
}

/// The writing half of a stream (asyncio's `StreamWriter`): write to the
/// connection, wait for its buffer to drain, close it. A cheap handle:
/// clones share the connection, and when the last is dropped the
/// connection is closed (after its buffer is sent).
///
/// `write` never waits; call [`drain`](Self::drain) after writing to let
/// the peer catch up: it returns at once unless the transport's buffer is
/// above its high-water mark (64 KiB by default), and then when the buffer
/// is down to the low-water mark (16 KiB), not when it is empty.
///
/// # Examples
///
/// See [`open_connection`](crate::open_connection).
pub struct StreamWriter {
    inner: Rc<Inner>,
    /// The drain `AsyncWrite` waits in, if any (this handle's own).
    wait: Option<(u64, u64)>,
}

impl Clone for StreamWriter {
    fn clone(&self) -> Self {
        StreamWriter {
            inner: Rc::clone(&self.inner),
            wait: None,
        }
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.inner.flow.forget_drain(&mut self.wait);
    }
}

struct Inner {
    transport: Carrier,
    flow: Rc<Flow>,
    /// The connection's reader, whose error `drain` raises; a writer with
    /// no reader (asyncio's for a child's stdin) has `None`.
    reader: Option<StreamReader>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.transport.close();
    }
}

impl StreamWriter {
    pub(crate) fn new(transport: Transport, flow: Rc<Flow>, reader: Option<StreamReader>) -> Self {
        StreamWriter::over(Carrier::Socket(transport), flow, reader)
    }

    fn over(transport: Carrier, flow: Rc<Flow>, reader: Option<StreamReader>) -> Self {
        StreamWriter {
            inner: Rc::new(Inner {
                transport,
                flow,
                reader,
            }),
            wait: None,
        }
    }

    /// A writer over another crate's transport (a child's stdin, in
    /// `asyncio-process`), and the [`WriterFlow`] through which that
    /// transport's owner pauses and resumes it and reports its end.
    /// `reader`, if any, is the stream whose error `drain` raises.
    pub fn from_transport(
        transport: Rc<dyn StreamTransport>,
        reader: Option<StreamReader>,
    ) -> (StreamWriter, WriterFlow) {
        let flow = Flow::new(transport.get_loop());
        let writer = StreamWriter::over(Carrier::Other(transport), Rc::clone(&flow), reader);
        (writer, WriterFlow(flow))
    }

    /// The socket transport underneath (asyncio's `writer.transport`);
    /// `None` for a writer [`from_transport`](Self::from_transport).
    pub fn transport(&self) -> Option<&Transport> {
        self.inner.transport.socket()
    }

    /// Writes `data` (never waits; see [`drain`](Self::drain)).
    ///
    /// # Errors
    ///
    /// An invalid-state error after [`write_eof`](Self::write_eof).
    pub fn write(&self, data: &[u8]) -> Result<(), NetError> {
        self.inner.transport.write(data)
    }

    /// Writes each of `chunks` in order.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn writelines<'a>(
        &self,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), NetError> {
        self.inner.transport.writelines(chunks)
    }

    /// Shuts the writing side down once the buffer is sent.
    ///
    /// # Errors
    ///
    /// As [`Transport::write_eof`].
    pub fn write_eof(&self) -> Result<(), NetError> {
        self.inner.transport.write_eof()
    }

    /// Whether [`write_eof`](Self::write_eof) is possible (true for TCP and
    /// Unix sockets).
    pub fn can_write_eof(&self) -> bool {
        self.inner.transport.can_write_eof()
    }

    /// Closes the connection once its buffer is sent.
    pub fn close(&self) {
        self.inner.transport.close();
    }

    /// Whether the connection is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.inner.transport.is_closing()
    }

    /// Waits until the connection is lost (asyncio's `wait_closed`).
    ///
    /// # Errors
    ///
    /// The error the connection ended with; the cancellation of the
    /// awaiting task.
    pub async fn wait_closed(&self) -> Result<(), NetError> {
        match self.inner.flow.closed.wait().await? {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Waits until the peer may be written to again (asyncio's `drain`):
    /// at once unless the transport's buffer went above its high-water
    /// mark, then until it is down to the low-water mark. Several tasks may
    /// drain at once; they return in the order they began.
    ///
    /// # Errors
    ///
    /// The reader's error, if the stream ended in one; a
    /// `ConnectionReset` error (`Connection lost`) or the connection's own
    /// error once the connection is lost; the cancellation of the awaiting
    /// task.
    pub async fn drain(&self) -> Result<(), NetError> {
        let flow = &self.inner.flow;
        if !flow.paused.get() && !flow.lost.get() && !self.inner.transport.is_closing() {
            // Nothing to wait for (asyncio's drain does not suspend here
            // either); only the reader's error is left to raise.
            return match self.inner.reader.as_ref().and_then(StreamReader::exception) {
                Some(error) => Err(error),
                None => Ok(()),
            };
        }
        if let Some(error) = self.inner.reader.as_ref().and_then(StreamReader::exception) {
            return Err(error);
        }
        if self.inner.transport.is_closing() {
            // Let `connection_lost` run first (asyncio yields once here).
            self.inner.transport.get_loop().sleep(0.0).await?;
        }
        if let Some(error) = self.inner.flow.lost_error() {
            return Err(error);
        }
        Drain {
            flow: &self.inner.flow,
            wait: None,
        }
        .await?;
        match self.inner.flow.lost_while_waiting() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// One poll of a drain, for `AsyncWrite`: no cancellation is taken here
    /// (a dropped poll loses nothing).
    pub(crate) fn poll_drain_here(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), NetError>> {
        let flow = &self.inner.flow;
        if self.wait.is_none() {
            if let Some(error) = flow.lost_error() {
                return Poll::Ready(Err(error));
            }
        }
        match flow.poll_drain(cx, &mut self.wait) {
            Poll::Ready(()) => Poll::Ready(match flow.lost_while_waiting() {
                Some(error) => Err(error),
                None => Ok(()),
            }),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The local address (asyncio's `get_extra_info('sockname')`); `None`
    /// but for a socket.
    pub fn sockname(&self) -> Option<SockAddr> {
        self.inner.transport.socket()?.sockname()
    }

    /// The peer's address (asyncio's `get_extra_info('peername')`); `None`
    /// but for a socket.
    pub fn peername(&self) -> Option<SockAddr> {
        self.inner.transport.socket()?.peername()
    }

    /// The loop the connection runs on.
    pub fn get_loop(&self) -> &LoopHandle {
        self.inner.transport.get_loop()
    }
}

/// A drain's wait for the next release.
struct Drain<'a> {
    flow: &'a Flow,
    wait: Option<(u64, u64)>,
}

impl StdFuture for Drain<'_> {
    type Output = Result<(), NetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            let this = &mut *self;
            this.flow.forget_drain(&mut this.wait);
            return Poll::Ready(Err(cancelled.into()));
        }
        let this = &mut *self;
        this.flow.poll_drain(cx, &mut this.wait).map(Ok)
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        self.flow.forget_drain(&mut self.wait);
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("StreamWriter");
        out.field("transport", &self.inner.transport);
        if let Some(reader) = &self.inner.reader {
            out.field("reader", reader);
        }
        out.finish()
    }
}
