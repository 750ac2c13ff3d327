//! Done-callbacks: ordering, scheduling (never inline), removal by key,
//! panics, closed loops and cycles.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use asyncio_callbacks::partial;
use asyncio_core::{Exception, Future};
use support::{Harness, Trace};

/// Sets its flag when dropped: a future's result that tells when the
/// future's state was freed.
struct Token(Rc<Cell<bool>>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn logger(trace: &Trace, name: &'static str) -> impl FnOnce(&Future<u32>) + 'static {
    let trace = trace.clone();
    move |future| trace.log(format!("{name}: {:?}", future.result()))
}

#[test]
fn callbacks_run_later_in_registration_order() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    for name in ["first", "second", "third"] {
        future.add_done_callback(logger(&trace, name)).unwrap();
    }
    future.set_result(1).unwrap();
    assert!(trace.take().is_empty(), "never inside set_result");
    harness.run();
    assert_eq!(
        trace.take(),
        ["first: Ok(1)", "second: Ok(1)", "third: Ok(1)"]
    );
}

#[test]
fn callbacks_alone_are_one_job_and_an_awaiting_task_is_woken_at_completion() {
    use std::future::Future as _;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    // Done-callbacks only: one job runs them all.
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    for name in ["a", "b", "c"] {
        future.add_done_callback(logger(&trace, name)).unwrap();
    }
    future.set_result(1).unwrap();
    assert_eq!(harness.queued(), 1);
    harness.run();
    assert_eq!(trace.take(), ["a: Ok(1)", "b: Ok(1)", "c: Ok(1)"]);

    // A task awaiting among them: woken by completion itself, at its place;
    // the callbacks on either side of it become one job each.
    let future = harness.future();
    future.add_done_callback(logger(&trace, "before")).unwrap();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let mut awaiting = future.wait();
    let polled = Pin::new(&mut awaiting).poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending());
    future.add_done_callback(logger(&trace, "after 1")).unwrap();
    future.add_done_callback(logger(&trace, "after 2")).unwrap();
    future.set_result(2).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken inside set_result");
    assert_eq!(harness.queued(), 2);
    harness.run();
    assert_eq!(
        trace.take(),
        ["before: Ok(2)", "after 1: Ok(2)", "after 2: Ok(2)"]
    );
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

#[test]
fn the_same_callback_added_twice_runs_twice() {
    let harness = Harness::new();
    let count = Rc::new(Cell::new(0));
    let future = harness.future::<u32>();
    let callback = {
        let count = count.clone();
        move |_: &Future<u32>| count.set(count.get() + 1)
    };
    future.add_done_callback(callback.clone()).unwrap();
    future.add_done_callback(callback).unwrap();
    future.set_result(0).unwrap();
    harness.run();
    assert_eq!(count.get(), 2);
}

#[test]
fn callbacks_are_queued_at_completion_between_other_jobs() {
    // asyncio: call_soon(A); set_result; call_soon(B) gives A, done-callback, B.
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    future.add_done_callback(logger(&trace, "done")).unwrap();
    let log = trace.clone();
    harness.call_soon(move || log.log("A"));
    future.set_result(2).unwrap();
    let log = trace.clone();
    harness.call_soon(move || log.log("B"));
    harness.run();
    assert_eq!(trace.take(), ["A", "done: Ok(2)", "B"]);
}

#[test]
fn a_callback_added_to_a_done_future_is_queued_at_once() {
    // asyncio: add(A); set_result; call_soon(S); add(B) gives A, S, B.
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    future.add_done_callback(logger(&trace, "A")).unwrap();
    future.set_result(3).unwrap();
    let log = trace.clone();
    harness.call_soon(move || log.log("S"));
    assert_eq!(harness.queued(), 2);
    future.add_done_callback(logger(&trace, "B")).unwrap();
    assert_eq!(harness.queued(), 3, "queued, not run inline");
    assert!(trace.take().is_empty());
    harness.run();
    assert_eq!(trace.take(), ["A: Ok(3)", "S", "B: Ok(3)"]);
}

#[test]
fn cancel_runs_the_callbacks_and_they_see_a_cancelled_future() {
    let harness = Harness::new();
    let seen = Rc::new(Cell::new(false));
    let future = harness.future::<u32>();
    let flag = seen.clone();
    future
        .add_done_callback(move |f| flag.set(f.cancelled()))
        .unwrap();
    assert!(future.cancel());
    harness.run();
    assert!(seen.get());
}

#[test]
fn set_exception_runs_the_callbacks_too() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future::<u32>();
    let log = trace.clone();
    future
        .add_done_callback(move |f| log.log(format!("{}", f.exception().unwrap().unwrap())))
        .unwrap();
    future.set_exception(Exception::msg("bad")).unwrap();
    harness.run();
    assert_eq!(trace.take(), ["bad"]);
}

