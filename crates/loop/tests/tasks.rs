//! Tasks: `create_task`, asyncio's cancellation, names and reprs, failure,
//! `current_task` and `all_tasks`. Many are ports of CPython's
//! `Lib/test/test_asyncio/test_tasks.py` (named after the test they port).

mod support;

use std::cell::Cell;
use std::rc::Rc;

use asyncio_core::{Exception, ExceptionContext, FutureError};
use asyncio_loop::{current_task, EventLoop, LoopError, ManualClock};
use support::{check, Trace};

fn manual() -> EventLoop {
    EventLoop::with_clock(&ManualClock::new())
}

/// The first step runs on the next iteration, behind what was queued first.
#[test]
fn a_task_first_runs_after_what_was_queued_before_it() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    event_loop.call_soon(trace.logger("callback")).unwrap();
    let inside = trace.clone();
    let task = event_loop
        .create_task(async move { inside.log("task") })
        .unwrap();
    trace.log("created");
    event_loop.run_until_complete(&task).unwrap();
    check(&trace, &["created", "callback", "task"]);
}

/// `test_task_repr` and `test_task_basics`: names, states, results.
#[test]
fn names_and_reprs_follow_the_state() {
    let event_loop = EventLoop::new();
    let first = event_loop.create_task(async { 1 }).unwrap();
    let second = event_loop.create_task(async { "two" }).unwrap();
    assert_eq!(
        (first.name(), second.name()),
        ("Task-1".into(), "Task-2".into())
    );
    second.set_name("second");
    assert!(format!("{second:?}").starts_with("<Task pending name='second' coro=<"));
    event_loop.run_until_complete(&second).unwrap();
    let repr = format!("{second:?}");
    assert!(repr.starts_with("<Task finished name='second'"), "{repr}");
    assert!(repr.ends_with(r#"done> result="two">"#), "{repr}");
    assert_eq!(first.result().unwrap(), 1);
    assert_eq!(second.take_result().unwrap(), "two");
    assert!(format!("{second:?}").ends_with("result=<taken>>"));
}

async fn named_coroutine() -> u8 {
    7
}

#[test]
fn the_repr_names_an_async_fn_and_what_the_task_waits_for() {
    let event_loop = EventLoop::new();
    let task = event_loop.create_task(named_coroutine()).unwrap();
    assert_eq!(
        format!("{task:?}"),
        "<Task pending name='Task-1' coro=<named_coroutine() running>>"
    );
    let waited = event_loop.create_future::<u8>();
    let inner = waited.clone();
    let waiter = event_loop.create_task(async move { inner.await }).unwrap();
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move { handle.sleep(0.0).await })
        .unwrap()
        .unwrap();
    assert!(
        format!("{waiter:?}").ends_with(" wait_for=<Future pending cb=[<waker>]>>"),
        "{waiter:?}"
    );
    waited.set_result(3).unwrap();
    assert_eq!(event_loop.run_until_complete(waiter).unwrap(), 3);
}

/// `test_cancel` before the first step: the body never runs.
#[test]
fn a_task_cancelled_before_its_first_step_never_runs() {
    let event_loop = EventLoop::new();
    let ran = Rc::new(Cell::new(false));
    let flag = Rc::clone(&ran);
    let task = event_loop
        .create_task(async move { flag.set(true) })
        .unwrap();
    assert!(task.cancel_with_message("early"));
    assert_eq!(task.cancelling(), 1);
    assert!(format!("{task:?}").starts_with("<Task cancelling"));
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(
        error.future_error().unwrap().cancel_message(),
        Some("early")
    );
    assert!(!ran.get());
    assert!(task.cancelled() && task.done());
    assert!(!task.cancel(), "a done task cannot be cancelled");
    assert!(format!("{task:?}").starts_with("<Task cancelled"));
}

/// `test_cancel_inner_future`: the awaited future is cancelled at once, and
/// the coroutine sees the cancellation at its await and propagates it.
#[test]
fn cancelling_a_task_cancels_the_future_it_awaits_at_once() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let awaited = future.clone();
    let task = event_loop
        .create_task(async move {
            awaited.await?;
            Ok::<_, FutureError>(12)
        })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap(); // the first step
    assert!(task.cancel_with_message("stop"));
    assert!(
        future.cancelled(),
        "at once, as asyncio's _fut_waiter.cancel()"
    );
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert_eq!(error.future_error().unwrap().cancel_message(), Some("stop"));
    assert!(task.cancelled());
}

