//! What streams run on: a socket [`Transport`], or another crate's
//! transport (a child's pipes, in `asyncio-process`) through
//! [`StreamTransport`].

use std::rc::Rc;

use asyncio_loop::LoopHandle;

use crate::{NetError, Transport};

/// A transport other than a socket's that a [`StreamWriter`](crate::StreamWriter)
/// writes through and a [`StreamReader`](crate::StreamReader) pauses:
/// asyncio's streams run on any transport, and so do these (a child's
/// stdin and stdout, in `asyncio-process`). See
/// [`StreamWriter::from_transport`](crate::StreamWriter::from_transport)
/// and [`StreamReader::attach`](crate::StreamReader::attach).
///
/// Its owner tells the writer about flow control and the end through the
/// [`WriterFlow`](crate::WriterFlow) it gets, and feeds the reader with
/// [`feed_data`](crate::StreamReader::feed_data) and
/// [`feed_eof`](crate::StreamReader::feed_eof).
pub trait StreamTransport: 'static {
    /// Writes `data`, never waiting (buffering what cannot be sent yet).
    ///
    /// # Errors
    ///
    /// The transport's own, for a write it refuses.
    fn write(&self, data: &[u8]) -> Result<(), NetError>;

    /// Ends the writing side once the buffer is sent.
    ///
    /// # Errors
    ///
    /// The transport's own.
    fn write_eof(&self) -> Result<(), NetError>;

    /// Whether [`write_eof`](Self::write_eof) is possible.
    fn can_write_eof(&self) -> bool;

    /// Closes the transport once its buffer is sent.
    fn close(&self);

    /// Whether the transport is closing or closed.
    fn is_closing(&self) -> bool;

    /// Stops delivering data (the reader holds more than twice its limit).
    fn pause_reading(&self) {}

    /// Delivers data again.
    fn resume_reading(&self) {}

    /// The loop the transport runs on.
    fn get_loop(&self) -> &LoopHandle;
}

/// The transport of a stream half: a socket's, or another.
#[derive(Clone)]
pub(crate) enum Carrier {
    Socket(Transport),
    Other(Rc<dyn StreamTransport>),
}

impl std::fmt::Debug for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Carrier::Socket(transport) => std::fmt::Debug::fmt(transport, f),
            Carrier::Other(transport) => f
                .debug_struct("StreamTransport")
                .field("closing", &transport.is_closing())
                .finish(),
        }
    }
}

impl Carrier {
    pub(crate) fn write(&self, data: &[u8]) -> Result<(), NetError> {
        match self {
            Carrier::Socket(transport) => transport.write(data),
            Carrier::Other(transport) => transport.write(data),
        }
    }

    pub(crate) fn writelines<'a>(
        &self,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), NetError> {
        match self {
            Carrier::Socket(transport) => transport.writelines(chunks),
            Carrier::Other(transport) => chunks
                .into_iter()
                .try_for_each(|chunk| transport.write(chunk)),
        }
    }

    pub(crate) fn write_eof(&self) -> Result<(), NetError> {
        match self {
            Carrier::Socket(transport) => transport.write_eof(),
            Carrier::Other(transport) => transport.write_eof(),
        }
    }

    pub(crate) fn can_write_eof(&self) -> bool {
        match self {
            Carrier::Socket(transport) => transport.can_write_eof(),
            Carrier::Other(transport) => transport.can_write_eof(),
        }
    }

    pub(crate) fn close(&self) {
        match self {
            Carrier::Socket(transport) => transport.close(),
            Carrier::Other(transport) => transport.close(),
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        match self {
            Carrier::Socket(transport) => transport.is_closing(),
            Carrier::Other(transport) => transport.is_closing(),
        }
    }

    pub(crate) fn pause_reading(&self) {
        match self {
            Carrier::Socket(transport) => transport.pause_reading(),
            Carrier::Other(transport) => transport.pause_reading(),
        }
    }

    pub(crate) fn resume_reading(&self) {
        match self {
            Carrier::Socket(transport) => transport.resume_reading(),
            Carrier::Other(transport) => transport.resume_reading(),
        }
    }

    pub(crate) fn get_loop(&self) -> &LoopHandle {
        match self {
            Carrier::Socket(transport) => transport.get_loop(),
            Carrier::Other(transport) => transport.get_loop(),
        }
    }

    pub(crate) fn socket(&self) -> Option<&Transport> {
        match self {
            Carrier::Socket(transport) => Some(transport),
            Carrier::Other(_) => None,
        }
    }
}
