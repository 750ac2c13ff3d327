//! `Condition`: the applicable tests of CPython's `test_locks.py`
//! (`ConditionTests`), ported. A wait is a method of the guard, so the
//! tests that hold the lock through an explicit `acquire()` detach the
//! guard and release with `Condition::release`.

mod support;

use asyncio_core::FutureError;
use asyncio_loop::{LoopHandle, Task, Timeout};
use asyncio_sync::{Condition, Lock};
use support::{run, tick, Log};

/// asyncio's `await cond.acquire(); if await cond.wait(): result.append(n)`,
/// keeping the lock afterwards (the test releases it).
fn waiter(
    h: &LoopHandle,
    cond: &Condition,
    result: &Log<i32>,
    n: i32,
    release: bool,
) -> Task<bool> {
    let (cond, result) = (cond.clone(), result.clone());
    h.create_task(async move {
        let guard = cond.acquire().await?;
        let guard = guard.wait().await?;
        result.push(n);
        if release {
            drop(guard);
        } else {
            guard.detach();
        }
        Ok::<_, FutureError>(true)
    })
    .unwrap()
}

#[test]
fn test_wait() {
    run(|h| async move {
        let cond = Condition::new();
        let result = Log::new();
        let t1 = waiter(&h, &cond, &result, 1, false);
        let t2 = waiter(&h, &cond, &result, 2, false);
        let t3 = waiter(&h, &cond, &result, 3, false);

        tick(&h).await;
        assert_eq!(result.get(), []);
        assert!(!cond.locked());

        cond.acquire().await.unwrap().detach();
        cond.notify(1).unwrap();
        tick(&h).await;
        assert_eq!(result.get(), []);
        assert!(cond.locked());

        cond.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1]);
        assert!(cond.locked());

        cond.notify(2).unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1]);
        assert!(cond.locked());

        cond.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1, 2]);
        assert!(cond.locked());

        cond.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1, 2, 3]);
        assert!(cond.locked());

        for task in [t1, t2, t3] {
            assert!(task.done() && task.result().unwrap());
        }
    });
}

#[test]
fn test_wait_cancel() {
    run(|h| async move {
        let cond = Condition::new();
        let waiting = cond.clone();
        let wait = h
            .create_task(async move {
                let guard = waiting.acquire().await?;
                guard.wait().await.map(|guard| guard.detach())
            })
            .unwrap();
        let canceller = wait.clone();
        h.call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
        assert!((&wait).await.unwrap_err().is_cancelled());
        assert_eq!(format!("{cond:?}"), "<Condition [unlocked]>");
    });
}

/// Notified, then cancelled while it takes the lock again: asyncio keeps
/// trying and ends holding the lock; here the cancelled wait gives the
/// guard up, so the lock is free and the task cancelled.
#[test]
fn test_wait_cancel_contested() {
    run(|h| async move {
        let cond = Condition::new();
        let waiting = cond.clone();
        let wait_task = h
            .create_task(async move {
                let guard = waiting.acquire().await?;
                guard.wait().await.map(|guard| guard.detach())
            })
            .unwrap();
        tick(&h).await;
        assert!(!cond.locked());

        cond.acquire().await.unwrap().detach();
        assert!(cond.locked());
        cond.notify(1).unwrap();
        let canceller = wait_task.clone();
        h.call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
        let releaser = cond.clone();
        h.call_soon(move || releaser.release().unwrap()).unwrap();

        assert!((&wait_task).await.unwrap_err().is_cancelled());
        assert!(!cond.locked(), "nothing holds the lock any more");
    });
}

/// bpo-32841: cancelled while it takes the lock again after a notify.
#[test]
fn test_wait_cancel_after_notify() {
    run(|h| async move {
        let cond = Condition::new();
        let waited = Log::new();
        let (waiting, log) = (cond.clone(), waited.clone());
        let waiter = h
            .create_task(async move {
                let guard = waiting.acquire().await?;
                log.push(());
                guard.wait().await.map(drop)
            })
            .unwrap();
        tick(&h).await; // start waiting

        cond.acquire().await.unwrap().detach();
        cond.notify(1).unwrap();
        tick(&h).await; // get to acquire()
        waiter.cancel();
        tick(&h).await; // activate cancellation
        cond.release().unwrap();
        tick(&h).await; // cancellation should occur

        assert!(waiter.cancelled());
        assert_eq!(waited.get().len(), 1);
    });
}

#[test]
fn test_wait_for() {
    run(|h| async move {
        let cond = Condition::new();
        let presult = std::rc::Rc::new(std::cell::Cell::new(false));
        let result = Log::new();
        let (waiting, flag, log) = (cond.clone(), presult.clone(), result.clone());
        let t = h
            .create_task(async move {
                let guard = waiting.acquire().await?;
                let _guard = guard.wait_for(|| flag.get()).await?;
                log.push(1);
                Ok::<_, FutureError>(true)
            })
            .unwrap();
        tick(&h).await;
        assert_eq!(result.get(), []);

        cond.acquire().await.unwrap().notify(1);
        tick(&h).await;
        assert_eq!(result.get(), []);

        presult.set(true);
        cond.acquire().await.unwrap().notify(1);
        tick(&h).await;
        assert_eq!(result.get(), [1]);
        assert!(t.done() && t.result().unwrap());
    });
}

