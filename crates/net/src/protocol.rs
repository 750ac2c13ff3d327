//! `Protocol` and `BufferedProtocol`: what a connection calls, asyncio's
//! `protocols.py` as traits.

use std::any::Any;
use std::io;

use crate::{NetError, Transport};

/// The callbacks of a connection (asyncio's `Protocol`), called by its
/// [`Transport`] in this order, each at most as shown:
///
/// ```text
/// connection_made  data_received*  eof_received?  connection_lost
/// ```
///
/// `connection_lost` is called exactly once, with `None` for a clean close
/// or EOF and the error otherwise; nothing is called after it.
/// `pause_writing` and `resume_writing` alternate between
/// `connection_made` and `connection_lost`, when the transport's write
/// buffer goes above its high-water mark and back to its low-water mark.
///
/// Every method has a default that does nothing (`eof_received`'s returns
/// `false`: the transport closes itself). A callback that panics is a fatal
/// error of its connection: the panic goes to the loop's exception handler
/// and the connection is closed with [`NetErrorKind::Protocol`](crate::NetErrorKind::Protocol);
/// the loop and the other connections go on.
///
/// # Examples
///
/// ```
/// use asyncio_net::{Protocol, Transport};
///
/// /// Echoes what it receives, as the chapter's server does.
/// struct Echo {
///     transport: Option<Transport>,
/// }
///
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: &Transport) {
///         self.transport = Some(transport.clone());
///     }
///
///     fn data_received(&mut self, data: &[u8]) {
///         if let Some(transport) = &self.transport {
///             transport.write(data).unwrap();
///         }
///     }
/// }
/// ```
pub trait Protocol: 'static {
    /// The connection is made: `transport` is how to write to it (clone it
    /// to keep it).
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// Bytes arrived: as much as one read returned (how the peer's writes
    /// are split into calls varies).
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer shut its writing side down. Returning `true` keeps the
    /// connection open for writing (half-close); `false` closes it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is closed: `None` for a clean close (ours or an EOF),
    /// the error otherwise. The last call.
    fn connection_lost(&mut self, error: Option<NetError>) {
        let _ = error;
    }

    /// The transport's write buffer went above its high-water mark: stop
    /// writing until [`resume_writing`](Self::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark: writing may go on.
    fn resume_writing(&mut self) {}
}

/// A protocol that receives into its own buffer (asyncio's
/// `BufferedProtocol`): the transport asks for a buffer, reads into it and
/// says how much it filled, so no bytes are copied between.
///
/// Call order:
///
/// ```text
/// connection_made  (get_buffer  buffer_updated?)*  eof_received?  connection_lost
/// ```
///
/// # Examples
///
/// ```
/// use asyncio_net::BufferedProtocol;
///
/// /// Counts the bytes it receives, in a buffer of its own.
/// struct Counter {
///     buffer: Vec<u8>,
///     received: usize,
/// }
///
/// impl BufferedProtocol for Counter {
///     fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
///         &mut self.buffer
///     }
///
///     fn buffer_updated(&mut self, filled: usize) {
///         self.received += filled;
///     }
/// }
/// ```
pub trait BufferedProtocol: 'static {
    /// As [`Protocol::connection_made`].
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// The buffer to read into (`size_hint` is what the transport would
    /// like; any non-empty size works). An empty buffer is a fatal error.
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// The first `filled` bytes of the last buffer were written.
    fn buffer_updated(&mut self, filled: usize);

    /// As [`Protocol::eof_received`].
    fn eof_received(&mut self) -> bool {
        false
    }

    /// As [`Protocol::connection_lost`].
    fn connection_lost(&mut self, error: Option<NetError>) {
        let _ = error;
    }

    /// As [`Protocol::pause_writing`].
    fn pause_writing(&mut self) {}

    /// As [`Protocol::resume_writing`].
    fn resume_writing(&mut self) {}
}

/// A connection's protocol, of either kind, as the transport holds it.
pub(crate) enum AnyProtocol {
    Plain(Box<dyn PlainProtocol>),
    Buffered(Box<dyn BufferedAny>),
    InPlace(Box<dyn ReadsInPlace>),
}

