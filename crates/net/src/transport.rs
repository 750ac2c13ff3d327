//! `Transport`: a connected socket driven by readiness callbacks on the
//! loop, asyncio's `_SelectorSocketTransport` (`selector_events.py`).
//!
//! No task per connection: the socket is a [`Registered`] source whose
//! reader callback reads once per readiness (one `recv` of up to 256 KiB
//! into a buffer shared by every transport of the thread, then
//! `data_received`), and whose writer callback, set only while bytes are
//! buffered, sends them. `write` sends at once when nothing is buffered.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use asyncio_core::{Exception, ExceptionContext, Future};
use asyncio_loop::socket2::{SockAddr, Socket};
use asyncio_loop::{LoopHandle, Registered};

use crate::phase::{Call, Phase};
use crate::protocol::{AnyProtocol, AnyProtocolBox, BufferedProtocol, Protocol};
use crate::NetError;

/// What one read asks for (asyncio's `max_size`).
pub(crate) const MAX_READ: usize = 256 * 1024;
/// The default high-water mark of the write buffer.
pub(crate) const DEFAULT_HIGH: usize = 64 * 1024;
/// asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`: from the write that finds
/// the count of writes after the loss (1 for the loss itself) at this many,
/// each dropped write logs a warning.
pub(crate) const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

thread_local! {
    /// The receive buffer every transport of this thread reads into, taken
    /// while a read runs.
    static READ_BUFFER: RefCell<Option<Box<[u8]>>> = const { RefCell::new(None) };
}

/// A connection's transport (asyncio's `Transport`): write to it, close it,
/// pause and resume its reading, read its addresses. A cheap handle:
/// clones refer to the same connection.
///
/// Made by [`create_connection`](crate::create_connection) and by a
/// [`Server`](crate::Server) for each connection it accepts, and handed to
/// the protocol's [`connection_made`](Protocol::connection_made).
///
/// The connection lives while it reads, writes or is referred to; it ends
/// with [`close`](Self::close) (after its buffer is sent),
/// [`abort`](Self::abort), an EOF its protocol does not keep open, or an
/// error, each followed by one `connection_lost` call, after which the
/// socket is closed.
#[derive(Clone)]
pub struct Transport {
    conn: Rc<Conn>,
}

struct Conn {
    handle: LoopHandle,
    /// The socket, until `connection_lost` was called.
    sock: RefCell<Option<Rc<Registered<Socket>>>>,
    /// The protocol, taken out while one of its callbacks runs.
    protocol: RefCell<Option<AnyProtocol>>,
    state: RefCell<State>,
    sockname: Address,
    peername: Address,
    /// Called once the connection is lost (a server's count).
    on_lost: RefCell<Option<Box<dyn FnOnce()>>>,
    /// A `pause_writing` (true) or `resume_writing` (false) that `write`
    /// could not make while a callback of the protocol ran.
    deferred_flow: Cell<Option<bool>>,
    /// Where the protocol is in its calls (IO9); a `Cell`, read at every
    /// callback without a borrow of the state.
    phase: Cell<Phase>,
}

struct State {
    buffer: VecDeque<u8>,
    high: usize,
    low: usize,
    /// `pause_writing` was called and `resume_writing` not yet.
    writing_paused: bool,
    closing: bool,
    /// `write_eof` was called.
    eof: bool,
    /// Reading paused by `pause_reading`.
    reading_paused: bool,
    /// Greater than 0 once the loss is scheduled; counts writes after it.
    conn_lost: u32,
}

