//! `Queue`, `PriorityQueue`, `LifoQueue`: asyncio's producer/consumer
//! queues.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::census::HeldWaker;
use asyncio_core::{cancel, FutureError};

use crate::event::EventWait;
use crate::waiters::{self, wake, Guarded, Lines, Status, Waiters};
use crate::{Event, PutError, SyncError, SyncErrorKind};

/// The order in which a queue hands its items out: [`Fifo`] (a
/// [`Queue`]), [`Lifo`] (a [`LifoQueue`]) or [`Priority`] (a
/// [`PriorityQueue`]). Sealed: the three are asyncio's.
pub trait Discipline<T>: sealed::Sealed {
    /// Where the items are kept.
    #[doc(hidden)]
    type Store: Default;
    /// The queue's name in its repr.
    #[doc(hidden)]
    const NAME: &'static str;
    #[doc(hidden)]
    fn push(store: &mut Self::Store, item: T);
    #[doc(hidden)]
    fn pop(store: &mut Self::Store) -> Option<T>;
    #[doc(hidden)]
    fn len(store: &Self::Store) -> usize;
    /// Visits the items in the order the store keeps them (asyncio's
    /// `_queue` in a repr).
    #[doc(hidden)]
    fn for_each(store: &Self::Store, visit: &mut dyn FnMut(&T));
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Fifo {}
    impl Sealed for super::Lifo {}
    impl Sealed for super::Priority {}
}

/// First in, first out: asyncio's `Queue`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: asyncio's `LifoQueue`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first: asyncio's `PriorityQueue` (a heap; items that compare
/// equal come out in no set order, as with `heapq`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl<T> Discipline<T> for Fifo {
    type Store = VecDeque<T>;
    const NAME: &'static str = "Queue";
    fn push(store: &mut VecDeque<T>, item: T) {
        store.push_back(item);
    }
    fn pop(store: &mut VecDeque<T>) -> Option<T> {
        store.pop_front()
    }
    fn len(store: &VecDeque<T>) -> usize {
        store.len()
    }
    fn for_each(store: &VecDeque<T>, visit: &mut dyn FnMut(&T)) {
        store.iter().for_each(visit);
    }
}

impl<T> Discipline<T> for Lifo {
    type Store = Vec<T>;
    const NAME: &'static str = "LifoQueue";
    fn push(store: &mut Vec<T>, item: T) {
        store.push(item);
    }
    fn pop(store: &mut Vec<T>) -> Option<T> {
        store.pop()
    }
    fn len(store: &Vec<T>) -> usize {
        store.len()
    }
    fn for_each(store: &Vec<T>, visit: &mut dyn FnMut(&T)) {
        store.iter().for_each(visit);
    }
}

impl<T: Ord> Discipline<T> for Priority {
    type Store = BinaryHeap<Reverse<T>>;
    const NAME: &'static str = "PriorityQueue";
    fn push(store: &mut BinaryHeap<Reverse<T>>, item: T) {
        store.push(Reverse(item));
    }
    fn pop(store: &mut BinaryHeap<Reverse<T>>) -> Option<T> {
        store.pop().map(|Reverse(item)| item)
    }
    fn len(store: &BinaryHeap<Reverse<T>>) -> usize {
        store.len()
    }
    fn for_each(store: &BinaryHeap<Reverse<T>>, visit: &mut dyn FnMut(&T)) {
        store.iter().for_each(|Reverse(item)| visit(item));
    }
}

