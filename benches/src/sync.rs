//! The synchronization workloads, for asyncio-rs, the floor and the Rust
//! peers, each written the way a user of it would write it:
//!
//! - **Queue**: a consumer task and a producer task pass `0..n` through a
//!   queue (unbounded, or bounded to [`BOUND`] items); the consumer sums
//!   them. Peers: tokio's `mpsc` on a `LocalSet`, `async-channel` on
//!   async-executor, `futures::channel::mpsc` on `LocalPool`.
//! - **Lock**: `n` tasks contend for one lock; each takes it, yields once
//!   holding it, adds its number and releases it. Peers: tokio's `Mutex`,
//!   `async-lock`'s on async-executor, `futures::lock::Mutex` on
//!   `LocalPool`.
//! - **Lock hand-off**: [`HANDOFF_TASKS`] tasks take the lock `n` times in
//!   all, the same way: the lock's cost without the spawning.
//!
//! Each returns the sum `0 + 1 + ... + (n - 1)` ([`crate::w1_expected`]),
//! the proof that all of its work was done.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use asyncio_core::FutureError;
use asyncio_loop::EventLoop;
use asyncio_sync::{Lock, Queue};

/// The bounded queue's size.
pub const BOUND: usize = 16;

/// How many tasks share the lock in the hand-off workload.
pub const HANDOFF_TASKS: usize = 16;

/// The queue workload on asyncio-rs (`maxsize` 0: unbounded).
pub fn queue_asyncio(event_loop: &EventLoop, n: usize, maxsize: usize) -> usize {
    let handle = event_loop.handle();
    let outcome = event_loop.run_until_complete(async move {
        let queue = Queue::with_maxsize(maxsize);
        let receiving = queue.clone();
        let consumer = handle.create_task(async move {
            let mut sum = 0;
            for _ in 0..n {
                sum += receiving.get().await?;
            }
            Ok::<_, FutureError>(sum)
        })?;
        handle.create_task(async move {
            for i in 0..n {
                if queue.put(i).await.is_err() {
                    break;
                }
            }
        })?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(consumer.await?)
    });
    match outcome {
        Ok(Ok(sum)) => sum,
        _ => 0,
    }
}

/// The queue's floor: the same items through a bare `VecDeque`, a batch of
/// `maxsize` (or all of them) pushed, then popped and summed.
pub fn queue_floor(queue: &mut VecDeque<usize>, n: usize, maxsize: usize) -> usize {
    let batch = if maxsize == 0 { n.max(1) } else { maxsize };
    let mut sum = 0;
    let mut next = 0;
    while next < n {
        let end = (next + batch).min(n);
        queue.extend(std::hint::black_box(next..end));
        next = end;
        while let Some(item) = queue.pop_front() {
            sum += item;
        }
    }
    sum
}