impl Transport {
    /// Starts a transport on the connected `socket` with `protocol`:
    /// `TCP_NODELAY` set, then on the next iterations, in this order,
    /// `connection_made`, the reader, and the returned future's result
    /// (asyncio's construction order, IO10).
    pub(crate) fn start(
        handle: &LoopHandle,
        socket: Socket,
        protocol: AnyProtocolBox,
        peername: Option<SockAddr>,
        on_lost: Option<Box<dyn FnOnce()>>,
    ) -> Result<(Transport, Future<()>), NetError> {
        // Unix sockets have no TCP_NODELAY: nothing to set there.
        let _ = socket.set_tcp_nodelay(true);
        let sockname = Address::from(socket.local_addr().ok());
        let peername = Address::from(peername.or_else(|| socket.peer_addr().ok()));
        let sock = Registered::new(handle, socket)?;
        let conn = Rc::new(Conn {
            handle: handle.clone(),
            sock: RefCell::new(Some(Rc::new(sock))),
            protocol: RefCell::new(Some(protocol.0)),
            state: RefCell::new(State {
                buffer: VecDeque::new(),
                high: DEFAULT_HIGH,
                low: DEFAULT_HIGH / 4,
                writing_paused: false,
                closing: false,
                eof: false,
                reading_paused: false,
                conn_lost: 0,
            }),
            sockname,
            peername,
            on_lost: RefCell::new(on_lost),
            deferred_flow: Cell::new(None),
            phase: Cell::new(Phase::Starting),
        });
        let transport = Transport { conn };
        let waiter = handle.create_future::<()>();
        let made = transport.clone();
        handle.call_soon(move || made.connection_made())?;
        let reading = transport.clone();
        handle.call_soon(move || {
            if !reading.conn.state.borrow().closing {
                reading.add_reader();
            }
        })?;
        let done = waiter.clone();
        handle.call_soon(move || {
            if !done.done() {
                let _ = done.set_result(());
            }
        })?;
        Ok((transport, waiter))
    }

    fn connection_made(&self) {
        let me = self.clone();
        self.call_protocol(Call::Made, "connection_made", true, move |protocol| {
            protocol.connection_made(&me)
        });
    }

    /// The socket while the connection is open.
    fn sock(&self) -> Option<Rc<Registered<Socket>>> {
        self.conn.sock.borrow().clone()
    }

    fn add_reader(&self) {
        let Some(sock) = self.sock() else { return };
        let me = self.clone();
        // Only a closed loop refuses, and it runs nothing more.
        let _ = sock.set_reader(move || me.read_ready());
    }

    fn remove_reader(&self) {
        if let Some(sock) = self.sock() {
            sock.remove_reader();
        }
    }

