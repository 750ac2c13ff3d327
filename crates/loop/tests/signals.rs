//! Unix signal handlers on the loop (asyncio's `add_signal_handler`,
//! `unix_events.py`; IO62-IO64, IO82), with real signals: sent by the
//! system's `kill` program or raised by this process, and, for what ends a
//! process, received by a child copy of this test binary.
#![cfg(all(unix, not(miri)))]

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, LoopErrorKind};

/// Signals are the process's: the tests that handle them take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends `signal` to this process with the system's `kill`.
fn kill(signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(std::process::id().to_string())
        .status()
        .expect("`kill` runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Stops `event_loop` after `seconds` whatever happens: no test hangs.
fn bound(event_loop: &EventLoop, seconds: f64) {
    let stopper = event_loop.handle();
    event_loop
        .call_later(seconds, move || stopper.stop())
        .unwrap();
}

#[test]
fn a_handler_runs_as_a_callback_after_the_sender_yields() {
    let _turn = serial();
    // asyncio_signal's shape: the coroutine sends, says it yields, sleeps;
    // the handler runs while it sleeps, never inside the send.
    let event_loop = EventLoop::new();
    let lines = Rc::new(RefCell::new(Vec::new()));
    for (signal, name) in [(libc::SIGHUP, "SIGHUP"), (libc::SIGUSR1, "SIGUSR1")] {
        let lines = Rc::clone(&lines);
        event_loop
            .add_signal_handler(signal, move || {
                lines.borrow_mut().push(format!("signal_handler({name:?})"))
            })
            .unwrap();
    }
    let handle = event_loop.handle();
    let log = Rc::clone(&lines);
    event_loop
        .run_until_complete(async move {
            for (signal, name) in [
                (libc::SIGHUP, "SIGHUP"),
                (libc::SIGHUP, "SIGHUP"),
                (libc::SIGUSR1, "SIGUSR1"),
            ] {
                log.borrow_mut().push(format!("sending {name}"));
                signal_hook::low_level::raise(signal).unwrap();
                log.borrow_mut().push("yielding control".to_owned());
                handle.sleep(0.01).await.unwrap();
            }
        })
        .unwrap();
    assert_eq!(
        *lines.borrow(),
        [
            "sending SIGHUP",
            "yielding control",
            "signal_handler(\"SIGHUP\")",
            "sending SIGHUP",
            "yielding control",
            "signal_handler(\"SIGHUP\")",
            "sending SIGUSR1",
            "yielding control",
            "signal_handler(\"SIGUSR1\")",
        ]
    );
    for signal in [libc::SIGHUP, libc::SIGUSR1] {
        assert!(event_loop.remove_signal_handler(signal).unwrap());
    }
}

#[test]
fn the_handler_comes_one_iteration_after_the_loop_reads_the_signal() {
    let _turn = serial();
    // Raised inside a callback: the loop reads the socket in the next
    // iteration's I/O step and queues the handler, which runs in the one
    // after, behind what was queued meanwhile (IO63).
    let event_loop = EventLoop::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&order);
    event_loop
        .add_signal_handler(libc::SIGUSR2, move || seen.borrow_mut().push("handler"))
        .unwrap();
    let handle = event_loop.handle();
    let log = Rc::clone(&order);
    event_loop
        .call_soon(move || {
            signal_hook::low_level::raise(libc::SIGUSR2).unwrap();
            log.borrow_mut().push("raised");
            let log = Rc::clone(&log);
            let next = handle.clone();
            handle
                .call_soon(move || {
                    log.borrow_mut().push("next iteration");
                    let log = Rc::clone(&log);
                    next.call_soon(move || log.borrow_mut().push("two iterations on"))
                        .unwrap();
                })
                .unwrap();
        })
        .unwrap();
    bound(&event_loop, 0.2);
    event_loop.run_forever().unwrap();
    assert_eq!(
        *order.borrow(),
        ["raised", "next iteration", "two iterations on", "handler"]
    );
    assert!(event_loop.remove_signal_handler(libc::SIGUSR2).unwrap());
}

#[test]
fn a_signal_wakes_a_loop_waiting_in_the_poller() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    let got = event_loop.create_future::<i32>();
    let setter = got.clone();
    event_loop
        .add_signal_handler(libc::SIGUSR1, move || {
            let _ = setter.set_result(libc::SIGUSR1);
        })
        .unwrap();
    let sender = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(100));
        kill(libc::SIGUSR1);
    });
    bound(&event_loop, 10.0);
    let started = Instant::now();
    // Not stuck: a handled signal could still come.
    assert_eq!(event_loop.run_until_complete(&got).unwrap(), libc::SIGUSR1);
    assert!(started.elapsed() < Duration::from_secs(5));
    sender.join().unwrap();
    assert!(event_loop.remove_signal_handler(libc::SIGUSR1).unwrap());
}

