//! The loop's I/O operations: asyncio's `add_reader` family on raw
//! descriptors, [`Registered`] sources and the `sock_*` coroutines over
//! them. Unix only.
//!
//! Readiness comes from the loop's poller (`poller.rs`, edge-triggered
//! epoll or kqueue through mio) by way of the source table
//! (`sources.rs`); the state turns it into jobs and wakes in step 2 of the
//! iteration (`shared/io.rs`).

use std::fmt;
use std::future::Future as StdFuture;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use socket2::{SockAddr, SockRef, Socket};

use super::LoopHandle;
use crate::shared::Shared;
use crate::sources::Dir;
use crate::LoopError;

impl LoopHandle {
    /// Calls `callback` on every iteration while `fd` is readable
    /// (asyncio's `add_reader`): it is queued after the callbacks already
    /// queued, once per iteration, for as long as the descriptor stays
    /// readable (level-triggered), until [`remove_reader`](Self::remove_reader).
    /// A reader that `fd` had is replaced, and its queued call cancelled.
    ///
    /// The loop does not own `fd`: close it only after `remove_reader` (and
    /// `remove_writer`), as in asyncio. Arguments are bound by capture.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) on a closed loop;
    /// [`is_fd_in_use`](LoopError::is_fd_in_use) for a descriptor a
    /// [`Registered`] source owns (asyncio refuses a transport's);
    /// [`io_error`](LoopError::io_error) when the OS refuses to watch it (a
    /// regular file, a closed descriptor).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let (mut reader, mut writer) = UnixStream::pair().unwrap();
    /// reader.set_nonblocking(true).unwrap();
    /// let fd = reader.as_raw_fd();
    /// let handle = event_loop.handle();
    /// let done = event_loop.create_future::<String>();
    /// let setter = done.clone();
    /// event_loop
    ///     .add_reader(fd, move || {
    ///         let mut text = [0; 16];
    ///         let n = reader.read(&mut text).unwrap();
    ///         handle.remove_reader(fd);
    ///         setter.set_result(String::from_utf8_lossy(&text[..n]).into_owned()).unwrap();
    ///     })
    ///     .unwrap();
    /// writer.write_all(b"ping").unwrap();
    /// assert_eq!(event_loop.run_until_complete(&done).unwrap(), "ping");
    /// ```
    pub fn add_reader<F: FnMut() + 'static>(
        &self,
        fd: impl AsRawFd,
        callback: F,
    ) -> Result<(), LoopError> {
        let fd = fd.as_raw_fd();
        self.with(|shared| shared.add_watch(fd, Dir::Read, callback))
    }

    /// Calls `callback` on every iteration while `fd` is writable
    /// (asyncio's `add_writer`); see [`add_reader`](Self::add_reader).
    ///
    /// # Errors
    ///
    /// As [`add_reader`](Self::add_reader).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::os::fd::AsRawFd;
    /// use std::rc::Rc;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = socket.as_raw_fd();
    /// let calls = Rc::new(Cell::new(0));
    /// let (count, handle) = (calls.clone(), event_loop.handle());
    /// // An empty socket buffer stays writable: called on each iteration.
    /// event_loop
    ///     .add_writer(fd, move || {
    ///         count.set(count.get() + 1);
    ///         if count.get() == 3 {
    ///             handle.remove_writer(fd);
    ///             handle.stop();
    ///         }
    ///     })
    ///     .unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert_eq!(calls.get(), 3);
    /// ```
    pub fn add_writer<F: FnMut() + 'static>(
        &self,
        fd: impl AsRawFd,
        callback: F,
    ) -> Result<(), LoopError> {
        let fd = fd.as_raw_fd();
        self.with(|shared| shared.add_watch(fd, Dir::Write, callback))
    }

    /// Stops watching `fd` for reading (asyncio's `remove_reader`): whether
    /// a reader was registered. Its call, if queued, is cancelled; a
    /// descriptor watched in neither direction is no longer registered
    /// with the poller. A closed loop watches nothing (`false`).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// use std::os::fd::AsRawFd;
    /// event_loop.add_reader(socket.as_raw_fd(), || {}).unwrap();
    /// assert!(event_loop.remove_reader(socket.as_raw_fd()));
    /// assert!(!event_loop.remove_reader(socket.as_raw_fd()));
    /// ```
    pub fn remove_reader(&self, fd: impl AsRawFd) -> bool {
        let fd = fd.as_raw_fd();
        self.live()
            .is_some_and(|shared| shared.remove_watch(fd, Dir::Read))
    }

    /// Stops watching `fd` for writing (asyncio's `remove_writer`); see
    /// [`remove_reader`](Self::remove_reader).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// use std::os::fd::AsRawFd;
    /// event_loop.add_writer(socket.as_raw_fd(), || {}).unwrap();
    /// assert!(event_loop.remove_writer(socket.as_raw_fd()));
    /// ```
    pub fn remove_writer(&self, fd: impl AsRawFd) -> bool {
        let fd = fd.as_raw_fd();
        self.live()
            .is_some_and(|shared| shared.remove_watch(fd, Dir::Write))
    }

    /// Receives up to `n` bytes from `sock` (asyncio's `sock_recv`): an
    /// empty vector at the end of the stream.
    ///
    /// The receive is tried at once; only if it would block does the
    /// coroutine wait for the socket to be readable, then try again. A
    /// short read means the socket is drained, so the next call waits
    /// without the failing try (tokio's rule). Cancelled (dropped) while it
    /// waits, it leaves the bytes in the kernel for the next receive.
    ///
    /// # Errors
    ///
    /// The socket's error; an error whose
    /// [`get_ref`](io::Error::get_ref) is a [`LoopError`] when the socket's
    /// loop is closed or gone, or is not this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let ours = Registered::new(&event_loop, ours).unwrap();
    /// let handle = event_loop.handle();
    /// let received = event_loop
    ///     .run_until_complete(async move {
    ///         theirs.write_all(b"hello").unwrap();
    ///         handle.sock_recv(&ours, 1024).await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(received, b"hello");
    /// ```
    pub async fn sock_recv<S: AsFd>(&self, sock: &Registered<S>, n: usize) -> io::Result<Vec<u8>> {
        let mut buffer = vec![0; n];
        let got = self.sock_recv_into(sock, &mut buffer).await?;
        buffer.truncate(got);
        Ok(buffer)
    }

    /// Receives into `buffer` from `sock` (asyncio's `sock_recv_into`): the
    /// number of bytes received, 0 at the end of the stream (or for an
    /// empty buffer). See [`sock_recv`](Self::sock_recv).
    ///
    /// # Errors
    ///
    /// As [`sock_recv`](Self::sock_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let ours = Registered::new(&event_loop, ours).unwrap();
    /// theirs.write_all(b"abc").unwrap();
    /// drop(theirs);
    /// let handle = event_loop.handle();
    /// let sizes = event_loop
    ///     .run_until_complete(async move {
    ///         let mut buffer = [0; 2];
    ///         let first = handle.sock_recv_into(&ours, &mut buffer).await?;
    ///         let second = handle.sock_recv_into(&ours, &mut buffer).await?;
    ///         let end = handle.sock_recv_into(&ours, &mut buffer).await?;
    ///         Ok::<_, std::io::Error>((first, second, end))
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(sizes, (2, 1, 0));
    /// ```
    pub async fn sock_recv_into<S: AsFd>(
        &self,
        sock: &Registered<S>,
        buffer: &mut [u8],
    ) -> io::Result<usize> {
        self.check_owner(sock)?;
        let wanted = buffer.len();
        let got = sock
            .read_with(|io| std::io::Read::read(&mut &*SockRef::from(io), buffer))
            .await?;
        if got > 0 && got < wanted {
            sock.clear_readable();
        }
        Ok(got)
    }

    /// Sends all of `data` on `sock` (asyncio's `sock_sendall`), waiting for
    /// room in the socket's buffer as often as needed.
    ///
    /// Cancelled (dropped) part way, some of `data` may have been sent, as
    /// in asyncio.
    ///
    /// # Errors
    ///
    /// As [`sock_recv`](Self::sock_recv); a peer that closed the connection
    /// gives `BrokenPipe` or `ConnectionReset` (never a `SIGPIPE`: sends
    /// use `MSG_NOSIGNAL` where the OS has it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let ours = Registered::new(&event_loop, ours).unwrap();
    /// let handle = event_loop.handle();
    /// // More than a socket buffer holds: the send waits while the peer reads.
    /// let reader = std::thread::spawn(move || {
    ///     let mut all = Vec::new();
    ///     theirs.read_to_end(&mut all).unwrap();
    ///     all.len()
    /// });
    /// event_loop
    ///     .run_until_complete(async move {
    ///         handle.sock_sendall(&ours, &vec![7; 1 << 20]).await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(reader.join().unwrap(), 1 << 20);
    /// ```
    pub async fn sock_sendall<S: AsFd>(&self, sock: &Registered<S>, data: &[u8]) -> io::Result<()> {
        self.check_owner(sock)?;
        let mut sent = 0;
        while sent < data.len() {
            let rest = &data[sent..];
            let n = sock.write_with(|io| send(io, rest)).await?;
            if n < rest.len() {
                sock.clear_writable();
            }
            sent += n;
        }
        Ok(())
    }

    /// Connects `sock` to `address` (asyncio's `sock_connect`): starts a
    /// non-blocking connect, waits for the socket to be writable, and
    /// reads the outcome (`SO_ERROR`). The address is numeric (a
    /// `SocketAddr`, or a `SockAddr` for a Unix socket): resolving names
    /// is `getaddrinfo`'s job.
    ///
    /// # Errors
    ///
    /// The connect's error (`ConnectionRefused`, ...), or as
    /// [`sock_recv`](Self::sock_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::socket2::{Domain, Socket, Type};
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let address = listener.local_addr().unwrap();
    /// let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    /// let socket = Registered::new(&event_loop, socket).unwrap();
    /// let handle = event_loop.handle();
    /// event_loop
    ///     .run_until_complete(async move { handle.sock_connect(&socket, address).await })
    ///     .unwrap()
    ///     .unwrap();
    /// assert!(listener.accept().is_ok());
    /// ```
    pub async fn sock_connect<S: AsFd>(
        &self,
        sock: &Registered<S>,
        address: impl Into<SockAddr>,
    ) -> io::Result<()> {
        self.check_owner(sock)?;
        let address = address.into();
        match SockRef::from(sock.get_ref()).connect(&address) {
            Ok(()) => return Ok(()),
            Err(error) if in_progress(&error) => {}
            Err(error) => return Err(error),
        }
        // The connect goes on in the kernel: writable means it ended.
        sock.clear_writable();
        sock.writable().await?;
        match SockRef::from(sock.get_ref()).take_error()? {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }

    /// Accepts a connection on the listening `sock` (asyncio's
    /// `sock_accept`): the connection, non-blocking and registered with
    /// this loop, and the peer's address.
    ///
    /// # Errors
    ///
    /// The accept's error (`EMFILE` when out of descriptors, ...), or as
    /// [`sock_recv`](Self::sock_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let address = listener.local_addr().unwrap();
    /// let listener = Registered::new(&event_loop, listener).unwrap();
    /// let client = std::thread::spawn(move || {
    ///     let mut stream = std::net::TcpStream::connect(address).unwrap();
    ///     let mut reply = String::new();
    ///     stream.read_to_string(&mut reply).unwrap();
    ///     reply
    /// });
    /// let handle = event_loop.handle();
    /// event_loop
    ///     .run_until_complete(async move {
    ///         let (connection, peer) = handle.sock_accept(&listener).await?;
    ///         assert!(peer.as_socket().unwrap().ip().is_loopback());
    ///         handle.sock_sendall(&connection, b"welcome").await
    ///     })
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(client.join().unwrap(), "welcome");
    /// ```
    pub async fn sock_accept<S: AsFd>(
        &self,
        sock: &Registered<S>,
    ) -> io::Result<(Registered<Socket>, SockAddr)> {
        self.check_owner(sock)?;
        let (connection, address) = sock.read_with(|io| SockRef::from(io).accept()).await?;
        let connection = Registered::on(&self.weak(), connection).map_err(io::Error::other)?;
        Ok((connection, address))
    }

    /// An error unless `sock` is registered with this loop.
    fn check_owner<S: AsFd>(&self, sock: &Registered<S>) -> io::Result<()> {
        if Weak::ptr_eq(&sock.shared, &self.weak()) {
            Ok(())
        } else {
            Err(io::Error::other(LoopError::foreign_future()))
        }
    }
}

