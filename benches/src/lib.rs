//! Benchmarks of asyncio-rs against the peers a user would pick instead and
//! against the floor (a bare `VecDeque<Box<dyn FnOnce()>>`).
//!
//! The workloads live here, one function per (workload, contender), so the
//! criterion harness (`benches/workloads.rs`), the allocation counter
//! (`benches/memory.rs`), the paired rounds (`benches/paired.rs`, see
//! [`paired`]) and the unit tests all run the same code. Run the
//! whole comparison with `cargo xtask bench`; it writes `docs/benchmarks.md`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::black_box;

use asyncio_core::Future;
use asyncio_loop::EventLoop;

/// The sizes each workload runs at: N, 10N and 100N.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// How many done-callbacks W3 puts on each future.
pub const FAN_OUT: usize = 10;

thread_local! {
    /// The sum of every value `touch` saw on this thread: how a workload
    /// proves that its callbacks ran.
    static TOUCHED: Cell<usize> = const { Cell::new(0) };
}

/// A trivial callback body: keeps its captured value alive and observable,
/// and adds it to this thread's sum.
#[inline(never)]
fn touch(value: usize) {
    TOUCHED.with(|sum| sum.set(sum.get().wrapping_add(black_box(value))));
}

/// What `work` made `touch` add up: the proof that its callbacks ran.
pub fn touched(work: impl FnOnce()) -> usize {
    let before = TOUCHED.with(Cell::get);
    work();
    TOUCHED.with(Cell::get).wrapping_sub(before)
}

/// The sum W1 and the peers' W1 touch at size `n`: `0 + 1 + ... + (n - 1)`.
pub fn w1_expected(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// The sum W3 touches at size `n`.
pub fn w3_expected(n: usize) -> usize {
    n / FAN_OUT * (FAN_OUT * (FAN_OUT - 1) / 2)
}

/// Panics unless a workload's result is what doing all of its work gives: a
/// benchmark whose work went missing must not report a time.
#[track_caller]
pub fn check_work(workload: &str, got: usize, expected: usize) {
    assert_eq!(got, expected, "{workload} did not do all of its work");
}

/// The deadline of timer `i` of the timer workload, in microseconds: a
/// fixed pseudo-random spread over one second (the same for every
/// contender), so the heap sees deadlines out of order.
pub fn timer_deadline(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) % 1_000_000
}

/// Timers on asyncio-rs: `call_later` `n` timers with spread delays on a
/// loop with a manual clock, and run them all (the clock jumps from one
/// deadline to the next). Returns the sum the timers touched.
pub fn timers_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    touched(|| {
        for i in 0..n {
            let delay = std::time::Duration::from_micros(timer_deadline(i));
            let _ = event_loop.call_later(delay, move || touch(i));
        }
        let handle = event_loop.handle();
        let _ = event_loop.call_later(std::time::Duration::from_secs(1), move || handle.stop());
        let _ = event_loop.run_forever();
    })
}

/// Sleeping tasks on asyncio-rs: the timer workload with a task per timer,
/// each sleeping for its spread delay and then touching its index, on a
/// loop with a manual clock (issue 24's "a task sleeping on a timer", to
/// set against a timer callback: `profile sleepers` and `profile timers`).
/// Returns the sum the tasks touched.
pub fn sleepers_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    touched(|| {
        for i in 0..n {
            let delay = std::time::Duration::from_micros(timer_deadline(i));
            let sleep = event_loop.sleep(delay);
            let _ = event_loop.create_task(async move {
                if sleep.await.is_ok() {
                    touch(i);
                }
            });
        }
        let handle = event_loop.handle();
        let _ = event_loop.call_later(std::time::Duration::from_secs(1), move || handle.stop());
        let _ = event_loop.run_forever();
    })
}

