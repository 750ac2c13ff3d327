//! The loop and other threads, above the loop's API: `to_thread`, and
//! `run_coroutine_threadsafe` and its future: a coroutine submitted from
//! another thread runs as a task of the loop, and that thread blocks on,
//! polls or cancels a [`ConcurrentFuture`] of its outcome (asyncio's
//! `concurrent.futures.Future`).
//!
//! Built on the loop's public API (`call_soon_threadsafe`, `create_task`,
//! done-callbacks) plus one crate-private piece: the task's `Send` waker,
//! which names the task so that a cancellation sent from another thread
//! finds it.

use std::fmt;
use std::future::Future as StdFuture;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use asyncio_core::{Exception, FutureError};

use crate::shared::TaskId;
use crate::{get_running_loop, LoopError, TaskOutput, ThreadsafeHandle};

/// The outcome of a coroutine submitted with
/// [`ThreadsafeHandle::run_coroutine_threadsafe`], for the thread that
/// submitted it: asyncio's `concurrent.futures.Future`.
///
/// Block on it ([`result`](Self::result), [`wait_timeout`](Self::wait_timeout)),
/// or await it under any executor (it is a `Send` Rust future). Its
/// outcome is the task's: its value, its failure, or its cancellation, or
/// [`is_closed`](LoopError::is_closed) if the loop closed before the task
/// ended. [`cancel`](Self::cancel) cancels it at once and sends the
/// cancellation to the task.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
///
/// let event_loop = EventLoop::new();
/// let remote = event_loop.threadsafe_handle();
/// let worker = std::thread::spawn(move || {
///     let answer = remote
///         .run_coroutine_threadsafe(|| async {
///             let event_loop = asyncio_loop::get_running_loop()?;
///             event_loop.sleep(0.01).await?;
///             Ok::<_, asyncio_loop::LoopError>(42)
///         })
///         .unwrap();
///     let answer = answer.result();
///     remote.stop().unwrap();
///     answer
/// });
/// event_loop.run_forever().unwrap();
/// assert_eq!(worker.join().unwrap().unwrap(), 42);
/// ```
pub struct ConcurrentFuture<T> {
    state: Arc<State<T>>,
}

struct State<T> {
    slot: Mutex<Slot<T>>,
    ended: Condvar,
    /// Where a cancellation is sent.
    remote: ThreadsafeHandle,
}

struct Slot<T> {
    /// Set once it ended; taken by the first reader.
    outcome: Option<Result<T, LoopError>>,
    ended: bool,
    cancelled: bool,
    /// The task, once the loop made it.
    task: Option<TaskId>,
    /// The executor's waker of the thread that awaits it.
    waker: Option<Waker>,
}

