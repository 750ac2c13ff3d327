//! What the subprocess tests share: a bounded run on a fresh loop, and
//! whether a process still exists.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use asyncio_loop::{EventLoop, LoopHandle};

/// Runs `main` on a new loop, stopped after `seconds` whatever happens
/// (then it panics: no test hangs).
pub(crate) fn run_for<T: 'static>(
    seconds: f64,
    main: impl FnOnce(LoopHandle) -> Pin<Box<dyn Future<Output = T>>>,
) -> T {
    let event_loop = EventLoop::new();
    let stopper = event_loop.handle();
    event_loop
        .call_later(seconds, move || stopper.stop())
        .unwrap();
    let outcome = event_loop.run_until_complete(main(event_loop.handle()));
    outcome.unwrap_or_else(|error| panic!("not done within {seconds} s: {error}"))
}

/// Whether process `pid` exists (a zombie does).
pub(crate) fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
