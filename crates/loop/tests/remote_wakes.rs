//! Wakes from other threads while the loop sleeps in its poller and wakes
//! again: every wake is counted exactly once, none is lost to the race of
//! a wake arriving while the loop decides to block, and the loop never
//! hangs (a watchdog fails the test instead).

mod support;
use support::watchdog;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use asyncio_loop::{EventLoop, ManualClock};

/// One request to a waking thread: set the flag, then wake.
type Request = (Arc<AtomicBool>, Waker);

/// Pending until a worker has set `flag`; sends the worker its request on
/// the first poll. (A struct that owns its state, not a `poll_fn` closure
/// borrowing the coroutine's locals, which Miri's Stacked Borrows flags
/// inside `join_all`.)
struct WaitForWorker {
    flag: Arc<AtomicBool>,
    sender: mpsc::Sender<Request>,
    sent: bool,
}

impl std::future::Future for WaitForWorker {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if !self.sent {
            self.sent = true;
            let request = (Arc::clone(&self.flag), cx.waker().clone());
            self.sender.send(request).expect("the worker runs");
        }
        Poll::Pending
    }
}

/// `threads` threads each answer `rounds` requests of one coroutine, each
/// after a pause chosen so that some wakes come while the loop is busy, some
/// while it is deciding to block, and some while it blocks. Returns how many
/// waits completed.
fn hammer(event_loop: &EventLoop, threads: usize, rounds: usize) -> usize {
    let completed = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for thread in 0..threads {
        let (sender, receiver) = mpsc::channel::<Request>();
        senders.push(sender);
        workers.push(std::thread::spawn(move || {
            for (round, (flag, waker)) in receiver.into_iter().enumerate() {
                match (round + thread) % 4 {
                    0 => {}
                    1 => std::thread::yield_now(),
                    2 => std::thread::sleep(Duration::from_micros(50)),
                    _ => std::thread::sleep(Duration::from_millis(1)),
                }
                flag.store(true, Ordering::Release);
                waker.wake();
            }
        }));
    }
    let count = Arc::clone(&completed);
    event_loop
        .run_until_complete(async move {
            let waits = senders.into_iter().map(|sender| {
                let count = Arc::clone(&count);
                async move {
                    for _ in 0..rounds {
                        WaitForWorker {
                            flag: Arc::new(AtomicBool::new(false)),
                            sender: sender.clone(),
                            sent: false,
                        }
                        .await;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            futures::future::join_all(waits).await;
        })
        .expect("the loop runs");
    for worker in workers {
        worker.join().expect("the worker finished");
    }
    completed.load(Ordering::Relaxed)
}

#[test]
fn wakes_from_three_threads_are_each_counted_once() {
    let done = watchdog(60);
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    let event_loop = EventLoop::new();
    assert_eq!(hammer(&event_loop, 3, rounds), 3 * rounds);
    drop(done);
}

#[test]
fn wakes_reach_a_loop_that_also_waits_for_a_timer() {
    let done = watchdog(60);
    let rounds = if cfg!(miri) { 10 } else { 500 };
    let event_loop = EventLoop::new();
    // A far timer: the loop waits with a deadline, and wakes come first.
    let far = event_loop.call_later(3600.0, || {}).unwrap();
    assert_eq!(hammer(&event_loop, 2, rounds), 2 * rounds);
    far.cancel();
    drop(done);
}

#[test]
fn a_manual_clock_loop_with_no_timer_waits_for_remote_wakes() {
    let done = watchdog(60);
    let rounds = if cfg!(miri) { 10 } else { 200 };
    let event_loop = EventLoop::with_clock(&ManualClock::new());
    assert_eq!(hammer(&event_loop, 2, rounds), 2 * rounds);
    assert_eq!(event_loop.time(), 0.0, "no timer, so the clock never moved");
    drop(done);
}