/// A protocol that takes a connection's bytes into a buffer of its own by
/// lending that buffer to the read (the streams' protocol: one copy out of
/// the kernel, no `&mut [u8]` to hand out of a `RefCell`). Crate-private:
/// a user's protocol is a [`Protocol`] or a [`BufferedProtocol`].
pub(crate) trait ReadsInPlace: Protocol {
    /// Calls `recv` once with the room to fill and takes in what it read;
    /// returns what `recv` returned (`Ok(0)` at the peer's EOF).
    fn read_in_place(
        &mut self,
        recv: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize>;

    fn as_any(&mut self) -> &mut dyn Any;
}

/// A [`Protocol`] that can be found again by its type.
pub(crate) trait PlainProtocol: Protocol {
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<P: Protocol> PlainProtocol for P {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// A [`BufferedProtocol`] that can be found again by its type.
pub(crate) trait BufferedAny: BufferedProtocol {
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<P: BufferedProtocol> BufferedAny for P {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

impl AnyProtocol {
    pub(crate) fn as_any(&mut self) -> &mut dyn Any {
        match self {
            AnyProtocol::Plain(protocol) => protocol.as_any(),
            AnyProtocol::Buffered(protocol) => protocol.as_any(),
            AnyProtocol::InPlace(protocol) => protocol.as_any(),
        }
    }

    pub(crate) fn connection_made(&mut self, transport: &Transport) {
        match self {
            AnyProtocol::Plain(protocol) => protocol.connection_made(transport),
            AnyProtocol::Buffered(protocol) => protocol.connection_made(transport),
            AnyProtocol::InPlace(protocol) => protocol.connection_made(transport),
        }
    }

    pub(crate) fn eof_received(&mut self) -> bool {
        match self {
            AnyProtocol::Plain(protocol) => protocol.eof_received(),
            AnyProtocol::Buffered(protocol) => protocol.eof_received(),
            AnyProtocol::InPlace(protocol) => protocol.eof_received(),
        }
    }

    pub(crate) fn connection_lost(&mut self, error: Option<NetError>) {
        match self {
            AnyProtocol::Plain(protocol) => protocol.connection_lost(error),
            AnyProtocol::Buffered(protocol) => protocol.connection_lost(error),
            AnyProtocol::InPlace(protocol) => protocol.connection_lost(error),
        }
    }

    pub(crate) fn pause_writing(&mut self) {
        match self {
            AnyProtocol::Plain(protocol) => protocol.pause_writing(),
            AnyProtocol::Buffered(protocol) => protocol.pause_writing(),
            AnyProtocol::InPlace(protocol) => protocol.pause_writing(),
        }
    }

    pub(crate) fn resume_writing(&mut self) {
        match self {
            AnyProtocol::Plain(protocol) => protocol.resume_writing(),
            AnyProtocol::Buffered(protocol) => protocol.resume_writing(),
            AnyProtocol::InPlace(protocol) => protocol.resume_writing(),
        }
    }
}

/// What makes a protocol for each connection: a closure returning a
/// [`Protocol`] or a [`BufferedProtocol`] (asyncio's `protocol_factory`).
///
/// Implemented for every `FnMut() -> P` where `P` is either kind; for a
/// buffered protocol wrap the closure in [`buffered`](crate::buffered).
pub trait ProtocolFactory: 'static {
    /// A protocol for a new connection.
    fn make(&mut self) -> AnyProtocolBox;
}

/// A protocol of either kind, made by a [`ProtocolFactory`].
pub struct AnyProtocolBox(pub(crate) AnyProtocol);

impl<F, P> ProtocolFactory for F
where
    F: FnMut() -> P + 'static,
    P: Protocol,
{
    fn make(&mut self) -> AnyProtocolBox {
        AnyProtocolBox(AnyProtocol::Plain(Box::new(self())))
    }
}

/// A factory of [`BufferedProtocol`]s, from [`buffered`].
pub struct Buffered<F>(F);

/// Makes `factory`, a closure returning a [`BufferedProtocol`], a
/// [`ProtocolFactory`].
///
/// # Examples
///
/// ```
/// use asyncio_net::{buffered, BufferedProtocol, ProtocolFactory};
///
/// struct Sink(Vec<u8>);
/// impl BufferedProtocol for Sink {
///     fn get_buffer(&mut self, _hint: usize) -> &mut [u8] { &mut self.0 }
///     fn buffer_updated(&mut self, _filled: usize) {}
/// }
///
/// fn takes(_factory: impl ProtocolFactory) {}
/// takes(buffered(|| Sink(vec![0; 4096])));
/// ```
pub fn buffered<F, P>(factory: F) -> Buffered<F>
where
    F: FnMut() -> P + 'static,
    P: BufferedProtocol,
{
    Buffered(factory)
}

impl<F, P> ProtocolFactory for Buffered<F>
where
    F: FnMut() -> P + 'static,
    P: BufferedProtocol,
{
    fn make(&mut self) -> AnyProtocolBox {
        AnyProtocolBox(AnyProtocol::Buffered(Box::new((self.0)())))
    }
}
