//! `Barrier`: asyncio's meeting point for a fixed number of tasks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::cancel;
use asyncio_core::census::HeldWaker;

use crate::waiters::{self, Guarded, Lines, Status, Waiters};
use crate::{SyncError, SyncErrorKind};

/// asyncio's `Barrier` (3.11): `parties` tasks each call
/// [`wait`](Self::wait), and all return together once the last has come,
/// each with its own index (0 for the first to come, `parties - 1` for the
/// last).
///
/// After it releases its parties the barrier *drains*: tasks that call
/// `wait` before every released party has returned wait for the next
/// round. [`abort`](Self::abort) breaks it: every wait, now and later,
/// fails with [`BrokenBarrier`](SyncErrorKind::BrokenBarrier) until
/// [`reset`](Self::reset), which also fails the waits in progress and
/// starts a fresh round. A waiter cancelled while it waits leaves the
/// count, as in asyncio.
///
/// asyncio builds its barrier on a `Condition`; this one keeps the same
/// states (`filling`, `draining`, `resetting`, `broken`) directly, so
/// `reset` and `abort` need no `await`.
///
/// A handle: clones share one barrier. It belongs to one thread.
///
/// # Examples
///
/// ```
/// use asyncio_loop::{gather, EventLoop};
/// use asyncio_sync::Barrier;
///
/// let event_loop = EventLoop::new();
/// let barrier = Barrier::new(3).unwrap();
/// let parties: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         async move { barrier.wait().await }
///     })
///     .collect();
/// let indexes = event_loop
///     .run_until_complete(async move { gather(parties).await })
///     .unwrap()
///     .unwrap();
/// assert_eq!(indexes, [0, 1, 2]);
/// ```
#[derive(Clone)]
pub struct Barrier {
    state: Rc<Guarded<State>>,
}

/// The barrier's two lines of waiters.
const WAITING: usize = 0;
const BLOCKED: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

struct State {
    parties: usize,
    phase: Phase,
    /// Tasks inside `wait`: counted in while filling, out as they return.
    count: usize,
    /// Parties that came while filling, waiting for the last (line
    /// `WAITING`), and tasks that came while the barrier drained or reset
    /// (line `BLOCKED`).
    waiters: Waiters<2>,
}

impl Lines for State {
    fn cancel_wait(
        &mut self,
        ticket: u64,
        message: Option<std::sync::Arc<str>>,
    ) -> Option<HeldWaker> {
        self.waiters.cancel(ticket, message)
    }

    fn write_repr(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let phase = match self.phase {
            Phase::Filling => "filling",
            Phase::Draining => "draining",
            Phase::Resetting => "resetting",
            Phase::Broken => "broken",
        };
        write!(f, "<Barrier [{phase}")?;
        if self.phase != Phase::Broken {
            let waiting = if self.phase == Phase::Filling {
                self.count
            } else {
                0
            };
            write!(f, ", waiters:{waiting}/{}", self.parties)?;
        }
        f.write_str("]>")
    }
}

