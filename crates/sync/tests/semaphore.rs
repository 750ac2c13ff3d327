//! `Semaphore` and `BoundedSemaphore`: the applicable tests of CPython's
//! `test_locks.py` (`SemaphoreTests`), ported.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use asyncio_core::FutureError;
use asyncio_loop::{gather, wait_for, LoopHandle, Task};
use asyncio_sync::{BoundedSemaphore, Semaphore, SemaphoreGuard};
use support::{run, tick, Log};

/// asyncio's `create_task(sem.acquire())`, keeping the unit.
fn acquire_task(h: &LoopHandle, sem: &Semaphore) -> Task<()> {
    let sem = sem.clone();
    h.create_task(async move { sem.acquire().await.map(SemaphoreGuard::detach) })
        .unwrap()
}

/// `await sem.acquire(); result.append(n); return True`.
fn appender(h: &LoopHandle, sem: &Semaphore, result: &Log<i32>, n: i32) -> Task<bool> {
    let (sem, result) = (sem.clone(), result.clone());
    h.create_task(async move {
        sem.acquire().await?.detach();
        result.push(n);
        Ok::<_, FutureError>(true)
    })
    .unwrap()
}

#[test]
fn test_initial_value_zero() {
    assert!(Semaphore::new(0).locked());
}

#[test]
fn test_repr() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        assert_eq!(format!("{sem:?}"), "<Semaphore [unlocked, value:1]>");
        sem.acquire().await.unwrap().detach();
        assert_eq!(format!("{sem:?}"), "<Semaphore [locked]>");
        let _t1 = acquire_task(&h, &sem);
        let _t2 = acquire_task(&h, &sem);
        tick(&h).await;
        assert_eq!(format!("{sem:?}"), "<Semaphore [locked, waiters:2]>");
    });
}

#[test]
fn test_semaphore() {
    let sem = Semaphore::new(1);
    assert_eq!(sem.value(), 1);
    assert!(!sem.locked());
}

#[test]
fn test_acquire() {
    run(|h| async move {
        let sem = Semaphore::new(3);
        let result = Log::new();
        sem.acquire().await.unwrap().detach();
        sem.acquire().await.unwrap().detach();
        assert!(!sem.locked());

        let t1 = appender(&h, &sem, &result, 1);
        let t2 = appender(&h, &sem, &result, 2);
        let t3 = appender(&h, &sem, &result, 3);
        tick(&h).await;
        assert_eq!(result.get(), [1]);
        assert!(sem.locked());
        assert_eq!(format!("{sem:?}"), "<Semaphore [locked, waiters:2]>");
        assert_eq!(sem.value(), 0);

        let t4 = appender(&h, &sem, &result, 4);
        sem.release().unwrap();
        sem.release().unwrap();
        assert_eq!(sem.value(), 0);

        tick(&h).await;
        assert_eq!(sem.value(), 0);
        assert_eq!(result.get().len(), 3);
        assert!(sem.locked());
        assert_eq!(format!("{sem:?}"), "<Semaphore [locked, waiters:1]>");
        assert!(t1.done() && t1.result().unwrap());
        let race_tasks = [t2, t3, t4];
        let done = race_tasks.iter().filter(|t| t.done()).count();
        assert_eq!(done, 2);

        // Cleanup the locked semaphore.
        sem.release().unwrap();
        gather(race_tasks).await.unwrap();
    });
}

#[test]
fn test_acquire_cancel() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        sem.acquire().await.unwrap().detach();
        let acquire = acquire_task(&h, &sem);
        let canceller = acquire.clone();
        h.call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
        assert!((&acquire).await.unwrap_err().is_cancelled());
        assert_eq!(format!("{sem:?}"), "<Semaphore [locked]>");
    });
}

#[test]
fn test_acquire_cancel_before_awoken() {
    run(|h| async move {
        let sem = Semaphore::new(0);
        let t1 = acquire_task(&h, &sem);
        let t2 = acquire_task(&h, &sem);
        let t3 = acquire_task(&h, &sem);
        let t4 = acquire_task(&h, &sem);
        tick(&h).await;

        t1.cancel();
        t2.cancel();
        sem.release().unwrap();
        tick(&h).await;
        tick(&h).await;

        assert_eq!([&t3, &t4].iter().filter(|t| t.done()).count(), 1);
        assert!(t3.done());
        assert!(!t4.done());
        t3.cancel();
        t4.cancel();
        tick(&h).await;
    });
}

#[test]
fn test_acquire_hang() {
    run(|h| async move {
        let sem = Semaphore::new(0);
        let t1 = acquire_task(&h, &sem);
        let t2 = acquire_task(&h, &sem);
        tick(&h).await;

        t1.cancel();
        sem.release().unwrap();
        tick(&h).await;
        tick(&h).await;
        assert!(sem.locked());
        assert!(t2.done());
    });
}