/// The timers' floor: the same closures in a bare
/// `BinaryHeap<(Reverse(deadline, seq), Box<dyn FnOnce()>)>`, pushed, then
/// popped and called in deadline order.
pub fn timers_floor(n: usize) -> usize {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    struct Timer(Reverse<(u64, usize)>, Box<dyn FnOnce()>);
    impl PartialEq for Timer {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }
    impl Eq for Timer {}
    impl PartialOrd for Timer {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Timer {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.cmp(&other.0)
        }
    }
    touched(|| {
        let mut heap = BinaryHeap::with_capacity(n);
        for i in 0..n {
            heap.push(Timer(
                Reverse((timer_deadline(i), i)),
                Box::new(move || touch(i)),
            ));
        }
        while let Some(Timer(_, callback)) = heap.pop() {
            callback();
        }
    })
}

/// What a schedule-then-cancel workload returns: how many timers it
/// cancelled, or 0 (a failed check) if any cancelled callback ran anyway.
fn cancelled_if_none_ran(cancelled: usize, ran: usize) -> usize {
    if ran == 0 {
        cancelled
    } else {
        0
    }
}

/// Schedule-then-cancel on asyncio-rs: `call_later` `n` timers with spread
/// delays, cancel every one, then run one iteration (nothing is due, and
/// nothing may run). Returns how many were cancelled without running: `n`.
pub fn timers_cancel_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    let mut cancelled = 0;
    let ran = touched(|| {
        let timers: Vec<_> = (0..n)
            .filter_map(|i| {
                let delay = std::time::Duration::from_micros(timer_deadline(i) + 1);
                event_loop.call_later(delay, move || touch(i + 1)).ok()
            })
            .collect();
        for timer in &timers {
            timer.cancel();
            cancelled += usize::from(timer.cancelled());
        }
        event_loop.stop();
        let _ = event_loop.run_forever();
    });
    cancelled_if_none_ran(cancelled, ran)
}

/// Schedule-then-cancel's floor: a `BinaryHeap` of `(deadline, key)` beside
/// a `slab::Slab` of the boxed closures, as a hand-written cancellable timer
/// queue keeps them; cancelling removes (and drops) the closure, and the
/// heap is drained, finding nothing to run. Returns how many were cancelled.
pub fn timers_cancel_floor(n: usize) -> usize {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut cancelled = 0;
    let ran = touched(|| {
        let mut heap = BinaryHeap::with_capacity(n);
        let mut closures: slab::Slab<Box<dyn FnOnce()>> = slab::Slab::with_capacity(n);
        let keys: Vec<usize> = (0..n)
            .map(|i| {
                let key = closures.insert(Box::new(move || touch(i + 1)));
                heap.push(Reverse((timer_deadline(i), key)));
                key
            })
            .collect();
        for key in keys {
            cancelled += usize::from(closures.try_remove(key).is_some());
        }
        while let Some(Reverse((_, key))) = heap.pop() {
            if let Some(callback) = closures.try_remove(key) {
                callback();
            }
        }
    });
    cancelled_if_none_ran(cancelled, ran)
}

/// Cross-thread throughput on asyncio-rs: `producers` threads each send
/// `per_producer` callbacks with `call_soon_threadsafe`, and the loop runs
/// until the last producer's `stop`. Returns the sum the callbacks touched
/// (on the loop's thread): `w1_expected(producers * per_producer)`.
pub fn threadsafe_asyncio(event_loop: &EventLoop, producers: usize, per_producer: usize) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    touched(|| {
        let remote = event_loop.threadsafe_handle();
        let left = Arc::new(AtomicUsize::new(producers));
        let threads: Vec<_> = (0..producers)
            .map(|producer| {
                let (remote, left) = (remote.clone(), Arc::clone(&left));
                std::thread::spawn(move || {
                    for i in 0..per_producer {
                        let value = producer * per_producer + i;
                        let _ = remote.call_soon_threadsafe(move || touch(value));
                    }
                    if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        let _ = remote.stop();
                    }
                })
            })
            .collect();
        let _ = event_loop.run_forever();
        for thread in threads {
            let _ = thread.join();
        }
    })
}