/// `test_cancel_task_catching` / `test_cancel_task_ignoring`: a coroutine
/// that handles the cancellation goes on, and the task finishes normally.
#[test]
fn a_coroutine_that_handles_the_cancellation_goes_on() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let trace = Trace::new();
    let log = trace.clone();
    let task = event_loop
        .create_task(async move {
            if let Err(error) = handle.sleep(10.0).await {
                log.log(format!("cancelled: {}", error.is_cancelled()));
                // Clean up with another await, then return a value.
                handle.sleep(1.0).await?;
            }
            Ok::<_, FutureError>(42)
        })
        .unwrap();
    support::cancel_later(&event_loop, &task, 1.0);
    assert_eq!(event_loop.run_until_complete(&task).unwrap(), 42);
    check(&trace, &["cancelled: true"]);
    assert!(!task.cancelled());
    assert_eq!(task.cancelling(), 1, "uncancel is the coroutine's business");
    assert_eq!(event_loop.time(), 2.0, "the 10 s timer was cancelled");
}

/// `test_cancel_yield`-like: asyncio_cancel_task2's order. The canceller runs,
/// then the sleeping task sees the cancellation on the next iteration.
#[test]
fn a_sleeping_task_sees_its_cancellation_on_the_next_iteration() {
    let event_loop = manual();
    let trace = Trace::new();
    let (handle, log) = (event_loop.handle(), trace.clone());
    let task = event_loop
        .create_task(async move {
            log.log("sleeping");
            let slept = handle.sleep(1.0).await;
            log.log(format!("woke: {}", slept.is_ok()));
            slept
        })
        .unwrap();
    let (canceller, log) = (task.clone(), trace.clone());
    event_loop
        .call_soon(move || {
            log.log("cancelling");
            canceller.cancel();
            log.log("cancelled");
        })
        .unwrap();
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert!(error.is_cancelled());
    check(
        &trace,
        &["sleeping", "cancelling", "cancelled", "woke: false"],
    );
    assert_eq!(event_loop.time(), 0.0);
}

/// `test_cancel_inner_task`-like: cancelling a task that awaits a task
/// cancels the inner one; if it ignores that, the outer gets its result.
#[test]
fn cancelling_a_task_awaiting_a_task_cancels_the_inner_one() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let trace = Trace::new();
    let log = trace.clone();
    let inner = event_loop
        .create_task(async move {
            match handle.sleep(5.0).await {
                Err(_) => {
                    log.log("inner cancelled, ignores it");
                    "inner result"
                }
                Ok(()) => "slept",
            }
        })
        .unwrap();
    let awaited = inner.clone();
    let outer = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(outer.cancel());
    assert_eq!(
        inner.cancelling(),
        1,
        "the inner task took the cancellation"
    );
    let got = event_loop.run_until_complete(&outer).unwrap();
    assert_eq!(got, "inner result");
    check(&trace, &["inner cancelled, ignores it"]);
    assert!(!outer.cancelled());
}

/// `test_cancel_current_task`: a task cancelling itself sees it at its next
/// await of ours.
#[test]
fn a_task_that_cancels_itself_is_cancelled_at_its_next_await() {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let trace = Trace::new();
    let log = trace.clone();
    let task = event_loop
        .create_task(async move {
            assert!(current_task().unwrap().cancel());
            log.log("still running");
            handle.sleep(0.0).await?;
            log.log("never");
            Ok::<_, FutureError>(())
        })
        .unwrap();
    assert!(event_loop
        .run_until_complete(&task)
        .unwrap_err()
        .is_cancelled());
    check(&trace, &["still running"]);
}

