//! Awaiting a future, under executors other than asyncio-loop.

use asyncio_core::{Exception, Future};
use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;

#[test]
fn a_done_future_is_ready_at_once() {
    let future = Future::new();
    future.set_result("ready").unwrap();
    assert_eq!(block_on(future.clone()).unwrap(), "ready");
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
    let error = block_on(future).unwrap_err();
    assert_eq!(error.exception().unwrap().to_string(), "failed");
}

#[test]
fn awaiting_a_cancelled_future_gives_a_cancelled_error() {
    let future: Future<()> = Future::new();
    future.cancel_with_message("bye");
    let error = block_on(future).unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(error.cancel_message(), Some("bye"));
}

#[test]
fn polling_again_with_the_same_waker_registers_it_once() {
    let future: Future<u8> = Future::new();
    let waker = futures::task::noop_waker();
    let mut context = std::task::Context::from_waker(&waker);
    let mut pinned = std::pin::pin!(future.clone());
    for _ in 0..3 {
        assert!(std::future::Future::poll(pinned.as_mut(), &mut context).is_pending());
    }
    assert_eq!(format!("{future:?}"), "<Future pending cb=[<waker>]>");
}