impl State {
    /// asyncio's `_exit`: the last task out of a drained or reset barrier
    /// lets the next round fill; those blocked may come in.
    fn exit(&mut self) -> bool {
        self.count -= 1;
        if self.count == 0 && matches!(self.phase, Phase::Draining | Phase::Resetting) {
            self.phase = Phase::Filling;
            return true;
        }
        false
    }
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](SyncErrorKind::InvalidArgument) for 0 parties
    /// (asyncio's `ValueError('parties must be > 0')`).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = asyncio_sync::Barrier::new(2).unwrap();
    /// assert_eq!(barrier.parties(), 2);
    /// ```
    pub fn new(parties: usize) -> Result<Self, SyncError> {
        if parties == 0 {
            return Err(SyncError::plain(
                SyncErrorKind::InvalidArgument,
                "parties must be > 0",
            ));
        }
        Ok(Barrier {
            state: Guarded::new(State {
                parties,
                phase: Phase::Filling,
                count: 0,
                waiters: Waiters::new(),
            }),
        })
    }

    /// How many tasks the barrier waits for.
    ///
    /// # Examples
    ///
    /// See [`new`](Self::new).
    pub fn parties(&self) -> usize {
        self.state.borrow().parties
    }

    /// How many tasks wait for the round being filled (0 while it drains).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = asyncio_sync::Barrier::new(2).unwrap();
    /// assert_eq!(barrier.n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        let state = self.state.borrow();
        if state.phase == Phase::Filling {
            state.count
        } else {
            0
        }
    }

    /// Whether the barrier is broken (aborted and not reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = asyncio_sync::Barrier::new(2).unwrap();
    /// barrier.abort();
    /// assert!(barrier.broken());
    /// barrier.reset();
    /// assert!(!barrier.broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.state.borrow().phase == Phase::Broken
    }

    /// Waits for all parties: asyncio's `await barrier.wait()`. Returns
    /// this task's index in the round.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`](SyncErrorKind::BrokenBarrier) if the barrier is
    /// broken, or is aborted or reset while this task waits;
    /// [`Cancelled`](SyncErrorKind::Cancelled) if the task is cancelled.
    ///
    /// # Examples
    ///
    /// See [`Barrier`].
    pub fn wait(&self) -> BarrierWait {
        BarrierWait {
            barrier: self.clone(),
            stage: Stage::Start,
        }
    }

    /// Fails the waits in progress and starts a fresh round (asyncio's
    /// `await barrier.reset()`); a broken barrier works again.
    ///
    /// # Examples
    ///
    /// See [`broken`](Self::broken).
    pub fn reset(&self) {
        {
            let mut state = self.state.borrow_mut();
            state.phase = if state.count > 0 {
                Phase::Resetting
            } else {
                Phase::Filling
            };
        }
        self.wake_all();
    }

    /// Breaks the barrier: every wait, now and until [`reset`](Self::reset),
    /// fails (asyncio's `await barrier.abort()`).
    ///
    /// # Examples
    ///
    /// See [`broken`](Self::broken).
    pub fn abort(&self) {
        self.state.borrow_mut().phase = Phase::Broken;
        self.wake_all();
    }

    /// Wakes every waiting party and every blocked newcomer.
    fn wake_all(&self) {
        self.wake_line(WAITING);
        self.wake_line(BLOCKED);
    }

    /// Wakes every waiter of `line`, each once the borrow has ended.
    fn wake_line(&self, line: usize) {
        waiters::wake_many(&self.state, |state| &mut state.waiters, line, usize::MAX);
    }
}

impl fmt::Debug for Barrier {
    /// asyncio's repr, without the address: `<Barrier [filling, waiters:1/3]>`.
    ///
    /// ```
    /// let barrier = asyncio_sync::Barrier::new(3).unwrap();
    /// assert_eq!(format!("{barrier:?}"), "<Barrier [filling, waiters:0/3]>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt_repr(f, "<Barrier>")
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait {
    barrier: Barrier,
    stage: Stage,
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    Start,
    /// Came while the barrier drained or reset.
    Blocked(usize),
    /// Counted in, with this index, waiting for the last party.
    Waiting {
        key: usize,
        index: usize,
    },
    Done,
}

fn broken(what: &'static str) -> SyncError {
    SyncError::plain(SyncErrorKind::BrokenBarrier, what)
}

impl BarrierWait {
    /// Leaves the barrier (cancelled or dropped): a counted party leaves
    /// the count, as asyncio's `finally: self._count -= 1; self._exit()`.
    fn give_up(&mut self) {
        let released = {
            let mut state = self.barrier.state.borrow_mut();
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Blocked(key) => {
                    state.waiters.remove(key);
                    false
                }
                Stage::Waiting { key, .. } => {
                    state.waiters.remove(key);
                    state.exit()
                }
                Stage::Start | Stage::Done => false,
            }
        };
        if released {
            self.barrier.wake_line(BLOCKED);
        }
    }

    /// The task leaves after its round: the last one out lets the blocked in.
    fn leave(&mut self, outcome: Result<usize, SyncError>) -> Poll<Result<usize, SyncError>> {
        self.stage = Stage::Done;
        let released = self.barrier.state.borrow_mut().exit();
        if released {
            self.barrier.wake_line(BLOCKED);
        }
        Poll::Ready(outcome)
    }
}

