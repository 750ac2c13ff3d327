//! `create_server`, `create_unix_server` and `Server` (asyncio's
//! `base_events.create_server` and `Server`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

use asyncio_core::{Exception, ExceptionContext, Future};
use asyncio_loop::socket2::{Domain, SockAddr, Socket, Type};
use asyncio_loop::{LoopHandle, Registered};

use crate::connect::resolve;
use crate::protocol::ProtocolFactory;
use crate::{NetError, Transport};

/// How long accepting pauses after running out of descriptors (asyncio's
/// `ACCEPT_RETRY_DELAY`).
const ACCEPT_RETRY_DELAY: f64 = 1.0;

/// Options of [`create_server_with`] (asyncio's keyword arguments).
///
/// # Examples
///
/// ```
/// use asyncio_net::ServerOptions;
///
/// let options = ServerOptions::new().backlog(16).reuse_port(true).start_serving(false);
/// assert_eq!(options.get_backlog(), 16);
/// ```
#[derive(Debug, Clone)]
pub struct ServerOptions {
    backlog: i32,
    reuse_address: bool,
    reuse_port: bool,
    start_serving: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            backlog: 100,
            reuse_address: true,
            reuse_port: false,
            start_serving: true,
        }
    }
}

impl ServerOptions {
    /// asyncio's defaults: backlog 100, `SO_REUSEADDR`, no `SO_REUSEPORT`,
    /// serving at once.
    pub fn new() -> Self {
        ServerOptions::default()
    }

    /// The `listen` backlog, and how many connections one readiness event
    /// accepts at most.
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog.max(1);
        self
    }

    /// The backlog set.
    pub fn get_backlog(&self) -> i32 {
        self.backlog
    }

    /// `SO_REUSEADDR` on the listening sockets (on by default).
    pub fn reuse_address(mut self, reuse: bool) -> Self {
        self.reuse_address = reuse;
        self
    }

    /// `SO_REUSEPORT` on the listening sockets.
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// Whether the server accepts at once (else at
    /// [`Server::start_serving`] or [`Server::serve_forever`]).
    pub fn start_serving(mut self, start: bool) -> Self {
        self.start_serving = start;
        self
    }
}

/// Listens on `host` and `port` and makes a protocol with `factory` and a
/// [`Transport`] for each connection (asyncio's `loop.create_server`), with
/// [`ServerOptions`]' defaults. See [`create_server_with`].
///
/// # Errors
///
/// As [`create_server_with`].
pub async fn create_server(
    handle: &LoopHandle,
    factory: impl ProtocolFactory,
    host: &str,
    port: u16,
) -> Result<Server, NetError> {
    create_server_with(handle, factory, host, port, &ServerOptions::new()).await
}

/// Listens on `host` and `port` with `options`: one socket per address
/// `host` resolves to (`""` is every interface, IPv4 and IPv6), each with
/// `SO_REUSEADDR` (unless turned off), `IPV6_V6ONLY` for IPv6, and
/// `listen(backlog)`. Each connection gets `TCP_NODELAY`, a protocol from
/// `factory` and a [`Transport`]; up to `backlog` connections are accepted
/// per readiness event. Running out of descriptors is reported to the
/// loop's exception handler and accepting resumes a second later; the
/// connections already open are served meanwhile.
///
/// Returns once the sockets listen (and, with `start_serving`, accept).
/// A numeric host is used as is; a name is resolved on the loop's default
/// executor.
///
/// # Errors
///
/// The resolver's or a socket call's error (`AddrInUse`, ...), or the
/// loop's when it is closed.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use asyncio_loop::EventLoop;
/// use asyncio_net::{create_server, Protocol, Transport};
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"hello\n").unwrap();
///         transport.close();
///     }
/// }
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let greeting = event_loop
///     .run_until_complete(async move {
///         let server = create_server(&handle, || Greeter, "127.0.0.1", 0).await?;
///         let port = server.sockets()[0].as_socket().unwrap().port();
///         // A blocking client on the executor; the loop serves meanwhile.
///         let client = handle.run_in_executor(move || {
///             let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
///             let mut text = String::new();
///             stream.read_to_string(&mut text).unwrap();
///             text
///         })?;
///         let text = client.wait().await?;
///         server.close();
///         Ok::<_, asyncio_net::NetError>(text)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(greeting, "hello\n");
/// ```
pub async fn create_server_with(
    handle: &LoopHandle,
    factory: impl ProtocolFactory,
    host: &str,
    port: u16,
    options: &ServerOptions,
) -> Result<Server, NetError> {
    let addresses = if host.is_empty() {
        vec![
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)),
        ]
    } else {
        resolve(handle, host, port).await?
    };
    let mut sockets = Vec::new();
    for address in addresses {
        let socket = match listen_tcp(address, options) {
            Ok(socket) => socket,
            // An unspecified IPv6 address on a host without IPv6.
            Err(error) if host.is_empty() && address.is_ipv6() => {
                let _ = error;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        sockets.push(socket);
    }
    Server::start(handle, Box::new(factory), sockets, options).await
}

/// A bound, listening, non-blocking TCP socket for `address`.
fn listen_tcp(address: SocketAddr, options: &ServerOptions) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    if options.reuse_address {
        socket.set_reuse_address(true)?;
    }
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&address.into())?;
    socket.listen(options.backlog)?;
    Ok(socket)
}

