//! Dropping and closing: nothing leaks, nothing runs.

mod support;

use asyncio_loop::EventLoop;
use support::{check, run_once, Counter, Trace};

#[test]
fn dropping_the_loop_drops_queued_callbacks_without_running_them() {
    let counter = Counter::new();
    let trace = Trace::new();
    let event_loop = EventLoop::new();
    for _ in 0..3 {
        let (token, log) = (counter.token(), trace.clone());
        event_loop
            .call_soon(move || {
                let _token = token;
                log.log("ran");
            })
            .unwrap();
    }
    drop(event_loop);
    assert_eq!(counter.dropped(), 3);
    check(&trace, &[]);
}

#[test]
fn a_callback_refused_by_a_closed_loop_is_dropped_at_once() {
    let counter = Counter::new();
    let event_loop = EventLoop::new();
    event_loop.close().unwrap();
    let token = counter.token();
    let refused = event_loop.call_soon(move || drop(token));
    assert!(refused.unwrap_err().is_closed());
    assert_eq!(counter.dropped(), 1);
}

#[test]
fn closing_drops_queued_callbacks_and_pending_tasks() {
    let counter = Counter::new();
    let event_loop = EventLoop::new();
    let token = counter.token();
    event_loop.call_soon(move || drop(token)).unwrap();
    let future = event_loop.create_future::<()>();
    let (waiter, token) = (future.clone(), counter.token());
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop()).unwrap();
    let _ = event_loop.run_until_complete(async move {
        let _token = token;
        waiter.await.ok();
    });
    // One callback ran (dropping its token); the task is suspended on `future`.
    assert_eq!(counter.dropped(), 1);
    event_loop.close().unwrap();
    assert_eq!(counter.dropped(), 2, "close drops the pending task");
    assert!(event_loop.is_closed());
}

#[test]
fn a_callback_capturing_the_loop_handle_does_not_keep_the_loop_alive() {
    let counter = Counter::new();
    let event_loop = EventLoop::new();
    let (handle, token) = (event_loop.handle(), counter.token());
    event_loop
        .call_soon(move || {
            let _token = token;
            handle.stop();
        })
        .unwrap();
    let weak_probe = event_loop.handle();
    drop(event_loop);
    assert_eq!(counter.dropped(), 1);
    assert!(weak_probe.is_closed());
}

#[test]
fn a_done_callback_capturing_its_own_future_is_released_once_it_ran() {
    // The future's result is a token: it is dropped when the future's state is freed.
    let results = Counter::new();
    let callbacks = Counter::new();
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    let (itself, handle, token) = (future.clone(), event_loop.handle(), callbacks.token());
    future
        .add_done_callback(move |_| {
            let _keep = (&itself, &handle, &token);
        })
        .unwrap();
    future.set_result(results.token()).unwrap();
    run_once(&event_loop);
    assert_eq!(callbacks.dropped(), 1, "the callback ran and was dropped");
    drop(future);
    assert_eq!(results.dropped(), 1, "no cycle keeps the future alive");
    // Nor the loop: the callback held only a weak handle.
    drop(event_loop);
}

#[test]
fn a_removed_done_callback_releases_its_captures_at_once() {
    let results = Counter::new();
    let callbacks = Counter::new();
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    let (itself, handle, token) = (future.clone(), event_loop.handle(), callbacks.token());
    let key = future
        .add_done_callback(move |_| {
            let _keep = (&itself, &handle, &token);
        })
        .unwrap();
    assert_eq!(future.remove_done_callback(key), 1);
    assert_eq!(callbacks.dropped(), 1);
    assert_eq!(future.remove_done_callback(key), 0);
    future.set_result(results.token()).unwrap();
    drop(future);
    assert_eq!(results.dropped(), 1, "no cycle keeps the future alive");
}

#[test]
fn a_task_that_finished_releases_its_coroutine_and_result_future() {
    let captured = Counter::new();
    let event_loop = EventLoop::new();
    let token = captured.token();
    let handle = event_loop.handle();
    let output = event_loop
        .run_until_complete(async move {
            let _token = token;
            let _handle = handle;
            "done"
        })
        .unwrap();
    assert_eq!(output, "done");
    assert_eq!(captured.dropped(), 1);
}

