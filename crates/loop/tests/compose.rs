//! `wait`, `gather`, `as_completed`, `wait_for`, `shield` and `Timeout`:
//! ports of the applicable cases of CPython's `test_tasks.py` and
//! `test_timeouts.py`, on a manual clock (named after what they port).

mod support;

use std::cell::Cell;
use std::rc::Rc;

use asyncio_core::FutureError;
use asyncio_loop::{
    as_completed, current_task, gather, shield, wait, wait_for, EventLoop, LoopError,
    LoopErrorKind, LoopHandle, ManualClock, ReturnWhen, Timeout,
};
use futures::StreamExt;
use support::{check, Trace};

fn manual() -> (EventLoop, LoopHandle) {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let handle = event_loop.handle();
    (event_loop, handle)
}

/// A coroutine that sleeps `seconds`, then returns `value`.
async fn nap(handle: LoopHandle, seconds: f64, value: u32) -> Result<u32, FutureError> {
    handle.sleep(seconds).await?;
    Ok(value)
}

/// A coroutine that sleeps `seconds`, then fails.
async fn fail_after(handle: LoopHandle, seconds: f64) -> Result<u32, LoopError> {
    handle.sleep(seconds).await?;
    Err(FutureError::loop_closed().into())
}

// ---- wait ----

/// `test_wait`: all done, in argument order; the clock ran to the last.
#[test]
fn wait_returns_when_all_are_done() {
    let (event_loop, handle) = manual();
    let (done, pending) = event_loop
        .run_until_complete(async move {
            wait([nap(handle.clone(), 0.2, 1), nap(handle.clone(), 0.1, 2)]).await
        })
        .unwrap()
        .unwrap();
    assert!(pending.is_empty());
    let results: Vec<u32> = done.iter().map(|t| t.result().unwrap()).collect();
    assert_eq!(results, [1, 2]);
    assert_eq!(event_loop.time(), 0.2);
}

/// `test_wait_first_completed`.
#[test]
fn wait_first_completed_returns_at_the_first() {
    let (event_loop, handle) = manual();
    let (done, pending) = event_loop
        .run_until_complete(async move {
            wait([nap(handle.clone(), 1.0, 1), nap(handle.clone(), 0.5, 2)])
                .return_when(ReturnWhen::FirstCompleted)
                .await
        })
        .unwrap()
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].result().unwrap(), 2);
    assert_eq!(pending.len(), 1);
    assert!(!pending[0].done(), "nothing is cancelled");
    assert_eq!(event_loop.time(), 0.5);
}

/// `test_wait_first_exception`, and a cancelled task is not an exception.
#[test]
fn wait_first_exception_returns_at_the_first_failure() {
    let (event_loop, handle) = manual();
    let (done, pending) = event_loop
        .run_until_complete(async move {
            let cancelled = handle.create_task(nap(handle.clone(), 0.1, 0))?;
            cancelled.cancel();
            let tasks = [
                cancelled,
                handle.create_task(fail_after(handle.clone(), 0.3))?,
                handle.create_task(nap(handle.clone(), 1.0, 3))?,
            ];
            wait(tasks).return_when(ReturnWhen::FirstException).await
        })
        .unwrap()
        .unwrap();
    assert_eq!((done.len(), pending.len()), (2, 1));
    assert!(done[0].cancelled());
    assert!(done[1].exception().unwrap().is_some());
    assert_eq!(event_loop.time(), 0.3);
}

/// `test_wait_with_timeout`: the timeout cancels nothing.
#[test]
fn wait_with_a_timeout_cancels_nothing() {
    let (event_loop, handle) = manual();
    let (done, pending) = event_loop
        .run_until_complete(async move {
            wait([nap(handle.clone(), 0.1, 1), nap(handle.clone(), 0.5, 2)])
                .timeout(0.2)
                .await
        })
        .unwrap()
        .unwrap();
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert_eq!(event_loop.time(), 0.2);
    assert_eq!(
        event_loop.run_until_complete(pending[0].clone()).unwrap(),
        2
    );
}

/// A task cancelled while it waits ends its wait with the cancellation.
#[test]
fn cancelling_the_waiter_ends_the_wait_and_cancels_nothing() {
    let (event_loop, handle) = manual();
    let child = event_loop.create_task(nap(handle.clone(), 5.0, 1)).unwrap();
    let waited = child.clone();
    let waiter = event_loop
        .create_task(async move { wait([waited]).await.map(|_| ()) })
        .unwrap();
    support::cancel_later(&event_loop, &waiter, 1.0);
    assert!(event_loop
        .run_until_complete(&waiter)
        .unwrap_err()
        .is_cancelled());
    assert!(!child.done());
    assert_eq!(event_loop.run_until_complete(&child).unwrap(), 1);
}