impl Future for BarrierWait {
    type Output = Result<usize, SyncError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(SyncError::cancelled(cancelled)));
        }
        let barrier = self.barrier.clone();
        let mut state = barrier.state.borrow_mut();
        match self.stage {
            Stage::Waiting { key, index } => {
                let outcome = match state.waiters.status(key) {
                    Status::Waiting => {
                        let ticket = state.waiters.update(key, cx.waker());
                        drop(state);
                        waiters::note(cx.waker(), &barrier.state, ticket);
                        return Poll::Pending;
                    }
                    Status::Cancelled(_) => match state.waiters.remove(key) {
                        Status::Cancelled(message) => {
                            Err(SyncError::cancelled(waiters::cancelled(message)))
                        }
                        _ => unreachable!("the status was just read"),
                    },
                    Status::Woken => {
                        state.waiters.remove(key);
                        match state.phase {
                            Phase::Broken | Phase::Resetting => {
                                Err(broken("abort or reset of barrier"))
                            }
                            Phase::Filling | Phase::Draining => Ok(index),
                        }
                    }
                };
                drop(state);
                return self.leave(outcome);
            }
            Stage::Blocked(key) => match state.waiters.status(key) {
                Status::Waiting => {
                    let ticket = state.waiters.update(key, cx.waker());
                    drop(state);
                    waiters::note(cx.waker(), &barrier.state, ticket);
                    return Poll::Pending;
                }
                Status::Cancelled(_) => {
                    self.stage = Stage::Done;
                    let Status::Cancelled(message) = state.waiters.remove(key) else {
                        unreachable!("the status was just read");
                    };
                    return Poll::Ready(Err(SyncError::cancelled(waiters::cancelled(message))));
                }
                Status::Woken => {
                    state.waiters.remove(key);
                }
            },
            Stage::Start => {}
            Stage::Done => return Poll::Ready(Err(broken("barrier wait polled after it ended"))),
        }
        let (line, stage) = match state.phase {
            Phase::Draining | Phase::Resetting => (BLOCKED, None),
            Phase::Broken => {
                self.stage = Stage::Done;
                return Poll::Ready(Err(broken("barrier aborted")));
            }
            Phase::Filling => {
                let index = state.count;
                state.count += 1;
                if index + 1 == state.parties {
                    // The last party: release the round, and leave it.
                    state.phase = Phase::Draining;
                    drop(state);
                    barrier.wake_all();
                    return self.leave(Ok(index));
                }
                (WAITING, Some(index))
            }
        };
        let key = state.waiters.push(line, cx.waker());
        let ticket = state.waiters.ticket(key);
        drop(state);
        self.stage = match stage {
            Some(index) => Stage::Waiting { key, index },
            None => Stage::Blocked(key),
        };
        waiters::note(cx.waker(), &barrier.state, ticket);
        Poll::Pending
    }
}

impl Drop for BarrierWait {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl fmt::Debug for BarrierWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("barrier", &self.barrier)
            .field("stage", &self.stage)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn newcomers_wait_while_the_round_drains() {
        let barrier = Barrier::new(2).unwrap();
        let mut a = pin!(barrier.wait());
        let mut b = pin!(barrier.wait());
        assert!(poll(a.as_mut()).is_pending());
        assert_eq!(format!("{barrier:?}"), "<Barrier [filling, waiters:1/2]>");
        assert!(matches!(poll(b.as_mut()), Poll::Ready(Ok(1))));
        assert_eq!(format!("{barrier:?}"), "<Barrier [draining, waiters:0/2]>");
        let mut c = pin!(barrier.wait());
        assert!(poll(c.as_mut()).is_pending());
        assert!(matches!(poll(a.as_mut()), Poll::Ready(Ok(0))));
        // Drained: the newcomer is the first of the next round.
        assert!(poll(c.as_mut()).is_pending());
        assert_eq!(barrier.n_waiting(), 1);
    }

    #[test]
    fn a_dropped_party_leaves_the_count() {
        let barrier = Barrier::new(2).unwrap();
        let mut a = Box::pin(barrier.wait());
        assert!(poll(a.as_mut()).is_pending());
        drop(a);
        assert_eq!(barrier.n_waiting(), 0);
        let mut b = pin!(barrier.wait());
        assert!(poll(b.as_mut()).is_pending());
        assert_eq!(barrier.n_waiting(), 1);
    }

    #[test]
    fn reset_fails_the_waiting_and_starts_afresh() {
        let barrier = Barrier::new(3).unwrap();
        let mut a = pin!(barrier.wait());
        assert!(poll(a.as_mut()).is_pending());
        barrier.reset();
        assert_eq!(format!("{barrier:?}"), "<Barrier [resetting, waiters:0/3]>");
        let error = match poll(a.as_mut()) {
            Poll::Ready(Err(error)) => error,
            _ => panic!("reset fails the wait"),
        };
        assert!(error.is_broken_barrier());
        assert_eq!(format!("{barrier:?}"), "<Barrier [filling, waiters:0/3]>");
    }
}