/// Cancelled as it awaits a future that is already done: the await ends
/// with the cancellation, not the result (asyncio throws into the coroutine).
#[test]
fn a_cancellation_beats_a_result_already_on_its_way() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let awaited = future.clone();
    let task = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    future.set_result(1).unwrap(); // the task's step is queued
    assert!(task.cancel());
    assert!(event_loop
        .run_until_complete(&task)
        .unwrap_err()
        .is_cancelled());
    assert_eq!(future.result().unwrap(), 1, "the future keeps its result");
}

/// A coroutine waiting on another crate's future cannot be told: it is
/// dropped at its await (its destructors run) and the task ends cancelled.
#[test]
fn a_task_awaiting_a_foreign_future_is_dropped_at_its_await() {
    let event_loop = EventLoop::new();
    let dropped = support::Counter::new();
    let token = dropped.token();
    let (sender, receiver) = futures::channel::oneshot::channel::<u8>();
    let task = event_loop
        .create_task(async move {
            let _guard = token;
            receiver.await.unwrap_or(0)
        })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert_eq!(dropped.dropped(), 0);
    assert!(task.cancel());
    assert!(event_loop
        .run_until_complete(&task)
        .unwrap_err()
        .is_cancelled());
    assert_eq!(dropped.dropped(), 1, "dropped like a finally block");
    drop(sender);
}

/// `cancelling` and `uncancel` count requests, as in 3.11.
#[test]
fn cancelling_counts_requests_and_uncancel_takes_them_back() {
    let event_loop = EventLoop::new();
    let task = event_loop.create_task(async {}).unwrap();
    assert_eq!(task.cancelling(), 0);
    assert!(task.cancel());
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 2);
    assert_eq!(task.uncancel(), 1);
    assert_eq!(task.uncancel(), 0);
    assert_eq!(task.uncancel(), 0);
}

/// A panicking coroutine fails its task with a `Panic`; the loop goes on.
#[test]
fn a_panicking_coroutine_fails_its_task_and_the_loop_goes_on() {
    let event_loop = EventLoop::new();
    let task = event_loop
        .create_task(async {
            if true {
                panic!("boom");
            }
        })
        .unwrap();
    let error = event_loop.run_until_complete(&task).unwrap_err();
    let exception = error.future_error().unwrap().exception().unwrap().clone();
    assert!(exception.is::<asyncio_core::Panic>());
    assert_eq!(exception.to_string(), "panicked: boom");
    assert_eq!(event_loop.run_until_complete(async { 5 }).unwrap(), 5);
}

/// An `Err` the coroutine returns is the task's exception; one that came
/// from awaiting a failed future is that future's very exception.
#[test]
fn errors_become_the_task_exception_and_propagate_unchanged() {
    let event_loop = EventLoop::new();
    let failed = event_loop.create_future::<u8>();
    let original = Exception::msg("original");
    failed.set_exception(original.clone()).unwrap();
    let awaited = failed.clone();
    let task = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    let plain = event_loop
        .create_task(async { Err::<(), _>(std::io::Error::other("io")) })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(task.exception().unwrap().unwrap().ptr_eq(&original));
    let io = plain.exception().unwrap().unwrap();
    assert!(io.is::<std::io::Error>());
}

/// A cancellation propagated inside a `LoopError` still cancels the task.
#[test]
fn a_cancellation_propagated_as_a_loop_error_cancels_the_task() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let task = event_loop
        .create_task(async move {
            handle.sleep(1.0).await?;
            Ok::<_, LoopError>(())
        })
        .unwrap();
    task.cancel();
    assert!(event_loop
        .run_until_complete(&task)
        .unwrap_err()
        .is_cancelled());
    assert!(task.cancelled());
}

