//! `run_until_complete` with futures and coroutines: results, errors and
//! the exact ordering asyncio gives (each case was checked on CPython 3.11).

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use asyncio_core::{Exception, Future};
use asyncio_loop::EventLoop;
use support::{check, run_once, Trace};

#[test]
fn returns_the_result_of_a_future_and_leaves_it_in_place() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    let setter = future.clone();
    event_loop
        .call_soon(move || setter.set_result(String::from("the result")).unwrap())
        .unwrap();
    assert_eq!(
        event_loop.run_until_complete(&future).unwrap(),
        "the result"
    );
    event_loop.close().unwrap();
    assert_eq!(future.result().unwrap(), "the result");
}

#[test]
fn returns_the_output_of_a_coroutine() {
    let event_loop = EventLoop::new();
    let output = event_loop
        .run_until_complete(async { vec![1, 2, 3] })
        .unwrap();
    assert_eq!(output, [1, 2, 3]);
}

#[test]
fn future_exception_comes_back_as_the_error_and_counts_as_retrieved() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    support::log_exceptions(&event_loop, &trace);
    let future = event_loop.create_future::<()>();
    future.set_exception(Exception::msg("boom")).unwrap();
    let error = event_loop.run_until_complete(&future).unwrap_err();
    assert_eq!(error.exception().unwrap().to_string(), "boom");
    assert_eq!(error.to_string(), "boom");
    drop(future);
    check(&trace, &[]);
}

#[test]
fn cancelled_future_gives_a_cancelled_error_with_its_message() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<()>();
    let canceller = future.clone();
    event_loop
        .call_soon(move || assert!(canceller.cancel_with_message("stop it")))
        .unwrap();
    let error = event_loop.run_until_complete(&future).unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(
        error.future_error().unwrap().cancel_message(),
        Some("stop it")
    );
}

#[test]
fn loop_stopped_first_leaves_the_future_pending_for_a_later_run() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    let error = event_loop.run_until_complete(&future).unwrap_err();
    assert!(error.is_stopped());
    assert_eq!(
        error.to_string(),
        "event loop stopped before future completed"
    );
    assert!(!future.done());

    let setter = future.clone();
    event_loop
        .call_soon(move || setter.set_result(5).unwrap())
        .unwrap();
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 5);
}

#[test]
fn everything_queued_by_the_completing_iteration_runs_before_returning() {
    // CPython: setter (set_result, call_soon X, call_soon Y -> Z) gives
    // setter, user-cb, X, Y; Z is left for the next run.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    let log = trace.clone();
    future
        .add_done_callback(move |_| log.log("user-cb"))
        .unwrap();
    let (log, setter, handle) = (trace.clone(), future.clone(), event_loop.handle());
    event_loop
        .call_soon(move || {
            log.log("setter");
            setter.set_result(1).unwrap();
            handle.call_soon(log.logger("X")).unwrap();
            let (log, handle2) = (log.clone(), handle.clone());
            handle
                .call_soon(move || {
                    log.log("Y");
                    handle2.call_soon(log.logger("Z")).unwrap();
                })
                .unwrap();
        })
        .unwrap();
    event_loop.run_until_complete(&future).unwrap();
    check(&trace, &["setter", "user-cb", "X", "Y"]);
    run_once(&event_loop);
    check(&trace, &["Z"]);
}

#[test]
fn a_done_future_runs_exactly_one_iteration() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    future.set_result(5).unwrap();
    let (log, handle) = (trace.clone(), event_loop.handle());
    event_loop
        .call_soon(move || {
            log.log("a");
            handle.call_soon(log.logger("a-child")).unwrap();
        })
        .unwrap();
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 5);
    check(&trace, &["a"]);
}

#[test]
fn a_coroutines_first_step_runs_behind_what_was_already_queued() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.call_soon(trace.logger("queued before")).unwrap();
    let log = trace.clone();
    event_loop
        .run_until_complete(async move { log.log("task first step") })
        .unwrap();
    check(&trace, &["queued before", "task first step"]);
}