#[test]
fn two_signals_sent_before_the_loop_runs_are_both_handled() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    for signal in [libc::SIGUSR1, libc::SIGUSR2] {
        let seen = Rc::clone(&seen);
        let stopper = event_loop.handle();
        event_loop
            .add_signal_handler(signal, move || {
                seen.borrow_mut().push(signal);
                if seen.borrow().len() == 2 {
                    stopper.stop();
                }
            })
            .unwrap();
    }
    kill(libc::SIGUSR1);
    kill(libc::SIGUSR2);
    bound(&event_loop, 10.0);
    event_loop.run_forever().unwrap();
    let mut seen = seen.borrow().clone();
    seen.sort_unstable();
    assert_eq!(seen, [libc::SIGUSR1, libc::SIGUSR2]);
    for signal in [libc::SIGUSR1, libc::SIGUSR2] {
        assert!(event_loop.remove_signal_handler(signal).unwrap());
    }
}

#[test]
fn a_new_handler_replaces_the_old_and_removal_says_whether_there_was_one() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    for which in ["first", "second"] {
        let calls = Rc::clone(&calls);
        let stopper = event_loop.handle();
        event_loop
            .add_signal_handler(libc::SIGHUP, move || {
                calls.borrow_mut().push(which);
                stopper.stop();
            })
            .unwrap();
    }
    signal_hook::low_level::raise(libc::SIGHUP).unwrap();
    bound(&event_loop, 10.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*calls.borrow(), ["second"]);
    assert!(event_loop.remove_signal_handler(libc::SIGHUP).unwrap());
    assert!(!event_loop.remove_signal_handler(libc::SIGHUP).unwrap());
    assert!(!event_loop.remove_signal_handler(libc::SIGUSR2).unwrap());
}

#[test]
fn bad_signals_are_typed_errors() {
    let event_loop = EventLoop::new();
    for (signal, message) in [
        (0, "invalid signal number 0"),
        (-3, "invalid signal number -3"),
        (1000, "invalid signal number 1000"),
        (libc::SIGKILL, "sig 9 cannot be caught"),
        (libc::SIGSTOP, "sig 19 cannot be caught"),
        (libc::SIGSEGV, "sig 11 cannot be caught"),
    ] {
        let error = event_loop.add_signal_handler(signal, || {}).unwrap_err();
        assert_eq!(error.kind(), LoopErrorKind::Signal);
        assert_eq!(error.signal(), Some(signal));
        assert_eq!(error.to_string(), message);
        let error = event_loop.remove_signal_handler(signal).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
    event_loop.close().unwrap();
    let error = event_loop
        .add_signal_handler(libc::SIGUSR1, || {})
        .unwrap_err();
    assert!(error.is_closed());
    assert!(!event_loop.remove_signal_handler(libc::SIGUSR1).unwrap());
}

#[test]
fn one_loop_at_a_time_handles_a_signal() {
    let _turn = serial();
    let first = EventLoop::new();
    let second = EventLoop::new();
    first.add_signal_handler(libc::SIGUSR2, || {}).unwrap();
    let error = second.add_signal_handler(libc::SIGUSR2, || {}).unwrap_err();
    assert_eq!(error.kind(), LoopErrorKind::Signal);
    assert_eq!(error.to_string(), "sig 12 is handled by another event loop");
    // The other loop's removal is no removal.
    assert!(!second.remove_signal_handler(libc::SIGUSR2).unwrap());
    // Closing the first hands the signal over.
    first.close().unwrap();
    second.add_signal_handler(libc::SIGUSR2, || {}).unwrap();
    assert!(second.remove_signal_handler(libc::SIGUSR2).unwrap());
}

#[test]
fn a_panicking_handler_is_reported_and_the_loop_goes_on() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    let reported = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&reported);
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        let exception = context.exception.as_ref().map(ToString::to_string);
        sink.borrow_mut().push(exception);
    }));
    event_loop
        .add_signal_handler(libc::SIGUSR1, || panic!("handler failed"))
        .unwrap();
    signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
    bound(&event_loop, 0.2);
    event_loop.run_forever().unwrap();
    assert_eq!(
        *reported.borrow(),
        [Some("panicked: handler failed".to_owned())]
    );
    // Still handled.
    signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
    bound(&event_loop, 0.2);
    event_loop.run_forever().unwrap();
    assert_eq!(reported.borrow().len(), 2);
    assert!(event_loop.remove_signal_handler(libc::SIGUSR1).unwrap());
}

