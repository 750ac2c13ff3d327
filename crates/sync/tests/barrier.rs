//! `Barrier`: the applicable tests of CPython's `test_locks.py`
//! (`BarrierTests`), ported. `reset` and `abort` are plain methods here;
//! the tests that awaited them call them.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use asyncio_core::FutureError;
use asyncio_loop::{gather, wait, LoopHandle, Task, TaskOutput};
use asyncio_sync::Barrier;
use support::{run, tick, Log};

const N: usize = 5;

type Outcome<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// CPython's `make_tasks`: `n` tasks of the coroutine `make` returns.
fn make_tasks<F, Fut>(
    h: &LoopHandle,
    n: usize,
    make: F,
) -> Vec<Task<<Fut::Output as TaskOutput>::Value>>
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: TaskOutput,
{
    (0..n).map(|_| h.create_task(make()).unwrap()).collect()
}

/// `await barrier.wait()` as a task.
fn wait_task(h: &LoopHandle, barrier: &Barrier) -> Task<usize> {
    let barrier = barrier.clone();
    h.create_task(async move { barrier.wait().await }).unwrap()
}

#[test]
fn test_repr() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        assert_eq!(format!("{barrier:?}"), "<Barrier [filling, waiters:0/5]>");
        let mut waiters = Vec::new();
        let incr = 2;
        for _ in 0..incr {
            waiters.push(wait_task(&h, &barrier));
        }
        tick(&h).await;
        assert_eq!(format!("{barrier:?}"), "<Barrier [filling, waiters:2/5]>");

        for _ in 0..barrier.parties() - barrier.n_waiting() {
            waiters.push(wait_task(&h, &barrier));
        }
        tick(&h).await;
        assert_eq!(format!("{barrier:?}"), "<Barrier [draining, waiters:0/5]>");

        for _ in 0..incr {
            waiters.push(wait_task(&h, &barrier));
        }
        tick(&h).await;
        barrier.reset();
        assert_eq!(format!("{barrier:?}"), "<Barrier [resetting, waiters:0/5]>");

        for _ in 0..incr {
            waiters.push(wait_task(&h, &barrier));
        }
        tick(&h).await;
        barrier.abort();
        assert_eq!(format!("{barrier:?}"), "<Barrier [broken]>");
        assert!(barrier.broken());
        gather(waiters).return_exceptions().await.unwrap();
    });
}

#[test]
fn test_barrier_parties() {
    assert!(Barrier::new(0).unwrap_err().is_invalid_argument());
    assert_eq!(Barrier::new(N).unwrap().parties(), N);
}

