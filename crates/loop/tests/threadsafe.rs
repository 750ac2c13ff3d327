//! `call_soon_threadsafe` and the thread-safe handle: CPython's
//! `test_call_soon_threadsafe*` (test_events.py), closing with handles
//! still held elsewhere, and a stress test.

mod support;
use support::watchdog;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, ManualClock, ThreadsafeHandle};

type Results = Arc<Mutex<Vec<&'static str>>>;

/// CPython's `callback`: records its argument, stops after the second.
fn callback(results: &Results, remote: &ThreadsafeHandle, arg: &'static str) {
    let mut results = results.lock().unwrap();
    results.push(arg);
    if results.len() >= 2 {
        remote.stop().unwrap();
    }
}

#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<ThreadsafeHandle>();
}

/// test_events.py `test_call_soon_threadsafe`: a call sent from another
/// thread before a `call_soon` on the loop's thread runs first.
#[test]
fn a_call_sent_before_a_local_call_soon_runs_first() {
    let event_loop = EventLoop::new();
    let results: Results = Arc::default();
    let remote = event_loop.threadsafe_handle();
    let sent = Arc::new(Barrier::new(2));
    let thread = {
        let (results, remote, sent) = (results.clone(), remote.clone(), sent.clone());
        std::thread::spawn(move || {
            let stopper = remote.clone();
            remote
                .call_soon_threadsafe(move || callback(&results, &stopper, "hello"))
                .unwrap();
            sent.wait();
        })
    };
    sent.wait();
    let local = (results.clone(), remote.clone());
    event_loop
        .call_soon(move || callback(&local.0, &local.1, "world"))
        .unwrap();
    event_loop.run_forever().unwrap();
    thread.join().unwrap();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
}

/// test_events.py `test_call_soon_threadsafe_same_thread`.
#[test]
fn a_threadsafe_call_from_the_loops_own_thread_keeps_its_place() {
    let event_loop = EventLoop::new();
    let results: Results = Arc::default();
    let remote = event_loop.threadsafe_handle();
    let (r, s) = (results.clone(), remote.clone());
    remote
        .call_soon_threadsafe(move || callback(&r, &s, "hello"))
        .unwrap();
    let (r, s) = (results.clone(), remote.clone());
    event_loop
        .call_soon(move || callback(&r, &s, "world"))
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
}

/// The variant of CPython's other loop tests: the loop waits for a timer,
/// and a call from another thread wakes it first. The real clock.
#[test]
fn a_call_from_another_thread_wakes_a_loop_waiting_for_a_timer() {
    let done = watchdog(60);
    let event_loop = EventLoop::new();
    let results: Results = Arc::default();
    let remote = event_loop.threadsafe_handle();
    let (r, s) = (results.clone(), remote.clone());
    event_loop
        .call_later(0.3, move || callback(&r, &s, "world"))
        .unwrap();
    let (r, s) = (results.clone(), remote.clone());
    let started = Instant::now();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let stopper = s.clone();
        s.call_soon_threadsafe(move || callback(&r, &stopper, "hello"))
            .unwrap();
    });
    event_loop.run_forever().unwrap();
    thread.join().unwrap();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    drop(done);
}

#[test]
fn stop_from_another_thread_ends_a_loop_that_waits_for_nothing() {
    let done = watchdog(60);
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let remote = event_loop.threadsafe_handle();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        remote.stop().unwrap();
    });
    event_loop.run_forever().unwrap();
    thread.join().unwrap();
    drop(done);
}

