//! `create_connection` and `create_unix_connection` (asyncio's
//! `loop.create_connection`), and the resolving of hosts they share with
//! servers.

use std::future::{poll_fn, Future as StdFuture};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;

use asyncio_loop::socket2::{SockAddr, Socket, Type};
use asyncio_loop::{LoopHandle, Registered, Sleep};

use crate::dns::{getaddrinfo, AddrInfoHints};
use crate::protocol::ProtocolFactory;
use crate::{NetError, Transport};

/// The addresses of `host` and `port`, in the resolver's order: a numeric
/// host as it is (no lookup), a name through [`getaddrinfo`] (the system
/// resolver on the loop's default executor), as asyncio does.
pub(crate) async fn resolve(
    handle: &LoopHandle,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, NetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let hints = AddrInfoHints::new().socktype(Type::STREAM);
    let found = getaddrinfo(handle, Some(host), Some(&port.to_string()), &hints).await?;
    // One attempt per address, in the resolver's order.
    let mut addresses: Vec<SocketAddr> = Vec::with_capacity(found.len());
    for entry in found {
        if !addresses.contains(&entry.address) {
            addresses.push(entry.address);
        }
    }
    if addresses.is_empty() {
        return Err(NetError::other("getaddrinfo() returned empty list"));
    }
    Ok(addresses)
}

/// Options of [`create_connection_with`] (asyncio's keyword arguments of
/// `loop.create_connection`).
///
/// # Examples
///
/// ```
/// use asyncio_net::ConnectOptions;
///
/// // RFC 8305's recommended delay, families alternating from the first.
/// let options = ConnectOptions::new().happy_eyeballs_delay(0.25);
/// assert_eq!(options.get_happy_eyeballs_delay(), Some(0.25));
/// assert_eq!(options.get_interleave(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    happy_eyeballs_delay: Option<f64>,
    interleave: Option<usize>,
    local_addr: Option<SocketAddr>,
}

impl ConnectOptions {
    /// asyncio's defaults: addresses tried one after another, in the
    /// resolver's order, from any local address.
    pub fn new() -> Self {
        ConnectOptions::default()
    }

    /// Happy eyeballs (RFC 8305): start the next address's attempt
    /// `seconds` after the previous one started (or at once when it
    /// failed), keep the earlier ones going, take the first to connect and
    /// close the others. asyncio's `happy_eyeballs_delay`; RFC 8305
    /// recommends 0.25.
    pub fn happy_eyeballs_delay(mut self, seconds: f64) -> Self {
        self.happy_eyeballs_delay = Some(seconds.max(0.0));
        self
    }

    /// The happy-eyeballs delay set, if any.
    pub fn get_happy_eyeballs_delay(&self) -> Option<f64> {
        self.happy_eyeballs_delay
    }

    /// Reorders the resolved addresses by family: the first `count` of the
    /// first family, then one of each family in turn (asyncio's
    /// `interleave`). 0 keeps the resolver's order.
    pub fn interleave(mut self, count: usize) -> Self {
        self.interleave = Some(count);
        self
    }

    /// The interleave in effect: the one set, else 1 with happy eyeballs
    /// and 0 without (asyncio's default).
    pub fn get_interleave(&self) -> usize {
        self.interleave
            .unwrap_or(usize::from(self.happy_eyeballs_delay.is_some()))
    }

    /// Binds each attempt's socket to `address` before it connects
    /// (asyncio's `local_addr`); only the peer addresses of its family are
    /// tried.
    pub fn local_addr(mut self, address: SocketAddr) -> Self {
        self.local_addr = Some(address);
        self
    }
}

/// Connects to `host` and `port` and runs a protocol from `factory` on the
/// connection (asyncio's `loop.create_connection`), with
/// [`ConnectOptions`]' defaults: returns the transport once the protocol's
/// `connection_made` has run. See [`create_connection_with`].
///
/// # Errors
///
/// As [`create_connection_with`].
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
    factory: impl ProtocolFactory,
    host: &str,
    port: u16,
) -> Result<Transport, NetError> {
    create_connection_with(handle, factory, host, port, &ConnectOptions::new()).await
}

