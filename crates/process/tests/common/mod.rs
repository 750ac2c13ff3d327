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

/// The pid of a running child of this process whose arguments include
/// `argument`.
pub(crate) fn child_with_argument(argument: &str) -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let ours = cmdline
                .split(|&byte| byte == 0)
                .any(|part| part == argument.as_bytes());
            // `pid (comm) state ppid ...`: the parent is the field after the
            // closing parenthesis and the state.
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
            (ours && parent == me).then_some(pid)
        })
}