/// Sends `data` on `io` without raising `SIGPIPE` where the OS allows.
fn send(io: &impl AsFd, data: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = 0;
    SockRef::from(io).send_with_flags(data, flags)
}

/// Whether a non-blocking connect's error means "under way".
fn in_progress(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(libc::EINPROGRESS)
}

/// A file descriptor registered with a loop's poller for as long as this
/// value lives: what the `sock_*` coroutines take, and what transports are
/// built on (async-io's `Async<T>`, tokio's `AsyncFd<T>`).
///
/// Registering makes the descriptor non-blocking. The loop keeps the
/// readiness the poller last reported for each direction (both, at first)
/// until an operation finds it gone: [`read_with`](Self::read_with) and
/// [`write_with`](Self::write_with) try the operation at once unless the
/// last one found the descriptor drained, and wait only when it would
/// block, so a ready socket costs the operation's system call and nothing
/// else (no registration per operation, unlike asyncio's `sock_*`, and no
/// read that can only fail after a short one). Dropping it deregisters the descriptor and closes it (with
/// `T`); [`into_inner`](Self::into_inner) deregisters it and hands `T`
/// back. If the loop closes first, operations fail with its
/// [`is_closed`](LoopError::is_closed) error.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use asyncio_loop::{EventLoop, Registered};
///
/// let event_loop = EventLoop::new();
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// let ours = Registered::new(&event_loop, ours).unwrap();
/// let text = event_loop
///     .run_until_complete(async move {
///         theirs.write_all(b"ready").unwrap();
///         let mut buffer = [0; 8];
///         let n = ours.read_with(|mut io| io.read(&mut buffer)).await?;
///         Ok::<_, std::io::Error>(buffer[..n].to_vec())
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(text, b"ready");
/// ```
pub struct Registered<T: AsFd> {
    shared: Weak<Shared>,
    key: usize,
    gen: u32,
    /// `None` only after `into_inner` took it.
    io: Option<T>,
}