#[test]
fn remove_by_key_returns_how_many_it_removed() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    future.add_done_callback(logger(&trace, "kept")).unwrap();
    let removed = future.add_done_callback(logger(&trace, "removed")).unwrap();
    assert_eq!(future.remove_done_callback(removed), 1);
    assert_eq!(future.remove_done_callback(removed), 0);
    future.set_result(4).unwrap();
    harness.run();
    assert_eq!(trace.take(), ["kept: Ok(4)"]);
}

#[test]
fn remove_after_completion_removes_nothing_and_the_callback_still_runs() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    let key = future
        .add_done_callback(logger(&trace, "scheduled"))
        .unwrap();
    future.set_result(5).unwrap();
    assert_eq!(future.remove_done_callback(key), 0);
    harness.run();
    assert_eq!(trace.take(), ["scheduled: Ok(5)"]);
}

#[test]
fn partial_binds_the_extra_argument() {
    fn callback(future: &Future<u32>, n: u32, trace: &Trace) {
        trace.log(format!("{n}: future done: {}", future.result().unwrap()));
    }
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    for n in 1..=2 {
        let trace = trace.clone();
        future
            .add_done_callback(partial(move |f: &Future<u32>, n| callback(f, n, &trace), n))
            .unwrap();
    }
    future.set_result(6).unwrap();
    harness.run();
    assert_eq!(trace.take(), ["1: future done: 6", "2: future done: 6"]);
}

#[test]
fn a_panicking_callback_is_reported_and_the_next_one_runs() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    future.add_done_callback(|_| panic!("in callback")).unwrap();
    future.add_done_callback(logger(&trace, "next")).unwrap();
    future.set_result(7).unwrap();
    harness.run();
    assert_eq!(trace.take(), ["next: Ok(7)"]);
    let reports = harness.take_reports();
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0].starts_with("Exception in callback done_callbacks::"),
        "{reports:?}"
    );
    assert!(
        reports[0].ends_with(": panicked: in callback"),
        "{reports:?}"
    );
}

#[test]
fn a_closed_loop_loses_the_callbacks_but_the_state_changes() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    future.add_done_callback(logger(&trace, "lost")).unwrap();
    harness.close();
    let error = future.set_result(8).unwrap_err();
    assert!(error.is_loop_closed());
    assert_eq!(error.to_string(), "event loop is closed");
    assert_eq!(future.result().unwrap(), 8);
    assert!(future
        .add_done_callback(logger(&trace, "late"))
        .unwrap_err()
        .is_loop_closed());

    // With no callbacks, completing on a closed loop succeeds.
    let plain = harness.future::<u32>();
    plain.set_result(1).unwrap();
    // cancel keeps asyncio's bool even when the callbacks are lost.
    let cancelled = harness.future::<u32>();
    cancelled
        .add_done_callback(logger(&trace, "lost too"))
        .unwrap();
    assert!(cancelled.cancel());
    assert!(trace.take().is_empty());
}

#[test]
fn a_future_without_a_loop_refuses_callbacks() {
    let future: Future<u32> = Future::new();
    let error = future.add_done_callback(|_| {}).unwrap_err();
    assert!(error.is_unbound());
    assert_eq!(error.to_string(), "future is not bound to an event loop");
}

#[test]
fn a_callback_capturing_its_future_is_freed_after_it_runs() {
    let harness = Harness::new();
    let freed = Rc::new(Cell::new(false));
    let future = harness.future();
    let itself = future.clone();
    future.add_done_callback(move |_| drop(itself)).unwrap();
    future.set_result(Token(freed.clone())).unwrap();
    harness.run();
    drop(future);
    assert!(
        freed.get(),
        "the future's state was freed with its last handle"
    );
}

#[test]
fn callbacks_whose_job_is_dropped_unrun_release_their_future() {
    let harness = Harness::new();
    let freed = Rc::new(Cell::new(false));
    let ran = Rc::new(Cell::new(false));
    let future = harness.future();
    let (itself, flag) = (future.clone(), ran.clone());
    future
        .add_done_callback(move |_| {
            let _keep = &itself;
            flag.set(true);
        })
        .unwrap();
    future.set_result(Token(freed.clone())).unwrap();
    // The loop closes before running the job: the callback never runs, and
    // nothing it captured outlives the future's last handle.
    harness.drop_jobs();
    drop(future);
    assert!(!ran.get());
    assert!(freed.get());
}