/// [`create_connection`] with [`ConnectOptions`].
///
/// A numeric host skips the resolver; a name is resolved on the loop's
/// default executor, and its addresses are tried in order until one
/// connects (or raced, with [`ConnectOptions::happy_eyeballs_delay`]).
/// The protocol is the transport's; reach it with
/// [`Transport::with_protocol`] (or give it something shared, as the
/// chapter's client gives it a future).
///
/// # Errors
///
/// The connect's error (`ConnectionRefused`, ...); when several addresses
/// fail with different errors, all of them
/// ([`NetError::io_errors`]); the resolver's error; an invalid-argument
/// error when no address is of the local address's family; the loop's.
pub async fn create_connection_with(
    handle: &LoopHandle,
    mut factory: impl ProtocolFactory,
    host: &str,
    port: u16,
    options: &ConnectOptions,
) -> Result<Transport, NetError> {
    let mut addresses = resolve(handle, host, port).await?;
    if let Some(local) = options.local_addr {
        addresses.retain(|address| address.is_ipv4() == local.is_ipv4());
        if addresses.is_empty() {
            return Err(NetError::invalid_argument(format!(
                "no address of {host} matches the family of the local address {local}"
            )));
        }
    }
    let addresses = interleave(addresses, options.get_interleave());
    let socket = match options.happy_eyeballs_delay {
        None => connect_in_turn(handle, addresses, options.local_addr).await?,
        Some(delay) => connect_staggered(handle, addresses, options.local_addr, delay).await?,
    };
    start(handle, &mut factory, socket).await
}

/// The addresses reordered as asyncio's `_interleave_addrinfos`: grouped
/// by family in order of first appearance, the first `first_count` of the
/// first family, then one of each family in turn. 0 keeps them as they are.
fn interleave(addresses: Vec<SocketAddr>, first_count: usize) -> Vec<SocketAddr> {
    if first_count == 0 {
        return addresses;
    }
    let mut families: Vec<std::collections::VecDeque<SocketAddr>> = Vec::new();
    let mut first_v4 = None;
    for address in addresses {
        let v4 = address.is_ipv4();
        let first = *first_v4.get_or_insert(v4);
        let at = usize::from(v4 != first);
        if families.len() <= at {
            families.resize_with(at + 1, Default::default);
        }
        families[at].push_back(address);
    }
    let mut ordered = Vec::new();
    if let Some(first) = families.first_mut() {
        let take = first_count.saturating_sub(1).min(first.len());
        ordered.extend(first.drain(..take));
    }
    while families.iter().any(|family| !family.is_empty()) {
        for family in &mut families {
            ordered.extend(family.pop_front());
        }
    }
    ordered
}

/// One attempt after another, in order; the first to connect.
async fn connect_in_turn(
    handle: &LoopHandle,
    addresses: Vec<SocketAddr>,
    local: Option<SocketAddr>,
) -> Result<Socket, NetError> {
    let mut errors: Vec<(String, NetError)> = Vec::new();
    for address in addresses {
        match connect(handle, address.into(), local).await {
            Ok(socket) => return Ok(socket),
            Err(error) if error.io_error().is_some() => errors.push((address.to_string(), error)),
            Err(error) => return Err(error),
        }
    }
    Err(all_failed(errors))
}