impl<T: AsFd> Registered<T> {
    /// Registers `io` with the loop `handle` refers to, and makes it
    /// non-blocking.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) for a closed or dropped loop;
    /// [`is_fd_in_use`](LoopError::is_fd_in_use) if the descriptor is
    /// registered already (or watched by `add_reader`/`add_writer`);
    /// [`io_error`](LoopError::io_error) if the OS refuses (a regular file).
    /// `io` is dropped in each case.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let file = std::fs::File::open("Cargo.toml").unwrap();
    /// assert!(Registered::new(&event_loop, file).unwrap_err().io_error().is_some());
    /// event_loop.close().unwrap();
    /// let (socket, _) = std::os::unix::net::UnixStream::pair().unwrap();
    /// assert!(Registered::new(&event_loop, socket).unwrap_err().is_closed());
    /// ```
    pub fn new(handle: &LoopHandle, io: T) -> Result<Self, LoopError> {
        Registered::on(&handle.weak(), io)
    }

    fn on(shared: &Weak<Shared>, io: T) -> Result<Self, LoopError> {
        let Some(state) = shared.upgrade() else {
            return Err(LoopError::closed());
        };
        SockRef::from(&io)
            .set_nonblocking(true)
            .map_err(LoopError::io)?;
        let (key, gen) = state.register_source(io.as_fd().as_raw_fd(), true)?;
        Ok(Registered {
            shared: shared.clone(),
            key,
            gen,
            io: Some(io),
        })
    }

