//! `call_soon`, handles and asyncio's iteration rule.

mod support;

use asyncio_loop::EventLoop;
use support::{check, run_once, Trace};

#[test]
fn callbacks_run_in_fifo_order() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    for name in ["a", "b", "c"] {
        event_loop.call_soon(trace.logger(name)).unwrap();
    }
    run_once(&event_loop);
    check(&trace, &["a", "b", "c"]);
}

#[test]
fn callbacks_scheduled_during_an_iteration_run_in_the_next() {
    // asyncio's cheat-sheet row: a schedules a-child; b; stop; c gives
    // run 1: a, b, c and run 2: a-child.
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let handle = event_loop.handle();
    let child = trace.logger("a-child");
    let log_a = trace.clone();
    event_loop
        .call_soon(move || {
            log_a.log("a");
            handle.call_soon(child).unwrap();
        })
        .unwrap();
    event_loop.call_soon(trace.logger("b")).unwrap();
    let stopper = event_loop.handle();
    event_loop.call_soon(move || stopper.stop()).unwrap();
    event_loop.call_soon(trace.logger("c")).unwrap();

    event_loop.run_forever().unwrap();
    check(&trace, &["a", "b", "c"]);
    run_once(&event_loop);
    check(&trace, &["a-child"]);
}

#[test]
fn stop_before_run_forever_runs_exactly_one_iteration() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let handle = event_loop.handle();
    let child = trace.logger("x-child");
    let log = trace.clone();
    event_loop
        .call_soon(move || {
            log.log("x");
            handle.call_soon(child).unwrap();
        })
        .unwrap();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    check(&trace, &["x"]);
}

#[test]
fn stop_is_reset_after_run_forever_returns() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.stop();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    // A second run needs its own stop: queue work, then a stop behind it.
    event_loop.call_soon(trace.logger("second run")).unwrap();
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    event_loop.run_forever().unwrap();
    check(&trace, &["second run"]);
}

#[test]
fn cancelled_handle_never_runs() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.call_soon(trace.logger("a")).unwrap();
    let handle = event_loop.call_soon(trace.logger("b")).unwrap();
    event_loop.call_soon(trace.logger("c")).unwrap();
    handle.cancel();
    run_once(&event_loop);
    check(&trace, &["a", "c"]);
}

#[test]
fn callback_can_cancel_a_later_callback_of_the_same_iteration() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let later = std::rc::Rc::new(std::cell::RefCell::new(None::<asyncio_loop::Handle>));
    let slot = later.clone();
    event_loop
        .call_soon(move || slot.borrow().as_ref().unwrap().cancel())
        .unwrap();
    *later.borrow_mut() = Some(event_loop.call_soon(trace.logger("cancelled")).unwrap());
    event_loop.call_soon(trace.logger("after")).unwrap();
    run_once(&event_loop);
    check(&trace, &["after"]);
    assert!(later.borrow().as_ref().unwrap().cancelled());
}

#[test]
fn cancelling_after_the_callback_ran_only_marks_the_handle() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let handle = event_loop.call_soon(trace.logger("ran")).unwrap();
    run_once(&event_loop);
    handle.cancel();
    assert!(handle.cancelled());
    check(&trace, &["ran"]);
}

#[test]
fn stale_handle_cannot_cancel_a_callback_that_reuses_its_slot() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let stale = event_loop.call_soon(trace.logger("first")).unwrap();
    run_once(&event_loop);
    // The ready queue is empty again: the next callback takes the slot the
    // first one had, at the front of the ring.
    event_loop.call_soon(trace.logger("second")).unwrap();
    stale.cancel();
    run_once(&event_loop);
    check(&trace, &["first", "second"]);
}

#[test]
fn handle_debug_names_the_callback_until_it_runs() {
    fn tick() {}
    let event_loop = EventLoop::new();
    let handle = event_loop.call_soon(tick).unwrap();
    assert_eq!(
        format!("{handle:?}"),
        "<Handle call_soon::handle_debug_names_the_callback_until_it_runs::tick>"
    );
    run_once(&event_loop);
    assert_eq!(format!("{handle:?}"), "<Handle done>");
}

#[test]
fn is_running_is_true_only_inside_the_loop() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let handle = event_loop.handle();
    let log = trace.clone();
    event_loop
        .call_soon(move || log.log(format!("running: {}", handle.is_running())))
        .unwrap();
    assert!(!event_loop.is_running());
    run_once(&event_loop);
    assert!(!event_loop.is_running());
    check(&trace, &["running: true"]);
}

#[test]
fn many_callbacks_keep_their_order_across_slot_reuse() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    for round in 0..3 {
        let handles: Vec<_> = (0..10)
            .map(|n| {
                event_loop
                    .call_soon(trace.logger(&format!("{round}.{n}")))
                    .unwrap()
            })
            .collect();
        for handle in handles.iter().skip(1).step_by(2) {
            handle.cancel();
        }
        run_once(&event_loop);
        let expected: Vec<String> = (0..10).step_by(2).map(|n| format!("{round}.{n}")).collect();
        assert_eq!(trace.take(), expected);
    }
}