    /// Runs `call` on the protocol, unless one of its callbacks is running
    /// (a re-entrant call: `None`) or `kind` is not allowed in the
    /// protocol's phase (IO9: `None`, and the phase is left as it is). A
    /// panic is a fatal error of the connection when `fatal`, else only
    /// reported.
    fn call_protocol<R>(
        &self,
        kind: Call,
        what: &'static str,
        fatal: bool,
        call: impl FnOnce(&mut AnyProtocol) -> R,
    ) -> Option<R> {
        let mut protocol = self.conn.protocol.borrow_mut().take()?;
        let mut phase = self.conn.phase.get();
        let admitted = phase.enter(kind);
        self.conn.phase.set(phase);
        if !admitted {
            // A connection that ended before it was made, or a second EOF
            // after `resume_reading`, is refused here by design; data or
            // flow control out of order would be a bug of this transport.
            debug_assert!(
                !matches!(kind, Call::Data | Call::Flow),
                "protocol.{what}() out of order in {:?}",
                phase
            );
            self.restore_protocol(protocol);
            return None;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| call(&mut protocol)));
        // `set_protocol` may have run meanwhile: then the old one goes.
        self.restore_protocol(protocol);
        match outcome {
            Ok(value) => Some(value),
            Err(payload) => {
                let exception = Exception::from_panic(payload);
                self.report(
                    &format!("protocol.{what}() call failed."),
                    exception.clone(),
                );
                if fatal {
                    self.force_close(Some(NetError::protocol(exception)));
                }
                None
            }
        }
    }

    /// Drops a protocol (user code), reporting a panic.
    fn drop_reporting(&self, protocol: AnyProtocol) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(protocol))) {
            self.report(
                "Exception in dropping a protocol",
                Exception::from_panic(payload),
            );
        }
    }

    fn report(&self, message: &str, exception: Exception) {
        self.conn.handle.call_exception_handler(
            ExceptionContext::new(format!("Fatal error: {message}")).with_exception(exception),
        );
    }

    // ---- reading -------------------------------------------------------------

    /// The reader callback: one read, then the protocol's call (asyncio's
    /// `_read_ready`).
    fn read_ready(&self) {
        if self.conn.state.borrow().conn_lost > 0 {
            return;
        }
        let Some(sock) = self.sock() else { return };
        // Past the protocol's data (reading resumed after an EOF it kept
        // the connection open for): a plain read, which calls the protocol
        // only for data, finds the end again and stops reading; the other
        // kinds would ask the protocol first, be refused, and read again
        // at every iteration.
        let takes_data = self.conn.phase.get().after(Call::Data).is_some();
        let kind = match &*self.conn.protocol.borrow() {
            Some(AnyProtocol::Buffered(_)) if takes_data => ReadKind::Buffered,
            Some(AnyProtocol::InPlace(_)) if takes_data => ReadKind::InPlace,
            _ => ReadKind::Plain,
        };
        let read = match kind {
            ReadKind::Plain => self.read_plain(&sock),
            ReadKind::Buffered => self.read_buffered(&sock),
            ReadKind::InPlace => self.read_in_place(&sock),
        };
        match read {
            Some(Ok(0)) => self.read_eof(),
            Some(Ok(_)) | None => {}
            Some(Err(error))
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Some(Err(error)) => self.fatal_error(NetError::from(error)),
        }
    }

    /// One `recv` into the thread's buffer, and `data_received`.
    fn read_plain(&self, sock: &Registered<Socket>) -> Option<io::Result<usize>> {
        let mut buffer = READ_BUFFER
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or_else(|| vec![0; MAX_READ].into_boxed_slice());
        let read = recv(sock, &mut buffer);
        if let Ok(n) = read {
            if n > 0 {
                let data = &buffer[..n];
                self.call_protocol(Call::Data, "data_received", true, |protocol| {
                    if let AnyProtocol::Plain(protocol) = protocol {
                        protocol.data_received(data);
                    }
                });
            }
        }
        READ_BUFFER.with(|slot| *slot.borrow_mut() = Some(buffer));
        Some(read)
    }

    /// `get_buffer`, one `recv` into it, and `buffer_updated`.
    fn read_buffered(&self, sock: &Registered<Socket>) -> Option<io::Result<usize>> {
        let outcome = self.call_protocol(Call::Data, "get_buffer", true, |protocol| {
            let AnyProtocol::Buffered(protocol) = protocol else {
                return Ok(None);
            };
            let buffer = protocol.get_buffer(MAX_READ);
            if buffer.is_empty() {
                return Err(());
            }
            let read = recv(sock, buffer);
            if let Ok(n) = read {
                if n > 0 {
                    protocol.buffer_updated(n);
                }
            }
            Ok(Some(read))
        })?;
        match outcome {
            Ok(read) => read,
            Err(()) => {
                self.fatal_error(NetError::invalid_argument(
                    "get_buffer() returned an empty buffer".to_owned(),
                ));
                None
            }
        }
    }

    /// One `recv` into the protocol's own buffer, which takes it in.
    fn read_in_place(&self, sock: &Registered<Socket>) -> Option<io::Result<usize>> {
        self.call_protocol(Call::Data, "data_received", true, |protocol| {
            let AnyProtocol::InPlace(protocol) = protocol else {
                return None;
            };
            Some(protocol.read_in_place(&mut |buffer| recv(sock, buffer)))
        })?
    }

    /// The peer's EOF (asyncio's `_read_ready__on_eof`).
    fn read_eof(&self) {
        self.remove_reader();
        let keep_open = self.call_protocol(Call::Eof, "eof_received", true, |protocol| {
            protocol.eof_received()
        });
        match keep_open {
            Some(true) => {}
            // Closed unless kept open; a panic already closed it.
            Some(false) => self.close(),
            None => {}
        }
    }

    // ---- writing ---------------------------------------------------------------

    /// Writes `data`: sent at once if nothing is buffered (one `send`), the
    /// rest buffered and sent as the socket takes it. Never blocks. Above
    /// the high-water mark the protocol's `pause_writing` is called (right
    /// away, or, from inside one of the protocol's own callbacks, as soon
    /// as that callback returns). After the connection is lost (or closed
    /// with nothing left to send), data is dropped, as asyncio does, and
    /// from the fifth such write on each logs asyncio's warning
    /// `socket.send() raised exception.` through the [`log`] facade
    /// (target `asyncio`, level warn).
    ///
    /// # Errors
    ///
    /// [`is_invalid_state`](NetError::is_invalid_state) after
    /// [`write_eof`](Self::write_eof).
    pub fn write(&self, data: &[u8]) -> Result<(), NetError> {
        {
            let mut state = self.conn.state.borrow_mut();
            if state.eof {
                return Err(NetError::invalid_state(
                    "cannot call write() after write_eof()",
                ));
            }
            if data.is_empty() {
                return Ok(());
            }
            if state.conn_lost > 0 {
                let dropped = state.conn_lost;
                state.conn_lost = dropped.saturating_add(1);
                drop(state);
                if dropped >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                    log::warn!(target: "asyncio", "socket.send() raised exception.");
                }
                return Ok(());
            }
        }
        let Some(sock) = self.sock() else {
            return Ok(());
        };
        let mut data = data;
        if self.conn.state.borrow().buffer.is_empty() {
            match sock.try_write_with(|socket| send(socket, data)) {
                Ok(n) => {
                    if n == data.len() {
                        return Ok(());
                    }
                    sock.clear_writable();
                    data = &data[n..];
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    self.fatal_error(NetError::from(error));
                    return Ok(());
                }
            }
            let me = self.clone();
            let _ = sock.set_writer(move || me.write_ready());
        }
        self.conn.state.borrow_mut().buffer.extend(data);
        self.maybe_pause_protocol();
        Ok(())
    }

    /// Writes each buffer in turn (asyncio 3.11's `writelines`).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn writelines<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), NetError> {
        for line in lines {
            self.write(line)?;
        }
        Ok(())
    }

    /// The writer callback: one `send` of the buffer (asyncio's
    /// `_write_ready`).
    fn write_ready(&self) {
        let Some(sock) = self.sock() else { return };
        if self.conn.state.borrow().conn_lost > 0 {
            return;
        }
        let sent = {
            let state = self.conn.state.borrow();
            let (front, _) = state.buffer.as_slices();
            let front_len = front.len();
            let sent = sock.try_write_with(|socket| send(socket, front));
            if matches!(&sent, Ok(n) if *n < front_len) {
                sock.clear_writable();
            }
            sent
        };
        match sent {
            Ok(n) => {
                self.conn.state.borrow_mut().buffer.drain(..n);
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return
            }
            Err(error) => {
                self.fatal_error(NetError::from(error));
                return;
            }
        }
        self.maybe_resume_protocol();
        let (empty, closing, eof) = {
            let state = self.conn.state.borrow();
            (state.buffer.is_empty(), state.closing, state.eof)
        };
        if empty {
            sock.remove_writer();
            if closing {
                self.call_connection_lost(None);
            } else if eof {
                let _ = sock.get_ref().shutdown(Shutdown::Write);
            }
        }
    }

    fn maybe_pause_protocol(&self) {
        let pause = {
            let mut state = self.conn.state.borrow_mut();
            let pause = state.buffer.len() > state.high && !state.writing_paused;
            if pause {
                state.writing_paused = true;
            }
            pause
        };
        if pause {
            self.flow_control(true);
        }
    }

    fn maybe_resume_protocol(&self) {
        let resume = {
            let mut state = self.conn.state.borrow_mut();
            let resume = state.writing_paused && state.buffer.len() <= state.low;
            if resume {
                state.writing_paused = false;
            }
            resume
        };
        if resume {
            self.flow_control(false);
        }
    }

    /// `pause_writing` (true) or `resume_writing` (false), now, or once the
    /// protocol's running callback returns.
    fn flow_control(&self, pause: bool) {
        let done = if pause {
            self.call_protocol(
                Call::Flow,
                "pause_writing",
                false,
                AnyProtocol::pause_writing,
            )
        } else {
            self.call_protocol(
                Call::Flow,
                "resume_writing",
                false,
                AnyProtocol::resume_writing,
            )
        };
        if done.is_none()
            && self.conn.protocol.borrow().is_none()
            && !self.conn.phase.get().is_lost()
        {
            // Inside one of the protocol's callbacks: after it returns. A
            // pause and a resume in one callback cancel out.
            match self.conn.deferred_flow.get() {
                Some(earlier) if earlier != pause => self.conn.deferred_flow.set(None),
                _ => self.conn.deferred_flow.set(Some(pause)),
            }
        }
    }

    /// Shuts the writing side down once the buffer is sent (asyncio's
    /// `write_eof`); the connection stays open for reading. Does nothing on
    /// a closing transport or a second time.
    ///
    /// # Errors
    ///
    /// The `shutdown` call's error.
    pub fn write_eof(&self) -> Result<(), NetError> {
        let empty = {
            let mut state = self.conn.state.borrow_mut();
            if state.closing || state.eof {
                return Ok(());
            }
            state.eof = true;
            state.buffer.is_empty()
        };
        if empty {
            if let Some(sock) = self.sock() {
                sock.get_ref().shutdown(Shutdown::Write)?;
            }
        }
        Ok(())
    }

    /// Whether [`write_eof`](Self::write_eof) is supported: `true` for TCP
    /// and Unix sockets.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    // ---- closing ---------------------------------------------------------------

    /// Closes the connection once the buffered data is sent: reading stops
    /// now, and `connection_lost(None)` is called after the last send (or
    /// on the next iteration if nothing is buffered). Idempotent.
    pub fn close(&self) {
        let empty = {
            let mut state = self.conn.state.borrow_mut();
            if state.closing {
                return;
            }
            state.closing = true;
            let empty = state.buffer.is_empty();
            if empty {
                state.conn_lost += 1;
            }
            empty
        };
        self.remove_reader();
        if empty {
            if let Some(sock) = self.sock() {
                sock.remove_writer();
            }
            self.schedule_connection_lost(None);
        }
    }

    /// Closes the connection at once: the buffer is dropped, and
    /// `connection_lost(None)` is called on the next iteration. Idempotent.
    pub fn abort(&self) {
        self.force_close(None);
    }

    fn fatal_error(&self, error: NetError) {
        self.force_close(Some(error));
    }

    fn force_close(&self, error: Option<NetError>) {
        let (had_buffer, was_closing) = {
            let mut state = self.conn.state.borrow_mut();
            if state.conn_lost > 0 {
                return;
            }
            let had_buffer = !state.buffer.is_empty();
            state.buffer = VecDeque::new();
            let was_closing = std::mem::replace(&mut state.closing, true);
            state.conn_lost += 1;
            (had_buffer, was_closing)
        };
        if had_buffer {
            if let Some(sock) = self.sock() {
                sock.remove_writer();
            }
        }
        if !was_closing {
            self.remove_reader();
        }
        self.schedule_connection_lost(error);
    }

    fn schedule_connection_lost(&self, error: Option<NetError>) {
        let me = self.clone();
        if self
            .conn
            .handle
            .call_soon(move || me.call_connection_lost(error))
            .is_err()
        {
            // A closed loop: no callback runs any more; just let go.
            self.release();
        }
    }

    /// `connection_lost`, then the socket is closed (asyncio's
    /// `_call_connection_lost`).
    fn call_connection_lost(&self, error: Option<NetError>) {
        if self.conn.phase.get().is_lost() {
            return;
        }
        // Before `connection_made`, the protocol gets no call at all.
        self.call_protocol(Call::Lost, "connection_lost", false, move |protocol| {
            protocol.connection_lost(error)
        });
        self.release();
    }

    /// Drops the protocol (breaking the cycle through a transport it
    /// keeps), closes the socket and tells the server.
    fn release(&self) {
        self.conn.phase.set(Phase::Lost);
        let protocol = self.conn.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            self.drop_reporting(protocol);
        }
        let sock = self.conn.sock.borrow_mut().take();
        if let Some(sock) = sock {
            sock.remove_reader();
            sock.remove_writer();
            drop(sock);
        }
        let on_lost = self.conn.on_lost.borrow_mut().take();
        if let Some(on_lost) = on_lost {
            on_lost();
        }
    }

    /// Whether the transport is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.conn.state.borrow().closing
    }

    // ---- reading control -------------------------------------------------------

    /// Stops reading until [`resume_reading`](Self::resume_reading): no
    /// `data_received` meanwhile. Idempotent; nothing on a closing
    /// transport.
    pub fn pause_reading(&self) {
        {
            let mut state = self.conn.state.borrow_mut();
            if state.closing || state.reading_paused {
                return;
            }
            state.reading_paused = true;
        }
        self.remove_reader();
    }

    /// Reads again: data that arrived meanwhile is delivered on the next
    /// iteration. Idempotent; nothing on a closing transport.
    pub fn resume_reading(&self) {
        {
            let mut state = self.conn.state.borrow_mut();
            if state.closing || !state.reading_paused {
                return;
            }
            state.reading_paused = false;
        }
        self.add_reader();
    }

    /// Whether the transport reads: not paused and not closing.
    pub fn is_reading(&self) -> bool {
        let state = self.conn.state.borrow();
        !state.reading_paused && !state.closing
    }

    // ---- flow control ----------------------------------------------------------

    /// Sets the write buffer's marks (asyncio's `set_write_buffer_limits`):
    /// `high` defaults to 4 × `low` if only `low` is given, else 64 KiB;
    /// `low` to `high` / 4. The protocol is paused at once if the buffer is
    /// above the new high mark.
    ///
    /// # Errors
    ///
    /// [`is_invalid_argument`](NetError::is_invalid_argument) unless
    /// `high >= low`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), NetError> {
        let high = high.unwrap_or_else(|| low.map_or(DEFAULT_HIGH, |low| low.saturating_mul(4)));
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(NetError::invalid_argument(format!(
                "high ({high}) must be >= low ({low}) must be >= 0"
            )));
        }
        {
            let mut state = self.conn.state.borrow_mut();
            state.high = high;
            state.low = low;
        }
        self.maybe_pause_protocol();
        Ok(())
    }

    /// The write buffer's marks, `(low, high)`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let state = self.conn.state.borrow();
        (state.low, state.high)
    }

    /// The bytes buffered, not yet sent.
    pub fn get_write_buffer_size(&self) -> usize {
        self.conn.state.borrow().buffer.len()
    }

    // ---- protocol and extra info -----------------------------------------------

    /// Replaces the protocol: the next callback goes to `protocol`.
    pub fn set_protocol(&self, protocol: impl Protocol) {
        self.replace_protocol(AnyProtocol::Plain(Box::new(protocol)));
    }

    /// Replaces the protocol with a buffered one.
    pub fn set_buffered_protocol(&self, protocol: impl BufferedProtocol) {
        self.replace_protocol(AnyProtocol::Buffered(Box::new(protocol)));
    }

    fn replace_protocol(&self, protocol: AnyProtocol) {
        if self.conn.phase.get().is_lost() {
            self.drop_reporting(protocol);
            return;
        }
        let old = self.conn.protocol.borrow_mut().replace(protocol);
        if let Some(old) = old {
            self.drop_reporting(old);
        }
    }

    /// Runs `f` on the protocol if it is a `P` (asyncio's `get_protocol`):
    /// `None` if it is not, if the connection was lost, or from inside one
    /// of the protocol's own callbacks (it has `&mut self` there). `f` may
    /// use the transport (write to it, close it): the protocol is out of
    /// the transport while `f` runs, as during its callbacks.
    pub fn with_protocol<P: 'static, R>(&self, f: impl FnOnce(&mut P) -> R) -> Option<R> {
        let mut protocol = self.conn.protocol.borrow_mut().take()?;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            protocol.as_any().downcast_mut::<P>().map(f)
        }));
        self.restore_protocol(protocol);
        match outcome {
            Ok(value) => value,
            // `f` is the caller's own code: its panic is the caller's.
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }

    /// Puts back a protocol taken out for a call, unless it was replaced
    /// meanwhile or the connection was lost (then it is dropped); then makes
    /// the `pause_writing` or `resume_writing` that came meanwhile.
    fn restore_protocol(&self, protocol: AnyProtocol) {
        let surplus = {
            let mut slot = self.conn.protocol.borrow_mut();
            if slot.is_some() || self.conn.phase.get().is_lost() {
                Some(protocol)
            } else {
                *slot = Some(protocol);
                None
            }
        };
        if let Some(old) = surplus {
            self.drop_reporting(old);
        }
        if let Some(pause) = self.conn.deferred_flow.take() {
            self.flow_control(pause);
        }
    }

    /// The local address (asyncio's `get_extra_info('sockname')`).
    pub fn sockname(&self) -> Option<SockAddr> {
        self.conn.sockname.get()
    }

    /// The peer's address (asyncio's `get_extra_info('peername')`).
    pub fn peername(&self) -> Option<SockAddr> {
        self.conn.peername.get()
    }

    /// Runs `f` on the socket while the connection is open (asyncio's
    /// `get_extra_info('socket')`): to read or set options.
    pub fn with_socket<R>(&self, f: impl FnOnce(&Socket) -> R) -> Option<R> {
        self.sock().map(|sock| f(sock.get_ref()))
    }

    /// The loop the transport runs on.
    pub fn get_loop(&self) -> &LoopHandle {
        &self.conn.handle
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.conn.state.borrow();
        let status = if self.conn.phase.get().is_lost() {
            "closed"
        } else if state.closing {
            "closing"
        } else {
            "open"
        };
        f.debug_struct("Transport")
            .field("status", &status)
            .field(
                "peername",
                &self.peername().as_ref().and_then(SockAddr::as_socket),
            )
            .field("write_buffer", &state.buffer.len())
            .finish()
    }
}