#[test]
fn test_acquire_no_hang() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        let t2_slot: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let (s1, ticker, slot) = (sem.clone(), h.clone(), t2_slot.clone());
        let t1 = h
            .create_task(async move {
                {
                    let _unit = s1.acquire().await?;
                    tick(&ticker).await;
                }
                if let Some(t2) = slot.borrow().as_ref() {
                    t2.cancel();
                }
                Ok::<_, FutureError>(())
            })
            .unwrap();
        let s2 = sem.clone();
        let t2 = h
            .create_task(async move {
                let _unit = s2.acquire().await?;
                unreachable!("t2 is cancelled before it gets the unit");
                #[allow(unreachable_code)]
                Ok::<(), FutureError>(())
            })
            .unwrap();
        *t2_slot.borrow_mut() = Some(t2.clone());
        let results = gather([t1, t2]).return_exceptions().await.unwrap();
        assert!(results[0].is_ok());
        assert!(results[1].as_ref().unwrap_err().is_cancelled());
        let s3 = sem.clone();
        wait_for(
            async move { s3.acquire().await.map(SemaphoreGuard::detach) },
            1.0,
        )
        .await
        .unwrap();
    });
}

#[test]
fn test_release_not_acquired() {
    let sem = BoundedSemaphore::new(1);
    assert!(sem.release().unwrap_err().is_over_released());
}

#[test]
fn test_release_no_waiters() {
    run(|_| async move {
        let sem = Semaphore::new(1);
        sem.acquire().await.unwrap().detach();
        assert!(sem.locked());
        sem.release().unwrap();
        assert!(!sem.locked());
    });
}

#[test]
fn test_acquire_fifo_order() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        let result = Log::new();
        let coro = |tag: &'static str| {
            let (sem, result, h) = (sem.clone(), result.clone(), h.clone());
            async move {
                sem.acquire().await?.detach();
                result.push(format!("{tag}_1"));
                h.sleep(0.01).await?;
                sem.release().unwrap();
                sem.acquire().await?.detach();
                result.push(format!("{tag}_2"));
                h.sleep(0.01).await?;
                sem.release().unwrap();
                Ok::<_, FutureError>(())
            }
        };
        gather([coro("c1"), coro("c2"), coro("c3")]).await.unwrap();
        assert_eq!(
            result.get(),
            ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
        );
    });
}

#[test]
fn test_acquire_fifo_order_2() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        let result = Log::new();
        let t1 = appender(&h, &sem, &result, 1);
        let (s2, r2) = (sem.clone(), result.clone());
        let t2 = h
            .create_task(async move {
                s2.acquire().await?.detach();
                r2.push(2);
                s2.release().unwrap();
                s2.acquire().await?.detach();
                r2.push(4);
                Ok::<_, FutureError>(true)
            })
            .unwrap();
        let t3 = appender(&h, &sem, &result, 3);
        tick(&h).await;
        sem.release().unwrap();
        sem.release().unwrap();
        gather([t1, t2, t3]).await.unwrap();
        assert_eq!(result.get(), [1, 2, 3, 4]);
    });
}

#[test]
fn test_acquire_fifo_order_3() {
    run(|h| async move {
        let sem = Semaphore::new(0);
        let result = Log::new();
        let t1 = appender(&h, &sem, &result, 1);
        let t2 = appender(&h, &sem, &result, 2);
        let t3 = appender(&h, &sem, &result, 3);
        tick(&h).await;
        t1.cancel();
        tick(&h).await;
        sem.release().unwrap();
        sem.release().unwrap();
        gather([t1, t2, t3]).return_exceptions().await.unwrap();
        assert_eq!(result.get(), [2, 3]);
    });
}

// ---- beyond CPython's tests ------------------------------------------------

#[test]
fn a_bounded_semaphore_refuses_to_grow_past_its_value() {
    run(|_| async move {
        let sem = BoundedSemaphore::new(2);
        let a = sem.acquire().await.unwrap();
        let b = sem.acquire().await.unwrap();
        assert!(sem.locked());
        drop((a, b));
        assert_eq!(sem.value(), 2);
        assert!(sem.release().unwrap_err().is_over_released());
        assert_eq!(format!("{sem:?}"), "<BoundedSemaphore [unlocked, value:2]>");
    });
}

#[test]
fn a_cancelled_holder_gives_its_unit_back() {
    run(|h| async move {
        let sem = Semaphore::new(1);
        let (holder, sleeper) = (sem.clone(), h.clone());
        let task = h
            .create_task(async move {
                let _unit = holder.acquire().await?;
                sleeper.sleep(10.0).await
            })
            .unwrap();
        tick(&h).await;
        assert!(sem.locked());
        task.cancel();
        assert!((&task).await.unwrap_err().is_cancelled());
        assert_eq!(sem.value(), 1);
    });
}