/// A task nobody holds still runs to completion.
#[test]
fn a_task_dropped_by_everyone_still_runs() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let trace = Trace::new();
    let log = trace.clone();
    drop(
        event_loop
            .create_task(async move {
                handle.sleep(1.0).await?;
                log.log("finished");
                Ok::<_, FutureError>(())
            })
            .unwrap(),
    );
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move { handle.sleep(2.0).await })
        .unwrap()
        .unwrap();
    check(&trace, &["finished"]);
}

/// `test_exception_never_retrieved`-like: the task reports itself.
#[test]
fn a_failed_task_nobody_reads_is_reported_as_a_task() {
    let event_loop = EventLoop::new();
    let reports = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = Rc::clone(&reports);
    event_loop.set_exception_handler(Some(move |context: &ExceptionContext| {
        sink.borrow_mut().push((
            context.message.to_string(),
            context.future.clone().unwrap_or_default(),
        ));
    }));
    let task = event_loop
        .create_task(async { Err::<(), _>("lost") })
        .unwrap();
    let read = event_loop
        .create_task(async { Err::<(), _>("read") })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(read.exception().unwrap().is_some());
    drop((task, read));
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "Task exception was never retrieved");
    assert!(
        reports[0].1.starts_with("<Task finished name='Task-1'"),
        "{}",
        reports[0].1
    );
}

/// A task's result future is made only when something asks for it: a task
/// that ended before anyone did keeps its outcome for every later question
/// (its state, its result, a done-callback added then, its repr).
#[test]
fn an_outcome_nobody_asked_about_is_kept_for_later_questions() {
    let event_loop = EventLoop::new();
    let value = event_loop.create_task(async { 7 }).unwrap();
    let failed = event_loop
        .create_task(async { Err::<u8, _>("failed") })
        .unwrap();
    let cancelled = event_loop
        .create_task(async { std::future::pending::<u8>().await })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    cancelled.cancel();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(value.done() && failed.done() && cancelled.done());
    assert!(!value.cancelled() && !failed.cancelled() && cancelled.cancelled());
    assert_eq!(value.result().unwrap(), 7);
    assert_eq!(failed.exception().unwrap().unwrap().to_string(), "failed");
    assert!(cancelled.result().unwrap_err().is_cancelled());
    assert_eq!(
        format!("{value:?}"),
        "<Task finished name='Task-1' coro=<an_outcome_nobody_asked_about_is_kept_for_later_questions() done> result=7>"
    );
    // A callback added to a finished task is scheduled at once.
    let trace = Trace::new();
    let sink = trace.clone();
    value
        .add_done_callback(move |task| sink.log(format!("done: {:?}", task.result())))
        .unwrap();
    check(&trace, &[]);
    event_loop.run_until_complete(async {}).unwrap();
    check(&trace, &["done: Ok(7)"]);
}

/// `close` cancels a pending task that nobody asked about yet.
#[test]
fn close_cancels_a_pending_task_nobody_asked_about() {
    let event_loop = EventLoop::new();
    let task = event_loop
        .create_task(async { std::future::pending::<u8>().await })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(!task.done());
    event_loop.close().unwrap();
    assert!(task.done() && task.cancelled());
    assert!(task.result().unwrap_err().is_cancelled());
}

#[test]
fn current_task_and_all_tasks_see_the_running_loop() {
    let event_loop = EventLoop::new();
    assert!(current_task().is_none());
    let seen = Rc::new(Cell::new(None));
    let sink = Rc::clone(&seen);
    event_loop
        .call_soon(move || sink.set(Some(current_task().is_none())))
        .unwrap();
    let first = event_loop.create_task(async {}).unwrap();
    let second = event_loop
        .create_task(async {
            let names: Vec<String> = asyncio_loop::all_tasks().iter().map(|t| t.name()).collect();
            (current_task().unwrap().name(), names)
        })
        .unwrap();
    let (me, all) = event_loop.run_until_complete(&second).unwrap();
    assert_eq!(seen.get(), Some(true), "a plain callback runs in no task");
    assert_eq!(me, "Task-2");
    // Task-1 finished on the same iteration, before Task-2's step, and a
    // task given to `run_until_complete` is not wrapped in another.
    assert_eq!(all, ["Task-2"]);
    assert!(first.done());
}

