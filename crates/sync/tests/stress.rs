//! Randomized runs: many tasks on one loop, cancelled at random moments,
//! against the invariants a user relies on: a lock is held by one task at
//! a time and never left held; a semaphore never lends more units than it
//! has and gets them all back; a queue delivers every item put exactly
//! once, and a cancelled put hands its item back. Each seed is one
//! deterministic schedule; a failure names its seed.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use asyncio_core::FutureError;
use asyncio_loop::{EventLoop, LoopHandle, ManualClock, Task};
use asyncio_sync::{Lock, Queue, Semaphore};

/// xorshift64*: a small deterministic generator, so that each seed replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n
    }
}

/// Seeds per test: enough schedules to reach the races, few enough for Miri.
fn seeds() -> std::ops::Range<u64> {
    if cfg!(miri) {
        1..3
    } else {
        1..200
    }
}

/// Runs `body` on a fresh loop, then lets every task finish; returns how
/// many ended cancelled.
fn run(body: impl FnOnce(&LoopHandle) -> Vec<Task<()>>) -> usize {
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    let tasks = body(&event_loop.handle());
    for task in &tasks {
        // Cancelled or finished: either way it is done.
        let _ = event_loop.run_until_complete(task);
        assert!(task.done(), "a task was left waiting");
    }
    event_loop.close().unwrap();
    tasks.iter().filter(|task| task.cancelled()).count()
}

/// Cancels a random few of `tasks` at random iterations, from callbacks.
fn cancel_some(h: &LoopHandle, rng: &mut Rng, tasks: &[Task<()>]) {
    for task in tasks {
        if rng.below(3) == 0 {
            let task = task.clone();
            let delay = rng.below(5) as f64 * 0.001;
            h.call_later(delay, move || {
                task.cancel();
            })
            .unwrap();
        }
    }
}

/// Tasks that cancel one another: right after it releases, a task may
/// cancel another (the one it just woke, often), which reaches the waiter
/// that was handed the lock or unit but has not run yet.
type Rivals = Rc<RefCell<Vec<Task<()>>>>;

/// Cancels task `victim` of `rivals`, if there is one.
fn strike(rivals: &Rivals, victim: Option<usize>) {
    if let Some(task) = victim.and_then(|victim| rivals.borrow().get(victim).cloned()) {
        task.cancel();
    }
}

/// For each of a task's rounds, maybe a rival to cancel after it.
fn victims(rng: &mut Rng, tasks: usize, rounds: usize) -> Vec<Option<usize>> {
    (0..rounds)
        .map(|_| (rng.below(4) == 0).then(|| rng.below(tasks as u64) as usize))
        .collect()
}

#[test]
fn a_lock_is_held_by_one_task_at_a_time() {
    let mut cancelled = 0;
    for seed in seeds() {
        let mut rng = Rng(seed);
        let lock = Lock::new();
        let inside = Rc::new(Cell::new(0));
        let entries = Rc::new(Cell::new(0));
        let rivals: Rivals = Rc::default();
        cancelled += run(|h| {
            let tasks: Vec<Task<()>> = (0..12)
                .map(|_| {
                    let (lock, inside, entries, h2, rivals) = (
                        lock.clone(),
                        inside.clone(),
                        entries.clone(),
                        h.clone(),
                        rivals.clone(),
                    );
                    let pauses = rng.below(3);
                    let victims = victims(&mut rng, 12, 3);
                    h.create_task(async move {
                        for victim in victims {
                            let guard = lock.acquire().await?;
                            inside.set(inside.get() + 1);
                            entries.set(entries.get() + 1);
                            assert_eq!(inside.get(), 1, "seed {seed}: two holders");
                            for _ in 0..pauses {
                                h2.sleep(0.001)
                                    .await
                                    .inspect_err(|_| inside.set(inside.get() - 1))?;
                            }
                            inside.set(inside.get() - 1);
                            drop(guard);
                            strike(&rivals, victim);
                        }
                        Ok::<_, FutureError>(())
                    })
                    .unwrap()
                })
                .collect();
            rivals.borrow_mut().extend(tasks.iter().cloned());
            cancel_some(h, &mut rng, &tasks);
            tasks
        });
        rivals.borrow_mut().clear();
        assert!(!lock.locked(), "seed {seed}: the lock was left held");
        assert!(
            lock.try_acquire().is_some(),
            "seed {seed}: waiters were left"
        );
        assert!(entries.get() > 0);
    }
    assert!(
        cancelled > 0,
        "no task was ever cancelled: the test tests nothing"
    );
}