    /// The registered value.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("taken only by into_inner")
    }

    /// The registered value, mutably (replacing its descriptor is a bug the
    /// loop cannot see).
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("taken only by into_inner")
    }

    /// Deregisters the descriptor and returns the value (still
    /// non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let socket = Registered::new(&event_loop, socket).unwrap().into_inner();
    /// // Free again for add_reader.
    /// event_loop.add_reader(socket.as_raw_fd(), || {}).unwrap();
    /// ```
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.io.take().expect("taken only here")
    }

    /// Lets the loop's stuck check ignore this source (libuv's
    /// `uv_unref`): what waits on it does not count as something that
    /// could still bring work. For the SIGINT handler of [`run`](crate::run).
    pub(crate) fn set_background(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.set_background_source(self.key, self.gen);
        }
    }

    fn deregister(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.deregister_source(self.key, self.gen);
        }
    }

    /// Waits until the descriptor is readable, as the loop last saw it
    /// (ready at once if no operation found it drained since).
    ///
    /// # Errors
    ///
    /// An error whose [`get_ref`](io::Error::get_ref) is the loop's
    /// [`is_closed`](LoopError::is_closed) error when the loop closed.
    pub fn readable(&self) -> Readiness<'_, T> {
        Readiness {
            source: self,
            dir: Dir::Read,
            id: 0,
        }
    }

    /// Waits until the descriptor is writable; see [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// As [`readable`](Self::readable).
    pub fn writable(&self) -> Readiness<'_, T> {
        Readiness {
            source: self,
            dir: Dir::Write,
            id: 0,
        }
    }

    /// Forgets that the descriptor was readable: an operation would block
    /// (or read less than it asked for, which on epoll and kqueue means it
    /// drained the socket), so the next wait waits for the poller.
    pub fn clear_readable(&self) {
        self.clear(Dir::Read);
    }

    /// Forgets that the descriptor was writable; see
    /// [`clear_readable`](Self::clear_readable).
    pub fn clear_writable(&self) {
        self.clear(Dir::Write);
    }

    fn clear(&self, dir: Dir) {
        if let Some(shared) = self.shared.upgrade() {
            shared.clear_ready(self.key, self.gen, dir);
        }
    }

    /// Calls `callback` on every iteration while the loop's cached
    /// readiness shows the descriptor readable: asyncio's internal
    /// `_add_reader`, which its transports are built on (no task, no waker:
    /// a readiness event queues the callback after what is queued). The
    /// callback makes its operation with [`try_read_with`](Self::try_read_with),
    /// which clears the readiness when the operation would block; a
    /// callback that leaves it set (one bounded read of a socket that holds
    /// more) runs again on the next iteration, so each source gets one
    /// turn per iteration. Replaces (and cancels the queued call of) a
    /// reader it had. The loop holds the callback until
    /// [`remove_reader`](Self::remove_reader), the source's drop or the
    /// loop's close: a callback that holds what owns this source is a
    /// cycle until then.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) when the loop is closed or gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    /// use asyncio_loop::{EventLoop, Registered};
    ///
    /// let event_loop = EventLoop::new();
    /// let (ours, mut theirs) = UnixStream::pair().unwrap();
    /// let ours = Rc::new(Registered::new(&event_loop, ours).unwrap());
    /// let received = Rc::new(RefCell::new(Vec::new()));
    /// let (source, sink, handle) = (ours.clone(), received.clone(), event_loop.handle());
    /// ours.set_reader(move || {
    ///     let mut buffer = [0; 4];
    ///     match source.try_read_with(|mut io| io.read(&mut buffer)) {
    ///         Ok(n) => sink.borrow_mut().extend_from_slice(&buffer[..n]),
    ///         Err(_) => return, // would block: wait for the next event
    ///     }
    ///     if sink.borrow().len() == 10 {
    ///         source.remove_reader();
    ///         handle.stop();
    ///     }
    /// })
    /// .unwrap();
    /// theirs.write_all(b"0123456789").unwrap();
    /// event_loop.run_forever().unwrap();
    /// // Four bytes per call, one call per iteration.
    /// assert_eq!(&*received.borrow(), b"0123456789");
    /// ```
    pub fn set_reader<F: FnMut() + 'static>(&self, callback: F) -> Result<(), LoopError> {
        self.set_callback(Dir::Read, callback)
    }

    /// Calls `callback` on every iteration while the descriptor is
    /// writable; see [`set_reader`](Self::set_reader).
    ///
    /// # Errors
    ///
    /// As [`set_reader`](Self::set_reader).
    pub fn set_writer<F: FnMut() + 'static>(&self, callback: F) -> Result<(), LoopError> {
        self.set_callback(Dir::Write, callback)
    }

    fn set_callback<F: FnMut() + 'static>(&self, dir: Dir, callback: F) -> Result<(), LoopError> {
        match self.shared.upgrade() {
            Some(shared) => shared.set_source_callback(self.key, self.gen, dir, callback),
            None => Err(LoopError::closed()),
        }
    }

    /// Removes the reader callback: whether there was one (its queued call,
    /// if any, is cancelled).
    pub fn remove_reader(&self) -> bool {
        self.remove_callback(Dir::Read)
    }

    /// Removes the writer callback: whether there was one.
    pub fn remove_writer(&self) -> bool {
        self.remove_callback(Dir::Write)
    }

    fn remove_callback(&self, dir: Dir) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|shared| shared.remove_source_callback(self.key, self.gen, dir))
    }

    /// Runs the read-like `op` once, now, for a reader callback: on
    /// `WouldBlock` the readiness is cleared (the callback runs again after
    /// the next event) and the error returned.
    ///
    /// # Errors
    ///
    /// `op`'s error.
    pub fn try_read_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_with(Dir::Read, op)
    }

    /// Runs the write-like `op` once, now, for a writer callback; see
    /// [`try_read_with`](Self::try_read_with).
    ///
    /// # Errors
    ///
    /// `op`'s error.
    pub fn try_write_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_with(Dir::Write, op)
    }

    fn try_with<R>(&self, dir: Dir, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let done = op(self.get_ref());
        if matches!(&done, Err(error) if error.kind() == io::ErrorKind::WouldBlock) {
            self.clear(dir);
        }
        done
    }

    /// Runs the read-like `op` until it does not fail with `WouldBlock`,
    /// waiting for readability first whenever an operation found the
    /// descriptor drained since the poller last reported it (so the first
    /// try of a fresh source, or one the poller reported ready, is made at
    /// once, and a try that could only fail is skipped), and retrying at
    /// once on `Interrupted`.
    ///
    /// # Errors
    ///
    /// `op`'s error, or as [`readable`](Self::readable).
    pub async fn read_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.io_with(Dir::Read, op).await
    }

    /// Runs the write-like `op` until it does not fail with `WouldBlock`;
    /// see [`read_with`](Self::read_with).
    ///
    /// # Errors
    ///
    /// `op`'s error, or as [`readable`](Self::readable).
    pub async fn write_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.io_with(Dir::Write, op).await
    }

    async fn io_with<R>(&self, dir: Dir, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            // Ready at once unless an operation cleared the readiness.
            Readiness {
                source: self,
                dir,
                id: 0,
            }
            .await?;
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.clear(dir),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                done => return done,
            }
        }
    }
}