/// Done-callbacks get the task, and run after it is done.
#[test]
fn done_callbacks_get_the_task() {
    let event_loop = EventLoop::new();
    let task = event_loop.create_task(async { 3 }).unwrap();
    let seen = Rc::new(Cell::new(0));
    let sink = Rc::clone(&seen);
    task.add_done_callback(move |task| sink.set(task.result().unwrap() * 2))
        .unwrap();
    event_loop.run_until_complete(&task).unwrap();
    assert_eq!(seen.get(), 6);
}

#[test]
fn a_closed_loop_refuses_tasks() {
    let event_loop = EventLoop::new();
    event_loop.close().unwrap();
    assert!(event_loop.create_task(async {}).unwrap_err().is_closed());
}

/// `asyncio.run`: the result of main; what is left is cancelled and gets
/// to clean up before the loop closes.
#[test]
fn run_cancels_what_main_left_and_closes_the_loop() {
    let trace = Trace::new();
    let log = trace.clone();
    let answer = asyncio_loop::run(async move {
        let event_loop = asyncio_loop::get_running_loop()?;
        let sleeper = event_loop.clone();
        event_loop.create_task(async move {
            if sleeper.sleep(3600.0).await.is_err() {
                log.log("left-over task cancelled");
            }
        })?;
        event_loop.sleep(0.0).await?;
        Ok::<_, LoopError>(7)
    })
    .unwrap()
    .unwrap();
    assert_eq!(answer, 7);
    check(&trace, &["left-over task cancelled"]);
}

#[test]
fn run_refuses_to_run_inside_a_running_loop() {
    let event_loop = EventLoop::new();
    let refused = event_loop
        .run_until_complete(async {
            asyncio_loop::run(async {})
                .unwrap_err()
                .is_another_loop_running()
        })
        .unwrap();
    assert!(refused);
}

/// Crates written against `futures`' spawning traits run on the loop.
#[test]
fn the_handle_spawns_through_the_futures_traits() {
    use futures::task::{LocalSpawnExt, SpawnExt};
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let trace = Trace::new();
    let log = trace.clone();
    handle
        .spawn_local(async move { log.log("spawned locally") })
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    handle
        .spawn(async move { sender.send("spawned").unwrap() })
        .unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    check(&trace, &["spawned locally"]);
    assert_eq!(receiver.try_recv().unwrap(), "spawned");
    // From another thread, through the threadsafe handle.
    let remote = event_loop.threadsafe_handle();
    std::thread::spawn(move || {
        remote
            .spawn(async {
                asyncio_loop::get_running_loop().unwrap().stop();
            })
            .unwrap();
    })
    .join()
    .unwrap();
    event_loop.run_forever().unwrap();
    event_loop.close().unwrap();
    assert!(handle.spawn_local(async {}).is_err());
}

/// A done-callback runs even when every handle to its task was dropped;
/// closing the loop with a task pending cancels it and drops its
/// callbacks unrun, so the task they hold is freed.
#[test]
fn done_callbacks_outlive_the_handles_and_close_frees_them() {
    let event_loop = EventLoop::new();
    let ran = Rc::new(Cell::new(false));
    let flag = Rc::clone(&ran);
    let task = event_loop.create_task(async { 1 }).unwrap();
    task.add_done_callback(move |task| flag.set(task.result().unwrap() == 1))
        .unwrap();
    drop(task);
    event_loop.run_until_complete(async {}).unwrap();
    event_loop.run_until_complete(async {}).unwrap();
    assert!(ran.get());

    let dropped = support::Counter::new();
    let token = dropped.token();
    let future = event_loop.create_future::<()>();
    let awaited = future.clone();
    let pending = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    pending.add_done_callback(move |_| drop(token)).unwrap();
    let watcher = pending.as_any();
    drop(pending);
    event_loop.run_until_complete(async {}).unwrap();
    event_loop.close().unwrap();
    assert_eq!(dropped.dropped(), 1, "the callback was dropped unrun");
    assert!(watcher.done(), "closing cancelled the pending task");
}

