//! Task wakers: woken on the loop's thread, from another thread, or after
//! the loop is gone.

mod support;

use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use asyncio_loop::EventLoop;
use futures::channel::oneshot;
use support::{check, Trace};

#[test]
fn a_wake_from_another_thread_unblocks_an_idle_loop() {
    let event_loop = EventLoop::new();
    let (sender, receiver) = oneshot::channel::<u32>();
    let sender_thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
        sender.send(17).unwrap();
    });
    // Nothing is queued while the coroutine waits: the loop blocks until the
    // other thread's wake arrives.
    let value = event_loop
        .run_until_complete(async { receiver.await.unwrap() })
        .unwrap();
    sender_thread.join().unwrap();
    assert_eq!(value, 17);
}

#[test]
fn many_wakes_queue_a_single_step() {
    let event_loop = EventLoop::new();
    let trace = Trace::new();
    let log = trace.clone();
    let polls = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = polls.clone();
    event_loop
        .run_until_complete(futures::future::poll_fn(move |context| {
            counted.set(counted.get() + 1);
            if counted.get() == 1 {
                for _ in 0..5 {
                    context.waker().wake_by_ref();
                }
                return std::task::Poll::Pending;
            }
            log.log("polled again");
            std::task::Poll::Ready(())
        }))
        .unwrap();
    assert_eq!(polls.get(), 2);
    check(&trace, &["polled again"]);
}

#[test]
fn waking_a_task_after_its_loop_is_gone_does_nothing() {
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let event_loop = EventLoop::new();
    let keep = Arc::clone(&stash);
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    let _ = event_loop.run_until_complete(futures::future::poll_fn(move |context| {
        *keep.lock().unwrap() = Some(context.waker().clone());
        std::task::Poll::<()>::Pending
    }));
    drop(event_loop);
    let waker = stash.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    std::thread::spawn(move || waker.wake()).join().unwrap();
}

/// A task that keeps nothing but a count of its polls, and never finishes.
fn counting_polls(
    polls: &std::rc::Rc<std::cell::Cell<u32>>,
) -> impl std::future::Future<Output = ()> {
    let polls = std::rc::Rc::clone(polls);
    futures::future::poll_fn(move |_| {
        polls.set(polls.get() + 1);
        std::task::Poll::Pending
    })
}

#[test]
fn a_stale_waker_of_a_finished_task_wakes_no_later_task() {
    // A finished task's waker is reused for a later task only when nothing
    // else holds a clone; a clone kept after the task finished names the
    // finished task, and waking it wakes nothing, on this thread or another.
    let event_loop = EventLoop::new();
    let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
    let keep = Arc::clone(&kept);
    let first = event_loop
        .create_task(futures::future::poll_fn(move |context| {
            *keep.lock().unwrap() = Some(context.waker().clone());
            std::task::Poll::Ready(())
        }))
        .unwrap();
    event_loop.run_until_complete(first).unwrap();
    // Tasks made after it, some reusing the wakers of tasks that finished
    // with no clone left.
    for _ in 0..4 {
        let done = event_loop.create_task(async {}).unwrap();
        event_loop.run_until_complete(done).unwrap();
    }
    let polls = std::rc::Rc::new(std::cell::Cell::new(0));
    let later = event_loop.create_task(counting_polls(&polls)).unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(polls.get(), 1);
    let stale = kept.lock().unwrap().take().unwrap();
    stale.wake_by_ref();
    std::thread::spawn(move || stale.wake()).join().unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(polls.get(), 1, "the later task was not woken");
    assert!(!later.done());
}

#[test]
fn reused_wakers_wake_their_own_tasks_from_any_thread() {
    // Many short tasks in a row, each woken once from another thread: every
    // waker after the first few is a finished task's, reused.
    let event_loop = EventLoop::new();
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    let mut total = 0u64;
    for round in 0..rounds {
        let (sender, receiver) = oneshot::channel::<u64>();
        let task = event_loop
            .create_task(async move { receiver.await.unwrap() })
            .unwrap();
        event_loop.run_once(Some(Duration::ZERO)).unwrap(); // it waits
        std::thread::spawn(move || sender.send(round).unwrap())
            .join()
            .unwrap();
        total += event_loop.run_until_complete(task).unwrap();
    }
    assert_eq!(total, (0..rounds).sum::<u64>());
}