/// asyncio's queues: items passed from producers to consumers, optionally
/// bounded, in the order of the discipline `D`. Use it as [`Queue`] (first
/// in, first out), [`LifoQueue`] or [`PriorityQueue`].
///
/// [`put`](Self::put) waits while a bounded queue is full and
/// [`get`](Self::get) while it is empty; neither suspends when it need
/// not. A `put` wakes the oldest waiting `get`, a `get` the oldest waiting
/// `put`; a woken getter takes its item only when it runs (and waits
/// again, at the back, if another took it first), as in asyncio. A `get`
/// or `put` cancelled, or dropped, after it was woken passes the wake-up
/// on; a cancelled `get` takes no item, and a cancelled `put` hands its
/// item back in the [`PutError`]. [`task_done`](Self::task_done) and
/// [`join`](Self::join) count the items put and not yet processed.
///
/// The items live in a `VecDeque`
/// (a `Vec`, a `BinaryHeap`) and the waiters in a slab, both reused, so a
/// steady flow allocates nothing per item.
///
/// A handle: clones share one queue. It belongs to one thread.
///
/// # Examples
///
/// ```
/// use asyncio_loop::EventLoop;
/// use asyncio_sync::Queue;
///
/// let event_loop = EventLoop::new();
/// let queue = Queue::with_maxsize(2);
/// let consumer = {
///     let queue = queue.clone();
///     event_loop
///         .create_task(async move {
///             let mut total = 0;
///             while let Some(item) = queue.get().await? {
///                 total += item;
///                 queue.task_done()?;
///             }
///             queue.task_done()?;
///             Ok::<_, Box<dyn std::error::Error + Send + Sync>>(total)
///         })
///         .unwrap()
/// };
/// let producer = queue.clone();
/// event_loop
///     .run_until_complete(async move {
///         let queue = producer;
///         for item in 1..=10 {
///             queue.put(Some(item)).await?;
///         }
///         queue.put(None).await?;
///         queue.join().await?;
///         Ok::<_, Box<dyn std::error::Error>>(())
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(event_loop.run_until_complete(&consumer).unwrap(), 55);
/// ```
pub struct GenericQueue<T, D: Discipline<T>> {
    state: Rc<Guarded<State<T, D>>>,
}

/// The queue's two lines of waiters.
const GETTERS: usize = 0;
const PUTTERS: usize = 1;

/// asyncio's `Queue`: a [`GenericQueue`] whose `get` takes the oldest item.
///
/// # Examples
///
/// ```
/// let queue = asyncio_sync::Queue::new();
/// for item in [1, 2, 3] {
///     queue.put_nowait(item).unwrap();
/// }
/// assert_eq!(queue.get_nowait().unwrap(), 1);
/// ```
pub type Queue<T> = GenericQueue<T, Fifo>;

/// asyncio's `LifoQueue`: a [`GenericQueue`] whose `get` takes the newest item.
///
/// # Examples
///
/// ```
/// let queue = asyncio_sync::LifoQueue::new();
/// for item in [1, 2, 3] {
///     queue.put_nowait(item).unwrap();
/// }
/// assert_eq!(queue.get_nowait().unwrap(), 3);
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo>;

/// asyncio's `PriorityQueue`: a [`GenericQueue`] whose `get` takes the smallest
/// item (put `(priority, data)` tuples, as in asyncio).
///
/// # Examples
///
/// ```
/// let queue = asyncio_sync::PriorityQueue::new();
/// for item in [(2, "b"), (1, "a"), (3, "c")] {
///     queue.put_nowait(item).unwrap();
/// }
/// assert_eq!(queue.get_nowait().unwrap(), (1, "a"));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority>;

struct State<T, D: Discipline<T>> {
    items: D::Store,
    /// 0: unbounded.
    maxsize: usize,
    /// Getters (line `GETTERS`) and putters (line `PUTTERS`).
    waiters: Waiters<2>,
    /// Items put and not yet marked done.
    unfinished: usize,
    /// Set while no item is unfinished: what `join` waits for.
    finished: Event,
}

impl<T, D: Discipline<T>> State<T, D> {
    fn len(&self) -> usize {
        D::len(&self.items)
    }