#[test]
fn test_task_await_itself() {
    // test_tasks.py: `RuntimeError('Task cannot await on itself')`, at
    // once, where the run used to end stuck and printing the task recursed
    // until the stack overflowed.
    let event_loop = manual();
    let me: Rc<std::cell::RefCell<Option<asyncio_loop::Task<u32>>>> = Rc::default();
    let handle_to_self = me.clone();
    let task = event_loop
        .create_task(async move {
            let myself = handle_to_self.borrow_mut().take().unwrap();
            let error = (&myself).await.unwrap_err();
            assert!(format!("{myself:?}").starts_with("<Task pending name='Task-1'"));
            Err::<u32, _>(error)
        })
        .unwrap();
    *me.borrow_mut() = Some(task.clone());
    let error = event_loop.run_until_complete(&task).unwrap_err();
    let refused = error
        .exception()
        .unwrap()
        .downcast_ref::<LoopError>()
        .unwrap();
    assert_eq!(refused.to_string(), "a task cannot await itself");
    assert!(format!("{task:?}").contains("finished"));
}

#[test]
fn test_task_awaits_a_future_of_another_loop() {
    // asyncio: "Task got Future attached to a different loop"; the run
    // used to end stuck.
    let event_loop = manual();
    let other = manual();
    let foreign = other.create_future::<u32>();
    let dropped = Rc::new(Cell::new(false));
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let flag = Flag(dropped.clone());
    let refused = event_loop
        .run_until_complete(async move {
            let _flag = flag;
            foreign.await
        })
        .unwrap()
        .unwrap_err();
    assert!(refused.is_foreign_loop(), "{refused:?}");
    assert!(dropped.get(), "the coroutine's locals were dropped");
    // The error is raised at the await, as asyncio throws it in: the
    // coroutine may catch it and go on.
    let foreign = other.create_future::<u32>();
    let caught = event_loop
        .run_until_complete(async move {
            let refused = foreign.wait().await.unwrap_err();
            Ok::<_, LoopError>(refused.is_foreign_loop())
        })
        .unwrap()
        .unwrap();
    assert!(caught);
    // A task of another loop, awaited, is refused the same way; as a
    // task's failure it reads as a foreign-future loop error.
    let other_task = other.create_task(async { 1u8 }).unwrap();
    let task = event_loop
        .create_task(async move { other_task.await })
        .unwrap();
    let error = event_loop.run_until_complete(&task).unwrap_err();
    assert!(!error.is_stuck(), "{error:?}");
    let refused = error
        .exception()
        .unwrap()
        .downcast_ref::<FutureError>()
        .unwrap();
    assert!(refused.is_foreign_loop(), "{refused:?}");
}

#[test]
fn tasks_awaiting_each_other_print_without_recursing_for_ever() {
    let event_loop = manual();
    let slot: Rc<std::cell::RefCell<Option<asyncio_loop::Task<u32>>>> = Rc::default();
    let later = slot.clone();
    let first = event_loop
        .create_task(async move {
            let second = later.borrow_mut().take().unwrap();
            second.await
        })
        .unwrap();
    let awaited = first.clone();
    let second = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    *slot.borrow_mut() = Some(second.clone());
    for _ in 0..3 {
        event_loop
            .run_once(Some(std::time::Duration::ZERO))
            .unwrap();
    }
    let printed = format!("{first:?}");
    assert!(printed.contains("wait_for=<...>"), "{printed}");
    // asyncio passes the cancellation round the circle until
    // `RecursionError`; ours raises it at the first task's await, and the
    // second gets it from the first.
    assert!(first.cancel());
    let ended = event_loop.run_until_complete(&second).unwrap_err();
    assert!(ended.is_cancelled(), "{ended:?}");
    assert!(first.cancelled() && second.cancelled());
    assert_eq!((first.cancelling(), second.cancelling()), (1, 0));
}