impl<T: AsFd> AsFd for Registered<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for Registered<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> Drop for Registered<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            self.deregister();
        }
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Registered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered").field("io", &self.io).finish()
    }
}

/// The future of [`Registered::readable`] and [`Registered::writable`]:
/// ready when the loop has seen the descriptor ready for that direction.
/// Dropped while it waits, it stops waiting.
#[must_use = "futures do nothing unless awaited"]
pub struct Readiness<'a, T: AsFd> {
    source: &'a Registered<T>,
    dir: Dir,
    /// Its waiter id once it waits (0 before).
    id: u64,
}

impl<T: AsFd> StdFuture for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let source = this.source;
        let Some(shared) = source.shared.upgrade() else {
            return Poll::Ready(Err(io::Error::other(LoopError::closed())));
        };
        if this.id == 0 {
            this.id = shared.io_waiter_id();
        }
        match shared.poll_source(source.key, source.gen, this.dir, this.id, cx.waker()) {
            Ok(true) => {
                this.id = 0;
                Poll::Ready(Ok(()))
            }
            Ok(false) => Poll::Pending,
            Err(error) => {
                this.id = 0;
                Poll::Ready(Err(io::Error::other(error)))
            }
        }
    }
}

impl<T: AsFd> Drop for Readiness<'_, T> {
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        if let Some(shared) = self.source.shared.upgrade() {
            shared.forget_io_waiter(self.source.key, self.source.gen, self.dir, self.id);
        }
    }
}

impl<T: AsFd> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("dir", &self.dir).finish()
    }
}