/// The lock workloads on asyncio-rs: `tasks` tasks take the lock `n` times
/// in all, each time over one `sleep(0)` (the lock workload: `tasks == n`,
/// one acquisition each; the hand-off: [`HANDOFF_TASKS`]).
pub fn lock_asyncio(event_loop: &EventLoop, n: usize, tasks: usize) -> usize {
    let handle = event_loop.handle();
    let outcome = event_loop.run_until_complete(async move {
        let lock = Lock::new();
        let total = Rc::new(Cell::new(0));
        let mut handles = Vec::with_capacity(tasks);
        for first in 0..tasks {
            let (lock, total, sleeper) = (lock.clone(), Rc::clone(&total), handle.clone());
            handles.push(handle.create_task(async move {
                for i in (first..n).step_by(tasks) {
                    let _guard = lock.acquire().await?;
                    sleeper.sleep(0.0).await?;
                    total.set(total.get() + i);
                }
                Ok::<_, FutureError>(())
            })?);
        }
        for task in handles {
            task.await?;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(total.get())
    });
    match outcome {
        Ok(Ok(sum)) => sum,
        _ => 0,
    }
}

/// A future that is pending once and wakes itself: a yield for executors
/// that have none of their own (`LocalPool`).
struct YieldNow(bool);

impl StdFuture for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The Rust peers of the synchronization workloads.
pub mod peers {
    use super::*;

    use futures::{SinkExt, StreamExt};

    /// The queue workload on tokio: `mpsc` on a `LocalSet`.
    pub fn queue_tokio(runtime: &tokio::runtime::Runtime, n: usize, bound: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        local.block_on(runtime, async move {
            if bound == 0 {
                let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
                let consumer = tokio::task::spawn_local(async move {
                    let mut sum = 0;
                    while let Some(item) = receiver.recv().await {
                        sum += item;
                    }
                    sum
                });
                tokio::task::spawn_local(async move {
                    for i in 0..n {
                        let _ = sender.send(i);
                    }
                });
                consumer.await.unwrap_or(0)
            } else {
                let (sender, mut receiver) = tokio::sync::mpsc::channel(bound);
                let consumer = tokio::task::spawn_local(async move {
                    let mut sum = 0;
                    while let Some(item) = receiver.recv().await {
                        sum += item;
                    }
                    sum
                });
                tokio::task::spawn_local(async move {
                    for i in 0..n {
                        let _ = sender.send(i).await;
                    }
                });
                consumer.await.unwrap_or(0)
            }
        })
    }

    /// The queue workload on async-executor, with `async-channel`.
    pub fn queue_async_channel(
        executor: &async_executor::LocalExecutor<'_>,
        n: usize,
        bound: usize,
    ) -> usize {
        let (sender, receiver) = if bound == 0 {
            async_channel::unbounded()
        } else {
            async_channel::bounded(bound)
        };
        let consumer = executor.spawn(async move {
            let mut sum = 0;
            while let Ok(item) = receiver.recv().await {
                sum += item;
            }
            sum
        });
        executor
            .spawn(async move {
                for i in 0..n {
                    let _ = sender.send(i).await;
                }
            })
            .detach();
        futures_lite::future::block_on(executor.run(consumer))
    }

    /// The queue workload on futures' `LocalPool`, with
    /// `futures::channel::mpsc` (its bounded channel holds `bound` items
    /// plus one per sender).
    pub fn queue_local_pool(
        pool: &mut futures::executor::LocalPool,
        n: usize,
        bound: usize,
    ) -> usize {
        use futures::task::LocalSpawnExt;
        let spawner = pool.spawner();
        if bound == 0 {
            let (sender, mut receiver) = futures::channel::mpsc::unbounded();
            let _ = spawner.spawn_local(async move {
                for i in 0..n {
                    let _ = sender.unbounded_send(i);
                }
            });
            pool.run_until(async move {
                let mut sum = 0;
                while let Some(item) = receiver.next().await {
                    sum += item;
                }
                sum
            })
        } else {
            let (mut sender, mut receiver) = futures::channel::mpsc::channel(bound - 1);
            let _ = spawner.spawn_local(async move {
                for i in 0..n {
                    let _ = sender.send(i).await;
                }
            });
            pool.run_until(async move {
                let mut sum = 0;
                while let Some(item) = receiver.next().await {
                    sum += item;
                }
                sum
            })
        }
    }

    /// The lock workload on tokio: `n` tasks on a `LocalSet` sharing an
    /// `Rc<tokio::sync::Mutex>`, each holding it over `yield_now`.
    pub fn lock_tokio(runtime: &tokio::runtime::Runtime, n: usize, tasks: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        local.block_on(runtime, async move {
            let lock = Rc::new(tokio::sync::Mutex::new(0usize));
            let handles: Vec<_> = (0..tasks)
                .map(|first| {
                    let lock = Rc::clone(&lock);
                    tokio::task::spawn_local(async move {
                        for i in (first..n).step_by(tasks) {
                            let mut total = lock.lock().await;
                            tokio::task::yield_now().await;
                            *total += i;
                        }
                    })
                })
                .collect();
            for handle in handles {
                let _ = handle.await;
            }
            let total = *lock.lock().await;
            total
        })
    }

    /// The lock workload on async-executor, with `async-lock`'s `Mutex`.
    pub fn lock_async_lock(
        executor: &async_executor::LocalExecutor<'_>,
        n: usize,
        tasks: usize,
    ) -> usize {
        let lock = Rc::new(async_lock::Mutex::new(0usize));
        let handles: Vec<_> = (0..tasks)
            .map(|first| {
                let lock = Rc::clone(&lock);
                executor.spawn(async move {
                    for i in (first..n).step_by(tasks) {
                        let mut total = lock.lock().await;
                        futures_lite::future::yield_now().await;
                        *total += i;
                    }
                })
            })
            .collect();
        futures_lite::future::block_on(executor.run(async move {
            for handle in handles {
                handle.await;
            }
            let total = *lock.lock().await;
            total
        }))
    }

    /// The lock workload on futures' `LocalPool`, with
    /// `futures::lock::Mutex`.
    pub fn lock_local_pool(
        pool: &mut futures::executor::LocalPool,
        n: usize,
        tasks: usize,
    ) -> usize {
        use futures::task::LocalSpawnExt;
        let spawner = pool.spawner();
        let lock = Rc::new(futures::lock::Mutex::new(0usize));
        let handles: Vec<_> = (0..tasks)
            .map(|first| {
                let lock = Rc::clone(&lock);
                spawner
                    .spawn_local_with_handle(async move {
                        for i in (first..n).step_by(tasks) {
                            let mut total = lock.lock().await;
                            YieldNow(false).await;
                            *total += i;
                        }
                    })
                    .expect("the pool is running")
            })
            .collect();
        pool.run_until(async move {
            for handle in handles {
                handle.await;
            }
            let total = *lock.lock().await;
            total
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::w1_expected;

    #[test]
    fn every_contender_does_all_of_its_work() {
        let n = 100;
        let event_loop = EventLoop::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let executor = async_executor::LocalExecutor::new();
        let mut pool = futures::executor::LocalPool::new();
        for bound in [0, BOUND] {
            assert_eq!(queue_asyncio(&event_loop, n, bound), w1_expected(n));
            assert_eq!(queue_floor(&mut VecDeque::new(), n, bound), w1_expected(n));
            assert_eq!(peers::queue_tokio(&runtime, n, bound), w1_expected(n));
            assert_eq!(
                peers::queue_async_channel(&executor, n, bound),
                w1_expected(n)
            );
            assert_eq!(peers::queue_local_pool(&mut pool, n, bound), w1_expected(n));
        }
        for tasks in [n, HANDOFF_TASKS] {
            assert_eq!(lock_asyncio(&event_loop, n, tasks), w1_expected(n));
            assert_eq!(peers::lock_tokio(&runtime, n, tasks), w1_expected(n));
            assert_eq!(peers::lock_async_lock(&executor, n, tasks), w1_expected(n));
            assert_eq!(peers::lock_local_pool(&mut pool, n, tasks), w1_expected(n));
        }
    }
}
