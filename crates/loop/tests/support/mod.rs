//! Helpers shared by the behaviour tests: an event trace and drop counters.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::rc::Rc;

use asyncio_core::ExceptionContext;
use asyncio_loop::EventLoop;

/// An ordered log of events, cheap to clone into callbacks.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Self {
        Trace::default()
    }

    pub fn log(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// A `call_soon` callback that logs `event`.
    pub fn logger(&self, event: &str) -> impl FnOnce() + 'static {
        let trace = self.clone();
        let event = event.to_owned();
        move || trace.log(event)
    }

    /// Takes the events logged so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Asserts the events logged so far, and clears them.
#[track_caller]
pub fn check(trace: &Trace, expected: &[&str]) {
    assert_eq!(trace.take(), expected);
}

/// Counts how many times values made by [`Counter::token`] were dropped.
#[derive(Clone, Default)]
pub struct Counter(Rc<RefCell<usize>>);

pub struct Token(Counter);

impl Drop for Token {
    fn drop(&mut self) {
        *self.0 .0.borrow_mut() += 1;
    }
}

impl Counter {
    pub fn new() -> Self {
        Counter::default()
    }

    pub fn token(&self) -> Token {
        Token(self.clone())
    }

    pub fn dropped(&self) -> usize {
        *self.0.borrow()
    }
}

/// Installs an exception handler that logs each context's message and
/// exception into `trace`, as `handler: MESSAGE: EXCEPTION`.
pub fn log_exceptions(event_loop: &EventLoop, trace: &Trace) {
    let trace = trace.clone();
    event_loop.set_exception_handler(Some(move |context: &ExceptionContext| {
        let exception = context
            .exception
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let message = context
            .message
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        trace.log(format!("handler: {message}: {exception}"));
    }));
}

/// Runs exactly one iteration of `event_loop`.
pub fn run_once(event_loop: &EventLoop) {
    event_loop.stop();
    event_loop.run_forever().unwrap();
}

/// Aborts the process if the returned guard is still alive after
/// `seconds`: a lost cross-thread wake would otherwise hang CI instead of
/// failing it. Dropping the guard (at the end of the test, or in its
/// unwinding) stops the watchdog and joins its thread, so no thread
/// outlives the test (Miri requires it).
pub fn watchdog(seconds: u64) -> Watchdog {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let done = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&done);
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !finished.load(Ordering::Acquire) {
            let now = Instant::now();
            if now >= deadline {
                eprintln!("no progress for {seconds} s: a wake was lost");
                std::process::abort();
            }
            std::thread::park_timeout(deadline - now);
        }
    });
    Watchdog {
        done,
        thread: Some(thread),
    }
}

/// See [`watchdog`].
pub struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Cancels `task` from a timer `seconds` from now on the loop's clock.
pub fn cancel_later<T: 'static>(
    event_loop: &EventLoop,
    task: &asyncio_loop::Task<T>,
    seconds: f64,
) {
    let task = task.clone();
    event_loop
        .call_later(seconds, move || {
            task.cancel();
        })
        .unwrap();
}