/// asyncio's `staggered_race` over the addresses: an attempt starts when
/// the one started before it fails or `delay` seconds after it started;
/// the first to connect wins and the others are dropped (cancelled, their
/// sockets closed).
async fn connect_staggered(
    handle: &LoopHandle,
    addresses: Vec<SocketAddr>,
    local: Option<SocketAddr>,
    delay: f64,
) -> Result<Socket, NetError> {
    type Attempt<'a> = Pin<Box<dyn StdFuture<Output = Result<Socket, NetError>> + 'a>>;
    let mut waiting = addresses.into_iter();
    // Each running attempt with its index and address.
    let mut running: Vec<(usize, SocketAddr, Attempt<'_>)> = Vec::new();
    let mut started = 0;
    let mut errors: Vec<(usize, String, NetError)> = Vec::new();
    let mut timer: Option<Sleep> = None;
    let outcome = poll_fn(|cx| loop {
        // Start the next attempt when none runs, when the latest failed
        // (it left `running`), or when the timer fired.
        let latest_running = running.iter().any(|(index, ..)| *index + 1 == started);
        let fired = timer
            .as_mut()
            .is_some_and(|timer| Pin::new(timer).poll(cx).is_ready());
        if !latest_running || fired {
            match waiting.next() {
                Some(address) => {
                    running.push((
                        started,
                        address,
                        Box::pin(connect(handle, address.into(), local)),
                    ));
                    started += 1;
                    timer = Some(handle.sleep(delay));
                    // Poll the new timer (so it wakes us) and the attempt.
                    continue;
                }
                None if running.is_empty() => return Poll::Ready(Err(None)),
                None => timer = None,
            }
        }
        let mut progressed = false;
        let mut at = 0;
        while at < running.len() {
            match running[at].2.as_mut().poll(cx) {
                Poll::Ready(Ok(socket)) => return Poll::Ready(Ok(socket)),
                Poll::Ready(Err(error)) => {
                    let (index, address, _) = running.swap_remove(at);
                    if error.io_error().is_none() {
                        // The loop's error, not the address's: stop.
                        return Poll::Ready(Err(Some(error)));
                    }
                    errors.push((index, address.to_string(), error));
                    progressed = true;
                }
                Poll::Pending => at += 1,
            }
        }
        if !progressed && !fired {
            return Poll::Pending;
        }
    })
    .await;
    // The losers (still connecting) are dropped here.
    drop(running);
    outcome.map_err(|fatal| {
        fatal.unwrap_or_else(|| {
            // In the order the attempts started, as asyncio lists them.
            errors.sort_by_key(|(index, ..)| *index);
            all_failed(
                errors
                    .into_iter()
                    .map(|(_, address, error)| (address, error))
                    .collect(),
            )
        })
    })
}

/// The error of attempts that all failed: one distinct error as it is,
/// several together.
fn all_failed(mut errors: Vec<(String, NetError)>) -> NetError {
    if errors.is_empty() {
        return NetError::other("no address to connect to");
    }
    let first = errors.first().map(|(_, error)| error.to_string());
    if errors
        .iter()
        .all(|(_, error)| Some(error.to_string()) == first)
    {
        return errors.swap_remove(0).1;
    }
    NetError::multiple(errors)
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
    let socket = connect(handle, address, None).await?;
    start(handle, &mut factory, socket).await
}

/// A socket connected to `address` without blocking the loop, bound to
/// `local` first if given.
async fn connect(
    handle: &LoopHandle,
    address: SockAddr,
    local: Option<SocketAddr>,
) -> Result<Socket, NetError> {
    let socket = Socket::new(address.domain(), Type::STREAM, None)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    let socket = Registered::new(handle, socket)?;
    handle.sock_connect(&socket, address).await?;
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

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use asyncio_loop::{wait_for, EventLoop};

    use super::*;

    fn v4(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn v6(port: u16) -> SocketAddr {
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port))
    }

    /// asyncio's `_interleave_addrinfos`, checked against CPython 3.11:
    /// `[v6 1, v6 2, v6 3, v4 4, v4 5]` with 1 gives `1 4 2 5 3`, with 2
    /// gives `1 2 4 3 5`.
    #[test]
    fn interleaving_alternates_families_after_the_first_count() {
        let addresses = vec![v6(1), v6(2), v6(3), v4(4), v4(5)];
        let ports = |list: Vec<SocketAddr>| list.iter().map(SocketAddr::port).collect::<Vec<_>>();
        assert_eq!(ports(interleave(addresses.clone(), 0)), [1, 2, 3, 4, 5]);
        assert_eq!(ports(interleave(addresses.clone(), 1)), [1, 4, 2, 5, 3]);
        assert_eq!(ports(interleave(addresses.clone(), 2)), [1, 2, 4, 3, 5]);
        assert_eq!(ports(interleave(addresses, 9)), [1, 2, 3, 4, 5]);
        assert_eq!(ports(interleave(vec![v4(1), v4(2)], 1)), [1, 2]);
        assert!(interleave(Vec::new(), 1).is_empty());
    }

    /// A listener whose accept queue is full: a further connect to it
    /// waits (the kernel drops its SYN) until it is given up.
    fn stuck_listener() -> (Socket, std::net::TcpStream, u16) {
        let listener =
            Socket::new(asyncio_loop::socket2::Domain::IPV4, Type::STREAM, None).unwrap();
        listener.bind(&v4(0).into()).unwrap();
        listener.listen(0).unwrap();
        let port = listener.local_addr().unwrap().as_socket().unwrap().port();
        let filler = std::net::TcpStream::connect(v4(port)).unwrap();
        (listener, filler, port)
    }

    fn run<T: 'static>(
        seconds: f64,
        body: impl FnOnce(LoopHandle) -> Pin<Box<dyn StdFuture<Output = Result<T, NetError>>>>,
    ) -> T {
        let event_loop = EventLoop::new();
        let handle = event_loop.handle();
        event_loop
            .run_until_complete(wait_for(body(handle), seconds))
            .expect("the loop ran")
            .expect("finished in time and succeeded")
    }

    /// The peer a staggered race over `addresses` connected to, and how
    /// long it took.
    fn race(addresses: Vec<SocketAddr>, delay: f64) -> (Result<SocketAddr, NetError>, Duration) {
        let began = Instant::now();
        let peer = run(10.0, move |handle| {
            Box::pin(async move {
                Ok(connect_staggered(&handle, addresses, None, delay)
                    .await
                    .and_then(|socket| Ok(socket.peer_addr()?))
                    .map(|address| address.as_socket().unwrap()))
            })
        });
        (peer, began.elapsed())
    }

    /// Happy eyeballs: the first address hangs, the second connects once
    /// the delay has passed, and the hanging attempt is dropped.
    #[test]
    fn a_staggered_race_connects_to_the_second_address_when_the_first_hangs() {
        let (_stuck, _filler, stuck_port) = stuck_listener();
        // The filler took the only place: a plain attempt would hang.
        let good = TcpListener::bind(v4(0)).unwrap();
        let good_port = good.local_addr().unwrap().port();
        let (peer, took) = race(vec![v4(stuck_port), v4(good_port)], 0.05);
        assert_eq!(peer.unwrap(), v4(good_port));
        assert!(took >= Duration::from_millis(50), "{took:?}");
        // Well before the stuck SYN's first retransmission (1 s).
        assert!(took < Duration::from_millis(900), "{took:?}");
        good.accept().unwrap();
    }

    /// A refused first attempt starts the next at once, without waiting
    /// for the delay; all refused is one error.
    #[test]
    fn a_failed_attempt_starts_the_next_at_once() {
        let refused = TcpListener::bind(v4(0)).unwrap();
        let refused_port = refused.local_addr().unwrap().port();
        drop(refused);
        let good = TcpListener::bind(v4(0)).unwrap();
        let good_port = good.local_addr().unwrap().port();
        let (peer, took) = race(vec![v4(refused_port), v4(good_port)], 5.0);
        assert_eq!(peer.unwrap(), v4(good_port));
        assert!(took < Duration::from_secs(2), "{took:?}");
        let (error, _) = race(vec![v4(refused_port)], 5.0);
        let error = error.unwrap_err();
        assert_eq!(
            error.io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
    }

    /// `local_addr` binds the socket; a peer of the other family is refused
    /// as an invalid argument before any attempt.
    #[test]
    fn a_local_address_binds_the_socket_and_filters_the_family() {
        let good = TcpListener::bind(v4(0)).unwrap();
        let port = good.local_addr().unwrap().port();
        let (local, wrong) = run(10.0, move |handle| {
            Box::pin(async move {
                let options = ConnectOptions::new().local_addr(v4(0));
                let transport =
                    create_connection_with(&handle, || NoOp, "127.0.0.1", port, &options).await?;
                let local = transport.sockname().and_then(|a| a.as_socket());
                transport.abort();
                let options = ConnectOptions::new().local_addr(v6(0));
                let wrong = create_connection_with(&handle, || NoOp, "127.0.0.1", port, &options)
                    .await
                    .unwrap_err();
                Ok((local, wrong))
            })
        });
        assert_eq!(local.map(|a| a.ip()), Some(v4(0).ip()));
        assert!(wrong.is_invalid_argument(), "{wrong:?}");
    }

    struct NoOp;
    impl crate::Protocol for NoOp {}
}
