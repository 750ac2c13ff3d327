//! Benchmarks of asyncio-rs against the peers a user would pick instead and
//! against the floor (a bare `VecDeque<Box<dyn FnOnce()>>`).
//!
//! The workloads live here, one function per (workload, contender), so the
//! criterion harness (`benches/workloads.rs`), the allocation counter
//! (`benches/memory.rs`) and the unit tests all run the same code. Run the
//! whole comparison with `cargo xtask bench`; it writes `docs/benchmarks.md`.

use std::collections::VecDeque;
use std::hint::black_box;

use asyncio_core::Future;
use asyncio_loop::EventLoop;

/// The sizes each workload runs at: N, 10N and 100N.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// How many done-callbacks W3 puts on each future.
pub const FAN_OUT: usize = 10;

/// A trivial callback body: keeps its captured value alive and observable.
#[inline(never)]
fn touch(value: usize) {
    black_box(value);
}

/// W1 on asyncio-rs: `call_soon` `n` trivial callbacks, run one iteration.
pub fn w1_asyncio(event_loop: &EventLoop, n: usize) {
    for i in 0..n {
        let _ = event_loop.call_soon(move || touch(i));
    }
    event_loop.stop();
    let _ = event_loop.run_forever();
}

/// W1's floor: the same closures through a bare `VecDeque<Box<dyn FnOnce()>>`.
pub fn w1_floor(queue: &mut VecDeque<Box<dyn FnOnce()>>, n: usize) {
    for i in 0..n {
        queue.push_back(Box::new(move || touch(i)));
    }
    while let Some(callback) = queue.pop_front() {
        callback();
    }
}

/// W2 on asyncio-rs: a task awaits a fresh future that a `call_soon`
/// callback completes, `n` times in a row.
pub fn w2_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move {
            let mut total = 0;
            for i in 0..n {
                let future: Future<usize> = handle.create_future();
                let setter = future.clone();
                let _ = handle.call_soon(move || {
                    let _ = setter.set_result(i);
                });
                total += future.await.unwrap_or(0);
            }
            total
        })
        .unwrap_or(0)
}

/// W3 on asyncio-rs: `n / FAN_OUT` futures, each with `FAN_OUT`
/// done-callbacks, completed; one iteration runs every callback.
pub fn w3_asyncio(event_loop: &EventLoop, n: usize) {
    for _ in 0..n / FAN_OUT {
        let future: Future<usize> = event_loop.create_future();
        for i in 0..FAN_OUT {
            let _ = future.add_done_callback(move |_| touch(i));
        }
        let _ = future.set_result(1);
    }
    event_loop.stop();
    let _ = event_loop.run_forever();
}

/// The Rust peers, written the way a user of each would write the workloads.
pub mod peers {
    use super::touch;
    use std::future::Future as StdFuture;

    /// W1 on async-executor: spawn `n` trivial tasks on a `LocalExecutor`
    /// and tick until none is left.
    pub fn w1_async_executor(executor: &async_executor::LocalExecutor<'_>, n: usize) {
        for i in 0..n {
            executor.spawn(async move { touch(i) }).detach();
        }
        while executor.try_tick() {}
    }

    /// W1 on futures' `LocalPool`.
    pub fn w1_local_pool(pool: &mut futures::executor::LocalPool, n: usize) {
        use futures::task::LocalSpawnExt;
        let spawner = pool.spawner();
        for i in 0..n {
            let _ = spawner.spawn_local(async move { touch(i) });
        }
        pool.run_until_stalled();
    }

    /// W1 on tokio: a current-thread runtime and a `LocalSet`.
    pub fn w1_tokio(runtime: &tokio::runtime::Runtime, n: usize) {
        let local = tokio::task::LocalSet::new();
        for i in 0..n {
            local.spawn_local(async move { touch(i) });
        }
        runtime.block_on(local);
    }

    /// W2's round trip on one executor: the task sends through a oneshot
    /// from a freshly spawned task and awaits it, `n` times.
    async fn ping_pong<S, F>(spawn: S, n: usize) -> usize
    where
        S: Fn(futures::channel::oneshot::Sender<usize>, usize) -> F,
        F: StdFuture<Output = ()>,
    {
        let mut total = 0;
        for i in 0..n {
            let (sender, receiver) = futures::channel::oneshot::channel();
            spawn(sender, i).await;
            total += receiver.await.unwrap_or(0);
        }
        total
    }

    /// W2 on async-executor.
    pub fn w2_async_executor(executor: &async_executor::LocalExecutor<'_>, n: usize) -> usize {
        futures_lite::future::block_on(executor.run(ping_pong(
            |sender, i| {
                executor
                    .spawn(async move {
                        let _ = sender.send(i);
                    })
                    .detach();
                std::future::ready(())
            },
            n,
        )))
    }

    /// W2 on futures' `LocalPool`.
    pub fn w2_local_pool(pool: &mut futures::executor::LocalPool, n: usize) -> usize {
        use futures::task::LocalSpawnExt;
        let spawner = pool.spawner();
        pool.run_until(ping_pong(
            |sender, i| {
                let _ = spawner.spawn_local(async move {
                    let _ = sender.send(i);
                });
                std::future::ready(())
            },
            n,
        ))
    }

    /// W2 on tokio, with tokio's own oneshot channel.
    pub fn w2_tokio(runtime: &tokio::runtime::Runtime, n: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        local.block_on(runtime, async move {
            let mut total = 0;
            for i in 0..n {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                tokio::task::spawn_local(async move {
                    let _ = sender.send(i);
                });
                total += receiver.await.unwrap_or(0);
            }
            total
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_does_its_work() {
        let event_loop = EventLoop::new();
        w1_asyncio(&event_loop, 100);
        assert_eq!(w2_asyncio(&event_loop, 100), (0..100).sum());
        w3_asyncio(&event_loop, 100);
        let mut queue = VecDeque::new();
        w1_floor(&mut queue, 100);
        assert!(queue.is_empty());

        let executor = async_executor::LocalExecutor::new();
        peers::w1_async_executor(&executor, 100);
        assert_eq!(peers::w2_async_executor(&executor, 100), (0..100).sum());
        let mut pool = futures::executor::LocalPool::new();
        peers::w1_local_pool(&mut pool, 100);
        assert_eq!(peers::w2_local_pool(&mut pool, 100), (0..100).sum());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        peers::w1_tokio(&runtime, 100);
        assert_eq!(peers::w2_tokio(&runtime, 100), (0..100).sum());
    }
}