// ---- gather ----

/// `test_gather_shortcut`-like: results in argument order.
#[test]
fn gather_gives_results_in_argument_order() {
    let (event_loop, handle) = manual();
    let trace = Trace::new();
    let (log, h) = (trace.clone(), handle.clone());
    let results = event_loop
        .run_until_complete(async move {
            let step = |seconds: f64, value: u32| {
                let (log, handle) = (log.clone(), h.clone());
                async move {
                    log.log(format!("start {value}"));
                    handle.sleep(seconds).await?;
                    log.log(format!("end {value}"));
                    Ok::<_, FutureError>(value)
                }
            };
            gather([step(0.2, 1), step(0.1, 2)]).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(results, [1, 2]);
    check(&trace, &["start 1", "start 2", "end 2", "end 1"]);
}

/// `test_one_exception`: the first failure propagates; the others run on.
#[test]
fn gather_fails_with_the_first_failure_and_the_others_keep_running() {
    let (event_loop, handle) = manual();
    let slow = event_loop.create_task(nap(handle.clone(), 1.0, 9)).unwrap();
    let other = slow.clone();
    let h = handle.clone();
    let error = event_loop
        .run_until_complete(async move {
            let failing = h.create_task(fail_after(h.clone(), 0.1))?;
            gather([
                failing,
                h.create_task(async move { other.wait().await.map_err(LoopError::from) })?,
            ])
            .await
            .map(|_| ())
        })
        .unwrap()
        .unwrap_err();
    assert!(error.exception().is_some(), "{error:?}");
    assert_eq!(event_loop.time(), 0.1);
    assert!(!slow.done(), "the others keep running");
    assert_eq!(event_loop.run_until_complete(&slow).unwrap(), 9);
}

/// `test_return_exceptions`.
#[test]
fn gather_return_exceptions_gives_every_outcome() {
    let (event_loop, handle) = manual();
    let outcomes = event_loop
        .run_until_complete(async move {
            let a = handle.create_task(fail_after(handle.clone(), 0.2))?;
            let b = handle.create_task(async { Ok::<_, LoopError>(2) })?;
            gather([a, b]).return_exceptions().await
        })
        .unwrap()
        .unwrap();
    assert!(outcomes[0].as_ref().unwrap_err().exception().is_some());
    assert_eq!(*outcomes[1].as_ref().unwrap(), 2);
}

/// How a child of the gather scenarios below behaves when cancelled.
#[derive(Clone, Copy)]
enum Child {
    /// Sleeps `10 s` and lets a cancellation end it.
    Plain,
    /// Catches the cancellation, sleeps 1 s more, then returns.
    Returns,
    /// Catches the cancellation, sleeps 1 s more, then fails.
    Fails,
}

/// Gathers children `a` and `b` behaving as `kinds`, cancels the gathering
/// task with "msg" at 0.5 s, and gives the trace, how the task ended and
/// when. Compared with CPython 3.11 running the same scenario.
fn cancelled_gather(kinds: [Child; 2], return_exceptions: bool) -> (Vec<String>, String, f64) {
    let (event_loop, handle) = manual();
    let trace = Trace::new();
    let child = |name: &'static str, kind: Child| {
        let (log, handle) = (trace.clone(), handle.clone());
        async move {
            let Err(cancelled) = handle.sleep(10.0).await else {
                return Ok(name);
            };
            let now = handle.time();
            let message = cancelled.cancel_message().unwrap_or_default().to_owned();
            match kind {
                Child::Plain => {
                    log.log(format!("{now} {name} cancelled '{message}'"));
                    Err(LoopError::from(cancelled))
                }
                Child::Returns | Child::Fails => {
                    log.log(format!("{now} {name} caught the cancellation"));
                    handle.sleep(1.0).await?;
                    match kind {
                        Child::Fails => Err(LoopError::from(FutureError::loop_closed())),
                        _ => Ok(name),
                    }
                }
            }
        }
    };
    let children = [child("a", kinds[0]), child("b", kinds[1])];
    let gathering = event_loop
        .create_task(async move {
            if return_exceptions {
                gather(children).return_exceptions().await.map(|_| ())
            } else {
                gather(children).await.map(|_| ())
            }
        })
        .unwrap();
    let cancelled = gathering.clone();
    event_loop
        .call_later(0.5, move || assert!(cancelled.cancel_with_message("msg")))
        .unwrap();
    let ended = match event_loop.run_until_complete(&gathering) {
        Ok(()) => "finished".to_owned(),
        Err(error) if gathering.cancelled() => {
            format!(
                "cancelled '{}'",
                error.future_error().unwrap().cancel_message().unwrap_or("")
            )
        }
        Err(error) => format!("failed: {error}"),
    };
    (trace.take(), ended, event_loop.time())
}

/// `test_cancel_gather_1`: cancelling the gathering task cancels the
/// children inside `cancel()`, and the gather ends with the first child
/// to finish, cancelled.
#[test]
fn cancelling_a_gather_cancels_its_children_at_once() {
    let (trace, ended, time) = cancelled_gather([Child::Plain, Child::Plain], false);
    assert_eq!(trace, ["0.5 a cancelled 'msg'", "0.5 b cancelled 'msg'"]);
    assert_eq!((ended.as_str(), time), ("cancelled 'msg'", 0.5));
}

/// asyncio: a child that catches the cancellation does not hold the
/// gather up when another child ends cancelled first.
#[test]
fn a_cancelled_gather_ends_with_the_first_child_to_finish() {
    let (trace, ended, time) = cancelled_gather([Child::Returns, Child::Plain], false);
    assert_eq!(
        trace,
        ["0.5 a caught the cancellation", "0.5 b cancelled 'msg'"]
    );
    assert_eq!((ended.as_str(), time), ("cancelled 'msg'", 0.5));
}

/// asyncio: a child that caught the cancellation and then failed ends the
/// gather, and the gathering task, with its failure.
#[test]
fn a_cancelled_gather_fails_with_a_child_that_failed_after_catching_it() {
    let (trace, ended, time) = cancelled_gather([Child::Fails, Child::Returns], false);
    assert_eq!(
        trace,
        [
            "0.5 a caught the cancellation",
            "0.5 b caught the cancellation"
        ]
    );
    assert!(ended.starts_with("failed"), "{ended}");
    assert_eq!(time, 1.5);
}

/// `return_exceptions`: a cancelled gather waits for every child and ends
/// cancelled whatever they did.
#[test]
fn a_cancelled_gather_of_every_outcome_waits_for_all_and_ends_cancelled() {
    let (trace, ended, time) = cancelled_gather([Child::Plain, Child::Plain], true);
    assert_eq!(trace, ["0.5 a cancelled 'msg'", "0.5 b cancelled 'msg'"]);
    assert_eq!((ended.as_str(), time), ("cancelled 'msg'", 0.5));
    let (trace, ended, time) = cancelled_gather([Child::Returns, Child::Plain], true);
    assert_eq!(
        trace,
        ["0.5 a caught the cancellation", "0.5 b cancelled 'msg'"]
    );
    assert_eq!((ended.as_str(), time), ("cancelled 'msg'", 1.5));
    // CPython raises the last child's cancellation, message-less when that
    // child was not cancelled; ours is the one the gather was sent.
    let (_, ended, time) = cancelled_gather([Child::Plain, Child::Returns], true);
    assert_eq!((ended.as_str(), time), ("cancelled 'msg'", 1.5));
}

#[test]
fn gather_of_nothing_is_empty() {
    let event_loop = EventLoop::new();
    let results = event_loop
        .run_until_complete(async { gather(Vec::<asyncio_loop::Task<u8>>::new()).await })
        .unwrap()
        .unwrap();
    assert!(results.is_empty());
}

// ---- as_completed ----

/// `test_as_completed`: completion order; `test_as_completed_with_timeout`.
#[test]
fn as_completed_yields_in_completion_order_then_times_out() {
    let (event_loop, handle) = manual();
    let (order, timed_out) = event_loop
        .run_until_complete(async move {
            let naps = [
                nap(handle.clone(), 0.3, 3),
                nap(handle.clone(), 0.1, 1),
                nap(handle.clone(), 5.0, 5),
            ];
            let mut finished = as_completed(naps)?.timeout(1.0)?;
            let mut order = Vec::new();
            let mut timed_out = false;
            while let Some(result) = finished.next().await {
                match result {
                    Ok(value) => order.push(value),
                    Err(error) => timed_out = error.is_timeout(),
                }
            }
            Ok::<_, LoopError>((order, timed_out))
        })
        .unwrap()
        .unwrap();
    assert_eq!(order, [1, 3]);
    assert!(timed_out);
    assert_eq!(event_loop.time(), 1.0);
}

/// 3.11's form: `for next in as_completed(..) { next.await }`, the same
/// order and the same timeout, one error per awaitable left.
#[test]
fn as_completed_as_an_iterator_of_awaitables() {
    let (event_loop, handle) = manual();
    let outcomes = event_loop
        .run_until_complete(async move {
            let naps = [
                nap(handle.clone(), 0.3, 3),
                nap(handle.clone(), 0.1, 1),
                nap(handle.clone(), 5.0, 5),
                nap(handle.clone(), 6.0, 6),
            ];
            let awaitables = as_completed(naps)?.timeout(1.0)?.into_iter();
            assert_eq!(awaitables.len(), 4);
            let mut outcomes = Vec::new();
            for next in awaitables {
                outcomes.push(match next.await {
                    Ok(value) => value.to_string(),
                    Err(error) if error.is_timeout() => "timeout".to_owned(),
                    Err(error) => return Err(error),
                });
            }
            Ok::<_, LoopError>(outcomes)
        })
        .unwrap()
        .unwrap();
    assert_eq!(outcomes, ["1", "3", "timeout", "timeout"]);
    assert_eq!(event_loop.time(), 1.0);
}

/// asyncio: each awaitable gives the next result to finish when awaited,
/// whichever it is; two awaited at once by two tasks each get one.
#[test]
fn as_completed_awaitables_awaited_at_once_each_get_a_result() {
    let (event_loop, handle) = manual();
    let mut results = event_loop
        .run_until_complete(async move {
            let mut awaitables =
                as_completed([nap(handle.clone(), 0.2, 2), nap(handle.clone(), 0.1, 1)])?
                    .into_iter();
            let (first, second) = (awaitables.next().unwrap(), awaitables.next().unwrap());
            assert!(awaitables.next().is_none());
            let later = handle.create_task(second)?;
            let sooner = handle.create_task(first)?;
            Ok::<_, LoopError>(vec![later.await?, sooner.await?])
        })
        .unwrap()
        .unwrap();
    results.sort_unstable();
    assert_eq!(results, [1, 2]);
    assert_eq!(event_loop.time(), 0.2);
}

// ---- wait_for ----

/// `test_wait_for`: the inner task is cancelled, awaited, then a timeout.
#[test]
fn wait_for_cancels_the_inner_task_waits_for_it_then_times_out() {
    let (event_loop, handle) = manual();
    let trace = Trace::new();
    let (log, h) = (trace.clone(), handle.clone());
    let error = event_loop
        .run_until_complete(async move {
            let slow = async move {
                if let Err(error) = h.sleep(10.0).await {
                    log.log("inner cancelled, cleaning up");
                    h.sleep(0.5).await?;
                    log.log("inner cleaned up");
                    return Err(error);
                }
                Ok(1)
            };
            wait_for(slow, 1.0).await
        })
        .unwrap()
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(error.kind(), LoopErrorKind::Timeout);
    check(
        &trace,
        &["inner cancelled, cleaning up", "inner cleaned up"],
    );
    assert_eq!(event_loop.time(), 1.5, "it waited for the inner task");
}

/// `test_wait_for_with_global_loop`-like: in time, the result.
#[test]
fn wait_for_in_time_gives_the_result() {
    let (event_loop, handle) = manual();
    let result = event_loop
        .run_until_complete(wait_for(nap(handle, 0.5, 7), 1.0))
        .unwrap();
    assert_eq!(result.unwrap(), 7);
    assert_eq!(event_loop.time(), 0.5);
}

/// `test_wait_for_timeout_less_then_0_or_0`.
#[test]
fn wait_for_with_no_time_cancels_at_once() {
    let (event_loop, handle) = manual();
    let result = event_loop
        .run_until_complete(wait_for(nap(handle, 0.5, 7), 0.0))
        .unwrap();
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(event_loop.time(), 0.0);
}

/// `test_wait_for_cancellation`-like: cancelling the waiter cancels the inner.
#[test]
fn cancelling_wait_for_cancels_the_inner_task() {
    let (event_loop, handle) = manual();
    let inner = event_loop
        .create_task(nap(handle.clone(), 10.0, 1))
        .unwrap();
    let awaited = inner.clone();
    let waiter = event_loop
        .create_task(async move { wait_for(awaited, 5.0).await })
        .unwrap();
    support::cancel_later(&event_loop, &waiter, 1.0);
    assert!(event_loop
        .run_until_complete(&waiter)
        .unwrap_err()
        .is_cancelled());
    assert!(inner.cancelled());
}

// ---- shield ----

/// `test_shield_effect`: the outer await is cancelled, the inner runs on.
#[test]
fn shield_keeps_the_inner_task_running() {
    let (event_loop, handle) = manual();
    let inner = event_loop.create_task(nap(handle.clone(), 1.0, 4)).unwrap();
    let protected = inner.clone();
    let outer = event_loop
        .create_task(async move { shield(protected).await })
        .unwrap();
    support::cancel_later(&event_loop, &outer, 0.5);
    assert!(event_loop
        .run_until_complete(&outer)
        .unwrap_err()
        .is_cancelled());
    assert!(!inner.done());
    assert_eq!(event_loop.run_until_complete(&inner).unwrap(), 4);
}

/// `test_shield_result` and `test_shield_exception`.
#[test]
fn shield_passes_the_result_and_the_exception_through() {
    let (event_loop, handle) = manual();
    let h = handle.clone();
    let (ok, failed) = event_loop
        .run_until_complete(async move {
            let ok = shield(nap(h.clone(), 0.1, 5)).await?;
            let failed = shield(fail_after(h.clone(), 0.1)).await;
            Ok::<_, LoopError>((ok, failed))
        })
        .unwrap()
        .unwrap();
    assert_eq!(ok, 5);
    assert!(failed.unwrap_err().exception().is_some());
}

// ---- timeout (test_timeouts.py) ----

/// `test_timeout_basic`, `test_timeout_expired`: the cancellation it caused
/// becomes a timeout, and `expired()` says so.
#[test]
fn a_timeout_turns_its_cancellation_into_a_timeout_error() {
    let (event_loop, handle) = manual();
    let (error, expired, cancelling) = event_loop
        .run_until_complete(async move {
            let deadline = Timeout::after(0.1)?;
            let error = deadline.run(handle.sleep(10.0)).await.unwrap_err();
            let cancelling = current_task().unwrap().cancelling();
            Ok::<_, LoopError>((error, deadline.expired(), cancelling))
        })
        .unwrap()
        .unwrap();
    assert!(error.is_timeout());
    assert!(expired);
    assert_eq!(cancelling, 0, "uncancelled");
    assert_eq!(event_loop.time(), 0.1);
}

/// `test_timeout_not_called`: in time, the output as it is.
#[test]
fn a_block_done_in_time_gives_its_output() {
    let (event_loop, handle) = manual();
    let output = event_loop
        .run_until_complete(async move {
            let deadline = Timeout::after(10.0)?;
            let output = deadline.run(nap(handle, 0.5, 3)).await?;
            assert!(!deadline.expired());
            Ok::<_, LoopError>(output)
        })
        .unwrap()
        .unwrap();
    assert_eq!(output.unwrap(), 3);
    assert_eq!(event_loop.time(), 0.5);
}

/// `test_timeout_in_the_past_sleep_zero`-like, and a swallowed cancellation
/// is no timeout error (asyncio only converts a `CancelledError`).
#[test]
fn a_block_that_swallows_the_cancellation_gives_its_output() {
    let (event_loop, handle) = manual();
    let output = event_loop
        .run_until_complete(async move {
            let deadline = Timeout::at(Some((-1.0).into()))?;
            let h = handle.clone();
            let output = deadline
                .run(async move {
                    match h.sleep(10.0).await {
                        Err(_) => "swallowed",
                        Ok(()) => "slept",
                    }
                })
                .await?;
            Ok::<_, LoopError>((output, deadline.expired()))
        })
        .unwrap()
        .unwrap();
    assert_eq!(output, ("swallowed", true));
    assert_eq!(event_loop.time(), 0.0);
}

/// `test_timeout_reschedule`-like, `test_repr_*`: rescheduling moves the
/// deadline; outside the block it is refused.
#[test]
fn rescheduling_moves_the_deadline_and_needs_the_block() {
    let (event_loop, handle) = manual();
    let refused = Rc::new(Cell::new(false));
    let flag = Rc::clone(&refused);
    event_loop
        .run_until_complete(async move {
            let deadline = Timeout::after(1.0)?;
            assert_eq!(format!("{deadline:?}"), "<Timeout [created]>");
            flag.set(deadline.reschedule(None).unwrap_err().kind() == LoopErrorKind::InvalidState);
            let inner = deadline.clone();
            let h = handle.clone();
            let output = deadline
                .run(async move {
                    assert_eq!(format!("{inner:?}"), "<Timeout [active] when=1>");
                    inner.reschedule(None)?;
                    h.sleep(2.0).await?;
                    Ok::<_, LoopError>("no deadline")
                })
                .await?;
            assert_eq!(format!("{deadline:?}"), "<Timeout [finished]>");
            output
        })
        .unwrap()
        .unwrap();
    assert!(refused.get());
    assert_eq!(event_loop.time(), 2.0);
}

/// `test_nested_timeouts`: the inner one fires first and is the only one
/// to convert.
#[test]
fn nested_timeouts_each_convert_only_their_own() {
    let (event_loop, handle) = manual();
    let (inner_error, outer_expired) = event_loop
        .run_until_complete(async move {
            let outer = Timeout::after(5.0)?;
            let h = handle.clone();
            let inner_error = outer
                .run(async move {
                    let inner = Timeout::after(0.1)?;
                    let error = inner.run(h.sleep(10.0)).await.unwrap_err();
                    Ok::<_, LoopError>(error.is_timeout())
                })
                .await??;
            Ok::<_, LoopError>((inner_error, outer.expired()))
        })
        .unwrap()
        .unwrap();
    assert!(inner_error);
    assert!(!outer_expired);
}

// ---- TaskGroup (test_taskgroups.py) ----

/// `test_taskgroup_01`: the group waits for every task.
#[test]
fn a_task_group_waits_for_all_its_tasks() {
    let (event_loop, handle) = manual();
    let (a, b) = event_loop
        .run_until_complete(asyncio_loop::TaskGroup::run(|group| async move {
            let a = group.create_task(nap(handle.clone(), 0.1, 42))?;
            let b = group.create_task(nap(handle.clone(), 0.2, 11))?;
            Ok::<_, LoopError>((a, b))
        }))
        .unwrap()
        .unwrap();
    assert_eq!((a.result().unwrap(), b.result().unwrap()), (42, 11));
    assert_eq!(event_loop.time(), 0.2);
}

/// `test_taskgroup_03`-like: the first failure cancels the others and the
/// body; the group fails with that exception, and the parent's own
/// cancellation count goes back to zero.
#[test]
fn the_first_failure_cancels_the_rest_and_the_body() {
    let (event_loop, handle) = manual();
    let trace = Trace::new();
    let (log, h) = (trace.clone(), handle.clone());
    let (error, cancelling) = event_loop
        .run_until_complete(async move {
            let outcome = asyncio_loop::TaskGroup::run(|group| {
                let (log, h) = (log.clone(), h.clone());
                async move {
                    let slow_log = log.clone();
                    let slow_h = h.clone();
                    group.create_task(async move {
                        if slow_h.sleep(10.0).await.is_err() {
                            slow_log.log("sibling cancelled");
                        }
                    })?;
                    group.create_task(fail_after(h.clone(), 0.1))?;
                    if h.sleep(5.0).await.is_err() {
                        log.log("body cancelled");
                    }
                    Ok::<_, LoopError>(())
                }
            })
            .await;
            (outcome.unwrap_err(), current_task().unwrap().cancelling())
        })
        .unwrap();
    assert_eq!(error.kind(), LoopErrorKind::TaskGroup);
    assert_eq!(error.exceptions().len(), 1);
    assert_eq!(cancelling, 0);
    let mut events = trace.take();
    events.sort();
    assert_eq!(events, ["body cancelled", "sibling cancelled"]);
    assert_eq!(event_loop.time(), 0.1);
}

/// `test_taskgroup_07`-like: an error of the body cancels the tasks and is
/// one of the group's exceptions.
#[test]
fn an_error_of_the_body_cancels_the_tasks() {
    let (event_loop, handle) = manual();
    let child = Rc::new(Cell::new(None));
    let seen = Rc::clone(&child);
    let error = event_loop
        .run_until_complete(asyncio_loop::TaskGroup::run(|group| async move {
            seen.set(Some(group.create_task(nap(handle.clone(), 10.0, 1))?));
            handle.sleep(0.1).await?;
            Err::<(), _>(LoopError::from(FutureError::loop_closed()))
        }))
        .unwrap()
        .unwrap_err();
    assert_eq!(error.exceptions().len(), 1);
    assert!(child.take().unwrap().cancelled());
}

/// `test_taskgroup_15`-like: cancelling the task running the group from
/// outside cancels the tasks and propagates.
#[test]
fn cancelling_the_running_task_cancels_the_group() {
    let (event_loop, handle) = manual();
    let child = Rc::new(Cell::new(None));
    let seen = Rc::clone(&child);
    let runner = event_loop
        .create_task(asyncio_loop::TaskGroup::run(move |group| async move {
            seen.set(Some(group.create_task(nap(handle.clone(), 10.0, 1))?));
            handle.sleep(10.0).await?;
            Ok::<_, LoopError>(())
        }))
        .unwrap();
    support::cancel_later(&event_loop, &runner, 1.0);
    assert!(event_loop
        .run_until_complete(&runner)
        .unwrap_err()
        .is_cancelled());
    assert!(child.take().unwrap().cancelled());
    assert_eq!(event_loop.time(), 1.0);
}

/// A task that is cancelled is no failure; a finished group takes no tasks.
#[test]
fn cancelled_tasks_are_no_failures_and_a_finished_group_refuses_tasks() {
    let (event_loop, handle) = manual();
    let group = event_loop
        .run_until_complete(asyncio_loop::TaskGroup::run(|group| async move {
            let task = group.create_task(nap(handle.clone(), 1.0, 1))?;
            task.cancel();
            Ok::<_, LoopError>(group)
        }))
        .unwrap()
        .unwrap();
    let refused = group.create_task(async {}).unwrap_err();
    assert_eq!(refused.kind(), LoopErrorKind::InvalidState);
}

#[test]
fn test_timeout_in_the_past_sleep_zero() {
    // test_timeouts.py: an expired deadline is queued with `call_soon` on
    // entry, so even a body that only yields once times out.
    let (event_loop, handle) = manual();
    let (error, when) = event_loop
        .run_until_complete(async move {
            let timeout = Timeout::after(-11.0)?;
            let when = timeout.when().unwrap();
            let error = timeout
                .run(async move {
                    handle.sleep(0.0).await?;
                    handle.sleep(10.0).await
                })
                .await
                .unwrap_err();
            Ok::<_, LoopError>((error, when))
        })
        .unwrap()
        .unwrap();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(when, -11.0, "11 s in the past, not now");
    assert_eq!(event_loop.time(), 0.0);
}

#[test]
fn test_wait_for_zero_timeout_of_a_cancelled_task_is_its_cancellation() {
    // asyncio: `wait_for(done_future, 0)` returns its outcome as it is.
    let (event_loop, handle) = manual();
    let inner = event_loop.create_task(nap(handle, 1.0, 7)).unwrap();
    inner.cancel_with_message("gone");
    let _ = event_loop.run_until_complete(&inner);
    let error = event_loop
        .run_until_complete(wait_for(inner, 0.0))
        .unwrap()
        .unwrap_err();
    assert!(error.is_cancelled(), "{error:?}");
    assert!(!error.is_timeout());
}

// ---- results stay in the tasks given ----

/// asyncio's `gather`, `wait_for` and `as_completed` leave every task's
/// result readable: later `result()`, `await` and done-callbacks see it.
#[test]
fn helpers_leave_the_results_of_the_tasks_they_are_given() {
    let (event_loop, handle) = manual();
    let seen = Rc::new(Cell::new(0));
    let outcome = event_loop
        .run_until_complete({
            let seen = seen.clone();
            async move {
                let tasks: Vec<_> = (1..=3)
                    .map(|i| handle.create_task(nap(handle.clone(), f64::from(i), i)))
                    .collect::<Result<_, _>>()?;
                assert_eq!(gather(tasks.clone()).await?, [1, 2, 3]);
                let all = gather(tasks.clone()).return_exceptions().await?;
                assert_eq!(
                    all.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                    [1, 2, 3]
                );
                assert_eq!(wait_for(tasks[0].clone(), 1.0).await?, 1);
                assert_eq!(wait_for(tasks[1].clone(), 0.0).await?, 2);
                let mut finished = as_completed(tasks.clone())?;
                let mut order = Vec::new();
                while let Some(result) = finished.next().await {
                    order.push(result?);
                }
                assert_eq!(order, [1, 2, 3]);
                for task in &tasks {
                    let seen = seen.clone();
                    task.add_done_callback(move |task| {
                        seen.set(seen.get() + task.result().unwrap())
                    })?;
                }
                handle.sleep(0.0).await?;
                let results: Vec<u32> = tasks.iter().map(|task| task.result().unwrap()).collect();
                let awaited = tasks[2].clone().await?;
                Ok::<_, LoopError>((results, awaited))
            }
        })
        .unwrap()
        .unwrap();
    assert_eq!(outcome, (vec![1, 2, 3], 3));
    assert_eq!(seen.get(), 6, "done-callbacks read every result");
}

/// A failed task given to `gather` keeps its exception, and a coroutine's
/// non-`Clone` result is moved out of the gather's own task.
#[test]
fn gather_leaves_a_given_tasks_exception_and_moves_a_coroutines_result() {
    let (event_loop, handle) = manual();
    let failing = event_loop
        .create_task(fail_after(handle.clone(), 1.0))
        .unwrap();
    let given = failing.clone();
    let error = event_loop
        .run_until_complete(async { gather([given]).await })
        .unwrap()
        .unwrap_err();
    assert!(error.future_error().is_some(), "{error:?}");
    assert!(failing.exception().unwrap().is_some(), "still readable");
    struct NotClone(u8);
    let moved = event_loop
        .run_until_complete(async { gather([async { Ok::<_, LoopError>(NotClone(7)) }]).await })
        .unwrap()
        .unwrap();
    assert_eq!(moved[0].0, 7);
}

/// asyncio's `_GatheringFuture.cancel`: `task.cancel()` on the gathering
/// task reaches the children before it returns.
#[test]
fn cancelling_the_gathering_task_cancels_the_children_inside_cancel() {
    let (event_loop, handle) = manual();
    let children: Vec<_> = (0..2)
        .map(|i| {
            event_loop
                .create_task(nap(handle.clone(), 10.0, i))
                .unwrap()
        })
        .collect();
    let given = children.clone();
    let gathering = event_loop
        .create_task(async move { gather(given).await })
        .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    assert!(children.iter().all(|child| child.cancelling() == 0));
    assert!(gathering.cancel());
    assert!(children.iter().all(|child| child.cancelling() == 1));
    assert!(event_loop
        .run_until_complete(&gathering)
        .unwrap_err()
        .is_cancelled());
    assert!(children.iter().all(asyncio_loop::Task::cancelled));
    assert_eq!(event_loop.time(), 0.0);
}

/// A body and a task failing with the same error propagated with `?` from
/// another future appear the same in the group's exceptions: the exception
/// itself, not the `LoopError` that carried it.
#[test]
fn a_task_group_unwraps_the_body_error_as_it_unwraps_a_task_failure() {
    let (event_loop, handle) = manual();
    let failed: asyncio_core::Future<u8> = event_loop.create_future();
    failed.set_exception(std::io::Error::other("boom")).unwrap();
    let for_task = failed.clone();
    let from_a_task = event_loop
        .run_until_complete(asyncio_loop::TaskGroup::run(|group| async move {
            group.create_task(async move { Ok::<_, LoopError>(for_task.await?) })?;
            handle.sleep(1.0).await?;
            Ok::<_, LoopError>(0)
        }))
        .unwrap()
        .unwrap_err();
    let from_the_body = event_loop
        .run_until_complete(asyncio_loop::TaskGroup::run(|_| async move {
            Ok::<_, LoopError>(failed.await?)
        }))
        .unwrap()
        .unwrap_err();
    for error in [from_a_task, from_the_body] {
        let exceptions = error.exceptions();
        assert_eq!(exceptions.len(), 1, "{error:?}");
        let exception = &exceptions[0];
        assert!(
            exception.downcast_ref::<std::io::Error>().is_some(),
            "{exception:?}"
        );
        assert_eq!(exception.to_string(), "boom");
    }
}

/// asyncio's `gather()` returns its future at once, and cancelling that
/// future cancels the children: `test_gather_cancel`-like, with the handle.
#[test]
fn a_started_gather_can_be_cancelled_by_its_holder() {
    let (event_loop, handle) = manual();
    let (gathered, children) = event_loop
        .run_until_complete(async move {
            let gathering =
                gather([nap(handle.clone(), 1.0, 1), nap(handle.clone(), 2.0, 2)]).start()?;
            let children: Vec<_> = gathering.tasks().to_vec();
            assert_eq!(format!("{gathering:?}"), "<_GatheringFuture pending>");
            handle.sleep(0.5).await?;
            assert!(gathering.cancel_with_message("stop"));
            assert!(children.iter().all(|child| child.cancelling() == 1));
            Ok::<_, LoopError>((gathering.await, children))
        })
        .unwrap()
        .unwrap();
    let error = gathered.unwrap_err();
    assert_eq!(error.future_error().unwrap().cancel_message(), Some("stop"));
    assert!(children.iter().all(asyncio_loop::Task::cancelled));
    assert_eq!(event_loop.time(), 0.5);
}