/// `n` tasks, each awaiting the next, the last awaiting the first.
fn circle_of(event_loop: &EventLoop, n: usize) -> Vec<asyncio_loop::Task<u32>> {
    type Slot = Rc<std::cell::RefCell<Option<asyncio_loop::Task<u32>>>>;
    let slots: Vec<Slot> = (0..n).map(|_| Rc::default()).collect();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let next = slots[(i + 1) % n].clone();
            event_loop
                .create_task(async move {
                    let next = next.borrow_mut().take().unwrap();
                    next.await
                })
                .unwrap()
        })
        .collect();
    for (slot, task) in slots.iter().zip(&tasks) {
        *slot.borrow_mut() = Some(task.clone());
    }
    for _ in 0..3 {
        event_loop
            .run_once(Some(std::time::Duration::ZERO))
            .unwrap();
    }
    tasks
}

#[test]
fn a_cancellation_sent_round_a_circle_of_awaits_ends_every_task_in_it() {
    // (A circle of one is a task awaiting itself: refused at the await.)
    for n in 2..=5 {
        for cancelled in 0..n {
            let event_loop = manual();
            let tasks = circle_of(&event_loop, n);
            assert!(tasks.iter().all(|task| !task.done()));
            assert!(tasks[cancelled].cancel());
            for _ in 0..(4 * n) {
                event_loop
                    .run_once(Some(std::time::Duration::ZERO))
                    .unwrap();
            }
            for (i, task) in tasks.iter().enumerate() {
                assert!(
                    task.cancelled(),
                    "n={n}, cancelled {cancelled}: task {i} {task:?}"
                );
                let requests = u32::from(i == cancelled);
                assert_eq!(task.cancelling(), requests, "n={n}: task {i}");
            }
        }
    }
}

#[test]
fn a_task_that_cancels_the_task_awaiting_it_is_cancelled_as_asyncio_does() {
    // asyncio: the awaiting task passes the cancellation to what it awaits,
    // the running task, which is cancelled at its next await.
    let event_loop = manual();
    let slot: Rc<std::cell::RefCell<Option<asyncio_loop::Task<u32>>>> = Rc::default();
    let later = slot.clone();
    let handle = event_loop.handle();
    let running = event_loop
        .create_task(async move {
            // The waiter starts, and awaits this task.
            handle.sleep(0.0).await?;
            let waiter = later.borrow_mut().take().unwrap();
            assert!(waiter.cancel());
            handle.sleep(0.0).await?;
            Ok::<_, LoopError>(7)
        })
        .unwrap();
    let awaited = running.clone();
    let waiter = event_loop
        .create_task(async move { awaited.await })
        .unwrap();
    *slot.borrow_mut() = Some(waiter.clone());
    let ended = event_loop.run_until_complete(&waiter).unwrap_err();
    assert!(ended.is_cancelled(), "{ended:?}");
    assert!(running.cancelled(), "{running:?}");
}

/// asyncio (`__step`): a task cancelled during its own step ends cancelled
/// if its coroutine then returns, but fails if it raises.
#[test]
fn a_task_cancelled_in_its_step_that_then_fails_keeps_its_failure() {
    let event_loop = manual();
    let failing = event_loop
        .create_task(async {
            current_task().unwrap().cancel_with_message("m");
            Err::<u8, _>(std::io::Error::other("boom"))
        })
        .unwrap();
    let error = event_loop.run_until_complete(&failing).unwrap_err();
    assert!(!failing.cancelled(), "{failing:?}");
    assert_eq!(error.exception().unwrap().to_string(), "boom");
    let returning = event_loop
        .create_task(async {
            current_task().unwrap().cancel_with_message("m");
            Ok::<u8, LoopError>(1)
        })
        .unwrap();
    let error = event_loop.run_until_complete(&returning).unwrap_err();
    assert!(returning.cancelled());
    assert_eq!(error.future_error().unwrap().cancel_message(), Some("m"));
}