#[test]
fn done_callbacks_run_after_the_coroutine_that_completed_the_future_returns() {
    // The chapter's callback example: main returns, cb1, cb2, then
    // run_until_complete returns.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    for name in ["cb1", "cb2"] {
        let log = trace.clone();
        future.add_done_callback(move |_| log.log(name)).unwrap();
    }
    let log = trace.clone();
    event_loop
        .run_until_complete(async move {
            future.set_result(1).unwrap();
            log.log("main returns");
        })
        .unwrap();
    trace.log("run_until_complete returned");
    check(
        &trace,
        &["main returns", "cb1", "cb2", "run_until_complete returned"],
    );
}

#[test]
fn an_awaiting_task_resumes_before_callbacks_queued_after_the_result() {
    // CPython: a callback does set_result then call_soon(X): the waiter
    // resumes first, because its wake-up was queued by set_result.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let handle = event_loop.handle();
    let log = trace.clone();
    event_loop
        .run_until_complete(async move {
            let future = handle.create_future();
            let (setter, inner_handle, inner_log) = (future.clone(), handle.clone(), log.clone());
            handle
                .call_soon(move || {
                    setter.set_result(1).unwrap();
                    inner_handle.call_soon(inner_log.logger("X")).unwrap();
                })
                .unwrap();
            future.await.unwrap();
            log.log("waiter resumes");
        })
        .unwrap();
    run_once(&event_loop);
    check(&trace, &["waiter resumes", "X"]);
}

#[test]
fn task_wake_up_keeps_its_place_among_done_callbacks() {
    // CPython: cb1 added, task awaits, cb2 added, result set: cb1, waiter, cb2.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    let log = trace.clone();
    future.add_done_callback(move |_| log.log("cb1")).unwrap();
    let (setter, log) = (future.clone(), trace.clone());
    let handle = event_loop.handle();
    let waiter = future.clone();
    let log_waiter = trace.clone();
    event_loop
        .run_until_complete(async move {
            handle
                .call_soon(move || {
                    let log = log.clone();
                    setter.add_done_callback(move |_| log.log("cb2")).unwrap();
                    setter.set_result(1).unwrap();
                })
                .unwrap();
            waiter.await.unwrap();
            log_waiter.log("waiter");
        })
        .unwrap();
    run_once(&event_loop);
    check(&trace, &["cb1", "waiter", "cb2"]);
}

#[test]
fn awaiting_a_done_future_does_not_suspend() {
    // CPython: the code after the await runs before a callback queued earlier.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    future.set_result(1).unwrap();
    let (handle, log) = (event_loop.handle(), trace.clone());
    event_loop
        .run_until_complete(async move {
            handle.call_soon(log.logger("S")).unwrap();
            future.await.unwrap();
            log.log("after await");
        })
        .unwrap();
    run_once(&event_loop);
    check(&trace, &["after await", "S"]);
}

#[test]
fn no_stale_stop_after_a_run_that_was_stopped_early() {
    // CPython leaves its stop callback queued here, and the next run_forever
    // stops after one iteration (it logs only "a"). Ours runs a, then b.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future = event_loop.create_future();
    let setter = future.clone();
    event_loop
        .call_soon(move || setter.set_result(1).unwrap())
        .unwrap();
    event_loop.stop();
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 1);

    let (log, handle) = (trace.clone(), event_loop.handle());
    event_loop
        .call_soon(move || {
            log.log("a");
            let (log, inner) = (log.clone(), handle.clone());
            handle
                .call_soon(move || {
                    log.log("b");
                    inner.stop();
                })
                .unwrap();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    check(&trace, &["a", "b"]);
}

#[test]
fn a_coroutine_that_panics_fails_with_a_panic_exception() {
    let event_loop = EventLoop::new();
    let error = event_loop
        .run_until_complete(async { panic!("coroutine failed") })
        .unwrap_err();
    let panic = error
        .exception()
        .unwrap()
        .downcast_ref::<asyncio_core::Panic>()
        .unwrap();
    assert_eq!(panic.message(), "coroutine failed");
    assert!(!event_loop.is_running());
    // The loop still works.
    assert_eq!(event_loop.run_until_complete(async { 1 }).unwrap(), 1);
}

#[test]
fn a_coroutine_stopped_early_resumes_on_the_next_run() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let future: Future<u32> = event_loop.create_future();
    let waiter = future.clone();
    let log = trace.clone();
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    let error = event_loop
        .run_until_complete(async move {
            let value = waiter.await.unwrap();
            log.log(format!("got {value}"));
        })
        .unwrap_err();
    assert!(error.is_stopped());
    future.set_result(9).unwrap();
    run_once(&event_loop);
    check(&trace, &["got 9"]);
}

