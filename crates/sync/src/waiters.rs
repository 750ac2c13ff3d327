//! A first-come, first-served list of waiters: asyncio's deque of waiter
//! futures, without a future per wait.
//!
//! Each waiter is a node in a slab, linked in arrival order while it waits.
//! Waking one (asyncio's `fut.set_result`) unlinks it and marks it woken;
//! the node stays in the slab until its waiter runs (or is dropped) and
//! removes it, so a primitive can tell "woken but not run yet", the case in
//! which asyncio hands a wake-up on when the waiter turns out cancelled.
//! Nodes are reused, so a steady state allocates nothing.
//!
//! Wakers are handed back to the caller rather than woken here: a waker may
//! be any executor's code, and the primitive wakes it once its own borrow
//! has ended.

use std::task::Waker;

use slab::Slab;

/// No node: the end of the list.
const NIL: usize = usize::MAX;

pub(crate) struct Waiters {
    nodes: Slab<Node>,
    /// The oldest waiter not woken yet.
    head: usize,
    tail: usize,
    /// How many nodes are linked (waiting, not woken).
    waiting: usize,
}

struct Node {
    /// `None` once woken (the waker went to whoever woke it).
    waker: Option<Waker>,
    prev: usize,
    next: usize,
}

impl Waiters {
    pub(crate) const fn new() -> Self {
        Waiters {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            waiting: 0,
        }
    }

    /// Whether no waiter is left at all, waiting or woken.
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Waiters waiting or woken but not run yet (asyncio's
    /// `len(self._waiters)`).
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Waiters woken but not run yet.
    pub(crate) fn woken(&self) -> usize {
        self.nodes.len() - self.waiting
    }

    /// Waiters still waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// A new waiter at the back; its key names it from now on.
    pub(crate) fn push(&mut self, waker: &Waker) -> usize {
        let key = self.nodes.insert(Node {
            waker: Some(waker.clone()),
            prev: self.tail,
            next: NIL,
        });
        match self.tail {
            NIL => self.head = key,
            tail => self.nodes[tail].next = key,
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    /// Whether waiter `key` has been woken.
    pub(crate) fn is_woken(&self, key: usize) -> bool {
        self.nodes[key].waker.is_none()
    }

    /// Waiter `key` was polled again, still waiting: keep the newest waker.
    pub(crate) fn update(&mut self, key: usize, waker: &Waker) {
        if let Some(old) = &mut self.nodes[key].waker {
            if !old.will_wake(waker) {
                old.clone_from(waker);
            }
        }
    }

    /// Forgets waiter `key`; returns whether it had been woken.
    pub(crate) fn remove(&mut self, key: usize) -> bool {
        let node = self.nodes.remove(key);
        if node.waker.is_none() {
            return true;
        }
        self.unlink(&node);
        false
    }

    /// Wakes the oldest waiter not woken yet: returns its waker, for the
    /// caller to wake once its borrow of the primitive has ended.
    pub(crate) fn wake_first(&mut self) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let key = self.head;
        let node = &mut self.nodes[key];
        let waker = node.waker.take();
        let (prev, next) = (node.prev, node.next);
        self.unlink_at(prev, next);
        waker
    }

    fn unlink(&mut self, node: &Node) {
        self.unlink_at(node.prev, node.next);
    }

    fn unlink_at(&mut self, prev: usize, next: usize) {
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next].prev = prev,
        }
        self.waiting -= 1;
    }
}

impl Default for Waiters {
    fn default() -> Self {
        Waiters::new()
    }
}

/// Wakes `waker`, if there is one: call once the primitive's borrow ended.
pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes under its number.
    struct Counter(usize, Arc<Vec<AtomicUsize>>);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.1[self.0].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn wakers(n: usize) -> (Vec<Waker>, Arc<Vec<AtomicUsize>>) {
        let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let wakers = (0..n)
            .map(|i| Waker::from(Arc::new(Counter(i, Arc::clone(&counts)))))
            .collect();
        (wakers, counts)
    }

    fn counts(counts: &[AtomicUsize]) -> Vec<usize> {
        counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    #[test]
    fn wakes_in_arrival_order() {
        let (w, c) = wakers(3);
        let mut waiters = Waiters::new();
        let keys: Vec<usize> = w.iter().map(|w| waiters.push(w)).collect();
        wake(waiters.wake_first());
        assert_eq!(counts(&c), [1, 0, 0]);
        assert!(waiters.is_woken(keys[0]) && !waiters.is_woken(keys[1]));
        assert_eq!(
            (waiters.len(), waiters.waiting(), waiters.woken()),
            (3, 2, 1)
        );
        wake(waiters.wake_first());
        wake(waiters.wake_first());
        assert!(waiters.wake_first().is_none());
        assert_eq!(counts(&c), [1, 1, 1]);
        assert!(keys.iter().all(|&key| waiters.remove(key)));
        assert!(waiters.is_empty());
    }

    #[test]
    fn removing_from_the_middle_keeps_the_order() {
        let (w, c) = wakers(4);
        let mut waiters = Waiters::new();
        let keys: Vec<usize> = w.iter().map(|w| waiters.push(w)).collect();
        assert!(!waiters.remove(keys[1]));
        assert!(!waiters.remove(keys[3]));
        let again = waiters.push(&w[3]);
        for _ in 0..3 {
            wake(waiters.wake_first());
        }
        assert_eq!(counts(&c), [1, 0, 1, 1]);
        assert!(waiters.remove(keys[0]) && waiters.remove(keys[2]) && waiters.remove(again));
        assert_eq!((waiters.head, waiters.tail, waiters.waiting), (NIL, NIL, 0));
    }

    #[test]
    fn update_keeps_the_newest_waker() {
        let (w, c) = wakers(2);
        let mut waiters = Waiters::new();
        let key = waiters.push(&w[0]);
        waiters.update(key, &w[1]);
        wake(waiters.wake_first());
        assert_eq!(counts(&c), [0, 1]);
        // A woken waiter has no waker left to update.
        waiters.update(key, &w[0]);
        assert!(waiters.remove(key));
    }

    #[test]
    fn nodes_are_reused() {
        let (w, _) = wakers(1);
        let mut waiters = Waiters::new();
        let first = waiters.push(&w[0]);
        waiters.remove(first);
        assert_eq!(waiters.push(&w[0]), first);
    }
}
