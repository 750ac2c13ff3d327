//! `Chunk`: the bytes a [`StreamReader`](crate::StreamReader) read, in a
//! buffer that goes back to the reader when the chunk is dropped, so that a
//! steady stream of reads allocates nothing.

use std::cell::Cell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

/// The largest buffer a reader keeps for reuse (its own, or one a dropped
/// [`Chunk`] gave back): one transport read's worth (256 KiB). A reader
/// that empties its buffer at every message (an echo of 100 KiB messages)
/// reuses it instead of growing a new one, whose allocation glibc serves
/// with `mmap` and page faults above 128 KiB (3.4x the CPU per request
/// when it was 64 KiB).
pub(crate) const KEPT_CAPACITY: usize = 256 * 1024;

/// The one buffer a reader holds for its next read's result: where a
/// dropped [`Chunk`] puts its buffer back.
#[derive(Default)]
pub(crate) struct Spare(Cell<Option<Vec<u8>>>);

impl Spare {
    /// The spare buffer, if there is one.
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.0.take()
    }

    /// Keeps `buffer` for reuse, unless one is kept already or it is
    /// larger than a reader keeps.
    pub(crate) fn give(&self, buffer: Vec<u8>) {
        if buffer.capacity() == 0 || buffer.capacity() > KEPT_CAPACITY {
            return;
        }
        match self.0.take() {
            None => self.0.set(Some(buffer)),
            kept => self.0.set(kept),
        }
    }
}

/// Bytes read from a [`StreamReader`](crate::StreamReader) (what asyncio's
/// reads return as `bytes`): a `[u8]` by [`Deref`], compared with byte
/// strings, vectors and slices, and shown as a byte string (`b"ok\n"`).
///
/// The bytes sit in a buffer of the reader's: often the very buffer the
/// connection read into (a read that takes everything buffered takes the
/// buffer, so nothing is copied), otherwise one the reader reuses. When the
/// chunk is dropped the buffer goes back to its reader, so a loop of
/// `read`, `write`, `drain` allocates nothing once it runs. A chunk never
/// holds more than four times its length in memory, so keeping chunks
/// (collecting lines) costs about what their bytes do.
/// [`into_vec`](Self::into_vec) takes the bytes out for good.
///
/// # Examples
///
/// ```
/// use asyncio_net::{Chunk, StreamReader};
///
/// let event_loop = asyncio_loop::EventLoop::new();
/// let reader = StreamReader::new();
/// reader.feed_data(b"hello\nworld").unwrap();
/// let line: Chunk = event_loop
///     .run_until_complete(async move { reader.readline().await })
///     .unwrap()
///     .unwrap();
/// assert_eq!(line, b"hello\n");
/// assert_eq!(line.len(), 6);
/// assert_eq!(format!("{line:?}"), r#"b"hello\n""#);
/// assert_eq!(line.into_vec(), b"hello\n".to_vec());
/// ```
pub struct Chunk {
    /// The bytes are `buffer[start..end]`; the rest is the reader's.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// The reader's spare slot, where the buffer goes when dropped.
    home: Option<Rc<Spare>>,
}

impl Chunk {
    /// An empty chunk (no allocation).
    pub const fn new() -> Chunk {
        Chunk {
            buffer: Vec::new(),
            start: 0,
            end: 0,
            home: None,
        }
    }

    /// `buffer[start..end]`, the buffer going back to `home` when dropped.
    pub(crate) fn pooled(buffer: Vec<u8>, start: usize, end: usize, home: &Rc<Spare>) -> Chunk {
        debug_assert!(start <= end && end <= buffer.len());
        Chunk {
            buffer,
            start,
            end,
            home: Some(Rc::clone(home)),
        }
    }

    /// The bytes as a `Vec<u8>` of their own (no copy when they start the
    /// buffer; the buffer is then not given back).
    pub fn into_vec(mut self) -> Vec<u8> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.truncate(self.end);
        buffer.drain(..self.start);
        buffer
    }

    /// The capacity of the buffer the chunk holds.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// The bytes as a slice (as `&chunk[..]`).
    pub fn as_slice(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk::new()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(home) = &self.home {
            home.give(std::mem::take(&mut self.buffer));
        }
    }
}

