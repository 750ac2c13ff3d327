//! `Lock`: the applicable tests of CPython's `test_locks.py` (`LockTests`),
//! ported. `docs/synchronization.md` lists those that do not apply.

mod support;

use asyncio_core::FutureError;
use asyncio_sync::{Lock, LockGuard};
use support::{run, tick, Log};

/// A task that acquires `lock` and keeps it (asyncio's
/// `create_task(lock.acquire())`).
fn acquire_task(handle: &asyncio_loop::LoopHandle, lock: &Lock) -> asyncio_loop::Task<()> {
    let lock = lock.clone();
    handle
        .create_task(async move { lock.acquire().await.map(LockGuard::detach) })
        .unwrap()
}

#[test]
fn test_repr() {
    run(|h| async move {
        let lock = Lock::new();
        assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
        lock.acquire().await.unwrap().detach();
        assert_eq!(format!("{lock:?}"), "<Lock [locked]>");
        let waiter = acquire_task(&h, &lock);
        tick(&h).await;
        assert_eq!(format!("{lock:?}"), "<Lock [locked, waiters:1]>");
        assert_eq!(
            format!("{waiter:?}"),
            "<Task pending name='Task-2' coro=<acquire_task() running> \
             wait_for=<Lock [locked, waiters:1]>>"
        );
        waiter.cancel();
        tick(&h).await;
        assert_eq!(format!("{lock:?}"), "<Lock [locked]>");
    });
}

#[test]
fn test_lock() {
    run(|_| async move {
        let lock = Lock::new();
        let guard = lock.acquire().await.unwrap();
        assert!(lock.locked());
        drop(guard);
        assert!(!lock.locked());
    });
}

#[test]
fn test_acquire() {
    run(|h| async move {
        let lock = Lock::new();
        let result = Log::new();
        lock.acquire().await.unwrap().detach();
        let c = |n: i32| {
            let (lock, result) = (lock.clone(), result.clone());
            async move {
                lock.acquire().await?.detach();
                result.push(n);
                Ok::<_, FutureError>(true)
            }
        };
        let t1 = h.create_task(c(1)).unwrap();
        let t2 = h.create_task(c(2)).unwrap();

        tick(&h).await;
        assert_eq!(result.get(), []);

        lock.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1]);

        tick(&h).await;
        assert_eq!(result.get(), [1]);

        let t3 = h.create_task(c(3)).unwrap();

        lock.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1, 2]);

        lock.release().unwrap();
        tick(&h).await;
        assert_eq!(result.get(), [1, 2, 3]);

        for task in [t1, t2, t3] {
            assert!(task.done());
            assert!(task.result().unwrap());
        }
    });
}

#[test]
fn test_acquire_cancel() {
    run(|h| async move {
        let lock = Lock::new();
        lock.acquire().await.unwrap().detach();
        let task = acquire_task(&h, &lock);
        let canceller = task.clone();
        h.call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
        assert!((&task).await.unwrap_err().is_cancelled());
        assert_eq!(format!("{lock:?}"), "<Lock [locked]>");
    });
}

