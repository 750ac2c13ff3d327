//! `SyncError`: every way a primitive's operation can fail, and
//! `PutError`, which hands a rejected item back.

use std::error::Error;
use std::fmt;

use asyncio_core::propagated::Walk;
use asyncio_core::FutureError;

/// The error of a primitive's operation.
///
/// asyncio raises a different exception for each of these; here one opaque
/// type covers them, each with a query method:
///
/// | asyncio | [`kind()`](Self::kind) | query |
/// |---|---|---|
/// | `CancelledError(msg)` out of a barrier's wait or a queue's `put` | [`Cancelled`](SyncErrorKind::Cancelled) | [`is_cancelled`](Self::is_cancelled), [`cancel_message`](Self::cancel_message) |
/// | `RuntimeError('Lock is not acquired.')`, `RuntimeError('cannot notify on un-acquired lock')` | [`NotAcquired`](SyncErrorKind::NotAcquired) | [`is_not_acquired`](Self::is_not_acquired) |
/// | `ValueError('BoundedSemaphore released too many times')` | [`OverReleased`](SyncErrorKind::OverReleased) | [`is_over_released`](Self::is_over_released) |
/// | `BrokenBarrierError` | [`BrokenBarrier`](SyncErrorKind::BrokenBarrier) | [`is_broken_barrier`](Self::is_broken_barrier) |
/// | `QueueFull` (the item comes back in a [`PutError`]) | [`QueueFull`](SyncErrorKind::QueueFull) | [`is_queue_full`](Self::is_queue_full) |
/// | `QueueEmpty` | [`QueueEmpty`](SyncErrorKind::QueueEmpty) | [`is_queue_empty`](Self::is_queue_empty) |
/// | `ValueError('task_done() called too many times')` | [`TaskDoneTooMany`](SyncErrorKind::TaskDoneTooMany) | [`is_task_done_too_many`](Self::is_task_done_too_many) |
/// | `ValueError('parties must be > 0')` | [`InvalidArgument`](SyncErrorKind::InvalidArgument) | [`is_invalid_argument`](Self::is_invalid_argument) |
///
/// The other waits (acquiring a lock, waiting for an event, getting from a
/// queue, ...) can only be cancelled, and fail with the cancelled
/// [`FutureError`] itself, as every other await does. Here a cancellation
/// carries that [`FutureError`] as its [`source`](Error::source), so a task
/// whose coroutine propagates it with `?` ends cancelled, as one that
/// propagates a cancelled future's error does. It is `Send + Sync +
/// 'static` and cheap to clone.
///
/// # Examples
///
/// ```
/// use asyncio_sync::{Lock, SyncErrorKind};
///
/// let lock = Lock::new();
/// let error = lock.release().unwrap_err();
/// assert_eq!(error.kind(), SyncErrorKind::NotAcquired);
/// assert_eq!(error.to_string(), "lock is not acquired");
/// ```
#[derive(Clone)]
pub struct SyncError {
    repr: Repr,
}

/// What a [`SyncError`] is, for `match`: one variant per asyncio condition.
///
/// `#[non_exhaustive]`: later versions may add variants.
///
/// # Examples
///
/// ```
/// use asyncio_sync::{BoundedSemaphore, SyncErrorKind};
///
/// let semaphore = BoundedSemaphore::new(1);
/// assert_eq!(semaphore.release().unwrap_err().kind(), SyncErrorKind::OverReleased);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyncErrorKind {
    /// A wait was cancelled (asyncio's `CancelledError`).
    Cancelled,
    /// A lock was released, or a condition notified, without the lock held.
    NotAcquired,
    /// A [`BoundedSemaphore`](crate::BoundedSemaphore) was released more
    /// times than it was acquired.
    OverReleased,
    /// A [`Barrier`](crate::Barrier) was aborted or reset.
    BrokenBarrier,
    /// A bounded queue had no room.
    QueueFull,
    /// A queue had no item.
    QueueEmpty,
    /// [`task_done`](crate::Queue::task_done) was called more times than
    /// items were put.
    TaskDoneTooMany,
    /// A constructor was given a value it cannot take.
    InvalidArgument,
}

