//! "Future exception was never retrieved": reported once, at drop, only
//! when nobody read the exception.

mod support;

use asyncio_core::{Exception, Future};
use support::Harness;

#[test]
fn an_unread_exception_is_reported_when_the_last_handle_drops() {
    let harness = Harness::new();
    let future = harness.future::<u32>();
    let clone = future.clone();
    future.set_exception(Exception::msg("never")).unwrap();
    drop(future);
    assert!(harness.take_reports().is_empty(), "a clone is still alive");
    drop(clone);
    assert_eq!(
        harness.take_reports(),
        ["Future exception was never retrieved: never"]
    );
}

#[test]
fn reading_or_cancelling_counts_as_retrieving() {
    let harness = Harness::new();
    let readers: [fn(&Future<u32>); 4] = [
        |f| drop(f.result()),
        |f| drop(f.exception()),
        |f| drop(f.take_result()),
        |f| {
            f.cancel();
        },
    ];
    for read in readers {
        let future = harness.future::<u32>();
        future.set_exception(Exception::msg("read")).unwrap();
        read(&future);
        drop(future);
    }
    let awaited = harness.future::<u32>();
    awaited.set_exception(Exception::msg("awaited")).unwrap();
    assert!(futures::executor::block_on(awaited.wait()).is_err());
    assert!(harness.take_reports().is_empty());
}

#[test]
fn futures_without_an_exception_report_nothing() {
    let harness = Harness::new();
    drop(harness.future::<u32>());
    let finished = harness.future::<u32>();
    finished.set_result(1).unwrap();
    drop(finished);
    let cancelled = harness.future::<u32>();
    cancelled.cancel();
    drop(cancelled);
    assert!(harness.take_reports().is_empty());
}

#[test]
fn a_future_without_a_loop_reports_to_stderr_without_panicking() {
    let future: Future<u32> = Future::new();
    future.set_exception(Exception::msg("to stderr")).unwrap();
    drop(future);
}