/// asyncio: a task cancelled twice while it awaits a future or a sleep
/// sees the first message (the awaited future keeps it). Ours keeps the
/// first message until the coroutine sees the cancellation, also for a
/// task not started yet (where asyncio's last `cancel()` wins).
#[test]
fn a_task_cancelled_twice_sees_the_first_message() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let message = |error: LoopError| {
        let cancelled = error.future_error().expect("a cancellation");
        cancelled.cancel_message().map(str::to_owned)
    };
    let future: asyncio_core::Future<u8> = event_loop.create_future();
    let awaited = future.clone();
    let h = handle.clone();
    let tasks = [
        event_loop
            .create_task(async move { h.sleep_with(10.0, 0u8).await })
            .unwrap(),
        event_loop
            .create_task(async move { awaited.await })
            .unwrap(),
    ];
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    let h = handle.clone();
    let unstarted = event_loop
        .create_task(async move { h.sleep_with(10.0, 0u8).await })
        .unwrap();
    for task in tasks.iter().chain([&unstarted]) {
        assert!(task.cancel_with_message("first"));
        assert!(task.cancel_with_message("second"));
        let error = event_loop.run_until_complete(task).unwrap_err();
        assert_eq!(message(error).as_deref(), Some("first"), "{task:?}");
        assert_eq!(task.cancelling(), 2);
    }
    assert!(future.cancelled(), "the awaited future was cancelled");
    // Once the coroutine has seen a cancellation, a new one brings its own
    // message.
    let h = handle.clone();
    let resilient = event_loop
        .create_task(async move {
            let _ = h.sleep(10.0).await;
            h.sleep_with(10.0, 0u8).await
        })
        .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    assert!(resilient.cancel_with_message("first"));
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    assert!(resilient.cancel_with_message("second"));
    let error = event_loop.run_until_complete(&resilient).unwrap_err();
    assert_eq!(message(error).as_deref(), Some("second"));
}

/// asyncio's task repr lists its done-callbacks (`cb=[...]`), each under
/// the name of the callback given, not of the wrapper that hands it the
/// task.
#[test]
fn a_task_repr_lists_its_done_callbacks_by_their_own_names() {
    fn announce(_: &asyncio_loop::Task<()>) {}
    let event_loop = manual();
    let handle = event_loop.handle();
    let task = event_loop
        .create_task(async move { handle.sleep(1.0).await })
        .unwrap();
    task.add_done_callback(announce).unwrap();
    let printed = format!("{task:?}");
    assert!(printed.ends_with("::announce]>"), "{printed}");
    assert!(!printed.contains("closure"), "{printed}");
    event_loop.run_until_complete(&task).unwrap();
    assert!(!format!("{task:?}").contains("cb=["));
}

/// The message differences README lists: every retrieval of a task's
/// cancellation carries its message (CPython's first retrieval only), and
/// awaiting a shield whose inner task was cancelled gives that task's
/// cancellation with its message (CPython's has none).
#[test]
fn a_cancellation_message_is_kept_for_every_retrieval_and_through_shield() {
    let event_loop = manual();
    let handle = event_loop.handle();
    let h = handle.clone();
    let inner = event_loop
        .create_task(async move { h.sleep_with(10.0, 1u8).await })
        .unwrap();
    let shielded = inner.clone();
    let outer = event_loop
        .create_task(async move { asyncio_loop::shield(shielded).await })
        .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    assert!(inner.cancel_with_message("inner-msg"));
    let through_shield = event_loop.run_until_complete(&outer).unwrap_err();
    let message = |error: &LoopError| {
        error
            .future_error()
            .and_then(|cancelled| cancelled.cancel_message().map(str::to_owned))
    };
    assert_eq!(message(&through_shield).as_deref(), Some("inner-msg"));
    for _ in 0..3 {
        assert_eq!(
            inner.result().unwrap_err().cancel_message(),
            Some("inner-msg")
        );
    }
}