#[derive(Clone)]
enum Repr {
    Cancelled(FutureError),
    Plain(SyncErrorKind, &'static str),
}

impl SyncError {
    /// A wait ended by `cancellation`, a cancelled [`FutureError`] (the one
    /// [`asyncio_core::cancel::take`] delivers).
    pub(crate) fn cancelled(cancellation: FutureError) -> Self {
        // Tells `asyncio_core::propagated` how to look into a `SyncError`
        // held by value (a coroutine's `Err`), once per process.
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            asyncio_core::propagated::recognise::<SyncError>(|error| match &error.repr {
                Repr::Cancelled(cancellation) => Walk::Cancelled(cancellation),
                Repr::Plain(..) => Walk::NotCancelled,
            });
        });
        SyncError {
            repr: Repr::Cancelled(cancellation),
        }
    }

    pub(crate) const fn plain(kind: SyncErrorKind, what: &'static str) -> Self {
        SyncError {
            repr: Repr::Plain(kind, what),
        }
    }

    pub(crate) const fn not_acquired(what: &'static str) -> Self {
        SyncError::plain(SyncErrorKind::NotAcquired, what)
    }

    pub(crate) const fn queue_full() -> Self {
        SyncError::plain(SyncErrorKind::QueueFull, "queue is full")
    }

    pub(crate) const fn queue_empty() -> Self {
        SyncError::plain(SyncErrorKind::QueueEmpty, "queue is empty")
    }

    /// What the error is.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_sync::{Queue, SyncErrorKind};
    ///
    /// let queue: Queue<u8> = Queue::new();
    /// assert_eq!(queue.get_nowait().unwrap_err().kind(), SyncErrorKind::QueueEmpty);
    /// ```
    pub fn kind(&self) -> SyncErrorKind {
        match &self.repr {
            Repr::Cancelled(_) => SyncErrorKind::Cancelled,
            Repr::Plain(kind, _) => *kind,
        }
    }

    /// Whether a wait was cancelled.
    ///
    /// # Examples
    ///
    /// A task cancelled while it waits at a barrier sees it at the await:
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    /// use asyncio_sync::Barrier;
    ///
    /// let event_loop = EventLoop::new();
    /// let barrier = Barrier::new(2).unwrap();
    /// let task = event_loop
    ///     .create_task(async move {
    ///         let error = barrier.wait().await.unwrap_err();
    ///         (error.is_cancelled(), error.cancel_message().map(str::to_owned))
    ///     })
    ///     .unwrap();
    /// event_loop.run_until_complete(event_loop.sleep(0.0)).unwrap().unwrap();
    /// task.cancel_with_message("stop");
    /// let (cancelled, message) = event_loop.run_until_complete(&task).unwrap();
    /// assert!(cancelled);
    /// assert_eq!(message.as_deref(), Some("stop"));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.kind() == SyncErrorKind::Cancelled
    }

    /// The message of a cancellation, if it had one.
    ///
    /// # Examples
    ///
    /// See [`is_cancelled`](Self::is_cancelled).
    pub fn cancel_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Cancelled(error) => error.cancel_message(),
            Repr::Plain(..) => None,
        }
    }

    /// Whether a lock was released, or a condition notified, unheld.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = asyncio_sync::Condition::new();
    /// assert!(condition.notify(1).unwrap_err().is_not_acquired());
    /// ```
    pub fn is_not_acquired(&self) -> bool {
        self.kind() == SyncErrorKind::NotAcquired
    }

    /// Whether a bounded semaphore was released too many times.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = asyncio_sync::BoundedSemaphore::new(2);
    /// assert!(semaphore.release().unwrap_err().is_over_released());
    /// ```
    pub fn is_over_released(&self) -> bool {
        self.kind() == SyncErrorKind::OverReleased
    }

    /// Whether a barrier was aborted or reset under the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    /// use asyncio_sync::Barrier;
    ///
    /// let event_loop = EventLoop::new();
    /// let barrier = Barrier::new(2).unwrap();
    /// barrier.abort();
    /// let error = event_loop.run_until_complete(async move { barrier.wait().await }).unwrap();
    /// assert!(error.unwrap_err().is_broken_barrier());
    /// ```
    pub fn is_broken_barrier(&self) -> bool {
        self.kind() == SyncErrorKind::BrokenBarrier
    }

    /// Whether a bounded queue had no room.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::with_maxsize(1);
    /// queue.put_nowait(1).unwrap();
    /// assert!(queue.put_nowait(2).unwrap_err().is_queue_full());
    /// ```
    pub fn is_queue_full(&self) -> bool {
        self.kind() == SyncErrorKind::QueueFull
    }

    /// Whether a queue had no item.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: asyncio_sync::Queue<u8> = asyncio_sync::Queue::new();
    /// assert!(queue.get_nowait().unwrap_err().is_queue_empty());
    /// ```
    pub fn is_queue_empty(&self) -> bool {
        self.kind() == SyncErrorKind::QueueEmpty
    }

    /// Whether `task_done` was called more times than items were put.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: asyncio_sync::Queue<u8> = asyncio_sync::Queue::new();
    /// assert!(queue.task_done().unwrap_err().is_task_done_too_many());
    /// ```
    pub fn is_task_done_too_many(&self) -> bool {
        self.kind() == SyncErrorKind::TaskDoneTooMany
    }

    /// Whether a constructor was given a value it cannot take.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_sync::Barrier::new(0).unwrap_err().is_invalid_argument());
    /// ```
    pub fn is_invalid_argument(&self) -> bool {
        self.kind() == SyncErrorKind::InvalidArgument
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(error) => fmt::Display::fmt(error, f),
            Repr::Plain(_, what) => f.write_str(what),
        }
    }
}

