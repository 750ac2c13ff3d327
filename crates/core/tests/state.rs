//! The state machine: pending, cancelled, finished with a result or an
//! exception, and every misuse asyncio rejects.

use asyncio_core::{Exception, Future};

#[test]
fn a_new_future_is_pending() {
    let future: Future<i32> = Future::new();
    assert!(!future.done());
    assert!(!future.cancelled());
    let error = future.result().unwrap_err();
    assert!(error.is_invalid_state());
    assert_eq!(error.to_string(), "invalid state: result is not ready");
    let error = future.exception().unwrap_err();
    assert!(error.is_invalid_state());
    assert_eq!(error.to_string(), "invalid state: exception is not set");
}

#[test]
fn set_result_finishes_and_the_result_is_kept() {
    let future = Future::new();
    future.set_result(String::from("the result")).unwrap();
    assert!(future.done());
    assert!(!future.cancelled());
    for _ in 0..3 {
        assert_eq!(future.result().unwrap(), "the result");
    }
    assert!(future.exception().unwrap().is_none());
}

#[test]
fn a_second_completion_is_an_invalid_state_and_changes_nothing() {
    let future = Future::new();
    future.set_result(1).unwrap();
    let error = future.set_result(2).unwrap_err();
    assert!(error.is_invalid_state());
    assert_eq!(error.to_string(), "invalid state: result is already set");
    let error = future.set_exception(Exception::msg("late")).unwrap_err();
    assert!(error.is_invalid_state());
    assert!(!future.cancel());
    assert_eq!(future.result().unwrap(), 1);

    let failed: Future<i32> = Future::new();
    failed.set_exception(Exception::msg("first")).unwrap();
    assert_eq!(
        failed.set_result(1).unwrap_err().to_string(),
        "invalid state: exception is already set"
    );

    let cancelled: Future<i32> = Future::new();
    cancelled.cancel();
    assert_eq!(
        cancelled.set_result(1).unwrap_err().to_string(),
        "invalid state: future is cancelled"
    );
}

#[test]
fn set_exception_finishes_with_the_exception_every_time() {
    let future: Future<()> = Future::new();
    let exception = Exception::msg("boom");
    future.set_exception(exception.clone()).unwrap();
    assert!(future.done() && !future.cancelled());
    let from_result = future.result().unwrap_err().into_exception().unwrap();
    let from_exception = future.exception().unwrap().unwrap();
    assert!(from_result.ptr_eq(&exception));
    assert!(from_exception.ptr_eq(&exception));
}

#[test]
fn any_error_type_converts_into_an_exception() {
    let future: Future<u32> = Future::new();
    let parse_error = "seven".parse::<u32>().unwrap_err();
    future.set_exception(parse_error.clone()).unwrap();
    let error = future.result().unwrap_err();
    assert_eq!(
        error.exception().unwrap().downcast_ref(),
        Some(&parse_error)
    );
    // Transparent: the error reads as the exception, whose own source is none.
    assert_eq!(error.to_string(), parse_error.to_string());
    assert!(std::error::Error::source(&error).is_none());
}

#[test]
fn cancel_returns_whether_it_changed_the_state() {
    let future: Future<()> = Future::new();
    assert!(future.cancel());
    assert!(future.done() && future.cancelled());
    assert!(!future.cancel());
    assert!(!future.cancel_with_message("again"));
    let error = future.result().unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(error.cancel_message(), None);
    assert_eq!(error.to_string(), "future was cancelled");

    let finished = Future::new();
    finished.set_result(()).unwrap();
    assert!(!finished.cancel());
    assert!(!finished.cancelled());
}

#[test]
fn the_cancel_message_comes_back_from_result_and_exception_each_time() {
    let future: Future<()> = Future::new();
    assert!(future.cancel_with_message("shutting down"));
    for _ in 0..2 {
        assert_eq!(
            future.result().unwrap_err().cancel_message(),
            Some("shutting down")
        );
        assert_eq!(
            future.exception().unwrap_err().cancel_message(),
            Some("shutting down")
        );
    }
}

#[test]
fn take_result_moves_the_value_out_once() {
    #[derive(Debug)]
    struct NotClone(u8);
    let future = Future::new();
    future.set_result(NotClone(4)).unwrap();
    assert_eq!(future.take_result().unwrap().0, 4);
    assert!(future.done());
    let error = future.take_result().unwrap_err();
    assert_eq!(error.to_string(), "invalid state: result was taken");
}

#[test]
fn clones_share_one_state() {
    let future = Future::new();
    let clone = future.clone();
    clone.set_result(9).unwrap();
    assert!(future.done());
    assert_eq!(future.result().unwrap(), 9);
    assert!(future.ptr_eq(&clone));
}
