//! Timers, the clock and `sleep`: asyncio's ordering, on a manual clock
//! (only the last tests read the real clock, with generous tolerances).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, LoopHandle, ManualClock};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, line: &str) -> impl FnOnce() + 'static {
    let (log, line) = (Rc::clone(log), line.to_owned());
    move || log.borrow_mut().push(line)
}

fn manual() -> (ManualClock, EventLoop) {
    let clock = ManualClock::new();
    let event_loop = EventLoop::with_clock(&clock);
    (clock, event_loop)
}

fn stop_after(event_loop: &EventLoop, seconds: f64) {
    let handle = event_loop.handle();
    event_loop
        .call_later(seconds, move || handle.stop())
        .unwrap();
}

/// The order CPython 3.11 prints for the same program (`python3` with
/// `call_soon`, `call_later(0)`, `sleep(0)`, a cancelled due timer and one
/// with a past deadline).
#[test]
fn timers_calls_and_sleeps_interleave_as_in_asyncio() {
    let (_, event_loop) = manual();
    let log = log();
    let handle = event_loop.handle();
    let record = Rc::clone(&log);
    event_loop
        .run_until_complete(async move {
            let at = |line: &str| push(&record, line);
            at("main start")();
            handle.call_soon(at("soon 1")).unwrap();
            handle.call_later(0.0, at("later 0")).unwrap();
            handle.sleep(0.0).await.unwrap();
            at("after sleep0")();
            handle.call_soon(at("soon 2")).unwrap();
            handle.call_later(0.01, at("later 10ms")).unwrap();
            handle.sleep(0.01).await.unwrap();
            at("after sleep 10ms")();
            let timer = Rc::new(handle.call_later(0.0, at("cancelled")).unwrap());
            let canceller = Rc::clone(&timer);
            handle.call_soon(move || canceller.cancel()).unwrap();
            handle.call_later(-1.0, at("past")).unwrap();
            handle.sleep(0.0).await.unwrap();
            at("end")();
        })
        .unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "main start",
            "soon 1",
            "after sleep0",
            "later 0",
            "soon 2",
            "later 10ms",
            "after sleep 10ms",
            "end",
            "past"
        ]
    );
}

#[test]
fn equal_deadlines_run_in_the_order_they_were_scheduled() {
    let (_, event_loop) = manual();
    let log = log();
    for name in ["a", "b", "c", "d"] {
        event_loop.call_later(1.0, push(&log, name)).unwrap();
    }
    event_loop.call_later(0.5, push(&log, "first")).unwrap();
    stop_after(&event_loop, 2.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["first", "a", "b", "c", "d"]);
}

#[test]
fn due_timers_join_the_ready_queue_after_what_is_there() {
    let (_, event_loop) = manual();
    let log = log();
    event_loop.call_later(0.0, push(&log, "later")).unwrap();
    event_loop.call_soon(push(&log, "soon")).unwrap();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["soon", "later"], "both in one iteration");
}

#[test]
fn a_timer_with_a_past_deadline_runs_on_the_next_iteration() {
    let (_, event_loop) = manual();
    let log = log();
    let handle = event_loop.handle();
    let inner = Rc::clone(&log);
    event_loop
        .call_soon(move || {
            handle.call_at(-5.0, push(&inner, "past")).unwrap();
            handle.call_soon(push(&inner, "soon")).unwrap();
            inner.borrow_mut().push("first".into());
        })
        .unwrap();
    // Two iterations: the first runs `first`, the second `soon` then `past`.
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["first"]);
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["first", "soon", "past"]);
}

#[test]
fn a_cancelled_timer_never_runs_and_is_dropped_at_once() {
    let (_, event_loop) = manual();
    let log = log();
    let timer = event_loop.call_later(1.0, push(&log, "never")).unwrap();
    assert_eq!(Rc::strong_count(&log), 2);
    timer.cancel();
    assert_eq!(Rc::strong_count(&log), 1, "the callback was dropped");
    stop_after(&event_loop, 2.0);
    event_loop.run_forever().unwrap();
    assert!(log.borrow().is_empty());
    assert!(format!("{timer:?}").starts_with("<TimerHandle cancelled when=1"));
}