/// A socket address as a connection keeps it: an IP address and port in
/// 32 bytes (a `SockAddr` is 136), anything else (a Unix path) boxed.
enum Address {
    None,
    Inet(std::net::SocketAddr),
    Other(Box<SockAddr>),
}

impl From<Option<SockAddr>> for Address {
    fn from(address: Option<SockAddr>) -> Self {
        match address {
            None => Address::None,
            Some(address) => match address.as_socket() {
                Some(inet) => Address::Inet(inet),
                None => Address::Other(Box::new(address)),
            },
        }
    }
}

impl Address {
    fn get(&self) -> Option<SockAddr> {
        match self {
            Address::None => None,
            Address::Inet(inet) => Some(SockAddr::from(*inet)),
            Address::Other(address) => Some((**address).clone()),
        }
    }
}

/// How the protocol takes a connection's bytes.
enum ReadKind {
    /// `data_received` with a slice of the thread's read buffer.
    Plain,
    /// `get_buffer` and `buffer_updated`.
    Buffered,
    /// Into the protocol's own buffer, lent to the read.
    InPlace,
}

/// One `recv` into `buffer`. A short read drained the socket, so its
/// readiness is cleared and the next read waits for the poller (tokio's
/// rule), as a `WouldBlock` clears it.
fn recv(sock: &Registered<Socket>, buffer: &mut [u8]) -> io::Result<usize> {
    let read = sock.try_read_with(|socket| (&mut &*socket).read(buffer));
    if matches!(read, Ok(n) if n > 0 && n < buffer.len()) {
        sock.clear_readable();
    }
    read
}

/// Sends `data` without raising `SIGPIPE` where the OS allows.
pub(crate) fn send(socket: &Socket, data: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = 0;
    socket.send_with_flags(data, flags)
}