impl<T> State<T> {
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        // No user code runs under the lock: it cannot be poisoned by one.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends it with `outcome` unless it has ended; `false` if it had.
    fn end(&self, outcome: Result<T, LoopError>, cancelled: bool) -> bool {
        let mut slot = self.lock();
        if slot.ended {
            return false;
        }
        slot.ended = true;
        slot.cancelled = cancelled;
        slot.outcome = Some(outcome);
        let waker = slot.waker.take();
        drop(slot);
        self.ended.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

/// The loop's side: ends the future with the task's outcome, or, dropped
/// unused (the loop closed, or refused the work), with a closed error.
struct Completion<T>(Option<Arc<State<T>>>);

impl<T> Completion<T> {
    fn state(&self) -> &State<T> {
        self.0.as_ref().expect("present until completed")
    }

    fn complete(mut self, outcome: Result<T, LoopError>) {
        if let Some(state) = self.0.take() {
            state.end(outcome, false);
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.end(Err(LoopError::closed()), false);
        }
    }
}

impl ThreadsafeHandle {
    /// Runs the coroutine `make` returns as a task of the loop, from any
    /// thread, and gives that thread a [`ConcurrentFuture`] of its outcome:
    /// asyncio's `run_coroutine_threadsafe`.
    ///
    /// `make` is called on the loop's thread, so the coroutine need not be
    /// `Send` (it may hold `Rc`s and the loop's futures); only `make` and
    /// the result must be. A panic in `make` becomes the future's exception.
    ///
    /// # Errors
    ///
    /// [`is_closed`](LoopError::is_closed) if the loop is closed (or
    /// dropped) already; once submitted, a loop that closes before the task
    /// ends ends the future with that error.
    ///
    /// # Examples
    ///
    /// See [`ConcurrentFuture`].
    pub fn run_coroutine_threadsafe<M, C>(
        &self,
        make: M,
    ) -> Result<ConcurrentFuture<<C::Output as TaskOutput>::Value>, LoopError>
    where
        M: FnOnce() -> C + Send + 'static,
        C: StdFuture + 'static,
        C::Output: TaskOutput,
        <C::Output as TaskOutput>::Value: Send,
    {
        let state = Arc::new(State {
            slot: Mutex::new(Slot {
                outcome: None,
                ended: false,
                cancelled: false,
                task: None,
                waker: None,
            }),
            ended: Condvar::new(),
            remote: self.clone(),
        });
        let completion = Completion(Some(Arc::clone(&state)));
        self.call_soon_threadsafe(move || start(completion, make))
            .map_err(|rejected| rejected.error().clone())?;
        Ok(ConcurrentFuture { state })
    }
}

/// On the loop's thread: makes the task, unless the future was cancelled
/// first, and ends the future with the task's outcome.
fn start<M, C>(completion: Completion<<C::Output as TaskOutput>::Value>, make: M)
where
    M: FnOnce() -> C,
    C: StdFuture + 'static,
    C::Output: TaskOutput,
{
    if completion.state().lock().cancelled {
        // Cancelled before it reached the loop: the coroutine never runs.
        return;
    }
    let coroutine = match catch_unwind(AssertUnwindSafe(make)) {
        Ok(coroutine) => coroutine,
        Err(payload) => {
            let error = FutureError::from(Exception::from_panic(payload));
            return completion.complete(Err(error.into()));
        }
    };
    let task = match get_running_loop().and_then(|event_loop| event_loop.create_task(coroutine)) {
        Ok(task) => task,
        Err(error) => return completion.complete(Err(error)),
    };
    {
        let mut slot = completion.state().lock();
        if slot.cancelled {
            // Cancelled while the coroutine was made.
            drop(slot);
            task.cancel();
        } else {
            slot.task = Some(task.id());
        }
    }
    // Dropped unrun if the loop closes first: the future then fails closed.
    let _ = task.add_done_callback(move |task| {
        completion.complete(task.take_result().map_err(LoopError::from));
    });
}

impl<T> ConcurrentFuture<T> {
    /// Blocks until the task ends, and gives its outcome.
    ///
    /// # Errors
    ///
    /// The task's failure or cancellation (`is_cancelled` after
    /// [`cancel`](Self::cancel)), or [`is_closed`](LoopError::is_closed)
    /// when the loop closed first.
    ///
    /// # Examples
    ///
    /// See [`ConcurrentFuture`].
    pub fn result(self) -> Result<T, LoopError> {
        let mut slot = self.state.lock();
        while !slot.ended {
            slot = self
                .state
                .ended
                .wait(slot)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        slot.outcome.take().expect("read once: result takes self")
    }

    /// Blocks until the task ends or `timeout` passes; whether it ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let remote = event_loop.threadsafe_handle();
    /// // Nothing runs the loop: the task never ends.
    /// let future = remote.run_coroutine_threadsafe(|| async { Ok::<_, asyncio_loop::LoopError>(1) }).unwrap();
    /// assert!(!future.wait_timeout(Duration::from_millis(10)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut slot = self.state.lock();
        while !slot.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            slot = self
                .state
                .ended
                .wait_timeout(slot, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        true
    }

    /// Cancels it: it ends cancelled at once, and the cancellation is sent
    /// to the task (which ends cancelled, or does not run at all if it has
    /// not started); `false` if it had ended already.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let remote = event_loop.threadsafe_handle();
    /// let future = remote.run_coroutine_threadsafe(|| async { Ok::<_, asyncio_loop::LoopError>(1) }).unwrap();
    /// assert!(future.cancel());
    /// assert!(future.cancelled());
    /// assert!(future.result().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        let cancelled = LoopError::from(FutureError::cancellation(None));
        if !self.state.end(Err(cancelled), true) {
            return false;
        }
        let task = self.state.lock().task.take();
        if let Some(task) = task {
            // A closed loop has cancelled its tasks already.
            let _ = self
                .state
                .remote
                .call_soon_threadsafe(move || task.cancel_here());
        }
        true
    }

    /// Whether it ended (with a value, a failure or a cancellation).
    pub fn done(&self) -> bool {
        self.state.lock().ended
    }

    /// Whether it was cancelled with [`cancel`](Self::cancel).
    pub fn cancelled(&self) -> bool {
        self.state.lock().cancelled
    }
}

impl<T> StdFuture for ConcurrentFuture<T> {
    type Output = Result<T, LoopError>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.state.lock();
        if slot.ended {
            return match slot.outcome.take() {
                Some(outcome) => Poll::Ready(outcome),
                None => Poll::Ready(Err(LoopError::invalid_state(
                    "the concurrent future's outcome was taken",
                ))),
            };
        }
        if slot
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(context.waker()))
        {
            return Poll::Pending;
        }
        let old = slot.waker.replace(context.waker().clone());
        // An executor's waker may run code when dropped: not under the lock.
        drop(slot);
        drop(old);
        Poll::Pending
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.state.lock();
        let state = if slot.cancelled {
            "cancelled"
        } else if slot.ended {
            "finished"
        } else {
            "pending"
        };
        write!(f, "<ConcurrentFuture {state}>")
    }
}

/// Runs the blocking `call` on a thread of the running loop's default
/// executor and waits for its result: asyncio's `to_thread` (3.9). A panic
/// in `call` becomes the error's exception (a [`Panic`](asyncio_core::Panic)).
/// Cancelling the awaiting task ends the wait; the call, already on its
/// thread, runs to its end (as in asyncio), and its result is dropped.
///
/// # Errors
///
/// [`is_no_running_loop`](LoopError::is_no_running_loop) outside a
/// running loop, the call's panic, or the awaiting task's cancellation.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{to_thread, EventLoop};
///
/// let event_loop = EventLoop::new();
/// let name = event_loop
///     .run_until_complete(to_thread(|| std::thread::current().name().map(str::to_owned)))
///     .unwrap()
///     .unwrap();
/// assert!(name.unwrap().starts_with("asyncio-executor-"));
/// ```
pub async fn to_thread<F, T>(call: F) -> Result<T, LoopError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let future = get_running_loop()?.run_in_executor(call)?;
    let outcome = future.wait_take().await;
    Ok(outcome?)
}
