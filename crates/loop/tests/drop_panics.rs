//! A `Drop` that panics, anywhere in user code the loop drops, never takes
//! the loop down and never aborts the process: each panic goes to the
//! exception handler, and the loop drops the rest. One test per path.

mod support;

use std::error::Error;
use std::fmt;

use asyncio_loop::EventLoop;
use support::{check, log_exceptions, run_once, Trace};

/// Panics with its message when dropped (unless already unwinding).
#[derive(Debug)]
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// An error whose `Drop` panics.
#[derive(Debug)]
struct BombError(#[allow(dead_code)] Bomb);

impl fmt::Display for BombError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bomb error")
    }
}

impl Error for BombError {}

fn new_loop() -> (EventLoop, Trace) {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    (event_loop, trace)
}

#[test]
fn a_capture_that_panics_when_the_callback_is_done_goes_to_the_handler() {
    let (event_loop, trace) = new_loop();
    let bomb = Bomb("capture");
    event_loop.call_soon(move || drop(bomb)).unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &["handler: Exception in callback: panicked: capture", "next"],
    );
}

#[test]
fn close_drops_every_queued_callback_though_two_captures_panic() {
    let (event_loop, trace) = new_loop();
    let (first, second) = (Bomb("first"), Bomb("second"));
    event_loop.call_soon(move || drop(first)).unwrap();
    event_loop.call_soon(move || drop(second)).unwrap();
    event_loop.close().unwrap();
    check(&trace, &BOTH_DROPPED);
}

#[test]
fn dropping_the_loop_drops_every_queued_callback_though_two_captures_panic() {
    let (event_loop, trace) = new_loop();
    let (first, second) = (Bomb("first"), Bomb("second"));
    event_loop.call_soon(move || drop(first)).unwrap();
    event_loop.call_soon(move || drop(second)).unwrap();
    drop(event_loop);
    check(&trace, &BOTH_DROPPED);
}

#[test]
fn a_cancelled_callback_whose_capture_panics_goes_to_the_handler() {
    let (event_loop, trace) = new_loop();
    let bomb = Bomb("cancelled");
    let handle = event_loop.call_soon(move || drop(bomb)).unwrap();
    handle.cancel();
    check(
        &trace,
        &["handler: Exception in dropping: panicked: cancelled"],
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "leaks the payload of the panic in its Drop, on purpose"
)]
fn a_panic_payload_whose_drop_panics_is_reported_and_leaked() {
    let (event_loop, trace) = new_loop();
    event_loop
        .call_soon(|| std::panic::panic_any(Bomb("payload")))
        .unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &[
            "handler: Exception in callback: panicked: Box<dyn Any>",
            "next",
        ],
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "leaks the payload of the panic in its Drop, on purpose"
)]
fn a_handler_panicking_with_such_a_payload_falls_back_to_stderr() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.set_exception_handler(Some(|_: &asyncio_core::ExceptionContext| {
        std::panic::panic_any(Bomb("handler payload"))
    }));
    event_loop.call_soon(|| panic!("callback")).unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(&trace, &["next"]);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "leaks the payload of the panic in its Drop, on purpose"
)]
fn a_task_panicking_with_such_a_payload_fails_its_future() {
    let (event_loop, trace) = new_loop();
    let error = event_loop
        .run_until_complete(async { std::panic::panic_any::<_>(Bomb("task payload")) })
        .unwrap_err();
    assert_eq!(error.to_string(), "panicked: Box<dyn Any>");
    check(&trace, &[]);
}

