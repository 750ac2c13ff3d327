//! The `futures::io` traits for the stream halves, so that crates written
//! against `AsyncRead`, `AsyncBufRead` and `AsyncWrite` (codecs, HTTP and
//! WebSocket implementations) run on our connections unchanged.
//!
//! [`StreamReader`] is `AsyncRead` (bytes copied from its buffer into the
//! caller's, nothing allocated); [`StreamBufReader`] is `AsyncBufRead`
//! over a reader's own buffer (no second buffer, no copy); [`StreamWriter`]
//! is `AsyncWrite`, with `poll_write` waiting while the connection's
//! writing is paused (the high-water mark), `poll_flush` as `drain`, and
//! `poll_close` as `write_eof` (the read side stays open).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::{Chunk, NetError, NetErrorKind, StreamReader, StreamWriter};

/// A `NetError` as the `io::Error` the traits return: an OS error keeps
/// its kind; the error itself is the source.
fn io_error(error: NetError) -> io::Error {
    let kind = match error.kind() {
        NetErrorKind::Io(kind) => kind,
        NetErrorKind::IncompleteRead => io::ErrorKind::UnexpectedEof,
        NetErrorKind::InvalidArgument => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, error)
}

impl AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_into(cx, buf).map_err(io_error)
    }
}

/// A [`StreamReader`] as `AsyncBufRead` (from
/// [`StreamReader::into_buf_read`]): `poll_fill_buf` takes everything the
/// reader buffered as one [`Chunk`] (the connection's own buffer when
/// that is most of it: no copy) and shows it until consumed, then gives
/// the buffer back; nothing is allocated once it runs.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncBufReadExt;
/// use asyncio_net::StreamReader;
///
/// let event_loop = asyncio_loop::EventLoop::new();
/// let reader = StreamReader::new();
/// reader.feed_data(b"first\nsecond\n").unwrap();
/// reader.feed_eof();
/// let mut lines = reader.into_buf_read();
/// let line = event_loop
///     .run_until_complete(async move {
///         let mut line = String::new();
///         lines.read_line(&mut line).await.map(|_| line)
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(line, "first\n");
/// ```
#[derive(Debug)]
pub struct StreamBufReader {
    reader: StreamReader,
    chunk: Chunk,
    pos: usize,
}

impl StreamReader {
    /// This reader as `AsyncBufRead` (see [`StreamBufReader`]). Bytes the
    /// buffered reader took from the reader and were not consumed yet are
    /// its own: read them through it.
    pub fn into_buf_read(self) -> StreamBufReader {
        StreamBufReader {
            reader: self,
            chunk: Chunk::new(),
            pos: 0,
        }
    }
}

impl StreamBufReader {
    /// The reader underneath.
    pub fn get_ref(&self) -> &StreamReader {
        &self.reader
    }
}

impl AsyncBufRead for StreamBufReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos >= this.chunk.len() {
            // The spent chunk's buffer goes back to the reader first.
            this.chunk = Chunk::new();
            this.pos = 0;
            this.chunk = ready!(this.reader.poll_take_all(cx)).map_err(io_error)?;
        }
        Poll::Ready(Ok(&this.chunk[this.pos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.pos = (this.pos + amt).min(this.chunk.len());
    }
}

impl AsyncRead for StreamBufReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.chunk.len() {
            let count = (this.chunk.len() - this.pos).min(buf.len());
            buf[..count].copy_from_slice(&this.chunk[this.pos..this.pos + count]);
            this.pos += count;
            return Poll::Ready(Ok(count));
        }
        Pin::new(&mut this.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for StreamWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Wait while writing is paused: the buffer stays bounded.
        ready!(this.poll_drain_here(cx)).map_err(io_error)?;
        Poll::Ready(this.write(buf).map(|()| buf.len()).map_err(io_error))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain_here(cx).map_err(io_error)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain_here(cx)).map_err(io_error)?;
        if this.is_closing() {
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(this.write_eof().map_err(io_error))
    }
}