/// The cross-thread floor: the same boxed closures through a bare
/// `crossbeam_queue::SegQueue`, which the consumer polls in a spin loop
/// (no wake-ups at all).
pub fn threadsafe_floor(producers: usize, per_producer: usize) -> usize {
    use crossbeam_queue::SegQueue;
    use std::sync::Arc;
    touched(|| {
        let queue: Arc<SegQueue<Box<dyn FnOnce() + Send>>> = Arc::new(SegQueue::new());
        let threads: Vec<_> = (0..producers)
            .map(|producer| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    for i in 0..per_producer {
                        let value = producer * per_producer + i;
                        queue.push(Box::new(move || touch(value)));
                    }
                })
            })
            .collect();
        let mut ran = 0;
        while ran < producers * per_producer {
            match queue.pop() {
                Some(callback) => {
                    callback();
                    ran += 1;
                }
                None => std::hint::spin_loop(),
            }
        }
        for thread in threads {
            let _ = thread.join();
        }
    })
}

/// Wake-up latency of an idle asyncio-rs loop: `rounds` times, a thread
/// waits 1 ms (the loop is idle in its poller by then) and sends a
/// callback stamped with the time; the callback records how long it took
/// to run. Returns the latencies in nanoseconds.
pub fn wake_latency_asyncio(rounds: usize) -> Vec<f64> {
    use std::time::{Duration, Instant};
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    let sender = std::thread::spawn(move || {
        for _ in 0..rounds {
            std::thread::sleep(Duration::from_millis(1));
            let sent = Instant::now();
            let _ = remote.call_soon_threadsafe(move || {
                let late = sent.elapsed().as_nanos() as f64;
                SEEN.with(|seen| seen.borrow_mut().push(late));
            });
        }
        let _ = remote.stop();
    });
    let _ = event_loop.run_forever();
    let _ = sender.join();
    SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
}

/// W1 on asyncio-rs: `call_soon` `n` trivial callbacks, run one iteration.
/// Returns the sum the callbacks touched ([`w1_expected`]).
pub fn w1_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    touched(|| {
        for i in 0..n {
            let _ = event_loop.call_soon(move || touch(i));
        }
        event_loop.stop();
        let _ = event_loop.run_forever();
    })
}

/// W1's floor: the same closures through a bare `VecDeque<Box<dyn FnOnce()>>`.
pub fn w1_floor(queue: &mut VecDeque<Box<dyn FnOnce()>>, n: usize) -> usize {
    touched(|| {
        for i in 0..n {
            queue.push_back(Box::new(move || touch(i)));
        }
        while let Some(callback) = queue.pop_front() {
            callback();
        }
    })
}

/// The racing-awaiters workload: `n` times, a race of a shared shutdown
/// future against a fresh future that a callback completes (a worker's
/// `select!` against a shutdown signal), each race polled as its own task
/// would poll it, with a waker of its own (a one-entry `FuturesUnordered`);
/// the fresh future always wins, and the losing wait is dropped. Returns how
/// many races the fresh future won (`n`). Each lost race must take its
/// waker out of the shutdown future, or every later poll scans the wakers
/// of all the races before it (time quadratic in `n`).
pub fn racing_awaiters(event_loop: &EventLoop, n: usize) -> usize {
    use futures::future::{select, Either};
    use futures::stream::{FuturesUnordered, StreamExt};
    let handle = event_loop.handle();
    let shutdown: Future<()> = event_loop.create_future();
    event_loop
        .run_until_complete(async move {
            let mut won = 0;
            for i in 0..n {
                let work: Future<usize> = handle.create_future();
                let setter = work.clone();
                let _ = handle.call_soon(move || {
                    let _ = setter.set_result(i);
                });
                let mut race: FuturesUnordered<_> =
                    std::iter::once(select(shutdown.wait(), work.wait())).collect();
                if let Some(Either::Right((Ok(_), _))) = race.next().await {
                    won += 1;
                }
            }
            won
        })
        .unwrap_or(0)
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

/// W4 spawn on asyncio-rs: `create_task` `n` trivial tasks, then run one
/// iteration, which runs every task's only step. Returns the sum the tasks
/// touched ([`w1_expected`]). The Rust peers' shape is their W1
/// (`peers::w1_*`), which spawns `n` trivial tasks too.
pub fn w4_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    touched(|| {
        for i in 0..n {
            let _ = event_loop.create_task(async move { touch(i) });
        }
        event_loop.stop();
        let _ = event_loop.run_forever();
    })
}