    fn full(&self) -> bool {
        self.maxsize > 0 && self.len() >= self.maxsize
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A getter or putter leaves its `line` (cancelled, or dropped): a
    /// wake-up it had been given goes to the next of the line while an item
    /// (or room) is left for it (asyncio's `except:` blocks in `get` and
    /// `put`).
    fn leave(&mut self, key: usize, line: usize) -> Option<HeldWaker> {
        let woken = self.waiters.remove(key) == Status::Woken;
        let left = if line == GETTERS {
            !self.is_empty()
        } else {
            !self.full()
        };
        if woken && left {
            self.waiters.wake_first(line)
        } else {
            None
        }
    }

    /// asyncio's `put_nowait`: `Err` gives the item back when full;
    /// `Ok` holds the waker of the oldest waiting getter, to wake once the
    /// borrow has ended.
    #[inline]
    fn put(&mut self, item: T) -> Result<Option<HeldWaker>, T> {
        if self.full() {
            return Err(item);
        }
        D::push(&mut self.items, item);
        self.unfinished += 1;
        if self.unfinished == 1 {
            // Lowering the flag wakes nobody.
            self.finished.clear();
        }
        Ok(self.waiters.wake_first(GETTERS))
    }

    /// asyncio's repr; `items` writes the items (which need `T: Debug`).
    fn write_repr_with(
        &self,
        f: &mut dyn fmt::Write,
        items: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
    ) -> fmt::Result {
        write!(f, "<{} maxsize={}", D::NAME, self.maxsize)?;
        items(f)?;
        let getters = self.waiters.in_line(GETTERS);
        if getters > 0 {
            write!(f, " _getters[{getters}]")?;
        }
        let putters = self.waiters.in_line(PUTTERS);
        if putters > 0 {
            write!(f, " _putters[{putters}]")?;
        }
        if self.unfinished > 0 {
            write!(f, " tasks={}", self.unfinished)?;
        }
        f.write_str(">")
    }
}

impl<T, D: Discipline<T>> Lines for State<T, D> {
    fn cancel_wait(
        &mut self,
        ticket: u64,
        message: Option<std::sync::Arc<str>>,
    ) -> Option<HeldWaker> {
        self.waiters.cancel(ticket, message)
    }

    fn write_repr(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        self.write_repr_with(f, |_| Ok(()))
    }
}

impl<T, D: Discipline<T>> Clone for GenericQueue<T, D> {
    fn clone(&self) -> Self {
        GenericQueue {
            state: Rc::clone(&self.state),
        }
    }
}

impl<T, D: Discipline<T>> Default for GenericQueue<T, D> {
    fn default() -> Self {
        GenericQueue::create(0)
    }
}

/// The constructors of each discipline: the type is known from the call
/// (`Queue::new()`, `LifoQueue::new()`, `PriorityQueue::new()`).
macro_rules! constructors {
    ($discipline:ty, $name:literal, $($bound:tt)*) => {
        impl<T $($bound)*> GenericQueue<T, $discipline> {
            #[doc = concat!("An unbounded `", $name, "`.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let queue: asyncio_sync::", $name, "<u8> = asyncio_sync::", $name, "::new();")]
            /// assert_eq!(queue.maxsize(), 0);
            /// assert!(!queue.full());
            /// ```
            pub fn new() -> Self {
                GenericQueue::create(0)
            }

            #[doc = concat!("A `", $name, "` of at most `maxsize` items; 0 is unbounded, as in asyncio.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let queue = asyncio_sync::", $name, "::with_maxsize(1);")]
            /// queue.put_nowait(1).unwrap();
            /// assert!(queue.full());
            /// ```
            pub fn with_maxsize(maxsize: usize) -> Self {
                GenericQueue::create(maxsize)
            }
        }
    };
}

constructors!(Fifo, "Queue",);
constructors!(Lifo, "LifoQueue",);
constructors!(Priority, "PriorityQueue", : Ord);

impl<T, D: Discipline<T>> GenericQueue<T, D> {
    fn create(maxsize: usize) -> Self {
        let finished = Event::new();
        finished.set();
        GenericQueue {
            state: Guarded::new(State {
                items: D::Store::default(),
                maxsize,
                waiters: Waiters::new(),
                unfinished: 0,
                finished,
            }),
        }
    }

    /// The bound given at creation (0: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: asyncio_sync::Queue<u8> = asyncio_sync::Queue::with_maxsize(16);
    /// assert_eq!(queue.maxsize(), 16);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }

    /// How many items are in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::new();
    /// queue.put_nowait(1).unwrap();
    /// assert_eq!(queue.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        self.state.borrow().len()
    }

