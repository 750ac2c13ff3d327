//! The rules of time: asyncio's `now + delay` deadlines (negative and
//! infinite delays), and when a manual clock moves (the loop's jump to the
//! next deadline, `run_once(timeout)`'s bound on it, and real-time work that
//! holds it back).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{wait_for, EventLoop, ManualClock};

type Log = Rc<RefCell<Vec<&'static str>>>;

/// A log, and a maker of callbacks that append their name to it.
fn recorder() -> (Log, impl Fn(&'static str) -> Box<dyn FnOnce()>) {
    let log = Log::default();
    let inner = log.clone();
    (log, move |name| {
        let inner = inner.clone();
        Box::new(move || inner.borrow_mut().push(name))
    })
}

#[test]
fn negative_delays_are_deadlines_in_the_past_in_their_order() {
    // asyncio: `call_later(-1, a); call_later(-2, b)` runs b, then a (the
    // deadlines are now - 1 and now - 2), both on the next iteration.
    for event_loop in [EventLoop::new(), EventLoop::with_clock(&ManualClock::new())] {
        let (log, record) = recorder();
        event_loop.call_later(-1.0, record("a")).unwrap();
        event_loop.call_later(-2.0, record("b")).unwrap();
        event_loop.call_soon(record("soon")).unwrap();
        event_loop.run_once(Some(Duration::ZERO)).unwrap();
        assert_eq!(*log.borrow(), ["soon", "b", "a"]);
    }
}

#[test]
fn a_negative_call_at_is_before_the_epoch_and_still_ordered() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let (log, record) = recorder();
    let late = event_loop.call_at(-1.0, record("-1")).unwrap();
    event_loop.call_at(-5.0, record("-5")).unwrap();
    assert_eq!(late.when(), -1.0);
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["-5", "-1"]);
    assert_eq!(event_loop.time(), 0.0, "the clock did not move");
}

#[test]
fn an_infinite_sleep_never_returns() {
    // Another timer an hour away fires; the infinite sleep stays pending,
    // and once nothing else can happen the loop reports itself stuck
    // (asyncio would wait for ever).
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    let (log, record) = recorder();
    event_loop.call_later(3600.0, record("an hour")).unwrap();
    let error = event_loop
        .run_until_complete(async move { handle.sleep(f64::INFINITY).await })
        .unwrap_err();
    assert!(error.is_stuck(), "{error}");
    assert_eq!(*log.borrow(), ["an hour"]);
    assert_eq!(event_loop.time(), 3600.0, "no jump towards infinity");
}

#[test]
fn an_infinite_sleep_on_the_real_clock_is_stuck_at_once() {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let started = Instant::now();
    let error = event_loop
        .run_until_complete(async move { handle.sleep(Duration::MAX).await })
        .unwrap_err();
    assert!(error.is_stuck(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_timer_that_never_comes_says_when_infinity() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let timer = event_loop.call_later(f64::INFINITY, || {}).unwrap();
    assert_eq!(timer.when(), f64::INFINITY);
    event_loop.run_once(Some(Duration::from_secs(1))).unwrap();
    assert!(!timer.cancelled());
    timer.cancel();
}

#[test]
fn run_once_moves_a_manual_clock_by_at_most_its_timeout() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let (log, record) = recorder();
    event_loop.call_later(3600.0, record("an hour")).unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(event_loop.time(), 0.0, "a zero timeout is a poll");
    event_loop.run_once(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(event_loop.time(), 60.0, "a minute at most");
    assert!(log.borrow().is_empty());
    event_loop.run_once(None).unwrap();
    assert_eq!(event_loop.time(), 3600.0, "no timeout: the jump");
    assert_eq!(*log.borrow(), ["an hour"]);
}

#[test]
fn a_test_steps_time_by_hand_with_advance_and_a_zero_timeout() {
    let clock = ManualClock::new();
    let event_loop = EventLoop::with_clock(&clock);
    let (log, record) = recorder();
    event_loop.call_later(1.0, record("1")).unwrap();
    event_loop.call_later(2.0, record("2")).unwrap();
    clock.advance(1.5);
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["1"]);
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["1"], "2.0 has not come");
    clock.advance(0.5);
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["1", "2"]);
}

#[test]
fn a_manual_clock_waits_for_executor_work_before_it_jumps() {
    // The job takes 100 ms of real time; the timeout is 5 s of loop time.
    // Jumping to the deadline while the job runs would time it out.
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    let started = Instant::now();
    let value = event_loop
        .run_until_complete(async move {
            let job = handle.run_in_executor(|| {
                std::thread::sleep(Duration::from_millis(100));
                7
            })?;
            wait_for(job.wait(), 5.0).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(value, 7);
    assert_eq!(event_loop.time(), 0.0, "no jump while the job ran");
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn a_manual_clock_jumps_once_the_executor_work_is_done() {
    // The other side of the rule: a timeout longer than the job's real
    // time still expires, by a jump, once nothing real is outstanding.
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    let error = event_loop
        .run_until_complete(async move {
            let job = handle.run_in_executor(|| 7)?;
            assert_eq!(job.wait().await?, 7);
            wait_for(handle.sleep(10.0), 5.0).await
        })
        .unwrap()
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(event_loop.time(), 5.0);
}

#[test]
fn a_real_clock_never_reads_before_its_epoch() {
    // The epoch is fixed when the first loop is made: the first reading of
    // a process (the docs' `asyncio_call_at` printed -1.4e-6 once) is not
    // before it.
    let event_loop = EventLoop::new();
    assert!(event_loop.time() >= 0.0, "{}", event_loop.time());
}