/// W5 gather on asyncio-rs: `gather` of `n` tasks, each awaiting a fresh
/// future that a `call_soon` callback completes. Returns the sum of the
/// results, `0 + 1 + ... + (n - 1)`.
pub fn w5_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(async move {
            let parts = (0..n).map(|i| {
                let handle = handle.clone();
                async move {
                    let future: Future<usize> = handle.create_future();
                    let setter = future.clone();
                    let _ = handle.call_soon(move || {
                        let _ = setter.set_result(i);
                    });
                    future.await
                }
            });
            asyncio_loop::gather(parts)
                .await
                .map_or(0, |results| results.into_iter().sum())
        })
        .unwrap_or(0)
}

/// W3 on asyncio-rs: `n / FAN_OUT` futures, each with `FAN_OUT`
/// done-callbacks, completed; one iteration runs every callback. Returns the
/// sum the callbacks touched ([`w3_expected`]).
pub fn w3_asyncio(event_loop: &EventLoop, n: usize) -> usize {
    touched(|| {
        for _ in 0..n / FAN_OUT {
            let future: Future<usize> = event_loop.create_future();
            for i in 0..FAN_OUT {
                let _ = future.add_done_callback(move |_| touch(i));
            }
            let _ = future.set_result(1);
        }
        event_loop.stop();
        let _ = event_loop.run_forever();
    })
}

pub mod sync;

/// The Rust peers, written the way a user of each would write the workloads.
pub mod peers {
    use super::{timer_deadline, touch, touched};
    use std::future::Future as StdFuture;

    /// W1 on async-executor: spawn `n` trivial tasks on a `LocalExecutor`
    /// and tick until none is left. Returns the sum the tasks touched.
    pub fn w1_async_executor(executor: &async_executor::LocalExecutor<'_>, n: usize) -> usize {
        touched(|| {
            for i in 0..n {
                executor.spawn(async move { touch(i) }).detach();
            }
            while executor.try_tick() {}
        })
    }

    /// W1 on futures' `LocalPool`.
    pub fn w1_local_pool(pool: &mut futures::executor::LocalPool, n: usize) -> usize {
        use futures::task::LocalSpawnExt;
        touched(|| {
            let spawner = pool.spawner();
            for i in 0..n {
                let _ = spawner.spawn_local(async move { touch(i) });
            }
            pool.run_until_stalled();
        })
    }