#[test]
fn test_context_manager() {
    run(|h| async move {
        let barrier = Barrier::new(3).unwrap();
        let results = Log::new();
        let tasks = make_tasks(&h, 3, || {
            let (barrier, results) = (barrier.clone(), results.clone());
            async move {
                results.push(barrier.wait().await?);
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            }
        });
        gather(tasks).await.unwrap();
        let mut results = results.get();
        results.sort_unstable();
        assert_eq!(results, [0, 1, 2]);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_filling_one_task() {
    run(|_| async move {
        let barrier = Barrier::new(1).unwrap();
        assert_eq!(barrier.wait().await.unwrap(), 0);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_filling_one_task_twice() {
    run(|h| async move {
        let barrier = Barrier::new(1).unwrap();
        let t1 = wait_task(&h, &barrier);
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 0);
        let t2 = wait_task(&h, &barrier);
        tick(&h).await;
        assert_eq!(t1.result().unwrap(), t2.result().unwrap());
        assert_eq!(t1.done(), t2.done());
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_filling_task_by_task() {
    run(|h| async move {
        let barrier = Barrier::new(3).unwrap();
        let t1 = wait_task(&h, &barrier);
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 1);
        assert!(format!("{barrier:?}").contains("filling"));
        let t2 = wait_task(&h, &barrier);
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 2);
        let t3 = wait_task(&h, &barrier);
        tick(&h).await;
        wait([t1, t2, t3]).await.unwrap();
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_filling_tasks_wait_twice() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let results = Log::new();
        let tasks = make_tasks(&h, N, || {
            let (barrier, results) = (barrier.clone(), results.clone());
            async move {
                barrier.wait().await?;
                results.push(true);
                barrier.wait().await?;
                results.push(false);
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
        let results = results.get();
        assert_eq!(results.len(), N * 2);
        assert_eq!(results.iter().filter(|&&r| r).count(), N);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_filling_tasks_check_return_value() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let tasks = make_tasks(&h, N, || {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await?;
                Outcome::Ok(barrier.wait().await?)
            }
        });
        let mut indexes = gather(tasks).await.unwrap();
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_draining_state() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let results = Log::new();
        let tasks = make_tasks(&h, N, || {
            let (barrier, results) = (barrier.clone(), results.clone());
            async move {
                barrier.wait().await?;
                results.push(format!("{barrier:?}").contains("draining"));
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
        let results = results.get();
        assert_eq!(results.len(), N);
        assert!(!results[N - 1]);
        assert!(results[..N - 1].iter().all(|&r| r));
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_blocking_tasks_while_draining() {
    run(|h| async move {
        let rewait = 2;
        let barrier = Barrier::new(N).unwrap();
        let barrier_nowaiting = Barrier::new(N - rewait).unwrap();
        let rewait_n = Rc::new(Cell::new(rewait));
        let tasks = make_tasks(&h, N, || {
            let (barrier, nowaiting, rewait_n) =
                (barrier.clone(), barrier_nowaiting.clone(), rewait_n.clone());
            async move {
                barrier.wait().await?;
                if rewait_n.get() > 0 {
                    rewait_n.set(rewait_n.get() - 1);
                    // Comes while the barrier drains: blocked until the
                    // round is over, then counted in the next one.
                    barrier.wait().await?;
                } else {
                    nowaiting.wait().await?;
                    barrier.wait().await?;
                }
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
    });
}

#[test]
fn test_filling_tasks_cancel_one() {
    run(|h| async move {
        let barrier = Barrier::new(3).unwrap();
        let results = Log::new();
        let coro = || {
            let (barrier, results) = (barrier.clone(), results.clone());
            async move {
                barrier.wait().await?;
                results.push(true);
                Outcome::Ok(())
            }
        };
        let t1 = h.create_task(coro()).unwrap();
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 1);
        let t2 = h.create_task(coro()).unwrap();
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 2);

        t1.cancel();
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 1);
        assert!((&t1).await.unwrap_err().is_cancelled());
        assert!(t1.cancelled());

        let t3 = h.create_task(coro()).unwrap();
        tick(&h).await;
        assert_eq!(barrier.n_waiting(), 2);
        let t4 = h.create_task(coro()).unwrap();
        gather([t2, t3, t4]).await.unwrap();
        assert_eq!(results.get().len(), 3);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_reset_barrier() {
    let barrier = Barrier::new(1).unwrap();
    barrier.reset();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[test]
fn test_reset_barrier_while_tasks_waiting() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let results = Log::new();
        let tasks = make_tasks(&h, N - 1, || {
            let (barrier, results) = (barrier.clone(), results.clone());
            async move {
                if let Err(error) = barrier.wait().await {
                    assert!(error.is_broken_barrier());
                    results.push(true);
                }
            }
        });
        tick(&h).await;
        let resetter = barrier.clone();
        h.call_soon(move || resetter.reset()).unwrap();
        gather(tasks).await.unwrap();
        assert_eq!(results.get().len(), N - 1);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!format!("{barrier:?}").contains("resetting"));
        assert!(!barrier.broken());
    });
}

#[test]
fn test_reset_barrier_when_tasks_half_draining_half_blocking() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let (results1, results2) = (Log::new(), Log::new());
        let blocking_tasks = N / 2;
        let count = Rc::new(Cell::new(0));
        let tasks = make_tasks(&h, N, || {
            let (barrier, results1, results2, count) = (
                barrier.clone(),
                results1.clone(),
                results2.clone(),
                count.clone(),
            );
            async move {
                match barrier.wait().await {
                    Err(error) if error.is_broken_barrier() => {
                        results1.push(true);
                        barrier.wait().await?;
                    }
                    Err(error) => return Err(error.into()),
                    Ok(_) => {
                        count.set(count.get() + 1);
                        if count.get() > blocking_tasks {
                            barrier.reset();
                            barrier.wait().await?;
                        } else if let Err(error) = barrier.wait().await {
                            assert!(error.is_broken_barrier());
                            results2.push(true);
                        }
                    }
                }
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
        assert_eq!(results1.get(), vec![true; blocking_tasks]);
        assert_eq!(results2.get(), []);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn test_reset_barrier_while_tasks_waiting_and_waiting_again() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let (results1, results2) = (Log::new(), Log::new());
        let tasks = make_tasks(&h, N - 1, || {
            let (barrier, results1, results2) =
                (barrier.clone(), results1.clone(), results2.clone());
            async move {
                if barrier.wait().await.is_err() {
                    results1.push(true);
                }
                barrier.wait().await?;
                results2.push(true);
                Outcome::Ok(())
            }
        });
        let resetter = barrier.clone();
        h.call_soon(move || resetter.reset()).unwrap();
        tick(&h).await;
        let (b2, r2) = (barrier.clone(), results2.clone());
        h.create_task(async move {
            b2.wait().await?;
            r2.push(true);
            Outcome::Ok(())
        })
        .unwrap();
        gather(tasks).await.unwrap();
        assert!(!barrier.broken());
        assert_eq!(results1.get().len(), N - 1);
        assert_eq!(results2.get().len(), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_reset_barrier_while_tasks_draining() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let (results1, results2, results3) = (Log::new(), Log::new(), Log::new());
        let count = Rc::new(Cell::new(0));
        let tasks = make_tasks(&h, N, || {
            let (barrier, r1, r2, r3, count) = (
                barrier.clone(),
                results1.clone(),
                results2.clone(),
                results3.clone(),
                count.clone(),
            );
            async move {
                barrier.wait().await?;
                count.set(count.get() + 1);
                if count.get() == N {
                    barrier.reset();
                    barrier.wait().await?;
                } else {
                    match barrier.wait().await {
                        Ok(_) => r1.push(true),
                        Err(_) => r2.push(true),
                    }
                }
                barrier.wait().await?;
                r3.push(true);
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
        assert!(!barrier.broken());
        assert_eq!(results1.get().len(), N - 1);
        assert_eq!(results2.get().len(), 0);
        assert_eq!(results3.get().len(), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier() {
    let barrier = Barrier::new(1).unwrap();
    barrier.abort();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(barrier.broken());
}

#[test]
fn test_abort_barrier_when_tasks_half_draining_half_blocking() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let (results1, results2) = (Log::new(), Log::new());
        let blocking_tasks = N / 2;
        let count = Rc::new(Cell::new(0));
        let tasks = make_tasks(&h, N, || {
            let (barrier, results1, results2, count) = (
                barrier.clone(),
                results1.clone(),
                results2.clone(),
                count.clone(),
            );
            async move {
                match barrier.wait().await {
                    Err(_) => results1.push(true),
                    Ok(_) => {
                        count.set(count.get() + 1);
                        if count.get() > blocking_tasks {
                            barrier.abort();
                        } else if barrier.wait().await.is_err() {
                            results2.push(true);
                        }
                    }
                }
            }
        });
        gather(tasks).await.unwrap();
        assert!(barrier.broken());
        assert_eq!(results1.get(), vec![true; blocking_tasks]);
        assert_eq!(results2.get(), vec![true; N - blocking_tasks - 1]);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier_when_exception() {
    run(|h| async move {
        let barrier = Barrier::new(N).unwrap();
        let (results1, results2) = (Log::new(), Log::new());
        let tasks = make_tasks(&h, N, || {
            let (barrier, results1, results2) =
                (barrier.clone(), results1.clone(), results2.clone());
            async move {
                let outcome: Outcome<()> = async {
                    if barrier.wait().await? == N / 2 {
                        return Err("RuntimeError".into());
                    }
                    barrier.wait().await?;
                    results1.push(true);
                    Ok(())
                }
                .await;
                match outcome {
                    Err(error) if error.to_string() == "RuntimeError" => barrier.abort(),
                    Err(_) => results2.push(true),
                    Ok(()) => {}
                }
            }
        });
        gather(tasks).await.unwrap();
        assert!(barrier.broken());
        assert_eq!(results1.get().len(), 0);
        assert_eq!(results2.get().len(), N - 1);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier_when_exception_then_resetting() {
    run(|h| async move {
        let barrier1 = Barrier::new(N).unwrap();
        let barrier2 = Barrier::new(N).unwrap();
        let (results1, results2, results3) = (Log::new(), Log::new(), Log::new());
        let tasks = make_tasks(&h, N, || {
            let (b1, b2, r1, r2, r3) = (
                barrier1.clone(),
                barrier2.clone(),
                results1.clone(),
                results2.clone(),
                results3.clone(),
            );
            async move {
                let outcome: Outcome<()> = async {
                    if b1.wait().await? == N / 2 {
                        return Err("RuntimeError".into());
                    }
                    b1.wait().await?;
                    r1.push(true);
                    Ok(())
                }
                .await;
                match outcome {
                    Err(error) if error.to_string() == "RuntimeError" => b1.abort(),
                    Err(_) => r2.push(true),
                    Ok(()) => {}
                }
                if b2.wait().await? == N / 2 {
                    b1.reset();
                }
                b2.wait().await?;
                b1.wait().await?;
                r3.push(true);
                Outcome::Ok(())
            }
        });
        gather(tasks).await.unwrap();
        assert!(!barrier1.broken());
        assert_eq!(results1.get().len(), 0);
        assert_eq!(results2.get().len(), N - 1);
        assert_eq!(results3.get().len(), N);
        assert_eq!(barrier1.n_waiting(), 0);
        assert_eq!(barrier2.n_waiting(), 0);
    });
}

// ---- beyond CPython's tests ------------------------------------------------

/// A waiting party whose task is cancelled leaves the count at once.
#[test]
fn a_cancelled_party_leaves_the_count() {
    run(|h| async move {
        let barrier = Barrier::new(2).unwrap();
        let t1 = wait_task(&h, &barrier);
        tick(&h).await;
        t1.cancel();
        let error: FutureError = (&t1).await.unwrap_err();
        assert!(error.is_cancelled());
        assert_eq!(barrier.n_waiting(), 0);
    });
}