#[test]
fn a_future_of_another_loop_is_refused() {
    let first = EventLoop::new();
    let second = EventLoop::new();
    let future = first.create_future::<()>();
    assert!(second
        .run_until_complete(&future)
        .unwrap_err()
        .is_foreign_future());
    let unbound: Future<()> = Future::new();
    let error = first.run_until_complete(&unbound).unwrap_err();
    assert!(error.is_foreign_future());
    assert_eq!(
        error.to_string(),
        "the future belongs to a different event loop"
    );
}

#[test]
fn running_a_running_loop_or_a_closed_one_is_an_error() {
    let event_loop = EventLoop::new();
    let outcome = Rc::new(Cell::new((false, false, false)));
    let (handle, seen) = (event_loop.handle(), outcome.clone());
    event_loop
        .call_soon(move || {
            let other = EventLoop::new();
            let again = asyncio_loop::get_running_loop().unwrap();
            // Re-entering the same loop: neither EventLoop nor handle can,
            // and a second loop cannot run on this thread.
            seen.set((
                again.is_running(),
                other
                    .run_until_complete(async {})
                    .unwrap_err()
                    .is_another_loop_running(),
                handle.close().unwrap_err().is_running(),
            ));
            handle.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(outcome.get(), (true, true, true));

    event_loop.close().unwrap();
    assert!(event_loop
        .run_until_complete(async {})
        .unwrap_err()
        .is_closed());
    assert!(event_loop.run_forever().unwrap_err().is_closed());
    assert!(event_loop.call_soon(|| {}).unwrap_err().is_closed());
}

#[test]
fn run_until_complete_inside_the_loop_is_already_running() {
    let event_loop = EventLoop::new();
    let refused = Rc::new(Cell::new(false));
    let flag = refused.clone();
    let event_loop = Rc::new(event_loop);
    let inner = Rc::downgrade(&event_loop);
    event_loop
        .call_soon(move || {
            let event_loop = inner.upgrade().unwrap();
            let error = event_loop.run_until_complete(async {}).unwrap_err();
            flag.set(
                error.is_running() && error.to_string() == "this event loop is already running",
            );
            event_loop.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert!(refused.get());
}

#[test]
fn a_future_by_value_gives_its_result_moved_out_without_nesting() {
    #[derive(Debug, PartialEq)]
    struct NotClone(u32);
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    let setter = future.clone();
    event_loop
        .call_soon(move || setter.set_result(NotClone(5)).unwrap())
        .unwrap();
    let result: NotClone = event_loop.run_until_complete(future).unwrap();
    assert_eq!(result, NotClone(5));
}

#[test]
fn by_value_and_by_reference_fail_the_same_way() {
    use asyncio_core::FutureErrorKind;
    use asyncio_loop::LoopErrorKind;
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    future.cancel();
    let by_reference = event_loop.run_until_complete(&future).unwrap_err();
    let by_value = event_loop.run_until_complete(future).unwrap_err();
    for error in [by_reference, by_value] {
        assert_eq!(
            error.kind(),
            LoopErrorKind::Future(FutureErrorKind::Cancelled)
        );
    }
}

#[test]
fn already_running_and_closing_while_running_are_two_kinds() {
    use asyncio_loop::LoopErrorKind;
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let kinds = Rc::new(RefCell::new(Vec::new()));
    let sink = kinds.clone();
    event_loop
        .call_soon(move || {
            let inner = asyncio_loop::get_running_loop().unwrap();
            let mut sink = sink.borrow_mut();
            sink.push(handle.close().unwrap_err().kind());
            let again = EventLoop::new();
            sink.push(again.run_forever().unwrap_err().kind());
            inner.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(
        *kinds.borrow(),
        [
            LoopErrorKind::CloseRunning,
            LoopErrorKind::AnotherLoopRunning
        ]
    );
}