impl fmt::Debug for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(error) => f
                .debug_tuple("Cancelled")
                .field(&error.cancel_message())
                .finish(),
            Repr::Plain(kind, _) => fmt::Debug::fmt(kind, f),
        }
    }
}

impl Error for SyncError {
    /// For a cancellation, the cancelled [`FutureError`]: what tells a task
    /// that its coroutine gave up because it was cancelled.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            Repr::Cancelled(error) => Some(error),
            Repr::Plain(..) => None,
        }
    }
}

/// A put that did not happen, with the item handed back: asyncio's
/// `QueueFull` from [`put_nowait`](crate::Queue::put_nowait), or a
/// cancelled [`put`](crate::Queue::put).
///
/// Like [`std::sync::mpsc::TrySendError`], its `Debug` does not show the
/// item, so it is an error whatever the item's type.
///
/// # Examples
///
/// ```
/// use asyncio_sync::Queue;
///
/// let queue = Queue::with_maxsize(1);
/// queue.put_nowait("first").unwrap();
/// let error = queue.put_nowait("second").unwrap_err();
/// assert!(error.is_queue_full());
/// assert_eq!(error.into_inner(), "second");
/// ```
pub struct PutError<T> {
    item: T,
    error: SyncError,
}

impl<T> PutError<T> {
    pub(crate) fn new(item: T, error: SyncError) -> Self {
        PutError { item, error }
    }

    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// See [`PutError`].
    pub fn into_inner(self) -> T {
        self.item
    }

    /// The item that was not put, left in place.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::with_maxsize(1);
    /// queue.put_nowait(1).unwrap();
    /// assert_eq!(*queue.put_nowait(2).unwrap_err().item(), 2);
    /// ```
    pub fn item(&self) -> &T {
        &self.item
    }

