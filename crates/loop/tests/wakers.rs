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