#[test]
fn callbacks_dropped_by_close_may_use_the_loop_and_find_it_closed() {
    struct CallsBack(asyncio_loop::LoopHandle, Trace);
    impl Drop for CallsBack {
        fn drop(&mut self) {
            let refused = self.0.call_soon(|| {}).unwrap_err().is_closed();
            self.1.log(format!("closed when dropped: {refused}"));
        }
    }
    let trace = Trace::new();
    let event_loop = EventLoop::new();
    let guard = CallsBack(event_loop.handle(), trace.clone());
    event_loop.call_soon(move || drop(guard)).unwrap();
    event_loop.close().unwrap();
    check(&trace, &["closed when dropped: true"]);
}

#[test]
fn results_survive_the_loop() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future();
    future.set_result("kept").unwrap();
    drop(event_loop);
    assert_eq!(future.result().unwrap(), "kept");
    // Its loop is gone, so new callbacks cannot be scheduled.
    assert!(future
        .add_done_callback(|_| {})
        .unwrap_err()
        .is_loop_closed());
}

#[test]
fn a_done_callback_of_a_future_that_never_completes_frees_it_when_it_uses_its_argument() {
    // The way out of the cycle documented on `add_done_callback`: the
    // callback is handed the future, so it need not capture a clone. Then a
    // future that never completes is freed with its last handle, loop or not.
    let callbacks = Counter::new();
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let token = callbacks.token();
    future
        .add_done_callback(move |itself| {
            let _keep = (&token, itself.done());
        })
        .unwrap();
    event_loop.close().unwrap();
    drop(event_loop);
    assert_eq!(callbacks.dropped(), 0, "the pending future still holds it");
    drop(future);
    assert_eq!(
        callbacks.dropped(),
        1,
        "freed with the future's last handle"
    );
}

#[test]
fn a_done_callback_capturing_its_own_pending_future_is_a_cycle_that_close_does_not_break() {
    // Documented on `add_done_callback`, not fixed: the loop does not know
    // the futures that are pending (tracking them would cost every
    // `add_done_callback`). This test pins the documented behaviour; the
    // cycle is broken by hand, by removing the callback.
    let callbacks = Counter::new();
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u8>();
    let (itself, token) = (future.clone(), callbacks.token());
    let key = future
        .add_done_callback(move |_| {
            let _keep = (&itself, &token);
        })
        .unwrap();
    event_loop.close().unwrap();
    drop(event_loop);
    assert_eq!(callbacks.dropped(), 0);
    assert_eq!(future.remove_done_callback(key), 1);
    assert_eq!(
        callbacks.dropped(),
        1,
        "removing the callback breaks the cycle"
    );
}

/// How long the chains below are: a million futures (hundreds of MB of
/// stack if their drops recursed); fewer under Miri, which is slow.
const CHAIN: usize = if cfg!(miri) { 200 } else { 1_000_000 };

/// `CHAIN` futures, each held by the previous one's done-callback; the head
/// is returned, and `dropped` counts the tails dropped.
fn chain_of_futures(event_loop: &EventLoop, dropped: &Counter) -> asyncio_core::Future<u8> {
    let mut next: Option<asyncio_core::Future<u8>> = None;
    for _ in 0..CHAIN {
        let future: asyncio_core::Future<u8> = event_loop.create_future();
        let (held, token) = (next.take(), dropped.token());
        future
            .add_done_callback(move |_| {
                let _ = (&held, &token);
            })
            .unwrap();
        next = Some(future);
    }
    next.unwrap()
}

/// A long chain of futures linked through done-callbacks is dropped one
/// future after another, not recursively: no stack overflow, linear time.
#[test]
fn dropping_a_chain_of_a_million_futures_does_not_overflow_the_stack() {
    let event_loop = EventLoop::new();
    let dropped = Counter::new();
    let head = chain_of_futures(&event_loop, &dropped);
    drop(head);
    assert_eq!(dropped.dropped(), CHAIN);
}

/// The same chain held by a pending task is dropped by `close()`.
#[test]
fn closing_a_loop_drops_a_chain_of_a_million_futures() {
    let event_loop = EventLoop::new();
    let dropped = Counter::new();
    let head = chain_of_futures(&event_loop, &dropped);
    event_loop.create_task(async move { head.await }).unwrap();
    event_loop
        .run_once(Some(std::time::Duration::ZERO))
        .unwrap();
    event_loop.close().unwrap();
    assert_eq!(dropped.dropped(), CHAIN);
}