    /// The item and why it was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::with_maxsize(1);
    /// queue.put_nowait(1).unwrap();
    /// let (item, error) = queue.put_nowait(2).unwrap_err().into_parts();
    /// assert_eq!((item, error.is_queue_full()), (2, true));
    /// ```
    pub fn into_parts(self) -> (T, SyncError) {
        (self.item, self.error)
    }

    /// Why the item was not put: [`QueueFull`](SyncErrorKind::QueueFull)
    /// or [`Cancelled`](SyncErrorKind::Cancelled).
    ///
    /// # Examples
    ///
    /// See [`PutError`].
    pub fn kind(&self) -> SyncErrorKind {
        self.error.kind()
    }

    /// The error without the item.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::with_maxsize(1);
    /// queue.put_nowait(1).unwrap();
    /// assert_eq!(queue.put_nowait(2).unwrap_err().error().to_string(), "queue is full");
    /// ```
    pub fn error(&self) -> &SyncError {
        &self.error
    }

    /// Whether the queue had no room.
    ///
    /// # Examples
    ///
    /// See [`PutError`].
    pub fn is_queue_full(&self) -> bool {
        self.error.is_queue_full()
    }

    /// Whether the put was cancelled while it waited for room.
    ///
    /// # Examples
    ///
    /// See [`Queue::put`](crate::Queue::put).
    pub fn is_cancelled(&self) -> bool {
        self.error.is_cancelled()
    }
}

impl From<SyncError> for FutureError {
    /// The cancellation a `SyncError` carries, or else a [`FutureError`]
    /// whose exception is the `SyncError`: so that `?` takes one in a
    /// coroutine that returns `FutureError`, and a cancellation stays one.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::FutureError;
    /// use asyncio_sync::{Queue, SyncError, SyncErrorKind};
    ///
    /// let queue: Queue<u8> = Queue::new();
    /// let error = FutureError::from(queue.get_nowait().unwrap_err());
    /// let sync_error = error.exception().unwrap().downcast_ref::<SyncError>().unwrap();
    /// assert_eq!(sync_error.kind(), SyncErrorKind::QueueEmpty);
    /// ```
    fn from(error: SyncError) -> Self {
        match error.repr {
            Repr::Cancelled(cancellation) => cancellation,
            Repr::Plain(..) => FutureError::from(asyncio_core::Exception::new(error)),
        }
    }
}

impl<T> From<PutError<T>> for FutureError {
    /// Drops the item; as `From<SyncError>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::FutureError;
    /// use asyncio_sync::Queue;
    ///
    /// let queue = Queue::with_maxsize(1);
    /// queue.put_nowait(1).unwrap();
    /// let error = FutureError::from(queue.put_nowait(2).unwrap_err());
    /// assert_eq!(error.to_string(), "queue is full");
    /// ```
    fn from(error: PutError<T>) -> Self {
        SyncError::from(error).into()
    }
}

impl<T> From<PutError<T>> for SyncError {
    /// Drops the item.
    fn from(error: PutError<T>) -> Self {
        error.error
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> Error for PutError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_is_the_future_error_underneath() {
        let error = SyncError::cancelled(FutureError::cancellation(Some("bye")));
        assert!(error.is_cancelled());
        assert_eq!(error.cancel_message(), Some("bye"));
        assert_eq!(error.to_string(), "future was cancelled: bye");
        let source = error.source().unwrap().downcast_ref::<FutureError>();
        assert!(source.unwrap().is_cancelled());
        assert_eq!(format!("{error:?}"), "Cancelled(Some(\"bye\"))");
    }

    #[test]
    fn plain_errors_have_no_source() {
        let error = SyncError::queue_full();
        assert_eq!(error.kind(), SyncErrorKind::QueueFull);
        assert!(error.source().is_none());
        assert_eq!(format!("{error:?}"), "QueueFull");
    }

    #[test]
    fn errors_travel_between_threads() {
        fn assert_send_sync<E: Send + Sync + 'static>() {}
        assert_send_sync::<SyncError>();
        assert_send_sync::<PutError<u8>>();
    }
}
