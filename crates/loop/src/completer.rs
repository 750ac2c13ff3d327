//! `Completer`: completing a loop's future from another thread.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use asyncio_core::{BoxError, Exception, Future};

use crate::remote::{Remote, RemoteItem};
use crate::shared::{registry, Shared};
use crate::threadsafe::Rejected;
use crate::LoopError;

/// What a completer delivers: the result, or the exception.
type Outcome<T> = Result<T, Exception>;

/// A `Send` handle that completes one future of a loop from any thread:
/// asyncio's `loop.call_soon_threadsafe(future.set_result, value)`, made
/// by [`LoopHandle::completer`](crate::LoopHandle::completer) or
/// [`EventLoop::completer`](crate::LoopHandle::completer).
///
/// The result travels to the loop's thread through its queue of incoming
/// work and is set there, in order with the other work sent to the loop;
/// the future's done-callbacks and awaiters then run as usual. Setting it
/// consumes the completer. A completer dropped without being used sets the
/// exception [`CompleterDropped`](crate::CompleterDropped), so that nothing waits for ever on a
/// result that cannot come. Once the loop is closed, setting fails and
/// hands the value back.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let future = event_loop.create_future::<u64>();
/// let completer = event_loop.completer(&future).unwrap();
/// std::thread::spawn(move || completer.set_result(6 * 7).unwrap());
/// assert_eq!(event_loop.run_until_complete(future).unwrap(), 42);
/// ```
pub struct Completer<T> {
    remote: Arc<Remote>,
    loop_id: u64,
    /// The future's key in the loop's table of futures awaiting a completer.
    key: usize,
    /// Set once a result or an exception was sent.
    sent: bool,
    /// `Send` whenever `T` is; the future itself stays on the loop.
    _value: PhantomData<fn(T) -> T>,
}

impl<T: Send + 'static> Completer<T> {
    /// A completer for `future`, which must be `shared`'s and pending.
    pub(crate) fn for_future(shared: &Shared, future: &Future<T>) -> Result<Self, LoopError> {
        let key = shared.await_completion(future)?;
        Ok(Completer {
            remote: Arc::clone(shared.remote()),
            loop_id: shared.id,
            key,
            sent: false,
            _value: PhantomData,
        })
    }

    /// Sets the future's result, on the loop's thread.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with the value once the loop is closed or dropped.
    pub fn set_result(mut self, value: T) -> Result<(), Rejected<T>> {
        self.sent = true;
        self.send(value, Ok).map_err(Rejected::new)
    }

    /// Sets the future's exception, on the loop's thread.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with the exception once the loop is closed or dropped.
    pub fn set_exception(
        mut self,
        exception: impl Into<BoxError>,
    ) -> Result<(), Rejected<Exception>> {
        self.sent = true;
        let exception = Exception::from_boxed(exception.into());
        self.send(exception, Err).map_err(Rejected::new)
    }

    /// Sends `value`, which `outcome` turns into the outcome on the loop's
    /// thread; hands `value` back if the loop is closed.
    fn send<V: Send + 'static>(&self, value: V, outcome: fn(V) -> Outcome<T>) -> Result<(), V> {
        let (loop_id, key) = (self.loop_id, self.key);
        self.remote.push_with(value, move |value| {
            RemoteItem::Call(Box::new(move || {
                // Runs on the loop's thread, as one of its jobs.
                if let Some(shared) = registry::find(loop_id) {
                    shared.complete_from_afar::<T>(key, outcome(value));
                }
            }))
        })
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if self.sent {
            return;
        }
        let (loop_id, key) = (self.loop_id, self.key);
        // Refused only by a closed loop, whose futures wait for nothing now.
        let _ = self.remote.push(RemoteItem::Call(Box::new(move || {
            if let Some(shared) = registry::find(loop_id) {
                shared.abandon_from_afar(key);
            }
        })));
    }
}

impl<T> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer")
            .field("loop_id", &self.loop_id)
            .finish_non_exhaustive()
    }
}

/// Runs `call` on `shared`'s executor; its result or panic completes the
/// returned future through a completer.
pub(crate) fn run_in_executor<F, T>(shared: &Shared, call: F) -> Result<Future<T>, LoopError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let future = shared.create_future();
    let completer = Completer::for_future(shared, &future)?;
    shared.executor().execute(Box::new(move || {
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(value) => drop(completer.set_result(value)),
            Err(payload) => drop(completer.set_exception(Exception::from_panic(payload))),
        }
    }));
    Ok(future)
}
