//! `getaddrinfo` and `getnameinfo` (asyncio's `loop.getaddrinfo` and
//! `loop.getnameinfo`): the C library's resolver (`/etc/hosts`, nsswitch,
//! DNS, `/etc/services`) run on the loop's default executor, as asyncio
//! and uvloop run it off the loop's thread, through the `dns-lookup`
//! crate's safe wrappers.
//!
//! A lookup is an executor job: it keeps the loop from being stuck while it
//! runs, and cancelling the task that awaits it cancels the wait only (the
//! C call runs to its end; its answer is dropped).

use std::net::SocketAddr;

use asyncio_loop::socket2::{Domain, Protocol, Type};
use asyncio_loop::LoopHandle;

use crate::NetError;

/// What `getaddrinfo` should look for (its `hints`): a family, a socket
/// type, a protocol (each any by default) and `AI_*` flags.
///
/// # Examples
///
/// ```
/// use asyncio_net::AddrInfoHints;
/// use asyncio_net::socket2::{Protocol, Type};
///
/// // asyncio's `getaddrinfo(host, port, proto=IPPROTO_TCP)`.
/// let hints = AddrInfoHints::new().protocol(Protocol::TCP);
/// let streams = AddrInfoHints::new().socktype(Type::STREAM).flags(libc::AI_NUMERICHOST);
/// # let _ = (hints, streams);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddrInfoHints {
    family: Option<Domain>,
    socktype: Option<Type>,
    protocol: Option<Protocol>,
    flags: i32,
}

impl AddrInfoHints {
    /// Any family, type and protocol, no flags (asyncio's defaults).
    pub fn new() -> Self {
        AddrInfoHints::default()
    }

    /// Only addresses of `family` (asyncio's `family=`).
    pub fn family(mut self, family: Domain) -> Self {
        self.family = Some(family);
        self
    }

    /// Only entries for sockets of `socktype` (asyncio's `type=`).
    pub fn socktype(mut self, socktype: Type) -> Self {
        self.socktype = Some(socktype);
        self
    }

    /// Only entries for `protocol` (asyncio's `proto=`).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The C library's `AI_*` flags, or-ed (asyncio's `flags=`).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }

    fn to_lookup(self) -> dns_lookup::AddrInfoHints {
        dns_lookup::AddrInfoHints {
            flags: self.flags,
            address: self.family.map_or(0, i32::from),
            socktype: self.socktype.map_or(0, i32::from),
            protocol: self.protocol.map_or(0, i32::from),
        }
    }
}

/// One entry of a `getaddrinfo` answer (asyncio's `(family, type, proto,
/// canonname, sockaddr)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address family (`AF_INET`, `AF_INET6`).
    pub family: Domain,
    /// The socket type (`SOCK_STREAM`, ...).
    pub socktype: Type,
    /// The protocol (`IPPROTO_TCP`, ...).
    pub protocol: Protocol,
    /// The host's canonical name, when `AI_CANONNAME` asked for it.
    pub canonname: Option<String>,
    /// The address, with the service's port.
    pub address: SocketAddr,
}

/// Resolves `host` and `service` (a port number or a service name such as
/// `https`) with the system resolver on the loop's default executor
/// (asyncio's `loop.getaddrinfo`): the entries in the resolver's order.
///
/// # Errors
///
/// A [`Resolve`](crate::NetErrorKind::Resolve) error with the resolver's
/// code and text ([`NetError::resolver_code`]; `Name or service not known`
/// is `EAI_NONAME`); an invalid-argument error when neither `host` nor
/// `service` is given or one holds a NUL byte; the loop's error; the
/// cancellation of the awaiting task.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_net::socket2::Protocol;
/// use asyncio_net::{getaddrinfo, AddrInfoHints};
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let found = event_loop
///     .run_until_complete(async move {
///         let hints = AddrInfoHints::new().protocol(Protocol::TCP);
///         getaddrinfo(&handle, Some("127.0.0.1"), Some("https"), &hints).await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(found[0].address.to_string(), "127.0.0.1:443");
/// ```
pub async fn getaddrinfo(
    handle: &LoopHandle,
    host: Option<&str>,
    service: Option<&str>,
    hints: &AddrInfoHints,
) -> Result<Vec<AddrInfo>, NetError> {
    if host.is_none() && service.is_none() {
        return Err(NetError::invalid_argument(
            "getaddrinfo needs a host or a service".to_owned(),
        ));
    }
    if host
        .into_iter()
        .chain(service)
        .any(|text| text.contains('\0'))
    {
        return Err(NetError::invalid_argument(
            "a host or service with a NUL byte".to_owned(),
        ));
    }
    let host = host.map(str::to_owned);
    let service = service.map(str::to_owned);
    let hints = hints.to_lookup();
    handle
        .run_in_executor(move || lookup(host.as_deref(), service.as_deref(), hints))?
        .wait_take()
        .await?
}

/// The blocking lookup, on an executor thread.
fn lookup(
    host: Option<&str>,
    service: Option<&str>,
    hints: dns_lookup::AddrInfoHints,
) -> Result<Vec<AddrInfo>, NetError> {
    let entries = dns_lookup::getaddrinfo(host, service, Some(hints)).map_err(resolve_error)?;
    entries
        .map(|entry| {
            let entry = entry?;
            Ok(AddrInfo {
                family: Domain::from(entry.address),
                socktype: Type::from(entry.socktype),
                protocol: Protocol::from(entry.protocol),
                canonname: entry.canonname,
                address: entry.sockaddr,
            })
        })
        .collect()
}

/// Looks `address` up in reverse with the system resolver on the loop's
/// default executor (asyncio's `loop.getnameinfo`): the host's name and
/// the port's service name. Without `NI_NAMEREQD` in `flags`, an address
/// with no name comes back as itself, and a port with no service name as
/// its number.
///
/// # Errors
///
/// A [`Resolve`](crate::NetErrorKind::Resolve) error with the resolver's
/// code and text; the loop's error; the cancellation of the awaiting task.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_net::getnameinfo;
///
/// let event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let (host, service) = event_loop
///     .run_until_complete(async move {
///         getnameinfo(&handle, "127.0.0.1:443".parse().unwrap(), libc::NI_NUMERICHOST).await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!((host.as_str(), service.as_str()), ("127.0.0.1", "https"));
/// ```
pub async fn getnameinfo(
    handle: &LoopHandle,
    address: SocketAddr,
    flags: i32,
) -> Result<(String, String), NetError> {
    handle
        .run_in_executor(move || dns_lookup::getnameinfo(&address, flags).map_err(resolve_error))?
        .wait_take()
        .await?
}

/// The resolver's failure as a `NetError`: its `EAI_*` code and text, or
/// the OS error behind `EAI_SYSTEM`.
fn resolve_error(error: dns_lookup::LookupError) -> NetError {
    let code = error.error_num();
    let system = matches!(
        error.kind(),
        dns_lookup::LookupErrorKind::IO | dns_lookup::LookupErrorKind::System
    );
    let inner = std::io::Error::from(error);
    if system || code == 0 {
        return NetError::from(inner);
    }
    // dns-lookup puts its own words before `gai_strerror`'s text.
    let text = inner.to_string();
    let message = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text);
    NetError::resolve(code, message.to_owned())
}