#[test]
fn a_semaphore_lends_no_more_than_it_has() {
    let mut cancelled = 0;
    for seed in seeds() {
        let mut rng = Rng(seed);
        let units = 3;
        let semaphore = Semaphore::new(units);
        let out = Rc::new(Cell::new(0));
        let rivals: Rivals = Rc::default();
        cancelled += run(|h| {
            let tasks: Vec<Task<()>> = (0..12)
                .map(|_| {
                    let (semaphore, out, h2, rivals) =
                        (semaphore.clone(), out.clone(), h.clone(), rivals.clone());
                    let victims = victims(&mut rng, 12, 3);
                    h.create_task(async move {
                        for victim in victims {
                            let unit = semaphore.acquire().await?;
                            out.set(out.get() + 1);
                            assert!(out.get() <= units, "seed {seed}: too many units lent");
                            let slept = h2.sleep(0.001).await;
                            out.set(out.get() - 1);
                            slept?;
                            drop(unit);
                            strike(&rivals, victim);
                        }
                        Ok::<_, FutureError>(())
                    })
                    .unwrap()
                })
                .collect();
            rivals.borrow_mut().extend(tasks.iter().cloned());
            cancel_some(h, &mut rng, &tasks);
            tasks
        });
        rivals.borrow_mut().clear();
        assert_eq!(semaphore.value(), units, "seed {seed}: units were lost");
        assert!(!semaphore.locked());
    }
    assert!(
        cancelled > 0,
        "no task was ever cancelled: the test tests nothing"
    );
}

#[test]
fn a_queue_delivers_every_item_once() {
    let mut items_returned = 0;
    for seed in seeds() {
        let mut rng = Rng(seed);
        let queue = Queue::with_maxsize(1 + rng.below(3) as usize);
        let got: Rc<RefCell<Vec<u32>>> = Rc::default();
        let returned: Rc<RefCell<Vec<u32>>> = Rc::default();
        let put: Rc<RefCell<Vec<u32>>> = Rc::default();
        let _ = run(|h| {
            let mut tasks = Vec::new();
            for producer in 0..4u32 {
                let (queue, put, returned) = (queue.clone(), put.clone(), returned.clone());
                tasks.push(
                    h.create_task(async move {
                        for i in 0..5 {
                            let item = producer * 100 + i;
                            match queue.put(item).await {
                                Ok(()) => put.borrow_mut().push(item),
                                Err(error) => {
                                    assert!(error.is_cancelled());
                                    let (item, error) = error.into_parts();
                                    returned.borrow_mut().push(item);
                                    return Err(error);
                                }
                            }
                        }
                        Ok(())
                    })
                    .unwrap(),
                );
            }
            for _ in 0..3 {
                let (queue, got, h2) = (queue.clone(), got.clone(), h.clone());
                tasks.push(
                    h.create_task(async move {
                        loop {
                            let item = queue.get().await?;
                            got.borrow_mut().push(item);
                            h2.sleep(0.001).await?;
                        }
                        #[allow(unreachable_code)]
                        Ok::<(), FutureError>(())
                    })
                    .unwrap(),
                );
            }
            cancel_some(h, &mut rng, &tasks);
            // The consumers never end by themselves, and producers may wait
            // for room forever once the consumers are cancelled: stop every
            // task well after the random cancellations.
            for task in &tasks {
                let task = task.clone();
                h.call_later(1.0, move || {
                    task.cancel();
                })
                .unwrap();
            }
            tasks
        });
        // Whatever a cancelled consumer left stays in the queue.
        while let Ok(item) = queue.get_nowait() {
            got.borrow_mut().push(item);
        }
        let mut got = got.take();
        let mut put = put.take();
        got.sort_unstable();
        put.sort_unstable();
        assert_eq!(got, put, "seed {seed}: items lost or duplicated");
        let returned = returned.take();
        items_returned += returned.len();
        for item in returned {
            assert!(
                !put.contains(&item),
                "seed {seed}: item {item} both put and returned"
            );
        }
    }
    assert!(
        items_returned > 0,
        "no put was ever cancelled: the test tests nothing"
    );
}
