//! Panics in user code never take the loop down.

mod support;

use asyncio_core::{Exception, ExceptionContext};
use asyncio_loop::EventLoop;
use support::{check, log_exceptions, run_once, Trace};

#[test]
fn a_panicking_callback_goes_to_the_handler_and_the_batch_goes_on() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    event_loop.call_soon(trace.logger("before")).unwrap();
    event_loop.call_soon(|| panic!("boom")).unwrap();
    event_loop.call_soon(trace.logger("after")).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &[
            "before",
            "handler: Exception in callback: panicked: boom",
            "after",
        ],
    );
}

#[test]
fn the_context_names_the_callback_that_panicked() {
    fn exploding() {
        panic!("kaboom");
    }
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let log = trace.clone();
    event_loop.set_exception_handler(Some(move |context: &ExceptionContext| {
        log.log(context.message.to_string());
        log.log(context.callback.unwrap_or("none"));
        log.log(context.handle.as_deref().unwrap_or("none"));
    }));
    event_loop.call_soon(exploding).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &[
            "Exception in callback panics::the_context_names_the_callback_that_panicked::exploding",
            "panics::the_context_names_the_callback_that_panicked::exploding",
            "<Handle panics::the_context_names_the_callback_that_panicked::exploding>",
        ],
    );
}

#[test]
fn a_panicking_done_callback_does_not_stop_the_next_one() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    let future = event_loop.create_future();
    future.add_done_callback(|_| panic!("first")).unwrap();
    let log = trace.clone();
    future
        .add_done_callback(move |f| log.log(format!("second saw {}", f.result().unwrap())))
        .unwrap();
    future.set_result(3).unwrap();
    run_once(&event_loop);
    check(
        &trace,
        &[
            "handler: Exception in callback: panicked: first",
            "second saw 3",
        ],
    );
}

#[test]
fn a_panicking_exception_handler_falls_back_to_the_default() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.set_exception_handler(Some(|_: &ExceptionContext| panic!("handler failed")));
    event_loop.call_soon(|| panic!("callback failed")).unwrap();
    event_loop.call_soon(trace.logger("still running")).unwrap();
    run_once(&event_loop);
    check(&trace, &["still running"]);
}

#[test]
fn the_default_handler_prints_and_the_loop_goes_on() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop
        .call_soon(|| panic!("printed to stderr"))
        .unwrap();
    event_loop.call_soon(trace.logger("next")).unwrap();
    run_once(&event_loop);
    check(&trace, &["next"]);
}

#[test]
fn resetting_the_handler_restores_the_default() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    event_loop.set_exception_handler(None::<fn(&ExceptionContext)>);
    event_loop.call_exception_handler(
        ExceptionContext::new("to stderr").with_exception(Exception::msg("x")),
    );
    check(&trace, &[]);
}

#[test]
fn an_unretrieved_exception_is_reported_to_the_loop_when_the_future_drops() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    let future = event_loop.create_future::<()>();
    future.set_exception(Exception::msg("never")).unwrap();
    drop(future);
    check(&trace, &["handler: Future exception was: never"]);

    for retrieve in [
        (|f: &asyncio_core::Future<()>| drop(f.result())) as fn(&_),
        |f| drop(f.exception()),
        |f| {
            f.cancel();
        },
    ] {
        let future = event_loop.create_future::<()>();
        future.set_exception(Exception::msg("read")).unwrap();
        retrieve(&future);
        drop(future);
    }
    check(&trace, &[]);
}

#[test]
fn a_coroutine_panic_inside_an_awaited_chain_reaches_the_caller() {
    async fn inner() -> u32 {
        panic!("deep");
    }
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    log_exceptions(&event_loop, &trace);
    let error = event_loop
        .run_until_complete(async { inner().await + 1 })
        .unwrap_err();
    assert_eq!(error.to_string(), "panicked: deep");
    // Reported to the caller, so not to the handler.
    check(&trace, &[]);
}

/// A callback given a name with `named` is shown by it: in its handle's and
/// timer handle's `Debug`, and in the report of its panic.
#[test]
fn a_named_callback_is_reported_and_shown_by_its_name() {
    use asyncio_core::named;
    use asyncio_loop::ManualClock;

    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let trace = Trace::new();
    let log = trace.clone();
    event_loop.set_exception_handler(Some(move |context: &ExceptionContext| {
        log.log(context.to_string());
    }));
    let seconds = 3;
    let handle = event_loop
        .call_soon(named("print_seconds", move || panic!("{seconds}")))
        .unwrap();
    assert_eq!(format!("{handle:?}"), "<Handle print_seconds>");
    let timer = event_loop
        .call_later(1.0, named("tick", || panic!("late")))
        .unwrap();
    assert_eq!(format!("{timer:?}"), "<TimerHandle when=1 tick>");
    let stop = event_loop.handle();
    event_loop.call_later(2.0, move || stop.stop()).unwrap();
    event_loop.run_forever().unwrap();
    check(
        &trace,
        &[
            "Exception in callback print_seconds\n\
             callback: print_seconds\n\
             handle: <Handle print_seconds>\n\
             exception: panicked: 3",
            "Exception in callback tick\n\
             callback: tick\n\
             handle: <TimerHandle when=1 tick>\n\
             exception: panicked: late",
        ],
    );
}