    /// Timers on tokio: `n` tasks that each `sleep` their delay
    /// on a runtime with paused time (which jumps to the next timer when
    /// idle, as our manual clock does), on a `LocalSet`.
    pub fn timers_tokio(runtime: &tokio::runtime::Runtime, n: usize) -> usize {
        touched(|| {
            let local = tokio::task::LocalSet::new();
            runtime.block_on(local.run_until(async move {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let delay = std::time::Duration::from_micros(timer_deadline(i));
                        tokio::task::spawn_local(async move {
                            tokio::time::sleep(delay).await;
                            touch(i);
                        })
                    })
                    .collect();
                for handle in handles {
                    let _ = handle.await;
                }
            }));
        })
    }

    /// Schedule-then-cancel on tokio (paused time), as a tokio user cancels
    /// timers: `n` tasks each sleeping a spread delay, every one aborted
    /// before its deadline (aborting drops its `Sleep`, which leaves the
    /// timer wheel). Returns how many ended cancelled: `n`.
    pub fn timers_cancel_tokio(runtime: &tokio::runtime::Runtime, n: usize) -> usize {
        let mut cancelled = 0;
        let ran = touched(|| {
            let local = tokio::task::LocalSet::new();
            cancelled = runtime.block_on(local.run_until(async move {
                let started = std::rc::Rc::new(std::cell::Cell::new(0));
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let delay = std::time::Duration::from_micros(timer_deadline(i) + 1);
                        let started = std::rc::Rc::clone(&started);
                        tokio::task::spawn_local(async move {
                            started.set(started.get() + 1);
                            tokio::time::sleep(delay).await;
                            touch(i + 1);
                        })
                    })
                    .collect();
                // Let every task start its sleep, as scheduled timers would be.
                while started.get() < n {
                    tokio::task::yield_now().await;
                }
                for handle in &handles {
                    handle.abort();
                }
                let mut cancelled = 0;
                for handle in handles {
                    cancelled += usize::from(handle.await.is_err_and(|error| error.is_cancelled()));
                }
                cancelled
            }));
        });
        super::cancelled_if_none_ran(cancelled, ran)
    }

    /// Cross-thread throughput on tokio: `producers` threads each
    /// `Handle::spawn` `per_producer` tasks onto a current-thread runtime
    /// that the caller's thread drives until the last task ran.
    pub fn threadsafe_tokio(
        runtime: &tokio::runtime::Runtime,
        producers: usize,
        per_producer: usize,
    ) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        touched(|| {
            let remaining = Arc::new(AtomicUsize::new(producers * per_producer));
            let done = Arc::new(tokio::sync::Notify::new());
            let threads: Vec<_> = (0..producers)
                .map(|producer| {
                    let handle = runtime.handle().clone();
                    let (remaining, done) = (Arc::clone(&remaining), Arc::clone(&done));
                    std::thread::spawn(move || {
                        for i in 0..per_producer {
                            let value = producer * per_producer + i;
                            let (remaining, done) = (Arc::clone(&remaining), Arc::clone(&done));
                            handle.spawn(async move {
                                touch(value);
                                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                                    done.notify_one();
                                }
                            });
                        }
                    })
                })
                .collect();
            runtime.block_on(done.notified());
            for thread in threads {
                let _ = thread.join();
            }
        })
    }

    /// Wake-up latency of an idle tokio current-thread runtime, as
    /// `wake_latency_asyncio` measures ours: a task spawned from another
    /// thread every millisecond records how long it took to run.
    ///
    /// With `io`, the runtime is built as `#[tokio::main(flavor =
    /// "current_thread")]` builds it (`enable_all`), and idles in its I/O
    /// driver (epoll), as our loop does; without, it has only a time driver
    /// and idles on a futex, which no loop that waits for I/O can do.
    pub fn wake_latency_tokio(rounds: usize, io: bool) -> Vec<f64> {
        use std::sync::{Arc, Mutex};
        use std::time::{Duration, Instant};
        let mut builder = tokio::runtime::Builder::new_current_thread();
        if io {
            builder.enable_all();
        } else {
            builder.enable_time();
        }
        let runtime = builder.build().expect("a current-thread runtime");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(tokio::sync::Notify::new());
        let handle = runtime.handle().clone();
        let (record, finished) = (Arc::clone(&seen), Arc::clone(&done));
        let sender = std::thread::spawn(move || {
            for _ in 0..rounds {
                std::thread::sleep(Duration::from_millis(1));
                let sent = Instant::now();
                let record = Arc::clone(&record);
                handle.spawn(async move {
                    let late = sent.elapsed().as_nanos() as f64;
                    record.lock().expect("not poisoned").push(late);
                });
            }
            handle.spawn(async move { finished.notify_one() });
        });
        runtime.block_on(done.notified());
        let _ = sender.join();
        let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
        seen
    }

    /// W1 on tokio: a current-thread runtime and a `LocalSet`.
    pub fn w1_tokio(runtime: &tokio::runtime::Runtime, n: usize) -> usize {
        touched(|| {
            let local = tokio::task::LocalSet::new();
            for i in 0..n {
                local.spawn_local(async move { touch(i) });
            }
            runtime.block_on(local);
        })
    }

    /// W5's shape on one executor: spawn `n` tasks, each of which sends
    /// its number through a oneshot from a freshly spawned task and awaits
    /// it; join them all and sum the results.
    async fn gather_parts<S, T, H>(spawn: S, n: usize) -> usize
    where
        S: Fn(usize) -> H,
        H: StdFuture<Output = T>,
        T: Into<Option<usize>>,
    {
        let handles: Vec<H> = (0..n).map(&spawn).collect();
        futures::future::join_all(handles)
            .await
            .into_iter()
            .map(|result| result.into().unwrap_or(0))
            .sum()
    }

    /// W5 on async-executor. Its tasks cannot spawn on an executor they
    /// borrow (`LocalExecutor<'static>`), so the sending task is spawned
    /// beside each receiving one: the same tasks and messages.
    pub fn w5_async_executor(executor: &async_executor::LocalExecutor<'_>, n: usize) -> usize {
        futures_lite::future::block_on(executor.run(gather_parts(
            |i| {
                let (sender, receiver) = futures::channel::oneshot::channel();
                let receiving = executor.spawn(async move { receiver.await.ok() });
                executor
                    .spawn(async move {
                        let _ = sender.send(i);
                    })
                    .detach();
                receiving
            },
            n,
        )))
    }

    /// W5 on futures' `LocalPool` (`spawn_local_with_handle`).
    pub fn w5_local_pool(pool: &mut futures::executor::LocalPool, n: usize) -> usize {
        use futures::task::LocalSpawnExt;
        let spawner = pool.spawner();
        let inner = spawner.clone();
        pool.run_until(gather_parts(
            move |i| {
                let inner = inner.clone();
                spawner
                    .spawn_local_with_handle(async move {
                        let (sender, receiver) = futures::channel::oneshot::channel();
                        let _ = inner.spawn_local(async move {
                            let _ = sender.send(i);
                        });
                        receiver.await.ok()
                    })
                    .expect("the pool is running")
            },
            n,
        ))
    }

    /// W5 on tokio: `spawn_local` on a `LocalSet`, tokio's oneshot.
    pub fn w5_tokio(runtime: &tokio::runtime::Runtime, n: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        local.block_on(
            runtime,
            gather_parts(
                |i| {
                    let handle = tokio::task::spawn_local(async move {
                        let (sender, receiver) = tokio::sync::oneshot::channel();
                        tokio::task::spawn_local(async move {
                            let _ = sender.send(i);
                        });
                        receiver.await.ok()
                    });
                    async move { handle.await.ok().flatten() }
                },
                n,
            ),
        )
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

/// The streams echo server's connection, as users write it: `read(n)`
/// (or `readline()`), `write`, `drain`, until the peer's end. The echo
/// bench's server and the memory bench's allocation count run this.
pub async fn stream_echo(
    reader: asyncio_net::StreamReader,
    writer: asyncio_net::StreamWriter,
    lines: bool,
) -> Result<(), asyncio_net::NetError> {
    loop {
        let data = if lines {
            reader.readline().await?
        } else {
            reader.read(256 * 1024).await?
        };
        if data.is_empty() {
            return Ok(());
        }
        writer.write(&data)?;
        writer.drain().await?;
    }
}

/// The measurements the bench binaries print, one JSON object per line,
/// for `cargo xtask bench` (which reads them with `serde_json`):
///
/// - `{"record": "ratio", "target", "n", "rounds", "low", "median", "high"}`:
///   a target ratio over paired rounds (its quartiles and median);
/// - `{"record": "time", "workload", "contender", "n", "rounds", "median_ns",
///   "low_ns", "high_ns"}`: nanoseconds per operation of one contender over
///   paired rounds (median and quartiles);
/// - `{"record": "row", "table", "cells": {...}}`: one row of a table that
///   `cargo xtask bench` declares (its columns name the cells);
/// - `{"record": "memory", "key", "value"}`: one figure of the memory bench.
///
/// Other lines (cargo's, criterion's) are not objects and are skipped.
pub mod report {
    use serde_json::{json, Value};

    use crate::paired::Summary;

    fn emit(record: Value) {
        println!("{record}");
    }

    /// A target ratio: the per-round ratios' median and quartiles.
    pub fn ratio(target: &str, n: usize, ratios: Vec<f64>) {
        let rounds = ratios.len();
        if let Some(Summary { low, median, high }) = Summary::of(ratios) {
            emit(json!({
                "record": "ratio", "target": target, "n": n, "rounds": rounds,
                "low": low, "median": median, "high": high,
            }));
        }
    }

    /// One contender's time per operation, from its per-round times for
    /// `operations` operations each.
    pub fn time(workload: &str, contender: &str, n: usize, operations: usize, times: &[f64]) {
        let per_operation: Vec<f64> = times.iter().map(|time| time / operations as f64).collect();
        if let Some(Summary { low, median, high }) = Summary::of(per_operation) {
            emit(json!({
                "record": "time", "workload": workload, "contender": contender, "n": n,
                "rounds": times.len(), "median_ns": median, "low_ns": low, "high_ns": high,
            }));
        }
    }

    /// One row of the table `table`.
    pub fn row(table: &str, cells: Value) {
        emit(json!({"record": "row", "table": table, "cells": cells}));
    }

    /// One figure of the memory bench.
    pub fn memory(key: &str, value: impl Into<Value>) {
        emit(json!({"record": "memory", "key": key, "value": value.into()}));
    }
}

/// Paired rounds: every contender runs once per round, so all of them meet
/// the same machine state, and ratios are taken within a round.
///
/// criterion measures one contender for a few seconds, then the next. On a
/// shared machine the load drifts in between, and a ratio of two such
/// medians can be off by a third either way. Here a round runs each
/// contender once, back to back, starting with a different one each round
/// (so none always runs first or after the same neighbour); a ratio is taken
/// within each round, and the rounds' ratios are summarised by their median
/// and quartiles. Drift slower than a round cancels out.
pub mod paired {
    use std::time::Instant;

    /// Runs `warm_up` untimed rounds, then times `rounds` rounds of every
    /// contender; returns each contender's times in nanoseconds, one per
    /// round (`times[contender][round]`).
    ///
    /// Round `r` starts with contender `r % contenders.len()` and goes on in
    /// order, wrapping around.
    pub fn rounds(
        contenders: &mut [&mut dyn FnMut()],
        warm_up: usize,
        rounds: usize,
    ) -> Vec<Vec<f64>> {
        let count = contenders.len();
        let mut times = vec![Vec::with_capacity(rounds); count];
        for round in 0..warm_up + rounds {
            for offset in 0..count {
                let which = (round + offset) % count;
                let start = Instant::now();
                contenders[which]();
                let elapsed = start.elapsed().as_nanos() as f64;
                if round >= warm_up {
                    times[which].push(elapsed);
                }
            }
        }
        times
    }

    /// Per round, the fastest of `others` over `base`: above 1 when `base`
    /// was faster than every one of them in that round.
    pub fn ratios(times: &[Vec<f64>], base: usize, others: &[usize]) -> Vec<f64> {
        (0..times[base].len())
            .map(|round| {
                let fastest = others
                    .iter()
                    .map(|&other| times[other][round])
                    .fold(f64::INFINITY, f64::min);
                fastest / times[base][round]
            })
            .collect()
    }

    /// The median and quartiles of a sample.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Summary {
        /// The first quartile.
        pub low: f64,
        /// The median.
        pub median: f64,
        /// The third quartile.
        pub high: f64,
    }

    impl Summary {
        /// Summarises `values` (nearest-rank quartiles); `None` when empty or
        /// when a value is NaN.
        pub fn of(mut values: Vec<f64>) -> Option<Summary> {
            if values.is_empty() || values.iter().any(|value| value.is_nan()) {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let at =
                |quantile: f64| values[((values.len() - 1) as f64 * quantile).round() as usize];
            Some(Summary {
                low: at(0.25),
                median: at(0.5),
                high: at(0.75),
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn each_round_times_every_contender_once_starting_with_the_next() {
            let order = std::cell::RefCell::new(Vec::new());
            let (mut a, mut b, mut c) = (
                || order.borrow_mut().push('a'),
                || order.borrow_mut().push('b'),
                || order.borrow_mut().push('c'),
            );
            let times = rounds(&mut [&mut a, &mut b, &mut c], 1, 3);
            assert_eq!(times.len(), 3);
            assert!(times.iter().all(|times| times.len() == 3));
            let order: String = order.into_inner().into_iter().collect();
            assert_eq!(order, "abcbcacababc");
        }

        #[test]
        fn a_ratio_is_the_fastest_other_over_the_base_in_the_same_round() {
            let times = vec![vec![10.0, 20.0], vec![30.0, 50.0], vec![25.0, 80.0]];
            assert_eq!(ratios(&times, 0, &[1, 2]), [2.5, 2.5]);
            assert_eq!(ratios(&times, 1, &[0]), [1.0 / 3.0, 0.4]);
        }

        #[test]
        fn summary_gives_median_and_quartiles() {
            let summary = Summary::of(vec![5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
            assert_eq!(
                summary,
                Summary {
                    low: 2.0,
                    median: 3.0,
                    high: 4.0
                }
            );
            assert_eq!(Summary::of(Vec::new()), None);
            assert_eq!(Summary::of(vec![1.0, f64::NAN]), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_does_its_work() {
        let event_loop = EventLoop::new();
        let w1 = w1_expected(100);
        assert_eq!(w1, (0..100).sum::<usize>());
        assert_eq!(w1_asyncio(&event_loop, 100), w1);
        assert_eq!(w2_asyncio(&event_loop, 100), (0..100).sum::<usize>());
        assert_eq!(w3_asyncio(&event_loop, 100), 10 * 45);
        assert_eq!(w3_expected(100), 10 * 45);
        assert_eq!(racing_awaiters(&event_loop, 100), 100);
        let mut queue = VecDeque::new();
        assert_eq!(w1_floor(&mut queue, 100), w1);
        assert!(queue.is_empty());

        let executor = async_executor::LocalExecutor::new();
        assert_eq!(peers::w1_async_executor(&executor, 100), w1);
        assert_eq!(
            peers::w2_async_executor(&executor, 100),
            (0..100).sum::<usize>()
        );
        let mut pool = futures::executor::LocalPool::new();
        assert_eq!(peers::w1_local_pool(&mut pool, 100), w1);
        assert_eq!(
            peers::w2_local_pool(&mut pool, 100),
            (0..100).sum::<usize>()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(peers::w1_tokio(&runtime, 100), w1);
        assert_eq!(peers::w2_tokio(&runtime, 100), (0..100).sum::<usize>());
    }

    fn runtime_for_threads() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn the_timer_workloads_run_every_timer_in_deadline_order() {
        let w1 = w1_expected(100);
        let manual = EventLoop::with_clock(&asyncio_loop::ManualClock::new());
        assert_eq!(timers_asyncio(&manual, 100), w1);
        assert_eq!(manual.time(), 1.0, "the clock jumped to the last deadline");
        assert_eq!(timers_floor(100), w1);
        let paused = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        assert_eq!(peers::timers_tokio(&paused, 100), w1);
        let deadlines: Vec<u64> = (0..100).map(timer_deadline).collect();
        assert!(deadlines.windows(2).any(|w| w[0] > w[1]), "out of order");
        assert!(deadlines.iter().all(|d| *d < 1_000_000));
    }

    #[test]
    fn the_cancel_workloads_cancel_every_timer_and_run_none() {
        let manual = EventLoop::with_clock(&asyncio_loop::ManualClock::new());
        assert_eq!(timers_cancel_asyncio(&manual, 100), 100);
        assert_eq!(manual.time(), 0.0, "nothing was due, so the clock stayed");
        // Reused, and on a real clock (the loop must not wait for them).
        let real = EventLoop::new();
        assert_eq!(timers_cancel_asyncio(&real, 100), 100);
        assert_eq!(timers_cancel_asyncio(&real, 100), 100);
        assert_eq!(timers_cancel_floor(100), 100);
        let paused = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        assert_eq!(peers::timers_cancel_tokio(&paused, 100), 100);
    }

    #[test]
    fn the_cross_thread_workloads_do_their_work() {
        let threaded = EventLoop::new();
        assert_eq!(threadsafe_asyncio(&threaded, 3, 100), w1_expected(300));
        assert_eq!(threadsafe_floor(3, 100), w1_expected(300));
        assert_eq!(
            peers::threadsafe_tokio(&runtime_for_threads(), 3, 100),
            w1_expected(300)
        );
        assert_eq!(wake_latency_asyncio(3).len(), 3);
        assert_eq!(peers::wake_latency_tokio(3, true).len(), 3);
        assert_eq!(peers::wake_latency_tokio(3, false).len(), 3);
    }

    #[test]
    #[should_panic(expected = "did not do all of its work")]
    fn a_workload_that_lost_work_fails_its_check() {
        check_work("w1", w1_expected(10) - 1, w1_expected(10));
    }
}
