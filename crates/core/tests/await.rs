//! Awaiting a future, under executors other than asyncio-loop.

use asyncio_core::{Exception, Future};
use std::future::Future as _;

use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;

#[test]
fn a_done_future_is_ready_at_once() {
    let future = Future::new();
    future.set_result("ready").unwrap();
    assert_eq!(block_on(future.wait()).unwrap(), "ready");
    // Awaiting reads the result; it stays in place.
    assert_eq!(future.result().unwrap(), "ready");
}

#[test]
fn a_pending_future_wakes_its_waiter_when_completed() {
    let mut pool = LocalPool::new();
    let future: Future<u32> = Future::new();
    let waiter = future.clone();
    let output = std::rc::Rc::new(std::cell::Cell::new(None));
    let sink = output.clone();
    pool.spawner()
        .spawn_local(async move { sink.set(Some(waiter.await.unwrap())) })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(output.get(), None);
    future.set_result(5).unwrap();
    pool.run_until_stalled();
    assert_eq!(output.get(), Some(5));
}

#[test]
fn several_waiters_all_get_the_result() {
    let mut pool = LocalPool::new();
    let future: Future<u32> = Future::new();
    let total = std::rc::Rc::new(std::cell::Cell::new(0));
    for _ in 0..3 {
        let (waiter, sink) = (future.clone(), total.clone());
        pool.spawner()
            .spawn_local(async move {
                let value = waiter.await.unwrap();
                sink.set(sink.get() + value);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    future.set_result(2).unwrap();
    pool.run_until_stalled();
    assert_eq!(total.get(), 6);
}

#[test]
fn awaiting_a_failed_future_gives_its_exception() {
    let future: Future<()> = Future::new();
    future.set_exception(Exception::msg("failed")).unwrap();
    let error = block_on(future.wait()).unwrap_err();
    assert_eq!(error.exception().unwrap().to_string(), "failed");
}

#[test]
fn awaiting_a_cancelled_future_gives_a_cancelled_error() {
    let future: Future<()> = Future::new();
    future.cancel_with_message("bye");
    let error = block_on(future.wait()).unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(error.cancel_message(), Some("bye"));
}

#[test]
fn polling_again_with_the_same_waker_registers_it_once() {
    let future: Future<u8> = Future::new();
    let waker = futures::task::noop_waker();
    let mut context = std::task::Context::from_waker(&waker);
    let mut pinned = std::pin::pin!(future.wait());
    for _ in 0..3 {
        assert!(std::future::Future::poll(pinned.as_mut(), &mut context).is_pending());
    }
    assert_eq!(format!("{future:?}"), "<Future pending cb=[<waker>]>");
}

/// Counts its wakes.
#[derive(Default)]
struct Count(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<Count>, std::task::Waker) {
    let count = std::sync::Arc::new(Count::default());
    (count.clone(), std::task::Waker::from(count))
}

fn wakes(count: &Count) -> usize {
    count.0.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn a_dropped_awaiter_leaves_no_waker_behind() {
    let future: Future<u8> = Future::new();
    let (count, waker) = counting_waker();
    let mut context = std::task::Context::from_waker(&waker);
    {
        let mut wait = std::pin::pin!(future.wait());
        assert!(wait.as_mut().poll(&mut context).is_pending());
        assert_eq!(format!("{future:?}"), "<Future pending cb=[<waker>]>");
    }
    assert_eq!(format!("{future:?}"), "<Future pending>");
    future.set_result(1).unwrap();
    assert_eq!(wakes(&count), 0, "nobody was left to wake");
}

#[test]
fn polled_by_another_task_an_awaiter_replaces_its_waker() {
    let future: Future<u8> = Future::new();
    let (first, first_waker) = counting_waker();
    let (second, second_waker) = counting_waker();
    let mut wait = std::pin::pin!(future.wait());
    let _ = wait
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&first_waker));
    let _ = wait
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&second_waker));
    assert_eq!(format!("{future:?}"), "<Future pending cb=[<waker>]>");
    drop(first_waker);
    assert_eq!(
        std::sync::Arc::strong_count(&first),
        1,
        "the replaced waker was dropped"
    );
    future.set_result(1).unwrap();
    assert_eq!((wakes(&first), wakes(&second)), (0, 1));
}

#[test]
fn forty_thousand_racing_awaiters_leave_nothing_and_each_live_one_wakes_once() {
    // The shutdown-future pattern: every worker races its own work against
    // one shared future, and almost every worker's own work wins.
    let shutdown: Future<()> = Future::new();
    let (count, waker) = counting_waker();
    let mut context = std::task::Context::from_waker(&waker);
    let mut survivors = Vec::new();
    // Under Miri, a hundredth of the count: the same shape, in seconds.
    let awaiters = if cfg!(miri) { 400 } else { 40_000 };
    for n in 0..awaiters {
        let mut wait = Box::pin(shutdown.wait());
        assert!(wait.as_mut().poll(&mut context).is_pending());
        if n % (awaiters / 4) == 0 {
            survivors.push(wait);
        }
    }
    assert_eq!(
        format!("{shutdown:?}"),
        "<Future pending cb=[<waker>, <2 more>, <waker>]>"
    );
    shutdown.set_result(()).unwrap();
    assert_eq!(wakes(&count), 4, "each live awaiter woken exactly once");
    for mut wait in survivors {
        assert!(wait.as_mut().poll(&mut context).is_ready());
        assert!(futures::future::FusedFuture::is_terminated(&*wait));
    }
}

#[test]
fn awaiting_moves_out_a_result_that_is_not_clone() {
    #[derive(Debug)]
    struct NotClone(String);
    let future = Future::new();
    let waiter = future.clone();
    future.set_result(NotClone("moved".to_owned())).unwrap();
    let value = block_on(async move { waiter.wait_take().await }).unwrap();
    assert_eq!(value.0, "moved");
    let error = future.take_result().unwrap_err();
    assert_eq!(error.to_string(), "invalid state: result was taken");
}

#[test]
fn awaiting_a_reference_keeps_the_handle() {
    let future = Future::new();
    future.set_result(3).unwrap();
    let value = block_on(async { (&future).await });
    assert_eq!(value.unwrap(), 3);
    assert_eq!(future.result().unwrap(), 3);
}