    /// Whether the queue has no item.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: asyncio_sync::Queue<u8> = asyncio_sync::Queue::new();
    /// assert!(queue.empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.state.borrow().is_empty()
    }

    /// Whether a bounded queue holds `maxsize` items (never, unbounded).
    ///
    /// # Examples
    ///
    /// See [`with_maxsize`](Self::with_maxsize).
    pub fn full(&self) -> bool {
        self.state.borrow().full()
    }

    /// Puts `item` without waiting, and wakes the oldest waiting `get`.
    ///
    /// # Errors
    ///
    /// A [`PutError`] holding `item` if the queue is full (asyncio's
    /// `QueueFull`).
    ///
    /// # Examples
    ///
    /// See [`PutError`].
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let put = self.state.borrow_mut().put(item);
        match put {
            Ok(waker) => {
                wake(waker);
                Ok(())
            }
            Err(item) => Err(PutError::new(item, SyncError::queue_full())),
        }
    }

    /// Takes an item without waiting, and wakes the oldest waiting `put`.
    ///
    /// # Errors
    ///
    /// [`QueueEmpty`](SyncErrorKind::QueueEmpty) if there is none.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::new();
    /// queue.put_nowait("item").unwrap();
    /// assert_eq!(queue.get_nowait().unwrap(), "item");
    /// assert!(queue.get_nowait().unwrap_err().is_queue_empty());
    /// ```
    pub fn get_nowait(&self) -> Result<T, SyncError> {
        let mut state = self.state.borrow_mut();
        take(&mut state)
            .map(|(item, waker)| {
                drop(state);
                wake(waker);
                item
            })
            .ok_or(SyncError::queue_empty())
    }

    /// Puts `item`, waiting while the queue is full: asyncio's
    /// `await queue.put(item)`.
    ///
    /// # Errors
    ///
    /// Only when cancelled, with `item` handed back in the [`PutError`].
    ///
    /// # Examples
    ///
    /// A cancelled put gives its item back:
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    /// use asyncio_sync::Queue;
    ///
    /// let event_loop = EventLoop::new();
    /// let queue = Queue::with_maxsize(1);
    /// queue.put_nowait("first").unwrap();
    /// let producer = queue.clone();
    /// let task = event_loop
    ///     .create_task(async move {
    ///         let error = producer.put("second").await.unwrap_err();
    ///         (error.is_cancelled(), error.into_inner())
    ///     })
    ///     .unwrap();
    /// event_loop.run_until_complete(event_loop.sleep(0.0)).unwrap().unwrap();
    /// task.cancel();
    /// assert_eq!(event_loop.run_until_complete(&task).unwrap(), (true, "second"));
    /// assert_eq!(queue.qsize(), 1);
    /// ```
    pub fn put(&self, item: T) -> Put<T, D> {
        Put {
            queue: self.clone(),
            item: Some(item),
            key: None,
        }
    }

    /// Takes an item, waiting while the queue is empty: asyncio's
    /// `await queue.get()`.
    ///
    /// # Errors
    ///
    /// Only when cancelled, with the cancelled
    /// [`FutureError`](asyncio_core::FutureError); no item is taken.
    ///
    /// # Examples
    ///
    /// See [`Queue`].
    pub fn get(&self) -> Get<T, D> {
        Get {
            queue: self.clone(),
            key: None,
        }
    }

    /// Marks one item taken with `get` as processed; once every item put
    /// is, [`join`](Self::join) returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneTooMany`](SyncErrorKind::TaskDoneTooMany) if more items
    /// were marked than were put (asyncio's
    /// `ValueError('task_done() called too many times')`).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::new();
    /// queue.put_nowait(()).unwrap();
    /// queue.get_nowait().unwrap();
    /// queue.task_done().unwrap();
    /// assert!(queue.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), SyncError> {
        let finished = {
            let mut state = self.state.borrow_mut();
            if state.unfinished == 0 {
                return Err(SyncError::plain(
                    SyncErrorKind::TaskDoneTooMany,
                    "task_done() called too many times",
                ));
            }
            state.unfinished -= 1;
            (state.unfinished == 0).then(|| state.finished.clone())
        };
        // Raising it wakes the joiners: once the borrow has ended.
        if let Some(finished) = finished {
            finished.set();
        }
        Ok(())
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done): asyncio's `await queue.join()`.
    ///
    /// # Errors
    ///
    /// Only when cancelled, with the cancelled
    /// [`FutureError`](asyncio_core::FutureError).
    ///
    /// # Examples
    ///
    /// See [`Queue`].
    pub fn join(&self) -> Join {
        Join {
            wait: self.state.borrow().finished.wait(),
        }
    }

    /// Whether `self` and `other` are handles to the same queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: asyncio_sync::Queue<u8> = asyncio_sync::Queue::new();
    /// assert!(queue.ptr_eq(&queue.clone()));
    /// ```
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}

/// Takes the next item, and the waker of the oldest waiting putter.
fn take<T, D: Discipline<T>>(state: &mut State<T, D>) -> Option<(T, Option<HeldWaker>)> {
    let item = D::pop(&mut state.items)?;
    Some((item, state.waiters.wake_first(PUTTERS)))
}