impl Deref for Chunk {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::borrow::Borrow<[u8]> for Chunk {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Clone for Chunk {
    /// A copy of the bytes in a buffer of its own.
    fn clone(&self) -> Self {
        Chunk::from(self.as_slice())
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(buffer: Vec<u8>) -> Self {
        let end = buffer.len();
        Chunk {
            buffer,
            start: 0,
            end,
            home: None,
        }
    }
}

impl From<&[u8]> for Chunk {
    fn from(bytes: &[u8]) -> Self {
        Chunk::from(bytes.to_vec())
    }
}

impl From<Chunk> for Vec<u8> {
    fn from(chunk: Chunk) -> Self {
        chunk.into_vec()
    }
}

impl PartialEq for Chunk {
    fn eq(&self, other: &Chunk) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Chunk {}

impl Hash for Chunk {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialOrd for Chunk {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Chunk {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

/// Equality with the byte containers a chunk is compared with, both ways.
macro_rules! eq_bytes {
    ($($other:ty),* $(,)?) => {$(
        impl PartialEq<$other> for Chunk {
            fn eq(&self, other: &$other) -> bool {
                self.as_slice() == &other[..]
            }
        }
        impl PartialEq<Chunk> for $other {
            fn eq(&self, other: &Chunk) -> bool {
                &self[..] == other.as_slice()
            }
        }
    )*};
}

eq_bytes!([u8], &[u8], Vec<u8>);

impl<const N: usize> PartialEq<[u8; N]> for Chunk {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Chunk {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<Chunk> for [u8; N] {
    fn eq(&self, other: &Chunk) -> bool {
        self == other.as_slice()
    }
}

impl<const N: usize> PartialEq<Chunk> for &[u8; N] {
    fn eq(&self, other: &Chunk) -> bool {
        *self == other.as_slice()
    }
}

impl fmt::Debug for Chunk {
    /// As a byte string, as Python shows `bytes`: `b"ok\n"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b\"")?;
        for &byte in self.as_slice() {
            match byte {
                b'"' => f.write_str("\\\"")?,
                _ => write!(f, "{}", std::ascii::escape_default(byte))?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_chunk_gives_its_buffer_back_once() {
        let spare = Rc::new(Spare::default());
        let mut buffer = Vec::with_capacity(64);
        buffer.extend_from_slice(b"xxhello");
        let pointer = buffer.as_ptr();
        let chunk = Chunk::pooled(buffer, 2, 7, &spare);
        assert_eq!(chunk, b"hello");
        drop(chunk);
        let back = spare.take().unwrap();
        assert_eq!(back.as_ptr(), pointer);
        assert!(spare.take().is_none());
        // A second buffer does not replace a kept one.
        spare.give(vec![1; 8]);
        spare.give(vec![2; 8]);
        assert_eq!(spare.take().unwrap()[0], 1);
    }

    #[test]
    fn buffers_larger_than_kept_are_freed() {
        let spare = Spare::default();
        spare.give(Vec::with_capacity(KEPT_CAPACITY + 1));
        assert!(spare.take().is_none());
        spare.give(Vec::new());
        assert!(spare.take().is_none());
    }

    #[test]
    fn into_vec_keeps_only_the_bytes() {
        let spare = Rc::new(Spare::default());
        let chunk = Chunk::pooled(b"..abc...".to_vec(), 2, 5, &spare);
        assert_eq!(chunk.into_vec(), b"abc");
        assert!(spare.take().is_none());
    }

    #[test]
    fn compares_and_shows_as_bytes() {
        let chunk = Chunk::from(b"a\"b\n\xff".to_vec());
        assert_eq!(format!("{chunk:?}"), r#"b"a\"b\n\xff""#);
        assert_eq!(chunk, b"a\"b\n\xff".to_vec());
        assert_eq!(b"a\"b\n\xff", chunk);
        assert_eq!(chunk.clone(), chunk);
        assert!(Chunk::new().is_empty());
        let (a, b) = (Chunk::from(&b"a"[..]), Chunk::from(&b"b"[..]));
        assert!(a < b);
    }
}
