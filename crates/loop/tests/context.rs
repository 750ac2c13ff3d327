//! Context variables as tasks and callbacks see them: CPython's
//! `test_context_1`..`test_context_3` (test_tasks.py) and the callback
//! cases of test_events.py, where they apply. Each test runs on its own
//! thread (cargo's), so the thread-local contexts start empty.

use std::cell::RefCell;
use std::rc::Rc;

use asyncio_core::context::{copy_context, ContextVar};
use asyncio_core::FutureError;
use asyncio_loop::{gather, EventLoop, LoopError, ManualClock};

fn manual() -> EventLoop {
    EventLoop::with_clock(&ManualClock::new())
}

/// `test_context_1`: a task sees the context as it was when it was made,
/// and what it sets stays in it.
#[test]
fn a_task_runs_in_a_copy_of_its_creators_context() {
    static CVAR: ContextVar<&str> = ContextVar::with_default("cvar", "nope");
    let event_loop = manual();
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move {
            assert_eq!(CVAR.get(), Some("nope"));
            let h = handle.clone();
            let subtask = handle.create_task(async move {
                h.sleep(0.01).await?;
                assert_eq!(CVAR.get(), Some("nope"));
                CVAR.set("something else");
                Ok::<_, FutureError>(())
            })?;
            CVAR.set("yes");
            assert_eq!(CVAR.get(), Some("yes"));
            subtask.await?;
            assert_eq!(CVAR.get(), Some("yes"));
            Ok::<_, LoopError>(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        CVAR.get(),
        Some("nope"),
        "the loop's thread's own context is untouched"
    );
}

/// `test_context_2`: a done-callback runs in a copy of the context current
/// when it was added, so what it sets does not reach the task; a task's
/// steps share its context.
#[test]
fn a_done_callback_cannot_change_the_tasks_context() {
    static CVAR: ContextVar<String> = ContextVar::with_default("cvar", String::new());
    let event_loop = manual();
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move {
            for j in 0..2 {
                let future = handle.create_future::<()>();
                future.add_done_callback(|_| {
                    CVAR.set("something else".to_owned());
                })?;
                CVAR.set(format!("yes{j}"));
                let setter = future.clone();
                handle.call_soon(move || drop(setter.set_result(())))?;
                future.await?;
                assert_eq!(CVAR.get().unwrap(), format!("yes{j}"));
                for i in 0..3 {
                    CVAR.set(format!("yes{i}-{j}"));
                    handle.sleep(0.001).await?;
                    assert_eq!(CVAR.get().unwrap(), format!("yes{i}-{j}"));
                }
            }
            Ok::<_, LoopError>(())
        })
        .unwrap()
        .unwrap();
}

/// `test_context_3`: many tasks, each setting the variable between sleeps
/// of different lengths, each see their own value.
#[test]
fn concurrent_tasks_each_keep_their_own_value() {
    // Fewer under Miri, which is slow.
    const TASKS: u32 = if cfg!(miri) { 10 } else { 100 };
    static CVAR: ContextVar<u32> = ContextVar::with_default("cvar", u32::MAX);
    let event_loop = manual();
    let handle = event_loop.handle();
    let checked = event_loop
        .run_until_complete(async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|n| {
                    let h = handle.clone();
                    handle.create_task(async move {
                        for i in 0..10 {
                            CVAR.set(n + i);
                            // A pseudo-random delay: the tasks interleave.
                            h.sleep(f64::from((n * 7 + i * 13) % 50) / 1000.0).await?;
                            assert_eq!(CVAR.get(), Some(n + i));
                        }
                        Ok::<_, FutureError>(n)
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok::<_, LoopError>(gather(tasks).await?.len())
        })
        .unwrap()
        .unwrap();
    assert_eq!(checked, TASKS as usize);
}

/// test_events.py's handle context: `call_soon` and `call_later` run their
/// callback in a copy of the context current when they were called.
#[test]
fn callbacks_run_in_a_copy_of_the_context_they_were_scheduled_in() {
    static CVAR: ContextVar<u8> = ContextVar::new("cvar");
    let event_loop = manual();
    let seen = Rc::new(RefCell::new(Vec::new()));
    CVAR.set(1);
    let log = seen.clone();
    event_loop
        .call_soon(move || {
            log.borrow_mut().push(("soon", CVAR.get()));
            CVAR.set(9);
        })
        .unwrap();
    let log = seen.clone();
    event_loop
        .call_later(1.0, move || log.borrow_mut().push(("later", CVAR.get())))
        .unwrap();
    CVAR.set(2);
    // Scheduled from inside another context: it runs in a copy of that.
    let context = copy_context();
    context
        .run(|| {
            CVAR.set(3);
            let log = seen.clone();
            event_loop
                .call_soon(move || log.borrow_mut().push(("in a context", CVAR.get())))
                .unwrap();
        })
        .unwrap();
    let stop = event_loop.handle();
    event_loop.call_later(2.0, move || stop.stop()).unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            ("soon", Some(1)),
            ("in a context", Some(3)),
            ("later", Some(1))
        ]
    );
    assert_eq!(CVAR.get(), Some(2), "the callbacks' changes did not leak");
}

/// A callback scheduled before any context variable was set runs in an
/// empty context even if one is set before it runs, and what it sets does
/// not leak; a callback sent from another thread runs in an empty one.
#[test]
fn a_callback_that_captured_nothing_runs_in_an_empty_context() {
    static CVAR: ContextVar<u8> = ContextVar::new("cvar");
    let event_loop = manual();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    event_loop
        .call_soon(move || {
            log.borrow_mut().push(CVAR.get());
            CVAR.set(9);
        })
        .unwrap();
    CVAR.set(1);
    let remote = event_loop.threadsafe_handle();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        remote
            .call_soon_threadsafe(move || sender.send(CVAR.get()).unwrap())
            .unwrap();
    })
    .join()
    .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    assert_eq!(*seen.borrow(), [None]);
    assert_eq!(receiver.try_recv().unwrap(), None);
    assert_eq!(CVAR.get(), Some(1));
}

/// Tasks made by helpers and groups inherit the context of the task that
/// made them.
#[test]
fn tasks_made_by_gather_and_task_groups_inherit_the_context() {
    static CVAR: ContextVar<u8> = ContextVar::new("cvar");
    let event_loop = manual();
    let seen = event_loop
        .run_until_complete(async {
            CVAR.set(5);
            let gathered = gather([async { Ok::<_, LoopError>(CVAR.get()) }]).await?;
            let grouped = asyncio_loop::TaskGroup::run(|group| async move {
                let task = group.create_task(async { Ok::<_, LoopError>(CVAR.get()) })?;
                Ok::<_, LoopError>(task)
            })
            .await?;
            Ok::<_, LoopError>((gathered[0], grouped.result()?))
        })
        .unwrap()
        .unwrap();
    assert_eq!(seen, (Some(5), Some(5)));
}
