//! Helpers for the ported CPython tests: a loop to run a test body on,
//! and asyncio's `await asyncio.sleep(0)`.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use asyncio_loop::{EventLoop, LoopHandle, ManualClock};

/// Runs `body` as the main coroutine of a fresh loop whose clock is
/// manual (timeouts pass at once), then closes the loop.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce(LoopHandle) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    event_loop.run_until_complete(body(handle)).unwrap();
    event_loop.close().unwrap();
}

/// asyncio's `await asyncio.sleep(0)`: one loop iteration.
pub async fn tick(handle: &LoopHandle) {
    handle.sleep(0.0).await.unwrap();
}

/// A shared list that tasks append to, as the CPython tests' `result`.
#[derive(Clone, Default)]
pub struct Log<T>(Rc<RefCell<Vec<T>>>);

impl<T: Clone> Log<T> {
    pub fn new() -> Self {
        Log(Rc::new(RefCell::new(Vec::new())))
    }

    pub fn push(&self, item: T) {
        self.0.borrow_mut().push(item);
    }

    pub fn get(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
}
