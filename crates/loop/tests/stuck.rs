//! `run_until_complete` on a future that nothing can complete returns
//! `is_stuck` instead of waiting forever (asyncio waits forever), and on
//! one that something outside the loop can still complete, it waits.

mod support;

use std::time::Duration;

use asyncio_loop::{EventLoop, LoopErrorKind, ManualClock};

/// A future nobody sets: no callback, no timer, no thread.
#[test]
fn a_future_nobody_completes_is_stuck_and_stays_pending() {
    let event_loop = EventLoop::new();
    let forgotten = event_loop.create_future::<u8>();
    let error = event_loop.run_until_complete(&forgotten).unwrap_err();
    assert_eq!(error.kind(), LoopErrorKind::Stuck);
    assert!(!forgotten.done());
    assert!(!event_loop.is_running());
    // The loop is usable again, and the same future can still finish.
    let setter = forgotten.clone();
    event_loop
        .call_soon(move || setter.set_result(7).unwrap())
        .unwrap();
    assert_eq!(event_loop.run_until_complete(&forgotten).unwrap(), 7);
}

/// What was ready still ran before the loop gave up.
#[test]
fn everything_ready_runs_before_the_loop_gives_up() {
    let event_loop = EventLoop::new();
    let trace = support::Trace::new();
    event_loop.call_soon(trace.logger("first")).unwrap();
    event_loop.call_soon(trace.logger("second")).unwrap();
    let forgotten = event_loop.create_future::<()>();
    assert!(event_loop
        .run_until_complete(&forgotten)
        .unwrap_err()
        .is_stuck());
    support::check(&trace, &["first", "second"]);
}

/// A coroutine awaiting a future nobody sets, and one awaiting a future
/// that never stores its waker (`std::future::pending`).
#[test]
fn a_coroutine_awaiting_what_nothing_completes_is_stuck() {
    let event_loop = EventLoop::new();
    let forgotten = event_loop.create_future::<u8>();
    let waiter = forgotten.clone();
    let error = event_loop
        .run_until_complete(async move { waiter.await })
        .map(|_| ())
        .unwrap_err();
    assert!(error.is_stuck());
    let error = event_loop
        .run_until_complete(std::future::pending::<()>())
        .unwrap_err();
    assert!(error.is_stuck());
}

/// Two coroutines, each awaiting what the other would set after its own
/// await: a deadlock, through `join!` (which polls both with one waker).
#[test]
fn two_coroutines_waiting_for_each_other_are_stuck() {
    let event_loop = EventLoop::new();
    let (a, b) = (
        event_loop.create_future::<()>(),
        event_loop.create_future::<()>(),
    );
    let (a2, b2) = (a.clone(), b.clone());
    let first = async move {
        a2.wait().await.unwrap();
        b2.set_result(()).unwrap();
    };
    let (a3, b3) = (a.clone(), b.clone());
    let second = async move {
        b3.wait().await.unwrap();
        a3.set_result(()).unwrap();
    };
    let error = event_loop
        .run_until_complete(async move { futures::join!(first, second) })
        .unwrap_err();
    assert!(error.is_stuck());
}

/// A pending timer could still complete it: on a manual clock the loop jumps
/// to it rather than giving up.
#[test]
fn a_pending_timer_is_not_stuck() {
    let clock = ManualClock::new();
    let event_loop = EventLoop::with_clock(&clock);
    let future = event_loop.create_future::<u8>();
    let setter = future.clone();
    event_loop
        .call_later(Duration::from_secs(3600), move || {
            setter.set_result(1).unwrap()
        })
        .unwrap();
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 1);
    let handle = event_loop.handle();
    let slept = event_loop
        .run_until_complete(async move { handle.sleep_with(Duration::from_secs(60), 2u8).await });
    assert_eq!(slept.unwrap().unwrap(), 2);
}

/// A cancelled timer cannot: cancelling the only timer leaves the loop stuck.
#[test]
fn a_cancelled_timer_does_not_keep_the_loop_waiting() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<()>();
    let setter = future.clone();
    let timer = event_loop
        .call_later(Duration::from_secs(3600), move || {
            setter.set_result(()).unwrap()
        })
        .unwrap();
    timer.cancel();
    assert!(event_loop
        .run_until_complete(&future)
        .unwrap_err()
        .is_stuck());
}

/// Another thread holds a `ThreadsafeHandle`: it may still send the result.
#[test]
fn a_live_threadsafe_handle_keeps_the_loop_waiting() {
    let done = support::watchdog(30);
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let completer = event_loop.completer(&future).unwrap();
    let remote = event_loop.threadsafe_handle();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        // Through the handle: the completer stays unused until then.
        remote
            .call_soon_threadsafe(move || {
                let _ = completer.set_result(5);
            })
            .unwrap();
    });
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 5);
    sender.join().unwrap();
    drop(done);
}