#[test]
fn a_coroutine_that_panics_when_dropped_after_finishing_goes_to_the_handler() {
    /// Ready at once; holds a bomb until it is dropped. (An `async` block
    /// would drop its captures inside its last poll instead.)
    struct ReadyThenBomb(#[allow(dead_code)] Bomb);

    impl std::future::Future for ReadyThenBomb {
        type Output = u8;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u8> {
            std::task::Poll::Ready(7)
        }
    }

    let (event_loop, trace) = new_loop();
    let result = event_loop
        .run_until_complete(ReadyThenBomb(Bomb("finished coroutine")))
        .unwrap();
    assert_eq!(result, 7);
    check(
        &trace,
        &["handler: Exception in dropping: panicked: finished coroutine"],
    );
}

#[test]
fn pending_coroutines_that_panic_when_dropped_by_close_go_to_the_handler() {
    let (event_loop, trace) = new_loop();
    let never = event_loop.create_future::<()>();
    // Two runs stopped early leave two pending tasks, each holding a bomb.
    for name in ["first task", "second task"] {
        let (bomb, waiter) = (Bomb(name), never.clone());
        let stopper = event_loop.handle();
        event_loop.call_soon(move || stopper.stop()).unwrap();
        let error = event_loop
            .run_until_complete(async move {
                let _bomb = &bomb;
                waiter.wait().await
            })
            .unwrap_err();
        assert!(error.is_stopped());
    }
    event_loop.close().unwrap();
    check(
        &trace,
        &[
            "handler: Exception in dropping: panicked: first task",
            "handler: Exception in dropping: panicked: second task",
        ],
    );
}

#[test]
fn a_result_that_panics_when_its_last_handle_drops_in_a_callback_goes_to_the_handler() {
    let (event_loop, trace) = new_loop();
    let future = event_loop.create_future::<Bomb>();
    future.set_result(Bomb("result")).unwrap();
    event_loop.call_soon(move || drop(future)).unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &["handler: Exception in callback: panicked: result", "next"],
    );
}

#[test]
fn an_exception_that_panics_when_dropped_goes_to_the_handler() {
    let (event_loop, trace) = new_loop();
    let future = event_loop.create_future::<()>();
    future.set_exception(BombError(Bomb("exception"))).unwrap();
    let _ = future.exception();
    event_loop.call_soon(move || drop(future)).unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &[
            "handler: Exception in callback: panicked: exception",
            "next",
        ],
    );
}

/// What the handler hears when bombs "first" and "second" are dropped.
const BOTH_DROPPED: [&str; 2] = [
    "handler: Exception in dropping: panicked: first",
    "handler: Exception in dropping: panicked: second",
];

/// A future of `event_loop` with two done-callbacks, each holding a bomb.
fn with_two_bombs(event_loop: &EventLoop) -> asyncio_core::Future<u8> {
    let future = event_loop.create_future();
    for name in ["first", "second"] {
        let bomb = Bomb(name);
        future.add_done_callback(move |_| drop(bomb)).unwrap();
    }
    future
}

#[test]
fn done_callbacks_dropped_unrun_by_close_are_dropped_one_by_one() {
    let (event_loop, trace) = new_loop();
    let future = with_two_bombs(&event_loop);
    future.set_result(1).unwrap();
    drop(future);
    event_loop.close().unwrap();
    check(&trace, &BOTH_DROPPED);
}

#[test]
fn a_pending_future_dropped_with_two_panicking_callbacks_reports_both() {
    let (event_loop, trace) = new_loop();
    let future = with_two_bombs(&event_loop);
    event_loop.call_soon(move || drop(future)).unwrap();
    run_once(&event_loop);
    check(&trace, &BOTH_DROPPED);
}

#[test]
fn an_exception_handler_that_panics_when_dropped_does_not_escape() {
    let event_loop = EventLoop::new();
    let bomb = Bomb("handler");
    event_loop.set_exception_handler(Some(move |_: &asyncio_core::ExceptionContext| {
        let _ = &bomb;
    }));
    event_loop.call_exception_handler(asyncio_core::ExceptionContext::new("x"));
    drop(event_loop);
}

#[test]
fn replacing_an_exception_handler_that_panics_when_dropped_reports_it() {
    let event_loop = EventLoop::new();
    let bomb = Bomb("old handler");
    event_loop.set_exception_handler(Some(move |_: &asyncio_core::ExceptionContext| {
        let _ = &bomb;
    }));
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    check(
        &trace,
        &["handler: Exception in dropping: panicked: old handler"],
    );
}
