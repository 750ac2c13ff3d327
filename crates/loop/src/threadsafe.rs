//! `ThreadsafeHandle`: the loop, reachable from any thread.

use std::fmt;
use std::sync::Arc;

use crate::remote::{Remote, RemoteItem};
use crate::LoopError;

/// A `Send + Sync + Clone` handle to an event loop, for other threads:
/// asyncio's `loop.call_soon_threadsafe`, and `loop.stop` from another
/// thread. Made by [`EventLoop::threadsafe_handle`](crate::LoopHandle::threadsafe_handle).
///
/// A callback sent with [`call_soon_threadsafe`](Self::call_soon_threadsafe)
/// runs on the loop's thread, as if queued there with `call_soon` at the
/// moment it reached the loop: callbacks sent from one thread keep their
/// order, and one sent before a `call_soon` on the loop's thread runs before
/// it. Sending wakes a loop that is waiting.
///
/// Once the loop is closed (or dropped), sending fails and hands the
/// callback back; a callback sent before the loop closed is dropped by the
/// close, unrun, like every other callback still queued. Nothing is lost
/// silently, and the handle keeps no thread or loop alive: it holds the
/// loop's queue of incoming work, not the loop.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let remote = event_loop.threadsafe_handle();
/// let total = Arc::new(AtomicU32::new(0));
/// let sum = total.clone();
/// let worker = std::thread::spawn(move || {
///     for n in 1..=4 {
///         let sum = sum.clone();
///         remote.call_soon_threadsafe(move || { sum.fetch_add(n, Ordering::Relaxed); }).unwrap();
///     }
///     remote.stop().unwrap();
/// });
/// event_loop.run_forever().unwrap(); // until the worker's stop
/// worker.join().unwrap();
/// assert_eq!(total.load(Ordering::Relaxed), 10);
/// ```
pub struct ThreadsafeHandle {
    remote: Arc<Remote>,
}

impl ThreadsafeHandle {
    pub(crate) fn new(remote: Arc<Remote>) -> Self {
        remote.handle_made();
        ThreadsafeHandle { remote }
    }

    /// A handle of a loop that is gone: everything sent is refused, as by
    /// a closed loop.
    pub(crate) fn closed() -> Self {
        let remote = Remote::new();
        drop(remote.close());
        ThreadsafeHandle::new(Arc::new(remote))
    }

    /// Queues `callback` to run on the loop's thread (asyncio's
    /// `call_soon_threadsafe`), and wakes the loop if it waits. It takes
    /// its place in the ready queue when it reaches the loop, behind what
    /// is queued there already; its panic goes to the loop's exception
    /// handler, as a `call_soon` callback's does.
    ///
    /// Unlike asyncio's, it returns no handle to cancel the callback.
    ///
    /// # Errors
    ///
    /// [`Rejected`] once the loop is closed or dropped, with the callback.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = asyncio_loop::EventLoop::new();
    /// let remote = event_loop.threadsafe_handle();
    /// drop(event_loop);
    /// let message = String::from("not lost");
    /// let rejected = remote.call_soon_threadsafe(move || println!("{message}")).unwrap_err();
    /// assert!(rejected.error().is_closed());
    /// let callback = rejected.into_inner(); // handed back, unrun
    /// # drop(callback);
    /// ```
    pub fn call_soon_threadsafe<F>(&self, callback: F) -> Result<(), Rejected<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.remote
            .push_with(callback, |callback| RemoteItem::Call(Box::new(callback)))
            .map_err(Rejected::new)
    }

    /// Stops the loop from another thread: the stop is queued as
    /// `call_soon_threadsafe(loop.stop)` would queue it, so the loop stops
    /// after the iteration that runs it, having run what was sent before.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) once the loop is closed or dropped.
    pub fn stop(&self) -> Result<(), LoopError> {
        self.remote
            .push(RemoteItem::Stop)
            .map_err(|_| LoopError::closed())
    }

    /// Whether the loop is closed (or dropped): then every call fails.
    pub fn is_closed(&self) -> bool {
        self.remote.is_closed()
    }
}

impl Clone for ThreadsafeHandle {
    fn clone(&self) -> Self {
        ThreadsafeHandle::new(Arc::clone(&self.remote))
    }
}

impl Drop for ThreadsafeHandle {
    fn drop(&mut self) {
        self.remote.handle_dropped();
    }
}

impl fmt::Debug for ThreadsafeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ThreadsafeHandle closed={}>", self.is_closed())
    }
}

/// What a closed loop refused: a callback that
/// [`ThreadsafeHandle::call_soon_threadsafe`] could not queue, or a value a
/// [`Completer`](crate::Completer) could not deliver, handed back with the
/// error (as `std::sync::mpsc::SendError` hands back its value).
///
/// It is an `Error`; to use `?` into an error type that needs `Sync`, map
/// it to its [`error`](Rejected::error) first.
pub struct Rejected<F> {
    callback: F,
}

impl<F> Rejected<F> {
    pub(crate) fn new(callback: F) -> Self {
        Rejected { callback }
    }

    /// The reason: always [`is_closed`](LoopError::is_closed) for now.
    pub fn error(&self) -> LoopError {
        LoopError::closed()
    }

    /// The callback or the value, unused.
    pub fn into_inner(self) -> F {
        self.callback
    }
}

impl<F> fmt::Debug for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("error", &self.error())
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not delivered: {}", self.error())
    }
}

impl<F> std::error::Error for Rejected<F> {}