/// A handle dropped unused: the loop wakes, looks again and gives up.
#[test]
fn the_last_threadsafe_handle_dropped_unused_ends_the_wait() {
    let done = support::watchdog(30);
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let remote = event_loop.threadsafe_handle();
    let copy = remote.clone();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(copy);
        std::thread::sleep(Duration::from_millis(50));
        drop(remote);
    });
    assert!(event_loop
        .run_until_complete(&future)
        .unwrap_err()
        .is_stuck());
    holder.join().unwrap();
    drop(done);
}

/// A `Completer` on another thread, and `run_in_executor`, which uses one.
#[test]
fn a_completer_or_an_executor_job_keeps_the_loop_waiting() {
    let done = support::watchdog(30);
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let completer = event_loop.completer(&future).unwrap();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        completer.set_result(9).unwrap();
    });
    assert_eq!(event_loop.run_until_complete(&future).unwrap(), 9);
    sender.join().unwrap();
    let job = event_loop
        .run_in_executor(|| {
            std::thread::sleep(Duration::from_millis(50));
            4u8
        })
        .unwrap();
    assert_eq!(event_loop.run_until_complete(&job).unwrap(), 4);
    drop(done);
}

/// A completer dropped unused completes its future with an error: not stuck.
#[test]
fn a_completer_dropped_unused_fails_the_future_rather_than_sticking() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let completer = event_loop.completer(&future).unwrap();
    std::thread::spawn(move || drop(completer)).join().unwrap();
    let error = event_loop.run_until_complete(&future).unwrap_err();
    assert!(!error.is_stuck());
    assert!(error.future_error().is_some());
}

/// Another crate's future holds the task's waker (a `oneshot` whose sender
/// is on another thread): that waker could wake the task, so the loop waits.
#[test]
fn a_waker_held_outside_the_loop_keeps_it_waiting() {
    let done = support::watchdog(30);
    let event_loop = EventLoop::new();
    let (sender, receiver) = futures::channel::oneshot::channel::<u8>();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        sender.send(3).unwrap();
    });
    assert_eq!(event_loop.run_until_complete(receiver).unwrap(), Ok(3));
    thread.join().unwrap();
    drop(done);
}

/// A chain through our own futures: a ready callback completes `later`,
/// whose done-callback completes what the task awaits. The loop gives up
/// only once nothing is left to run, so the chain completes it.
#[test]
fn a_task_woken_through_our_futures_by_a_callback_completes() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let setter = future.clone();
    let later = event_loop.create_future::<()>();
    let trigger = later.clone();
    later
        .add_done_callback(move |_| setter.set_result(8).unwrap())
        .unwrap();
    let waiter = future.clone();
    let main = async move { waiter.await };
    event_loop
        .call_soon(move || trigger.set_result(()).unwrap())
        .unwrap();
    assert_eq!(event_loop.run_until_complete(main).unwrap().unwrap(), 8);
}

/// A finished task's waker can outlive it in one of our futures (the wait
/// that registered it was kept outside the coroutine). That stale count must
/// not hide a live task's waker held outside: here the main task's waker is
/// in a oneshot whose sender is on another thread, and the loop must wait.
#[test]
fn a_finished_tasks_waker_left_in_a_future_does_not_hide_an_outside_one() {
    use std::cell::RefCell;
    use std::future::Future as _;
    use std::pin::Pin;
    use std::rc::Rc;

    let done = support::watchdog(30);
    let event_loop = EventLoop::new();
    let never = event_loop.create_future::<u8>();
    // A task polls a wait once, with its own waker, and leaves it outside.
    type Kept = Rc<RefCell<Option<Pin<Box<asyncio_core::Wait<u8>>>>>>;
    let kept: Kept = Rc::default();
    let slot = Rc::clone(&kept);
    let waiter = never.clone();
    event_loop
        .run_until_complete(futures::future::poll_fn(move |context| {
            let mut wait = Box::pin(waiter.wait());
            assert!(wait.as_mut().poll(context).is_pending());
            *slot.borrow_mut() = Some(wait);
            std::task::Poll::Ready(())
        }))
        .unwrap();
    assert!(kept.borrow().is_some());
    let (sender, receiver) = futures::channel::oneshot::channel::<u8>();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        sender.send(4).unwrap();
    });
    assert_eq!(event_loop.run_until_complete(receiver).unwrap(), Ok(4));
    thread.join().unwrap();
    drop(kept);
    drop(done);
}