impl<T: fmt::Debug, D: Discipline<T>> fmt::Debug for GenericQueue<T, D> {
    /// asyncio's repr, without the address:
    /// `<Queue maxsize=2 _queue=[0, 1] _getters[1] tasks=2>`.
    ///
    /// ```
    /// let queue = asyncio_sync::Queue::with_maxsize(2);
    /// queue.put_nowait(7).unwrap();
    /// assert_eq!(format!("{queue:?}"), "<Queue maxsize=2 _queue=[7] tasks=1>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(state) = self.state.try_borrow() else {
            return write!(f, "<{}>", D::NAME);
        };
        state.write_repr_with(f, |f| {
            if state.is_empty() {
                return Ok(());
            }
            f.write_str(" _queue=[")?;
            let mut first = true;
            let mut result = Ok(());
            D::for_each(&state.items, &mut |item| {
                if result.is_ok() {
                    let separator = if first { "" } else { ", " };
                    first = false;
                    result = write!(f, "{separator}{item:?}");
                }
            });
            result?;
            f.write_str("]")
        })
    }
}

/// The future of [`Queue::put`].
#[must_use = "futures do nothing unless awaited"]
pub struct Put<T, D: Discipline<T> = Fifo> {
    queue: GenericQueue<T, D>,
    /// `None` once put (or handed back).
    item: Option<T>,
    key: Option<usize>,
}

impl<T, D: Discipline<T>> Put<T, D> {
    /// Leaves the line; a wake-up we had been given goes to the next
    /// putter while there is room.
    fn give_up(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = self.queue.state.borrow_mut().leave(key, PUTTERS);
        wake(waker);
    }
}

// `Put` never pins its item: it only moves it into the queue.
impl<T, D: Discipline<T>> Unpin for Put<T, D> {}

impl<T: 'static, D: Discipline<T> + 'static> Future for Put<T, D> {
    type Output = Result<(), PutError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(item) = this.item.take() else {
            return Poll::Ready(Ok(()));
        };
        if let Some(cancelled) = cancel::take() {
            this.give_up();
            return Poll::Ready(Err(PutError::new(item, SyncError::cancelled(cancelled))));
        }
        let queue = &this.queue;
        let mut state = queue.state.borrow_mut();
        if let Some(key) = this.key {
            match state.waiters.status(key) {
                Status::Waiting => {
                    let ticket = state.waiters.update(key, cx.waker());
                    drop(state);
                    this.item = Some(item);
                    waiters::note(cx.waker(), &queue.state, ticket);
                    return Poll::Pending;
                }
                Status::Woken | Status::Cancelled(_) => {
                    this.key = None;
                    if let Status::Cancelled(message) = state.waiters.remove(key) {
                        return Poll::Ready(Err(PutError::new(
                            item,
                            SyncError::cancelled(waiters::cancelled(message)),
                        )));
                    }
                }
            }
        }
        let item = match state.put(item) {
            Ok(waker) => {
                drop(state);
                wake(waker);
                return Poll::Ready(Ok(()));
            }
            Err(item) => item,
        };
        // Full (again, if another took the room we were woken for): back in
        // line, at the end, as asyncio's loop does.
        let key = state.waiters.push(PUTTERS, cx.waker());
        let ticket = state.waiters.ticket(key);
        drop(state);
        this.key = Some(key);
        this.item = Some(item);
        waiters::note(cx.waker(), &queue.state, ticket);
        Poll::Pending
    }
}

impl<T, D: Discipline<T>> Drop for Put<T, D> {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give_up();
        }
    }
}