#[test]
fn a_due_timer_cancelled_by_an_earlier_callback_of_its_iteration_does_not_run() {
    let (_, event_loop) = manual();
    let log = log();
    // Both due in the same iteration: the first cancels the second.
    let second = Rc::new(event_loop.call_later(1.0, push(&log, "second")).unwrap());
    let first = {
        let (log, second) = (Rc::clone(&log), Rc::clone(&second));
        move || {
            log.borrow_mut().push("first".into());
            second.cancel();
        }
    };
    // Scheduled after `second` with an earlier deadline: it comes first.
    event_loop.call_later(0.5, first).unwrap();
    stop_after(&event_loop, 0.75);
    event_loop.run_forever().unwrap();
    // Now both are due at once (1.0 for `second`, stop at 0.75 ran already).
    assert_eq!(*log.borrow(), ["first"]);
    stop_after(&event_loop, 2.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["first"]);
}

#[test]
fn a_timer_cancelled_while_due_and_queued_is_skipped() {
    let (clock, event_loop) = manual();
    let log = log();
    let late = Rc::new(event_loop.call_later(1.0, push(&log, "late")).unwrap());
    let canceller = Rc::clone(&late);
    let early = {
        let log = Rc::clone(&log);
        move || {
            log.borrow_mut().push("early".into());
            canceller.cancel();
        }
    };
    event_loop.call_later(1.0, early).unwrap();
    // Equal deadlines: `late` is first in line, so cancel before both are
    // due, from a call_soon of the iteration in which both become due.
    clock.advance(2.0);
    let l2 = Rc::clone(&late);
    event_loop.call_soon(move || l2.cancel()).unwrap();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["early"]);
    assert!(format!("{late:?}").starts_with("<TimerHandle cancelled"));
}

#[test]
fn the_manual_clock_moves_only_when_advanced_or_when_the_loop_is_idle() {
    let (clock, event_loop) = manual();
    let log = log();
    event_loop.call_later(10.0, push(&log, "ten")).unwrap();
    // Something is ready: the clock does not jump.
    event_loop.call_soon(push(&log, "soon")).unwrap();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.time(), 0.0);
    assert_eq!(*log.borrow(), ["soon"]);
    clock.advance(4.0);
    assert_eq!(event_loop.time(), 4.0);
    // A pending stop waits for nothing (asyncio's select timeout is then
    // 0): the clock stays.
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.time(), 4.0);
    // Nothing ready: the loop jumps to the deadline and runs it.
    let started = Instant::now();
    stop_after(&event_loop, 6.0);
    event_loop.run_forever().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "no real sleep");
    assert_eq!(event_loop.time(), 10.0);
    assert_eq!(*log.borrow(), ["soon", "ten"]);
}

#[test]
fn sleep_returns_its_value_and_takes_its_delay_from_the_first_poll() {
    let (clock, event_loop) = manual();
    let sleep = event_loop.sleep_with(3.0, "done");
    clock.advance(100.0);
    assert_eq!(
        event_loop.run_until_complete(sleep).unwrap().unwrap(),
        "done"
    );
    assert_eq!(event_loop.time(), 103.0);
}

#[test]
fn a_dropped_sleep_cancels_its_timer() {
    use futures::future::{select, Either};
    let (_, event_loop) = manual();
    let handle = event_loop.handle();
    let won = event_loop
        .run_until_complete(async move {
            let long = handle.sleep(100.0);
            let short = handle.sleep_with(1.0, "short");
            match select(long, short).await {
                Either::Left(_) => "long",
                Either::Right((value, _long)) => value.unwrap(),
            }
        })
        .unwrap();
    assert_eq!(won, "short");
    // The long sleep's timer is gone: the loop now has nothing to wait for,
    // so its time stays put.
    let before = event_loop.time();
    event_loop.stop();
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.time(), before);
    assert_eq!(before, 1.0);
}

