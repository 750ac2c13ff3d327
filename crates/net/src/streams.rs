//! Streams over connections (asyncio's `streams.py`): `open_connection`,
//! `start_server` and their Unix variants, and the protocol that feeds a
//! [`StreamReader`] and tells a [`StreamWriter`] when to wait. Built on
//! [`create_connection`](crate::create_connection) and
//! [`create_server`](crate::create_server), like asyncio's.

use std::future::Future as StdFuture;
use std::rc::Rc;

use asyncio_core::ExceptionContext;
use asyncio_loop::{LoopHandle, TaskOutput};

use crate::connect::create_unix_connection;
use crate::protocol::{AnyProtocol, ReadsInPlace};
use crate::stream_writer::Flow;
use crate::{
    create_connection_with, create_server_with, create_unix_server, AnyProtocolBox, ConnectOptions,
    NetError, Protocol, ProtocolFactory, Server, ServerOptions, StreamReader, StreamWriter,
    Transport,
};

/// What a stream server calls with each new connection's reader and writer
/// (asyncio's `client_connected_cb`): a closure returning a future (run as
/// a task: its failure is reported to the loop's exception handler and
/// closes the connection), or a plain callback wrapped in [`callback`].
pub trait ClientConnected: 'static {
    /// Handles a new connection.
    fn connected(&mut self, handle: &LoopHandle, reader: StreamReader, writer: StreamWriter);
}

impl<F, Fut> ClientConnected for F
where
    F: FnMut(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: StdFuture + 'static,
    Fut::Output: TaskOutput,
{
    fn connected(&mut self, handle: &LoopHandle, reader: StreamReader, writer: StreamWriter) {
        // The socket, not the writer: a coroutine that drops its writer
        // closes the connection then, not when this callback goes.
        let transport = writer.transport().cloned();
        let Ok(task) = handle.create_task(self(reader, writer)) else {
            // A closed loop runs nothing more.
            return;
        };
        let reporter = handle.clone();
        let _ = task.add_done_callback(move |task| {
            if let Ok(Some(exception)) = task.exception() {
                reporter.call_exception_handler(
                    ExceptionContext::new("Unhandled exception in client_connected_cb")
                        .with_exception(exception),
                );
                if let Some(transport) = &transport {
                    transport.close();
                }
            }
        });
    }
}

/// A plain `client_connected_cb` (no coroutine), from [`callback`].
pub struct PlainCallback<F>(F);

/// Makes `f`, a closure that takes the reader and the writer and returns
/// nothing, a [`ClientConnected`] (asyncio's plain-function
/// `client_connected_cb`).
///
/// # Examples
///
/// ```
/// use asyncio_net::{callback, ClientConnected};
///
/// fn takes(_cb: impl ClientConnected) {}
/// takes(callback(|_reader, writer: asyncio_net::StreamWriter| {
///     writer.write(b"hello\n").unwrap();
///     writer.close();
/// }));
/// ```
pub fn callback<F>(f: F) -> PlainCallback<F>
where
    F: FnMut(StreamReader, StreamWriter) + 'static,
{
    PlainCallback(f)
}

impl<F> ClientConnected for PlainCallback<F>
where
    F: FnMut(StreamReader, StreamWriter) + 'static,
{
    fn connected(&mut self, _handle: &LoopHandle, reader: StreamReader, writer: StreamWriter) {
        (self.0)(reader, writer);
    }
}

/// asyncio's `StreamReaderProtocol`: feeds the reader, pauses the writer.
struct StreamProtocol {
    reader: StreamReader,
    flow: Rc<Flow>,
    /// A server's callback, shared by its connections.
    connected: Option<Rc<std::cell::RefCell<dyn ClientConnected>>>,
    /// The writer of a client connection, handed out once made.
    writer_slot: Option<Rc<std::cell::RefCell<Option<StreamWriter>>>>,
}

impl Protocol for StreamProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        self.reader.set_transport(transport.clone());
        let writer = StreamWriter::new(
            transport.clone(),
            Rc::clone(&self.flow),
            Some(self.reader.clone()),
        );
        if let Some(slot) = &self.writer_slot {
            *slot.borrow_mut() = Some(writer);
        } else if let Some(connected) = &self.connected {
            connected
                .borrow_mut()
                .connected(transport.get_loop(), self.reader.clone(), writer);
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        // Only after an EOF can feeding fail, and no data comes after one.
        let _ = self.reader.feed_data(data);
    }

    fn eof_received(&mut self) -> bool {
        self.reader.feed_eof();
        // Keep the connection open: the writer may still write.
        true
    }

    fn connection_lost(&mut self, error: Option<NetError>) {
        match &error {
            None => self.reader.feed_eof(),
            Some(error) => self.reader.set_exception(error.clone()),
        }
        self.reader.forget_transport();
        self.flow.lose(error);
    }

    fn pause_writing(&mut self) {
        self.flow.pause();
    }

    fn resume_writing(&mut self) {
        self.flow.resume();
    }
}