/// Listens on the Unix socket at `path` (asyncio's
/// `loop.create_unix_server`): a stale socket file left there is removed
/// first, as asyncio does.
///
/// # Errors
///
/// A socket call's error, or the loop's when it is closed.
pub async fn create_unix_server(
    handle: &LoopHandle,
    factory: impl ProtocolFactory,
    path: impl AsRef<std::path::Path>,
    options: &ServerOptions,
) -> Result<Server, NetError> {
    let path = path.as_ref();
    if std::fs::symlink_metadata(path).is_ok_and(|meta| {
        use std::os::unix::fs::FileTypeExt;
        meta.file_type().is_socket()
    }) {
        let _ = std::fs::remove_file(path);
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    socket.listen(options.backlog)?;
    Server::start(handle, Box::new(factory), vec![socket], options).await
}

/// A listening server (asyncio's `Server`): its sockets accept
/// connections and make a protocol and a transport for each.
///
/// [`close`](Self::close) stops listening and leaves the open connections
/// alone; [`wait_closed`](Self::wait_closed) waits until the server is
/// closed and its connections are gone (3.12's meaning; see there).
/// Dropping the server closes it.
pub struct Server {
    inner: Rc<Inner>,
}

struct Inner {
    handle: LoopHandle,
    factory: RefCell<Box<dyn ProtocolFactory>>,
    sockets: RefCell<Vec<Rc<Registered<Socket>>>>,
    addresses: Vec<SockAddr>,
    backlog: i32,
    closed: Cell<bool>,
    serving: Cell<bool>,
    /// Open connections.
    active: Cell<usize>,
    /// `wait_closed` callers, woken when closed with no connection left.
    waiters: RefCell<Vec<Future<()>>>,
    /// The future `serve_forever` waits on.
    serving_forever: RefCell<Option<Future<()>>>,
}

impl Server {
    async fn start(
        handle: &LoopHandle,
        factory: Box<dyn ProtocolFactory>,
        sockets: Vec<Socket>,
        options: &ServerOptions,
    ) -> Result<Server, NetError> {
        let addresses = sockets
            .iter()
            .filter_map(|socket| socket.local_addr().ok())
            .collect();
        let mut registered = Vec::new();
        for socket in sockets {
            registered.push(Rc::new(Registered::new(handle, socket)?));
        }
        let server = Server {
            inner: Rc::new(Inner {
                handle: handle.clone(),
                factory: RefCell::new(factory),
                sockets: RefCell::new(registered),
                addresses,
                backlog: options.backlog,
                closed: Cell::new(false),
                serving: Cell::new(false),
                active: Cell::new(0),
                waiters: RefCell::new(Vec::new()),
                serving_forever: RefCell::new(None),
            }),
        };
        if options.start_serving {
            server.start_serving()?;
            // As asyncio: the readers are in place before this returns.
            handle.sleep(0.0).await?;
        }
        Ok(server)
    }

    /// Starts accepting (idempotent; refused once closed).
    ///
    /// # Errors
    ///
    /// [`is_invalid_state`](NetError::is_invalid_state) on a closed server;
    /// the loop's error when it is closed.
    pub fn start_serving(&self) -> Result<(), NetError> {
        if self.inner.closed.get() {
            return Err(NetError::invalid_state("server is closed"));
        }
        if self.inner.serving.replace(true) {
            return Ok(());
        }
        Inner::listen(&self.inner)
    }

    /// Whether the server accepts connections.
    pub fn is_serving(&self) -> bool {
        self.inner.serving.get()
    }

    /// The addresses the server listens on (asyncio's `sockets`, read with
    /// `getsockname()`); empty once closed.
    pub fn sockets(&self) -> Vec<SockAddr> {
        if self.inner.closed.get() {
            return Vec::new();
        }
        self.inner.addresses.clone()
    }

    /// Stops listening: the listening sockets are closed, the open
    /// connections stay open, and a pending
    /// [`serve_forever`](Self::serve_forever) ends cancelled. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Waits until the server is closed and every connection it accepted
    /// is gone.
    ///
    /// This is 3.12's meaning (cpython#79033, as corrected in 3.12.1);
    /// 3.11's returned at once once the server was closed, whatever the
    /// connections. Close the connections (or have the peers close them)
    /// before waiting, or this waits for them.
    ///
    /// # Errors
    ///
    /// A cancellation of the awaiting task.
    pub async fn wait_closed(&self) -> Result<(), NetError> {
        if self.inner.closed.get() && self.inner.active.get() == 0 {
            return Ok(());
        }
        let waiter = self.inner.handle.create_future::<()>();
        self.inner.waiters.borrow_mut().push(waiter.clone());
        waiter.wait().await?;
        Ok(())
    }

    /// Accepts until cancelled or closed (asyncio's `serve_forever`): when
    /// the awaiting task is cancelled, the server is closed and its
    /// connections waited for, and the cancellation is returned.
    ///
    /// # Errors
    ///
    /// The cancellation that ended it;
    /// [`is_invalid_state`](NetError::is_invalid_state) if another
    /// `serve_forever` runs or the server is closed.
    pub async fn serve_forever(&self) -> Result<(), NetError> {
        if self.inner.serving_forever.borrow().is_some() {
            return Err(NetError::invalid_state(
                "server is already being awaited on serve_forever()",
            ));
        }
        if self.inner.closed.get() {
            return Err(NetError::invalid_state("server is closed"));
        }
        self.start_serving()?;
        let forever = self.inner.handle.create_future::<()>();
        *self.inner.serving_forever.borrow_mut() = Some(forever.clone());
        let outcome = forever.wait().await;
        self.inner.serving_forever.borrow_mut().take();
        match outcome {
            Ok(()) => Ok(()),
            Err(cancelled) => {
                self.close();
                self.wait_closed().await?;
                Err(cancelled.into())
            }
        }
    }

    /// The loop the server runs on.
    pub fn get_loop(&self) -> &LoopHandle {
        &self.inner.handle
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<_> = self
            .inner
            .addresses
            .iter()
            .map(|address| {
                address
                    .as_socket()
                    .map_or_else(|| format!("{address:?}"), |a| a.to_string())
            })
            .collect();
        f.debug_struct("Server")
            .field("sockets", &addresses)
            .field("serving", &self.inner.serving.get())
            .field("connections", &self.inner.active.get())
            .finish()
    }
}

impl Inner {
    /// Puts an accepting reader on every listening socket.
    fn listen(this: &Rc<Inner>) -> Result<(), NetError> {
        let sockets = this.sockets.borrow().clone();
        for socket in sockets {
            let (server, listener) = (Rc::downgrade(this), Rc::downgrade(&socket));
            socket.set_reader(move || {
                if let (Some(server), Some(listener)) = (server.upgrade(), listener.upgrade()) {
                    Inner::accept(&server, &listener);
                }
            })?;
        }
        Ok(())
    }

    /// Accepts up to `backlog` connections (asyncio's `_accept_connection`).
    fn accept(this: &Rc<Inner>, listener: &Registered<Socket>) {
        for _ in 0..this.backlog {
            match listener.try_read_with(|socket| socket.accept()) {
                Ok((socket, peer)) => Inner::connection(this, socket, peer),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if out_of_resources(&error) => {
                    this.handle.call_exception_handler(
                        ExceptionContext::new("socket.accept() out of system resource")
                            .with_exception(Exception::new(error)),
                    );
                    Inner::pause_accepting(this);
                    return;
                }
                // A connection that went before it was accepted, or EINTR:
                // try the next one.
                Err(_) => {}
            }
        }
    }

    /// Stops accepting for `ACCEPT_RETRY_DELAY`, then listens again unless
    /// closed meanwhile.
    fn pause_accepting(this: &Rc<Inner>) {
        for socket in this.sockets.borrow().iter() {
            socket.remove_reader();
        }
        let server = Rc::downgrade(this);
        let _ = this.handle.call_later(ACCEPT_RETRY_DELAY, move || {
            if let Some(server) = server.upgrade() {
                if server.serving.get() && !server.closed.get() {
                    let _ = Inner::listen(&server);
                }
            }
        });
    }

    /// A protocol and a transport for an accepted connection.
    fn connection(this: &Rc<Inner>, socket: Socket, peer: SockAddr) {
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            this.factory.borrow_mut().make()
        }));
        let protocol = match made {
            Ok(protocol) => protocol,
            Err(payload) => {
                this.handle.call_exception_handler(
                    ExceptionContext::new("Error on transport creation for incoming connection")
                        .with_exception(Exception::from_panic(payload)),
                );
                return;
            }
        };
        this.active.set(this.active.get() + 1);
        let server: Weak<Inner> = Rc::downgrade(this);
        let detach = Box::new(move || {
            if let Some(server) = server.upgrade() {
                server.active.set(server.active.get() - 1);
                server.wake_if_done();
            }
        });
        if let Err(error) =
            Transport::start(&this.handle, socket, protocol, Some(peer), Some(detach))
        {
            this.active.set(this.active.get() - 1);
            this.handle.call_exception_handler(
                ExceptionContext::new("Error on transport creation for incoming connection")
                    .with_exception(Exception::new(error)),
            );
        }
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.serving.set(false);
        let sockets = std::mem::take(&mut *self.sockets.borrow_mut());
        for socket in &sockets {
            socket.remove_reader();
        }
        drop(sockets);
        let forever = self.serving_forever.borrow_mut().take();
        if let Some(forever) = forever {
            forever.cancel();
        }
        self.wake_if_done();
    }

    /// Wakes the `wait_closed` callers once closed with no connection left.
    fn wake_if_done(&self) {
        if !self.closed.get() || self.active.get() != 0 {
            return;
        }
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waiter in waiters {
            if !waiter.done() {
                let _ = waiter.set_result(());
            }
        }
    }
}

/// asyncio's `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: accepting pauses.
fn out_of_resources(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