#[test]
fn ctrl_c_cancels_the_main_task_of_run() {
    let _turn = serial();
    let log = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&log);
    let started = Instant::now();
    let outcome = asyncio_loop::run(async move {
        let handle = asyncio_loop::get_running_loop().unwrap();
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            kill(libc::SIGINT);
        });
        let slept = handle.sleep(10.0).await;
        // The cancellation arrives at the await; the coroutine cleans up
        // and returns it: `run` returns what main returns.
        seen.lock()
            .unwrap()
            .push(format!("cancelled: {}", slept.is_err()));
        slept
    })
    .unwrap();
    assert!(outcome.unwrap_err().is_cancelled());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(*log.lock().unwrap(), ["cancelled: true"]);
}

#[test]
fn a_second_ctrl_c_stops_a_main_that_ignores_the_first() {
    let _turn = serial();
    let started = Instant::now();
    let error = asyncio_loop::run(async move {
        let handle = asyncio_loop::get_running_loop().unwrap();
        std::thread::spawn(|| {
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(50));
                kill(libc::SIGINT);
            }
        });
        // Swallows the first cancellation and goes on waiting.
        let _ = handle.sleep(10.0).await;
        let _ = handle.sleep(10.0).await;
    })
    .unwrap_err();
    assert!(error.is_interrupted(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_main_that_handles_ctrl_c_returns_what_it_returns() {
    let _turn = serial();
    let answer = asyncio_loop::run(async move {
        let handle = asyncio_loop::get_running_loop().unwrap();
        signal_hook::low_level::raise(libc::SIGINT).unwrap();
        match handle.sleep(10.0).await {
            Err(error) if error.is_cancelled() => "shut down cleanly",
            _ => "not cancelled",
        }
    })
    .unwrap();
    assert_eq!(answer, "shut down cleanly");
}

#[test]
fn runs_sigint_handler_does_not_hide_a_stuck_main() {
    let _turn = serial();
    let error = asyncio_loop::run(async {
        let handle = asyncio_loop::get_running_loop().unwrap();
        handle.create_future::<()>().await
    })
    .unwrap_err();
    assert!(error.is_stuck(), "{error:?}");
}

#[test]
fn run_forever_interruptible_ends_on_ctrl_c_or_stop() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    event_loop
        .call_soon(|| signal_hook::low_level::raise(libc::SIGINT).unwrap())
        .unwrap();
    bound(&event_loop, 10.0);
    let error = event_loop.run_forever_interruptible().unwrap_err();
    assert!(error.is_interrupted());
    // Its handler is gone; a plain stop ends it with Ok.
    assert!(!event_loop.remove_signal_handler(libc::SIGINT).unwrap());
    let stopper = event_loop.handle();
    event_loop.call_soon(move || stopper.stop()).unwrap();
    event_loop.run_forever_interruptible().unwrap();
    // A handler of the loop's own decides instead.
    let calls = Rc::new(RefCell::new(0));
    let (count, stopper) = (Rc::clone(&calls), event_loop.handle());
    event_loop
        .add_signal_handler(libc::SIGINT, move || {
            *count.borrow_mut() += 1;
            stopper.stop();
        })
        .unwrap();
    event_loop
        .call_soon(|| signal_hook::low_level::raise(libc::SIGINT).unwrap())
        .unwrap();
    event_loop.run_forever_interruptible().unwrap();
    assert_eq!(*calls.borrow(), 1);
    assert!(event_loop.remove_signal_handler(libc::SIGINT).unwrap());
}

/// What a child copy of this binary does, named by `SIGNAL_CHILD`; the
/// test returns at once in the parent.
#[test]
fn child_scenario() {
    let Ok(scenario) = std::env::var("SIGNAL_CHILD") else {
        return;
    };
    let event_loop = EventLoop::new();
    let signal = match scenario.as_str() {
        "removed" => {
            event_loop.add_signal_handler(libc::SIGUSR1, || {}).unwrap();
            assert!(event_loop.remove_signal_handler(libc::SIGUSR1).unwrap());
            libc::SIGUSR1
        }
        "closed" => {
            event_loop.add_signal_handler(libc::SIGTERM, || {}).unwrap();
            event_loop.close().unwrap();
            libc::SIGTERM
        }
        "dropped" => {
            event_loop.add_signal_handler(libc::SIGINT, || {}).unwrap();
            drop(event_loop);
            libc::SIGINT
        }
        "after_run" => {
            drop(event_loop);
            asyncio_loop::run(async {}).unwrap();
            libc::SIGINT
        }
        "sigpipe" => {
            event_loop.add_signal_handler(libc::SIGPIPE, || {}).unwrap();
            assert!(event_loop.remove_signal_handler(libc::SIGPIPE).unwrap());
            libc::SIGPIPE
        }
        other => panic!("unknown scenario {other}"),
    };
    signal_hook::low_level::raise(signal).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    println!("survived");
}

/// Runs `scenario` in a child copy of this binary, within 20 seconds.
fn run_child(scenario: &str) -> std::process::Output {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_scenario",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SIGNAL_CHILD", scenario)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn removal_close_and_drop_give_the_signal_its_default_effect_again() {
    use std::os::unix::process::ExitStatusExt;

    for (scenario, signal) in [
        ("removed", libc::SIGUSR1),
        ("closed", libc::SIGTERM),
        ("dropped", libc::SIGINT),
        ("after_run", libc::SIGINT),
    ] {
        let output = run_child(scenario);
        assert_eq!(
            output.status.signal(),
            Some(signal),
            "{scenario}: {:?} {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        );
    }
    // SIGPIPE, which Rust programs ignore, stays ignored.
    let output = run_child("sigpipe");
    assert!(output.status.success(), "{:?}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).contains("survived"));
}

#[test]
fn a_handler_may_replace_or_remove_itself() {
    let _turn = serial();
    let event_loop = EventLoop::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let (log, handle) = (Rc::clone(&calls), event_loop.handle());
    event_loop
        .add_signal_handler(libc::SIGHUP, move || {
            log.borrow_mut().push("first");
            // Replaced from inside itself: the next signal runs the new one,
            // which removes itself.
            let (log, inner) = (Rc::clone(&log), handle.clone());
            handle
                .add_signal_handler(libc::SIGHUP, move || {
                    log.borrow_mut().push("second");
                    assert!(inner.remove_signal_handler(libc::SIGHUP).unwrap());
                    inner.stop();
                })
                .unwrap();
            signal_hook::low_level::raise(libc::SIGHUP).unwrap();
        })
        .unwrap();
    signal_hook::low_level::raise(libc::SIGHUP).unwrap();
    bound(&event_loop, 10.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*calls.borrow(), ["first", "second"]);
    assert!(!event_loop.remove_signal_handler(libc::SIGHUP).unwrap());
}
