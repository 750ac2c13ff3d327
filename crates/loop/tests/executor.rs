//! `run_in_executor`, the default thread pool, and `Completer`: CPython's
//! `test_run_in_executor` (test_events.py) and the rules of the issue:
//! panics become exceptions, a dropped completer fails its future, nothing
//! outlives the loop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use asyncio_core::Panic;
use asyncio_loop::{CompleterDropped, EventLoop, ThreadPool};

/// test_events.py `test_run_in_executor`: the call runs on another thread
/// and its result comes back.
#[test]
fn a_blocking_call_runs_on_another_thread_and_its_result_comes_back() {
    let event_loop = EventLoop::new();
    let future = event_loop
        .run_in_executor(|| ("yo", std::thread::current().id()))
        .unwrap();
    let (result, thread) = event_loop.run_until_complete(future).unwrap();
    assert_eq!(result, "yo");
    assert_ne!(thread, std::thread::current().id());
}

#[test]
fn a_panic_in_the_call_becomes_the_futures_exception() {
    let event_loop = EventLoop::new();
    let future = event_loop
        .run_in_executor(|| -> u32 { panic!("blocking call failed") })
        .unwrap();
    let error = event_loop.run_until_complete(future).unwrap_err();
    let exception = error.future_error().and_then(|e| e.exception()).unwrap();
    let panic = exception.downcast_ref::<Panic>().unwrap();
    assert_eq!(panic.message(), "blocking call failed");
    // The worker survived: the pool still runs calls.
    let again = event_loop.run_in_executor(|| 7).unwrap();
    assert_eq!(event_loop.run_until_complete(again).unwrap(), 7);
}

#[test]
fn the_pool_runs_at_most_its_workers_at_once() {
    let event_loop = EventLoop::new();
    event_loop.set_default_executor(ThreadPool::new(2)).unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..6)
        .map(|n| {
            let (running, most) = (running.clone(), most.clone());
            event_loop
                .run_in_executor(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    running.fetch_sub(1, Ordering::SeqCst);
                    n * n
                })
                .unwrap()
        })
        .collect();
    let mut results = Vec::new();
    for future in futures {
        results.push(event_loop.run_until_complete(future).unwrap());
    }
    assert_eq!(results, [0, 1, 4, 9, 16, 25]);
    assert!(
        most.load(Ordering::SeqCst) <= 2,
        "{}",
        most.load(Ordering::SeqCst)
    );
}

#[test]
fn close_lets_running_calls_finish_and_joins_the_workers() {
    let event_loop = EventLoop::new();
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let future = event_loop
        .run_in_executor(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(true, Ordering::SeqCst);
        })
        .unwrap();
    event_loop.close().unwrap();
    assert!(
        finished.load(Ordering::SeqCst),
        "close returned before the call finished"
    );
    // The loop closed before the result could be delivered.
    assert!(!future.done());
    assert!(event_loop.run_in_executor(|| ()).unwrap_err().is_closed());
}

#[test]
fn a_completer_sets_a_result_or_an_exception_from_another_thread() {
    let event_loop = EventLoop::new();
    let result = event_loop.create_future::<String>();
    let completer = event_loop.completer(&result).unwrap();
    std::thread::spawn(move || completer.set_result("from a thread".into()).unwrap())
        .join()
        .unwrap();
    assert_eq!(
        event_loop.run_until_complete(&result).unwrap(),
        "from a thread"
    );

    let failed = event_loop.create_future::<u32>();
    let completer = event_loop.completer(&failed).unwrap();
    std::thread::spawn(move || completer.set_exception("no luck").unwrap())
        .join()
        .unwrap();
    let error = event_loop.run_until_complete(failed).unwrap_err();
    assert_eq!(error.to_string(), "no luck");
}

#[test]
fn a_completer_dropped_unused_fails_its_future() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u32>();
    let completer = event_loop.completer(&future).unwrap();
    std::thread::spawn(move || drop(completer)).join().unwrap();
    let error = event_loop.run_until_complete(future).unwrap_err();
    let exception = error.future_error().and_then(|e| e.exception()).unwrap();
    assert!(exception.is::<CompleterDropped>());
}