impl<T, D: Discipline<T>> fmt::Debug for Put<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Queue::get`].
#[must_use = "futures do nothing unless awaited"]
pub struct Get<T, D: Discipline<T> = Fifo> {
    queue: GenericQueue<T, D>,
    key: Option<usize>,
}

impl<T, D: Discipline<T>> Get<T, D> {
    /// Leaves the line; a wake-up we had been given goes to the next
    /// getter while items are left (asyncio's `get`, `except:`).
    fn give_up(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = self.queue.state.borrow_mut().leave(key, GETTERS);
        wake(waker);
    }
}

impl<T: 'static, D: Discipline<T> + 'static> Future for Get<T, D> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = cancel::take() {
            self.give_up();
            return Poll::Ready(Err(cancelled));
        }
        let this = &mut *self;
        let queue = &this.queue;
        let mut state = queue.state.borrow_mut();
        if let Some(key) = this.key {
            match state.waiters.status(key) {
                Status::Waiting => {
                    let ticket = state.waiters.update(key, cx.waker());
                    drop(state);
                    waiters::note(cx.waker(), &queue.state, ticket);
                    return Poll::Pending;
                }
                Status::Woken | Status::Cancelled(_) => {
                    this.key = None;
                    if let Status::Cancelled(message) = state.waiters.remove(key) {
                        return Poll::Ready(Err(waiters::cancelled(message)));
                    }
                }
            }
        }
        if let Some((item, waker)) = take(&mut state) {
            drop(state);
            wake(waker);
            return Poll::Ready(Ok(item));
        }
        // Empty (again, if another took the item we were woken for): back
        // in line, at the end, as asyncio's loop does.
        let key = state.waiters.push(GETTERS, cx.waker());
        let ticket = state.waiters.ticket(key);
        drop(state);
        this.key = Some(key);
        waiters::note(cx.waker(), &queue.state, ticket);
        Poll::Pending
    }
}

impl<T, D: Discipline<T>> Drop for Get<T, D> {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give_up();
        }
    }
}

impl<T, D: Discipline<T>> fmt::Debug for Get<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Queue::join`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Join {
    wait: EventWait,
}

impl Future for Join {
    type Output = Result<(), FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.wait).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;
    use crate::waiters::poll_once as poll;

    #[test]
    fn a_woken_getter_takes_its_item_when_it_runs() {
        let queue = Queue::new();
        let mut a = pin!(queue.get());
        let mut b = pin!(queue.get());
        assert!(poll(a.as_mut()).is_pending());
        assert!(poll(b.as_mut()).is_pending());
        queue.put_nowait(1).unwrap();
        // A was woken; B takes the item first, by running first.
        assert!(poll(b.as_mut()).is_pending());
        assert_eq!(queue.get_nowait().unwrap(), 1);
        // A finds nothing and waits again, now behind B.
        assert!(poll(a.as_mut()).is_pending());
        assert_eq!(
            format!("{queue:?}"),
            "<Queue maxsize=0 _getters[2] tasks=1>"
        );
    }

    #[test]
    fn a_woken_getter_dropped_passes_the_item_on() {
        let queue = Queue::new();
        let mut a = Box::pin(queue.get());
        let mut b = pin!(queue.get());
        assert!(poll(a.as_mut()).is_pending());
        assert!(poll(b.as_mut()).is_pending());
        queue.put_nowait("x").unwrap();
        drop(a);
        assert!(matches!(poll(b.as_mut()), Poll::Ready(Ok("x"))));
    }

    #[test]
    fn a_woken_putter_dropped_passes_the_room_on() {
        let queue = Queue::with_maxsize(1);
        queue.put_nowait(0).unwrap();
        let mut a = Box::pin(queue.put(1));
        let mut b = pin!(queue.put(2));
        assert!(poll(a.as_mut()).is_pending());
        assert!(poll(b.as_mut()).is_pending());
        assert_eq!(queue.get_nowait().unwrap(), 0);
        drop(a);
        assert!(matches!(poll(b.as_mut()), Poll::Ready(Ok(()))));
        assert_eq!(queue.get_nowait().unwrap(), 2);
    }

    #[test]
    fn join_waits_for_every_item() {
        let queue = Queue::new();
        queue.put_nowait(1).unwrap();
        queue.put_nowait(2).unwrap();
        let mut join = pin!(queue.join());
        assert!(poll(join.as_mut()).is_pending());
        queue.get_nowait().unwrap();
        queue.task_done().unwrap();
        assert!(poll(join.as_mut()).is_pending());
        queue.get_nowait().unwrap();
        queue.task_done().unwrap();
        assert!(matches!(poll(join.as_mut()), Poll::Ready(Ok(()))));
    }

    #[test]
    fn reprs_name_the_discipline() {
        let lifo: LifoQueue<u8> = LifoQueue::new();
        let priority: PriorityQueue<u8> = PriorityQueue::new();
        assert_eq!(format!("{lifo:?}"), "<LifoQueue maxsize=0>");
        assert_eq!(format!("{priority:?}"), "<PriorityQueue maxsize=0>");
    }
}
