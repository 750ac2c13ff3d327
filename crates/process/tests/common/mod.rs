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

/// The `log` records of the calling thread while `body` runs, as
/// `"target level message"` (the test binary's logger, installed at the
/// first call; records of other threads, other tests, are not kept).
pub(crate) fn logged<T>(body: impl FnOnce() -> T) -> (T, Vec<String>) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    let value = body();
    let records = CAPTURED.with(|captured| captured.borrow_mut().take());
    (value, records.unwrap_or_default())
}

thread_local! {
    static CAPTURED: std::cell::RefCell<Option<Vec<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Keeps each record in its thread's `CAPTURED`, while a `logged` runs.
struct Capture;

static CAPTURE: Capture = Capture;

impl log::Log for Capture {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {} {}", record.target(), record.level(), record.args());
        let _ = CAPTURED.try_with(|captured| {
            if let Some(records) = captured.borrow_mut().as_mut() {
                records.push(line);
            }
        });
    }

    fn flush(&self) {}
}
