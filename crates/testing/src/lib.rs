//! Helpers that the tests of several asyncio-rs crates share; a
//! dev-dependency only, never published.
//!
//! [`logged`] captures what the code under test logs through the `log`
//! facade (asyncio's warnings, as the `asyncio` logger would print them).

use std::cell::RefCell;
use std::sync::Once;

/// The `log` records of the calling thread while `body` runs, each as
/// `"target level message"`.
///
/// The first call installs this crate's logger as the test binary's (at
/// level warn and above); records from other threads (other tests) are not
/// kept. If another logger was installed first, nothing is captured.
///
/// # Examples
///
/// ```
/// let (value, records) = asyncio_testing::logged(|| {
///     log::warn!(target: "asyncio", "socket.send() raised exception.");
///     7
/// });
/// assert_eq!(value, 7);
/// assert_eq!(records, ["asyncio WARN socket.send() raised exception."]);
/// ```
pub fn logged<T>(body: impl FnOnce() -> T) -> (T, Vec<String>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
    let outer = CAPTURED.with(|captured| captured.borrow_mut().replace(Vec::new()));
    let value = body();
    let records = CAPTURED.with(|captured| std::mem::replace(&mut *captured.borrow_mut(), outer));
    (value, records.unwrap_or_default())
}

thread_local! {
    static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Keeps each record in its thread's `CAPTURED` while a [`logged`] runs.
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

#[cfg(test)]
mod tests {
    use super::logged;

    #[test]
    fn nested_captures_keep_their_own_records() {
        let (inner, outer) = logged(|| {
            log::warn!("outer, before");
            let (_, inner) = logged(|| log::warn!("inner"));
            log::warn!("outer, after");
            inner
        });
        let target = module_path!();
        assert_eq!(inner, [format!("{target} WARN inner")]);
        assert_eq!(
            outer,
            [
                format!("{target} WARN outer, before"),
                format!("{target} WARN outer, after")
            ]
        );
    }

    #[test]
    fn records_below_warn_are_not_kept() {
        let ((), records) = logged(|| log::info!("chatter"));
        assert!(records.is_empty());
    }
}
