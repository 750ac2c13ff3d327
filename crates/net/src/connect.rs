//! `create_connection` and `create_unix_connection` (asyncio's
//! `loop.create_connection`), and the resolving of hosts they share with
//! servers.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use asyncio_loop::socket2::{Domain, SockAddr, Socket, Type};
use asyncio_loop::{LoopHandle, Registered};

use crate::protocol::ProtocolFactory;
use crate::{NetError, Transport};

/// The addresses of `host` and `port`, in the resolver's order: a numeric
/// host as it is (no lookup), a name through the system resolver
/// (`getaddrinfo`) on the loop's default executor, as asyncio does.
pub(crate) async fn resolve(
    handle: &LoopHandle,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, NetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.to_owned();
    let found = handle
        .run_in_executor(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
                .map_err(|error| error.to_string())
        })?
        .wait()
        .await?;
    let mut addresses = found.map_err(|error| NetError::other(&error))?;
    // One attempt per address, in the resolver's order.
    let mut seen = std::collections::HashSet::new();
    addresses.retain(|address| seen.insert(*address));
    if addresses.is_empty() {
        return Err(NetError::other("getaddrinfo() returned empty list"));
    }
    Ok(addresses)
}

/// Connects to `host` and `port` and runs a protocol from `factory` on the
/// connection (asyncio's `loop.create_connection`): returns the transport
/// once the protocol's `connection_made` has run.
///
/// A numeric host skips the resolver; a name is resolved on the loop's
/// default executor, and its addresses are tried in order until one
/// connects. The protocol is the transport's; reach it with
/// [`Transport::with_protocol`] (or give it something shared, as the
/// chapter's client gives it a future).
///
/// # Errors
///
/// The connect's error (`ConnectionRefused`, ...); when several addresses
/// fail with different errors, all of them
/// ([`NetError::io_errors`]); the resolver's error; the loop's.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use asyncio_loop::EventLoop;
/// use asyncio_net::{create_connection, Protocol, Transport};
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"hello").unwrap();
///         transport.close();
///     }
/// }
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let peer = std::thread::spawn(move || {
///     let (mut stream, _) = listener.accept().unwrap();
///     let mut text = String::new();
///     stream.read_to_string(&mut text).unwrap();
///     text
/// });
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// event_loop
///     .run_until_complete(async move {
///         let transport = create_connection(&handle, || Hello, "127.0.0.1", port).await?;
///         // Closing: the buffer is sent, then the connection is lost.
///         assert!(transport.is_closing());
///         handle.sleep(0.0).await?;
///         Ok::<_, asyncio_net::NetError>(())
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(peer.join().unwrap(), "hello");
/// ```
pub async fn create_connection(
    handle: &LoopHandle,
    mut factory: impl ProtocolFactory,
    host: &str,
    port: u16,
) -> Result<Transport, NetError> {
    let addresses = resolve(handle, host, port).await?;
    let mut errors: Vec<(String, NetError)> = Vec::new();
    for address in addresses {
        match connect(handle, Domain::for_address(address), &address.into()).await {
            Ok(socket) => return start(handle, &mut factory, socket).await,
            Err(error) if error.io_error().is_some() => errors.push((address.to_string(), error)),
            Err(error) => return Err(error),
        }
    }
    // One distinct error is raised as it is; several together.
    let first = errors.first().map(|(_, error)| error.to_string());
    if errors
        .iter()
        .all(|(_, error)| Some(error.to_string()) == first)
    {
        let (_, error) = errors.swap_remove(0);
        return Err(error);
    }
    Err(NetError::multiple(errors))
}

/// Connects to the Unix socket at `path` and runs a protocol from
/// `factory` on it (asyncio's `loop.create_unix_connection`).
///
/// # Errors
///
/// The connect's error, or the loop's.
pub async fn create_unix_connection(
    handle: &LoopHandle,
    mut factory: impl ProtocolFactory,
    path: impl AsRef<std::path::Path>,
) -> Result<Transport, NetError> {
    let address = SockAddr::unix(path)?;
    let socket = connect(handle, Domain::UNIX, &address).await?;
    start(handle, &mut factory, socket).await
}

/// A socket of `domain` connected to `address` without blocking the loop.
async fn connect(
    handle: &LoopHandle,
    domain: Domain,
    address: &SockAddr,
) -> Result<Socket, NetError> {
    let socket = Registered::new(handle, Socket::new(domain, Type::STREAM, None)?)?;
    handle.sock_connect(&socket, address.clone()).await?;
    Ok(socket.into_inner())
}

/// A transport and a protocol on the connected `socket`, returned once
/// `connection_made` ran.
async fn start(
    handle: &LoopHandle,
    factory: &mut impl ProtocolFactory,
    socket: Socket,
) -> Result<Transport, NetError> {
    let protocol = factory.make();
    let (transport, waiter) = Transport::start(handle, socket, protocol, None, None)?;
    waiter.wait().await?;
    Ok(transport)
}