#[test]
fn the_stop_runs_after_what_was_sent_before_it() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let count = count.clone();
        remote
            .call_soon_threadsafe(move || {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    remote.stop().unwrap();
    let late = count.clone();
    remote
        .call_soon_threadsafe(move || {
            late.fetch_add(100, Ordering::Relaxed);
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    // The stop ends the iteration it runs in: the later call ran too.
    assert_eq!(count.load(Ordering::Relaxed), 103);
}

/// A drop counter that is `Send`.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn closing_drops_what_was_sent_and_refuses_what_comes_after() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let dropped = Arc::new(AtomicUsize::new(0));
    let counted = Counted(dropped.clone());
    remote.call_soon_threadsafe(move || drop(counted)).unwrap();
    assert!(!remote.is_closed());
    event_loop.close().unwrap();
    assert_eq!(dropped.load(Ordering::Relaxed), 1, "dropped unrun by close");
    assert!(remote.is_closed());
    let counted = Counted(dropped.clone());
    let rejected = remote
        .call_soon_threadsafe(move || drop(counted))
        .unwrap_err();
    assert!(rejected.error().is_closed());
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        1,
        "handed back, not dropped"
    );
    drop(rejected.into_inner());
    assert_eq!(dropped.load(Ordering::Relaxed), 2);
    assert!(remote.stop().unwrap_err().is_closed());
    // Dropping the loop keeps refusing; the handle holds nothing of it.
    drop(event_loop);
    assert!(remote.call_soon_threadsafe(|| {}).is_err());
}

#[test]
fn a_dropped_loop_refuses_like_a_closed_one() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let handle = event_loop.handle();
    drop(event_loop);
    assert!(remote.is_closed());
    assert!(remote.call_soon_threadsafe(|| {}).is_err());
    let late = handle.threadsafe_handle();
    assert!(late.is_closed());
    assert!(late
        .call_soon_threadsafe(|| {})
        .unwrap_err()
        .error()
        .is_closed());
}

#[test]
fn a_panicking_threadsafe_callback_goes_to_the_handler() {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let reported = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = reported.clone();
    event_loop.set_exception_handler(Some(move |_: &asyncio_core::ExceptionContext| {
        seen.set(seen.get() + 1);
    }));
    remote.call_soon_threadsafe(|| panic!("boom")).unwrap();
    let stopper = remote.clone();
    remote
        .call_soon_threadsafe(move || stopper.stop().unwrap())
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(reported.get(), 1);
}

#[test]
fn calls_from_three_threads_each_run_once_and_keep_each_threads_order() {
    let done = watchdog(60);
    let per_thread = if cfg!(miri) { 30 } else { 20_000 };
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let seen: Arc<Mutex<Vec<Vec<usize>>>> = Arc::new(Mutex::new(vec![Vec::new(); 3]));
    let finished = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|thread| {
            let (remote, seen, finished) = (remote.clone(), seen.clone(), finished.clone());
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let seen = seen.clone();
                    remote
                        .call_soon_threadsafe(move || seen.lock().unwrap()[thread].push(i))
                        .unwrap();
                    // Pauses now and then, so the loop empties and waits.
                    if i % 1000 == 999 {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                if finished.fetch_add(1, Ordering::AcqRel) == 2 {
                    remote.stop().unwrap();
                }
            })
        })
        .collect();
    event_loop.run_forever().unwrap();
    for thread in threads {
        thread.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    for (thread, order) in seen.iter().enumerate() {
        assert_eq!(order.len(), per_thread, "thread {thread}: each ran once");
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "thread {thread} kept its order"
        );
    }
    drop(done);
}

#[test]
fn senders_racing_a_close_lose_nothing() {
    for _ in 0..if cfg!(miri) { 1 } else { 20 } {
        let event_loop = EventLoop::new();
        let remote = event_loop.threadsafe_handle();
        let ran_or_dropped = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let per_thread = if cfg!(miri) { 10 } else { 1000 };
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (remote, counter, refused, start) = (
                    remote.clone(),
                    ran_or_dropped.clone(),
                    refused.clone(),
                    start.clone(),
                );
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..per_thread {
                        let counted = Counted(counter.clone());
                        if let Err(rejected) = remote.call_soon_threadsafe(move || drop(counted)) {
                            refused.fetch_add(1, Ordering::Relaxed);
                            drop(rejected.into_inner());
                        }
                    }
                })
            })
            .collect();
        start.wait();
        event_loop.stop();
        event_loop.run_forever().unwrap();
        event_loop.close().unwrap();
        for thread in threads {
            thread.join().unwrap();
        }
        // Each callback ends in exactly one drop of its capture: it ran, it
        // was dropped unrun by `close`, or it was handed back and dropped
        // here. None leaked (Miri checks) and none was dropped twice.
        assert_eq!(ran_or_dropped.load(Ordering::Relaxed), 3 * per_thread);
        assert!(refused.load(Ordering::Relaxed) <= 3 * per_thread);
    }
}