#[test]
fn sleep_zero_yields_exactly_one_iteration() {
    let (_, event_loop) = manual();
    let log = log();
    let handle = event_loop.handle();
    // A chain of callbacks, one per iteration, beside the sleeping task.
    fn chain(handle: LoopHandle, log: Log, n: u32) {
        if n == 0 {
            return;
        }
        log.borrow_mut().push(format!("tick {n}"));
        let next = handle.clone();
        let _ = handle.call_soon(move || chain(next, log, n - 1));
    }
    let (h, l) = (handle.clone(), Rc::clone(&log));
    event_loop.call_soon(move || chain(h, l, 3)).unwrap();
    let record = Rc::clone(&log);
    event_loop
        .run_until_complete(async move {
            record.borrow_mut().push("task 1".into());
            handle.sleep(0.0).await.unwrap();
            record.borrow_mut().push("task 2".into());
            handle.sleep(Duration::ZERO).await.unwrap();
            record.borrow_mut().push("task 3".into());
        })
        .unwrap();
    assert_eq!(
        *log.borrow(),
        ["tick 3", "task 1", "tick 2", "task 2", "tick 1", "task 3"]
    );
}

#[test]
fn a_closed_loop_refuses_timers_and_close_drops_the_pending_ones() {
    let (_, event_loop) = manual();
    let log = log();
    event_loop.call_later(1.0, push(&log, "never")).unwrap();
    let handle = event_loop.handle();
    let sleep = handle.sleep(1.0);
    event_loop.close().unwrap();
    assert_eq!(
        Rc::strong_count(&log),
        1,
        "close dropped the timer's callback"
    );
    let error = event_loop.call_later(1.0, || {}).unwrap_err();
    assert!(error.is_closed());
    assert!(handle.call_at(0.0, || {}).unwrap_err().is_closed());
    let polled = futures::executor::block_on(sleep);
    assert!(polled.unwrap_err().is_loop_closed());
    drop(event_loop);
    assert!(handle.call_later(1.0, || {}).unwrap_err().is_closed());
}

#[test]
fn a_panicking_timer_goes_to_the_exception_handler_and_the_loop_goes_on() {
    let (_, event_loop) = manual();
    let log = log();
    let messages = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&messages);
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        seen.borrow_mut().push(context.message.to_string());
        seen.borrow_mut()
            .push(context.handle.clone().unwrap_or_default());
    }));
    fn explode() {
        panic!("boom")
    }
    // A ready callback in the same iteration as the timer: only the timer's
    // handle is a `TimerHandle`.
    event_loop.call_later(1.0, explode).unwrap();
    event_loop.call_later(2.0, push(&log, "after")).unwrap();
    event_loop
        .call_later(2.0, {
            let handle = event_loop.handle();
            move || {
                handle.call_soon(explode).unwrap();
            }
        })
        .unwrap();
    stop_after(&event_loop, 3.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["after"]);
    let messages = messages.borrow();
    assert_eq!(messages.len(), 4);
    assert!(messages[0].starts_with("Exception in callback"));
    assert!(messages[0].ends_with("::explode"));
    assert!(
        messages[1].starts_with("<TimerHandle when=1 "),
        "{}",
        messages[1]
    );
    assert!(messages[1].ends_with("::explode>"));
    assert!(messages[3].starts_with("<Handle "), "{}", messages[3]);
}

#[test]
fn timer_handles_report_their_deadline_and_state() {
    let (_, event_loop) = manual();
    fn tick() {}
    let timer = event_loop.call_at(7.25, tick).unwrap();
    assert_eq!(timer.when(), 7.25);
    let shown = format!("{timer:?}");
    assert!(
        shown.starts_with("<TimerHandle when=7.25 ") && shown.ends_with("tick>"),
        "{shown}"
    );
    stop_after(&event_loop, 8.0);
    event_loop.run_forever().unwrap();
    assert_eq!(format!("{timer:?}"), "<TimerHandle done when=7.25>");
    timer.cancel();
    assert!(
        timer.cancelled(),
        "cancelling after it ran only marks it, as in asyncio"
    );
}

// ---- the real clock: a handful, with generous tolerances ----------------

#[test]
fn call_later_on_the_real_clock_waits_at_least_its_delay() {
    let event_loop = EventLoop::new();
    let started = Instant::now();
    let start_time = event_loop.time();
    let handle = event_loop.handle();
    event_loop
        .call_later(Duration::from_millis(50), move || handle.stop())
        .unwrap();
    event_loop.run_forever().unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(50), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(event_loop.time() - start_time >= 0.05);
}

#[test]
fn sleep_on_the_real_clock_waits_at_least_its_delay() {
    let event_loop = EventLoop::new();
    let started = Instant::now();
    event_loop
        .run_until_complete(event_loop.sleep(0.05))
        .unwrap()
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(50) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}