#[test]
fn test_wait_for_true_at_once() {
    run(|_| async move {
        let cond = Condition::new();
        let guard = cond.acquire().await.unwrap();
        let _guard = guard.wait_for(|| true).await.unwrap();
        assert!(cond.locked());
    });
}

#[test]
fn test_notify() {
    run(|h| async move {
        let cond = Condition::new();
        let result = Log::new();
        let t1 = waiter(&h, &cond, &result, 1, true);
        let t2 = waiter(&h, &cond, &result, 2, true);
        let t3 = waiter(&h, &cond, &result, 3, true);
        tick(&h).await;
        assert_eq!(result.get(), []);

        cond.acquire().await.unwrap().notify(1);
        tick(&h).await;
        assert_eq!(result.get(), [1]);

        {
            let guard = cond.acquire().await.unwrap();
            guard.notify(1);
            guard.notify(2048);
        }
        tick(&h).await;
        assert_eq!(result.get(), [1, 2, 3]);
        for task in [t1, t2, t3] {
            assert!(task.done() && task.result().unwrap());
        }
    });
}

#[test]
fn test_notify_all() {
    run(|h| async move {
        let cond = Condition::new();
        let result = Log::new();
        let t1 = waiter(&h, &cond, &result, 1, true);
        let t2 = waiter(&h, &cond, &result, 2, true);
        tick(&h).await;
        assert_eq!(result.get(), []);

        cond.acquire().await.unwrap().notify_all();
        tick(&h).await;
        assert_eq!(result.get(), [1, 2]);
        assert!(t1.result().unwrap() && t2.result().unwrap());
    });
}

#[test]
fn test_notify_unacquired() {
    let cond = Condition::new();
    assert!(cond.notify(1).unwrap_err().is_not_acquired());
}

#[test]
fn test_notify_all_unacquired() {
    let cond = Condition::new();
    assert!(cond.notify_all().unwrap_err().is_not_acquired());
}

#[test]
fn test_repr() {
    run(|h| async move {
        let cond = Condition::new();
        assert_eq!(format!("{cond:?}"), "<Condition [unlocked]>");
        let guard = cond.acquire().await.unwrap();
        assert_eq!(format!("{cond:?}"), "<Condition [locked]>");
        drop(guard);
        let result = Log::new();
        let _t1 = waiter(&h, &cond, &result, 1, true);
        let _t2 = waiter(&h, &cond, &result, 2, true);
        tick(&h).await;
        assert_eq!(format!("{cond:?}"), "<Condition [unlocked, waiters:2]>");
    });
}

#[test]
fn test_context_manager() {
    run(|_| async move {
        let cond = Condition::new();
        assert!(!cond.locked());
        {
            let _guard = cond.acquire().await.unwrap();
            assert!(cond.locked());
        }
        assert!(!cond.locked());
    });
}

#[test]
fn test_explicit_lock() {
    async fn f(lock: Lock, cond: Condition) {
        assert!(cond.lock().ptr_eq(&lock));
        assert!(!lock.locked() && !cond.locked());
        {
            let _guard = cond.acquire().await.unwrap();
            assert!(lock.locked() && cond.locked());
        }
        assert!(!lock.locked() && !cond.locked());
        {
            let _guard = lock.acquire().await.unwrap();
            assert!(lock.locked() && cond.locked());
        }
        assert!(!lock.locked() && !cond.locked());
    }
    run(|_| async move {
        let cond = Condition::new();
        f(cond.lock().clone(), cond).await;
        let lock = Lock::new();
        f(lock.clone(), Condition::with_lock(lock)).await;
    });
}

#[test]
fn test_timeout_in_block() {
    run(|_| async move {
        let condition = Condition::new();
        let guard = condition.acquire().await.unwrap();
        let timeout = Timeout::after(0.5).unwrap();
        let error = timeout.run(guard.wait()).await.unwrap_err();
        assert!(error.is_timeout());
        assert!(!condition.locked(), "the timed-out wait gave the guard up");
    });
}

// ---- beyond CPython's tests ------------------------------------------------

/// A waiter notified and then cancelled before it ran passes the
/// notification to the next waiter (CPython 3.13; 3.11 loses it).
#[test]
fn a_notified_waiter_cancelled_passes_the_notification_on() {
    run(|h| async move {
        let cond = Condition::new();
        let result = Log::new();
        let t1 = waiter(&h, &cond, &result, 1, true);
        let t2 = waiter(&h, &cond, &result, 2, true);
        tick(&h).await;
        {
            let guard = cond.acquire().await.unwrap();
            guard.notify(1);
            t1.cancel();
        }
        tick(&h).await;
        tick(&h).await;
        assert!(t1.cancelled());
        assert_eq!(result.get(), [2]);
        assert!(t2.result().unwrap());
    });
}
