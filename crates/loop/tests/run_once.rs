//! `EventLoop::run_once(timeout)`: one iteration for a host program that
//! owns the thread. Real-clock waits, with generous tolerances.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, ManualClock};

#[test]
fn a_zero_timeout_polls_without_blocking() {
    let event_loop = EventLoop::new();
    event_loop.call_later(3600.0, || {}).unwrap();
    let started = Instant::now();
    for _ in 0..100 {
        event_loop.run_once(Some(Duration::ZERO)).unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_timeout_bounds_the_wait_when_nothing_comes() {
    let event_loop = EventLoop::new();
    let started = Instant::now();
    event_loop
        .run_once(Some(Duration::from_millis(50)))
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(50) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn a_timer_due_within_the_timeout_ends_the_wait_and_runs() {
    let event_loop = EventLoop::new();
    let ran = Rc::new(RefCell::new(false));
    let flag = ran.clone();
    event_loop
        .call_later(Duration::from_millis(20), move || *flag.borrow_mut() = true)
        .unwrap();
    let started = Instant::now();
    // The timer comes due during the wait; the next call runs it.
    while !*ran.borrow() {
        event_loop.run_once(Some(Duration::from_secs(10))).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[test]
fn exactly_one_iteration_runs() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let log = Rc::new(RefCell::new(Vec::new()));
    let (handle, inner) = (event_loop.handle(), log.clone());
    event_loop
        .call_soon(move || {
            inner.borrow_mut().push(1);
            let later = inner.clone();
            handle
                .call_soon(move || later.borrow_mut().push(2))
                .unwrap();
        })
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), [1]);
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), [1, 2]);
}

#[test]
fn a_stop_inside_ends_only_that_call() {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert!(!event_loop.is_running());
    let ran = Rc::new(RefCell::new(false));
    let flag = ran.clone();
    event_loop
        .call_soon(move || *flag.borrow_mut() = true)
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert!(*ran.borrow(), "the stop did not carry over");
}

#[test]
fn a_call_from_another_thread_wakes_a_run_once_without_a_timeout() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        remote
            .call_soon_threadsafe(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
            .unwrap();
    });
    let started = Instant::now();
    while !ran.load(std::sync::atomic::Ordering::Relaxed) {
        event_loop.run_once(None).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    thread.join().unwrap();
}

#[test]
fn inside_run_once_the_loop_is_running_and_a_closed_loop_is_refused() {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let inner = Rc::new(RefCell::new(None));
    let seen = inner.clone();
    // From a callback, the loop is running: run_once is refused there.
    event_loop
        .call_soon(move || {
            *seen.borrow_mut() = Some(handle.is_running());
        })
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*inner.borrow(), Some(true));
    event_loop.close().unwrap();
    assert!(event_loop
        .run_once(Some(Duration::ZERO))
        .unwrap_err()
        .is_closed());
}