#[test]
fn a_completer_used_after_close_hands_the_value_back() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<Vec<u8>>();
    let completer = event_loop.completer(&future).unwrap();
    event_loop.close().unwrap();
    let rejected = completer.set_result(vec![1, 2, 3]).unwrap_err();
    assert!(rejected.error().is_closed());
    assert_eq!(rejected.into_inner(), [1, 2, 3]);
    assert!(event_loop.completer(&future).unwrap_err().is_closed());
}

#[test]
fn a_cancelled_future_stays_cancelled_when_its_result_arrives() {
    let event_loop = EventLoop::new();
    let future = event_loop.create_future::<u32>();
    let completer = event_loop.completer(&future).unwrap();
    future.cancel();
    completer.set_result(1).unwrap();
    let stopper = event_loop.threadsafe_handle();
    stopper.stop().unwrap();
    event_loop.run_forever().unwrap();
    assert!(future.cancelled());
}

#[test]
fn a_completer_for_another_loops_future_is_refused() {
    let (one, two) = (EventLoop::new(), EventLoop::new());
    let future = one.create_future::<u32>();
    assert!(two.completer(&future).unwrap_err().is_foreign_future());
}

/// An executor whose `shutdown` or `Drop` panics, per `how`.
struct Panicking {
    how: &'static str,
}

impl asyncio_loop::Executor for Panicking {
    fn execute(&self, job: asyncio_loop::Job) {
        std::thread::spawn(job);
    }

    fn shutdown(&self) {
        if self.how == "shutdown" {
            panic!("shutdown failed");
        }
    }
}

impl Drop for Panicking {
    fn drop(&mut self) {
        if self.how == "drop" {
            panic!("drop failed");
        }
    }
}

/// Sets a flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// An executor that panics in `shutdown` or in its `Drop` is reported to
/// the exception handler: `close()` returns, queued work is dropped, and
/// other threads are refused.
#[test]
fn a_panicking_executor_is_reported_and_close_still_closes_everything() {
    for how in ["shutdown", "drop"] {
        let event_loop = EventLoop::new();
        let reports = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let heard = reports.clone();
        event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
            heard.borrow_mut().push(context.message.clone());
        }));
        event_loop.set_default_executor(Panicking { how }).unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        event_loop.call_soon(move || drop(flag)).unwrap();
        let remote = event_loop.threadsafe_handle();
        event_loop.close().unwrap();
        assert!(event_loop.is_closed());
        assert!(
            dropped.load(Ordering::SeqCst),
            "{how}: the queued callback was dropped"
        );
        let sent = std::thread::spawn(move || remote.call_soon_threadsafe(|| ()).is_ok())
            .join()
            .unwrap();
        assert!(!sent, "{how}: the remote queue is closed");
        assert_eq!(reports.borrow().len(), 1, "{how}: {:?}", reports.borrow());
    }
}

/// Dropping a loop whose executor panics, while another panic unwinds,
/// does not abort the process (two panics would).
#[test]
fn dropping_the_loop_during_a_panic_with_a_panicking_executor_does_not_abort() {
    let unwound = std::panic::catch_unwind(|| {
        let event_loop = EventLoop::new();
        event_loop.set_exception_handler(Some(|_: &asyncio_core::ExceptionContext| {}));
        event_loop
            .set_default_executor(Panicking { how: "shutdown" })
            .unwrap();
        panic!("the program's own panic");
    });
    assert!(unwound.is_err());
}

/// asyncio's `close()` does not wait for a job blocked on what queued work
/// holds: ours drops the queued work first, which frees the job, then
/// joins the executor.
#[test]
fn close_drops_queued_work_before_it_joins_the_executor() {
    let event_loop = EventLoop::new();
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    // The job waits (at most 10 s) until the channel closes.
    let job = event_loop
        .run_in_executor(move || receiver.recv_timeout(Duration::from_secs(10)).is_err())
        .unwrap();
    drop(job);
    let handle = event_loop.handle();
    // A pending task holds the sender.
    event_loop
        .create_task(async move {
            let _sender = sender;
            handle.sleep(3600.0).await
        })
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    let started = std::time::Instant::now();
    event_loop.close().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