/// A holds the lock, B and C wait; B is cancelled as A releases: the lock
/// goes to C, not to the cancelled B.
#[test]
fn test_cancel_race() {
    run(|h| async move {
        let lock = Lock::new();
        let lockit = |blocker: Option<asyncio_core::Future<()>>| {
            let lock = lock.clone();
            async move {
                let _guard = lock.acquire().await?;
                if let Some(blocker) = blocker {
                    blocker.await?;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            }
        };
        let fa = h.create_future::<()>();
        let ta = h.create_task(lockit(Some(fa.clone()))).unwrap();
        tick(&h).await;
        assert!(lock.locked());
        let tb = h.create_task(lockit(None)).unwrap();
        tick(&h).await;
        assert_eq!(format!("{lock:?}"), "<Lock [locked, waiters:1]>");
        let tc = h.create_task(lockit(None)).unwrap();
        tick(&h).await;
        assert_eq!(format!("{lock:?}"), "<Lock [locked, waiters:2]>");

        // Create the race and check.
        fa.set_result(()).unwrap();
        tb.cancel();
        tick(&h).await;
        assert!(!lock.locked());
        assert!(ta.done());
        assert!(tb.cancelled());
        (&tc).await.unwrap();
    });
}

/// Issue 32734: four acquires, the second cancelled as the first releases;
/// only one lock is taken at once.
#[test]
fn test_cancel_release_race() {
    run(|h| async move {
        let lock = Lock::new();
        let lock_count = Log::new();
        let call_count = Log::new();
        let lockit = || {
            let (lock, lock_count, call_count) =
                (lock.clone(), lock_count.clone(), call_count.clone());
            async move {
                call_count.push(());
                lock.acquire().await?.detach();
                lock_count.push(());
                Ok::<_, FutureError>(())
            }
        };
        lock.acquire().await.unwrap().detach();
        let t1 = h.create_task(lockit()).unwrap();
        let t2 = h.create_task(lockit()).unwrap();
        let t3 = h.create_task(lockit()).unwrap();
        tick(&h).await;

        let (first, releaser) = (t1.clone(), lock.clone());
        h.call_soon(move || {
            first.cancel();
            releaser.release().unwrap();
        })
        .unwrap();
        assert!((&t1).await.unwrap_err().is_cancelled());

        assert_eq!(lock_count.get().len(), 1);
        assert_eq!(call_count.get().len(), 3);
        assert!(t1.cancelled() && t2.done());

        t3.cancel();
        tick(&h).await;
        assert!(t3.cancelled());
    });
}

/// A waiter cancelled right before the release: the next one is woken.
#[test]
fn test_finished_waiter_cancelled() {
    run(|h| async move {
        let lock = Lock::new();
        lock.acquire().await.unwrap().detach();
        assert!(lock.locked());

        let tb = acquire_task(&h, &lock);
        tick(&h).await;
        assert_eq!(format!("{lock:?}"), "<Lock [locked, waiters:1]>");

        let tc = acquire_task(&h, &lock);
        tb.cancel();
        lock.release().unwrap();
        tick(&h).await;

        assert!(lock.locked());
        assert!(tb.cancelled());
        (&tc).await.unwrap();
    });
}

#[test]
fn test_release_not_acquired() {
    let lock = Lock::new();
    assert!(lock.release().unwrap_err().is_not_acquired());
}

#[test]
fn test_release_no_waiters() {
    run(|_| async move {
        let lock = Lock::new();
        lock.acquire().await.unwrap().detach();
        assert!(lock.locked());
        lock.release().unwrap();
        assert!(!lock.locked());
    });
}

#[test]
fn test_context_manager() {
    run(|_| async move {
        let lock = Lock::new();
        assert!(!lock.locked());
        {
            let _guard = lock.acquire().await.unwrap();
            assert!(lock.locked());
        }
        assert!(!lock.locked());
    });
}

// ---- beyond CPython's tests ------------------------------------------------

/// A guard released by `?` in a task that fails: the lock is free again.
#[test]
fn an_early_return_releases_the_lock() {
    run(|h| async move {
        let lock = Lock::new();
        let holder = lock.clone();
        let task = h
            .create_task(async move {
                let _guard = holder.acquire().await?;
                // Fails with the lock held: `?` returns early.
                Lock::new().release()?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .unwrap();
        assert!((&task).await.is_err());
        assert!(!lock.locked());
    });
}

/// A task cancelled while it holds the lock (at another await) releases it
/// through its guard.
#[test]
fn a_cancelled_holder_releases_the_lock() {
    run(|h| async move {
        let lock = Lock::new();
        let holder = lock.clone();
        let sleeper = h.clone();
        let task = h
            .create_task(async move {
                let _guard = holder.acquire().await?;
                sleeper.sleep(10.0).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .unwrap();
        let waiter = acquire_task(&h, &lock);
        tick(&h).await;
        assert!(lock.locked());
        task.cancel();
        (&waiter).await.unwrap();
        assert!(task.cancelled());
        assert!(lock.locked(), "the waiter holds it now");
    });
}

/// Woken by a release, then cancelled before it ran: the waiter hands the
/// lock to the next one (asyncio's `except CancelledError:` in `acquire`).
#[test]
fn a_woken_waiter_cancelled_hands_the_lock_on() {
    run(|h| async move {
        let lock = Lock::new();
        lock.acquire().await.unwrap().detach();
        let tb = acquire_task(&h, &lock);
        let tc = acquire_task(&h, &lock);
        tick(&h).await;
        lock.release().unwrap();
        tb.cancel();
        (&tc).await.unwrap();
        assert!(tb.cancelled());
        assert!(lock.locked(), "tc holds it");
    });
}

/// A wait dropped by `select!` (another branch won) leaves the line and
/// does not take the lock.
#[test]
fn a_dropped_acquire_leaves_the_line() {
    use futures::FutureExt;
    run(|h| async move {
        let lock = Lock::new();
        let guard = lock.acquire().await.unwrap();
        futures::select! {
            _ = lock.acquire().fuse() => panic!("the lock is held"),
            _ = h.sleep(0.0).fuse() => {}
        }
        assert_eq!(format!("{lock:?}"), "<Lock [locked]>");
        drop(guard);
        assert!(lock.try_acquire().is_some());
    });
}

/// A task waiting for a lock that nothing can release any more: the loop
/// knows that only this thread could wake it, and reports the wait as
/// stuck instead of waiting forever (asyncio waits forever).
#[test]
fn a_wait_nothing_can_end_is_stuck() {
    let event_loop = asyncio_loop::EventLoop::new();
    let lock = Lock::new();
    let guard = lock.try_acquire().unwrap();
    let waiter = lock.clone();
    let error = event_loop
        .run_until_complete(async move { waiter.acquire().await.map(drop) })
        .unwrap_err();
    assert!(error.is_stuck());
    drop(guard);
}