impl ReadsInPlace for StreamProtocol {
    fn read_in_place(
        &mut self,
        recv: &mut dyn FnMut(&mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        self.reader.read_in_place(recv)
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// A factory of stream protocols that read into their reader's buffer in
/// place.
struct InPlace<F>(F);

impl<F> ProtocolFactory for InPlace<F>
where
    F: FnMut() -> StreamProtocol + 'static,
{
    fn make(&mut self) -> AnyProtocolBox {
        AnyProtocolBox(AnyProtocol::InPlace(Box::new((self.0)())))
    }
}

/// Connects to `host` and `port` and returns the connection's reader and
/// writer (asyncio's `open_connection`), with the default limit (64 KiB)
/// and connection options. See [`open_connection_with`].
///
/// # Errors
///
/// As [`create_connection`](crate::create_connection).
///
/// # Examples
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use asyncio_loop::EventLoop;
/// use asyncio_net::open_connection;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let peer = std::thread::spawn(move || {
///     let (stream, _) = listener.accept().unwrap();
///     let mut line = String::new();
///     BufReader::new(&stream).read_line(&mut line).unwrap();
///     (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
/// });
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let answer = event_loop
///     .run_until_complete(async move {
///         let (reader, writer) = open_connection(&handle, "127.0.0.1", port).await?;
///         writer.write(b"hello\n")?;
///         writer.drain().await?;
///         let answer = reader.readline().await?;
///         writer.close();
///         writer.wait_closed().await?;
///         Ok::<_, asyncio_net::NetError>(answer)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(answer, b"HELLO\n");
/// peer.join().unwrap();
/// ```
pub async fn open_connection(
    handle: &LoopHandle,
    host: &str,
    port: u16,
) -> Result<(StreamReader, StreamWriter), NetError> {
    open_connection_with(handle, host, port, StreamOptions::new()).await
}

/// [`open_connection`] with a limit and connection options.
///
/// # Errors
///
/// As [`create_connection_with`](crate::create_connection_with).
pub async fn open_connection_with(
    handle: &LoopHandle,
    host: &str,
    port: u16,
    options: StreamOptions,
) -> Result<(StreamReader, StreamWriter), NetError> {
    let connect = options.connect.clone().unwrap_or_default();
    open_with(handle, options, |factory| async move {
        create_connection_with(handle, factory, host, port, &connect).await
    })
    .await
}

/// Connects to the Unix socket at `path` and returns the connection's
/// reader and writer (asyncio's `open_unix_connection`).
///
/// # Errors
///
/// As [`create_unix_connection`](crate::create_unix_connection).
pub async fn open_unix_connection(
    handle: &LoopHandle,
    path: impl AsRef<std::path::Path>,
    options: StreamOptions,
) -> Result<(StreamReader, StreamWriter), NetError> {
    let path = path.as_ref().to_owned();
    open_with(handle, options, |factory| async move {
        create_unix_connection(handle, factory, path).await
    })
    .await
}

/// A client's stream protocol made for `connect`, and the reader and writer
/// once it connected.
async fn open_with<C, Fut>(
    handle: &LoopHandle,
    options: StreamOptions,
    connect: C,
) -> Result<(StreamReader, StreamWriter), NetError>
where
    C: FnOnce(InPlace<Box<dyn FnMut() -> StreamProtocol>>) -> Fut,
    Fut: StdFuture<Output = Result<Transport, NetError>>,
{
    let reader = StreamReader::with_limit(options.limit)?;
    let slot = Rc::new(std::cell::RefCell::new(None));
    let (made_reader, made_slot, made_handle) = (reader.clone(), Rc::clone(&slot), handle.clone());
    let factory = Box::new(move || StreamProtocol {
        reader: made_reader.clone(),
        flow: Flow::new(&made_handle),
        connected: None,
        writer_slot: Some(Rc::clone(&made_slot)),
    });
    let transport = connect(InPlace(factory)).await?;
    let writer = slot.borrow_mut().take();
    match writer {
        Some(writer) => Ok((reader, writer)),
        // `connection_made` did not run: the connection ended first.
        None => {
            transport.abort();
            Err(NetError::from(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "Connection lost",
            )))
        }
    }
}

/// Listens on `host` and `port` and calls `client_connected` with each
/// connection's reader and writer (asyncio's `start_server`), with the
/// default limit and server options. See [`start_server_with`].
///
/// # Errors
///
/// As [`create_server`](crate::create_server).
///
/// # Examples
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use asyncio_loop::EventLoop;
/// use asyncio_net::{start_server, NetError, StreamReader, StreamWriter};
///
/// async fn shout(reader: StreamReader, writer: StreamWriter) -> Result<(), NetError> {
///     let line = reader.readline().await?;
///     writer.write(&line.to_ascii_uppercase())?;
///     writer.drain().await?;
///     writer.close();
///     Ok(())
/// }
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let server = event_loop
///     .run_until_complete(async move { start_server(&handle, shout, "127.0.0.1", 0).await })
///     .unwrap()
///     .unwrap();
/// let port = server.sockets()[0].as_socket().unwrap().port();
/// let client = std::thread::spawn(move || {
///     let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
///     stream.write_all(b"hello\n").unwrap();
///     let mut line = String::new();
///     BufReader::new(&stream).read_line(&mut line).unwrap();
///     line
/// });
/// let handle = event_loop.handle();
/// event_loop
///     .run_until_complete(async move {
///         while !client.is_finished() {
///             handle.sleep(0.001).await?;
///         }
///         server.close();
///         Ok::<_, NetError>(client.join().unwrap())
///     })
///     .map(|line| assert_eq!(line.unwrap(), "HELLO\n"))
///     .unwrap();
/// ```
pub async fn start_server(
    handle: &LoopHandle,
    client_connected: impl ClientConnected,
    host: &str,
    port: u16,
) -> Result<Server, NetError> {
    start_server_with(handle, client_connected, host, port, StreamOptions::new()).await
}

/// [`start_server`] with a limit and server options.
///
/// # Errors
///
/// As [`create_server_with`](crate::create_server_with); an
/// invalid-argument error for a limit of 0.
pub async fn start_server_with(
    handle: &LoopHandle,
    client_connected: impl ClientConnected,
    host: &str,
    port: u16,
    options: StreamOptions,
) -> Result<Server, NetError> {
    let server = options.server.clone().unwrap_or_default();
    let factory = server_factory(handle, client_connected, options.limit)?;
    create_server_with(handle, InPlace(factory), host, port, &server).await
}

/// Listens on the Unix socket at `path` and calls `client_connected` with
/// each connection's reader and writer (asyncio's `start_unix_server`).
///
/// # Errors
///
/// As [`create_unix_server`](crate::create_unix_server).
pub async fn start_unix_server(
    handle: &LoopHandle,
    client_connected: impl ClientConnected,
    path: impl AsRef<std::path::Path>,
    options: StreamOptions,
) -> Result<Server, NetError> {
    let server = options.server.clone().unwrap_or_default();
    let factory = server_factory(handle, client_connected, options.limit)?;
    create_unix_server(handle, InPlace(factory), path, &server).await
}

/// The protocol factory of a stream server.
fn server_factory(
    handle: &LoopHandle,
    client_connected: impl ClientConnected,
    limit: usize,
) -> Result<impl FnMut() -> StreamProtocol, NetError> {
    StreamReader::with_limit(limit)?;
    let connected: Rc<std::cell::RefCell<dyn ClientConnected>> =
        Rc::new(std::cell::RefCell::new(client_connected));
    let handle = handle.clone();
    Ok(move || StreamProtocol {
        reader: StreamReader::with_limit(limit).unwrap_or_default(),
        flow: Flow::new(&handle),
        connected: Some(Rc::clone(&connected)),
        writer_slot: None,
    })
}

/// The options of the stream functions: the readers' limit and the
/// connection's or the server's options.
///
/// # Examples
///
/// ```
/// use asyncio_net::{ConnectOptions, StreamOptions};
///
/// let options = StreamOptions::new()
///     .limit(1024)
///     .connect(ConnectOptions::new().happy_eyeballs_delay(0.25));
/// assert_eq!(options.get_limit(), 1024);
/// ```
#[derive(Debug, Clone)]
pub struct StreamOptions {
    limit: usize,
    connect: Option<ConnectOptions>,
    server: Option<ServerOptions>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            limit: crate::stream_reader::DEFAULT_LIMIT,
            connect: None,
            server: None,
        }
    }
}

impl StreamOptions {
    /// The default limit (64 KiB) and options.
    pub fn new() -> Self {
        StreamOptions::default()
    }

    /// The readers' limit (see [`StreamReader::with_limit`]).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The limit set.
    pub fn get_limit(&self) -> usize {
        self.limit
    }

    /// The options of `open_connection`'s connection.
    pub fn connect(mut self, options: ConnectOptions) -> Self {
        self.connect = Some(options);
        self
    }

    /// The options of `start_server`'s server.
    pub fn server(mut self, options: ServerOptions) -> Self {
        self.server = Some(options);
        self
    }
}