#[test]
fn the_callbacks_of_a_completed_future_can_no_longer_be_removed() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    let first = future.add_done_callback(logger(&trace, "first")).unwrap();
    let second = future.add_done_callback(logger(&trace, "second")).unwrap();
    future.set_result(9).unwrap();
    assert_eq!(future.remove_done_callback(first), 0);
    assert_eq!(future.remove_done_callback(second), 0);
    assert_eq!(format!("{future:?}"), "<Future finished result=9>");
    harness.run();
    assert_eq!(trace.take(), ["first: Ok(9)", "second: Ok(9)"]);
}

#[test]
fn debug_shows_callbacks_while_pending_only() {
    let harness = Harness::new();
    let future = harness.future::<u32>();
    assert_eq!(format!("{future:?}"), "<Future pending>");
    fn first(_: &Future<u32>) {}
    fn second(_: &Future<u32>) {}
    future.add_done_callback(first).unwrap();
    assert_eq!(
        format!("{future:?}"),
        "<Future pending cb=[done_callbacks::debug_shows_callbacks_while_pending_only::first]>"
    );
    future.add_done_callback(second).unwrap();
    future.add_done_callback(first).unwrap();
    assert_eq!(
        format!("{future:?}"),
        "<Future pending cb=[done_callbacks::debug_shows_callbacks_while_pending_only::first, <1 more>, done_callbacks::debug_shows_callbacks_while_pending_only::first]>"
    );
    future.set_result(1).unwrap();
    assert_eq!(format!("{future:?}"), "<Future finished result=1>");
}

/// CPython's `test_futures.BaseFutureDoneCallbackTests.test_remove_done_callback`,
/// ported: asyncio removes by equality, so "a callback never added" becomes a
/// key of another future, and "all instances of cb1" the keys of each.
#[test]
fn cpython_test_remove_done_callback() {
    let harness = Harness::new();
    let bag = Rc::new(std::cell::RefCell::new(Vec::new()));
    let make_callback = |value: u32| {
        let bag = bag.clone();
        move |_: &Future<&str>| bag.borrow_mut().push(value)
    };
    let f = harness.future::<&str>();
    let other = harness.future::<&str>();

    // Add one cb1 and one cb2.
    let cb1 = f.add_done_callback(make_callback(42)).unwrap();
    let cb2 = f.add_done_callback(make_callback(17)).unwrap();
    // One instance of cb2 removed. Now there's only one cb1.
    assert_eq!(f.remove_done_callback(cb2), 1);
    // Never had any cb3 in there: its key belongs to another future.
    let cb3 = other.add_done_callback(make_callback(100)).unwrap();
    assert_eq!(f.remove_done_callback(cb3), 0);
    // After this there will be 6 instances of cb1 and one of cb2.
    f.add_done_callback(make_callback(17)).unwrap();
    let mut cb1s = vec![cb1];
    for _ in 0..5 {
        cb1s.push(f.add_done_callback(make_callback(42)).unwrap());
    }
    // Remove all instances of cb1. One cb2 remains.
    let removed: usize = cb1s.iter().map(|key| f.remove_done_callback(*key)).sum();
    assert_eq!(removed, 6);
    assert!(bag.borrow().is_empty());
    f.set_result("foo").unwrap();
    harness.run();
    assert_eq!(*bag.borrow(), [17]);
    assert_eq!(f.result().unwrap(), "foo");
    // The other future kept its callback.
    other.set_result("bar").unwrap();
    harness.run();
    assert_eq!(*bag.borrow(), [17, 100]);
}

#[test]
fn a_stale_key_removes_nothing_from_a_later_callback() {
    let harness = Harness::new();
    let trace = Trace::default();
    let future = harness.future();
    let stale = future.add_done_callback(logger(&trace, "removed")).unwrap();
    assert_eq!(future.remove_done_callback(stale), 1);
    future.add_done_callback(logger(&trace, "kept")).unwrap();
    assert_eq!(future.remove_done_callback(stale), 0);
    future.set_result(1).unwrap();
    harness.run();
    assert_eq!(trace.take(), ["kept: Ok(1)"]);
}
