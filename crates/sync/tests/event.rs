//! `Event`: the applicable tests of CPython's `test_locks.py`
//! (`EventTests`), ported.

mod support;

use asyncio_core::FutureError;
use asyncio_sync::Event;
use support::{run, tick, Log};

#[test]
fn test_repr() {
    run(|h| async move {
        let ev = Event::new();
        assert_eq!(format!("{ev:?}"), "<Event [unset]>");
        ev.set();
        assert_eq!(format!("{ev:?}"), "<Event [set]>");
        ev.clear();
        let waiter = ev.clone();
        let task = h.create_task(async move { waiter.wait().await }).unwrap();
        tick(&h).await;
        assert_eq!(format!("{ev:?}"), "<Event [unset, waiters:1]>");
        task.cancel();
        tick(&h).await;
        assert_eq!(format!("{ev:?}"), "<Event [unset]>");
    });
}

#[test]
fn test_wait() {
    run(|h| async move {
        let ev = Event::new();
        assert!(!ev.is_set());
        let result = Log::new();
        let c = |n: i32| {
            let (ev, result) = (ev.clone(), result.clone());
            async move {
                ev.wait().await?;
                result.push(n);
                Ok::<_, FutureError>(())
            }
        };
        let t1 = h.create_task(c(1)).unwrap();
        let t2 = h.create_task(c(2)).unwrap();
        tick(&h).await;
        assert_eq!(result.get(), []);

        // Its first step is queued before the set wakes the others.
        let t3 = h.create_task(c(3)).unwrap();
        ev.set();
        tick(&h).await;
        assert_eq!(result.get(), [3, 1, 2]);
        for task in [t1, t2, t3] {
            assert!(task.done());
            task.result().unwrap();
        }
    });
}

#[test]
fn test_wait_on_set() {
    run(|_| async move {
        let ev = Event::new();
        ev.set();
        ev.wait().await.unwrap();
    });
}

#[test]
fn test_wait_cancel() {
    run(|h| async move {
        let ev = Event::new();
        let waiter = ev.clone();
        let wait = h.create_task(async move { waiter.wait().await }).unwrap();
        let canceller = wait.clone();
        h.call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
        assert!((&wait).await.unwrap_err().is_cancelled());
        assert_eq!(format!("{ev:?}"), "<Event [unset]>");
    });
}

#[test]
fn test_clear() {
    let ev = Event::new();
    assert!(!ev.is_set());
    ev.set();
    assert!(ev.is_set());
    ev.clear();
    assert!(!ev.is_set());
}

#[test]
fn test_clear_with_waiters() {
    run(|h| async move {
        let ev = Event::new();
        let result = Log::new();
        let (waiter, log) = (ev.clone(), result.clone());
        let t = h
            .create_task(async move {
                waiter.wait().await?;
                log.push(1);
                Ok::<_, FutureError>(true)
            })
            .unwrap();
        tick(&h).await;
        assert_eq!(result.get(), []);

        ev.set();
        ev.clear();
        assert!(!ev.is_set());

        ev.set();
        ev.set();
        assert_eq!(format!("{ev:?}"), "<Event [set, waiters:1]>");

        tick(&h).await;
        assert_eq!(result.get(), [1]);
        assert_eq!(format!("{ev:?}"), "<Event [set]>");
        assert!(t.done());
        assert!(t.result().unwrap());
    });
}

/// Woken by a set, a waiter returns even though the flag was cleared
/// before it ran (asyncio's waiter future is done).
#[test]
fn a_woken_waiter_returns_after_a_clear() {
    run(|h| async move {
        let ev = Event::new();
        let waiter = ev.clone();
        let task = h.create_task(async move { waiter.wait().await }).unwrap();
        tick(&h).await;
        ev.set();
        ev.clear();
        (&task).await.unwrap();
    });
}
