//! Subprocesses with a protocol against real programs (`sh`, `cat`,
//! `true`, `sleep`): the order asyncio's calls come in (IO54-IO58), return
//! codes, signals, closing, broken pipes, and no descriptor or zombie left.
//! Every run is bounded by a stop timer.
#![cfg(all(unix, not(miri)))]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, LoopHandle};
use asyncio_process::{
    subprocess_command, subprocess_exec, subprocess_shell, ProcessError, ProcessErrorKind, Stdio,
    Stdios, SubprocessProtocol, SubprocessTransport,
};

/// Records every call, as text.
struct Recorder(Rc<RefCell<Vec<String>>>);

impl SubprocessProtocol for Recorder {
    fn connection_made(&mut self, transport: &SubprocessTransport) {
        let _ = transport.get_pid();
        self.0.borrow_mut().push("connection_made".to_owned());
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        self.0.borrow_mut().push(format!("data {fd} {text:?}"));
    }
    fn pipe_connection_lost(&mut self, fd: i32, error: Option<ProcessError>) {
        let error = error
            .map(|error| format!(" {:?}", error.kind()))
            .unwrap_or_default();
        self.0.borrow_mut().push(format!("pipe_lost {fd}{error}"));
    }
    fn process_exited(&mut self) {
        self.0.borrow_mut().push("process_exited".to_owned());
    }
    fn connection_lost(&mut self, error: Option<ProcessError>) {
        self.0
            .borrow_mut()
            .push(format!("connection_lost {}", error.is_none()));
    }
}

/// A log and a factory of `Recorder`s that write to it.
fn recording() -> (
    Rc<RefCell<Vec<String>>>,
    impl FnOnce() -> Recorder + 'static,
) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&log);
    (log, move || Recorder(seen))
}

/// A bounded run (see `common::run_for`).
fn run<T: 'static>(
    main: impl FnOnce(LoopHandle) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>,
) -> T {
    common::run_for(20.0, main)
}

/// A new loop whose exception handler records each report's message.
fn reporting_loop() -> (EventLoop, Rc<RefCell<Vec<String>>>) {
    let event_loop = EventLoop::new();
    let reported = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&reported);
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        sink.borrow_mut().push(context.message.to_string());
    }));
    (event_loop, reported)
}

#[test]
fn calls_come_in_asyncios_order_with_the_output_before_the_exit() {
    let (log, recorder) = recording();
    let code = run(move |handle| {
        Box::pin(async move {
            let transport = subprocess_exec(
                &handle,
                recorder,
                "sh",
                &["-c", "printf hello; printf oops >&2; exit 3"],
            )
            .await
            .unwrap();
            // connection_made ran before subprocess_exec returned.
            assert!(transport.get_returncode().is_none());
            transport.wait().await.unwrap()
        })
    });
    assert_eq!(code, 3);
    let log = log.borrow();
    assert_eq!(log[0], "connection_made");
    let position = |entry: &str| log.iter().position(|e| e == entry).unwrap_or(usize::MAX);
    assert!(
        position("data 1 \"hello\"") < position("process_exited"),
        "{log:?}"
    );
    assert!(
        position("data 2 \"oops\"") < position("process_exited"),
        "{log:?}"
    );
    for fd in 0..3 {
        assert!(position(&format!("pipe_lost {fd}")) < log.len(), "{log:?}");
    }
    assert_eq!(log.last().unwrap(), "connection_lost true");
    assert_eq!(log.len(), 8, "{log:?}");
}

#[test]
fn output_written_before_exit_always_comes_first() {
    for _ in 0..30 {
        let (log, recorder) = recording();
        run(move |handle| {
            Box::pin(async move {
                let transport = subprocess_exec(&handle, recorder, "echo", &["x"])
                    .await
                    .unwrap();
                transport.wait().await.unwrap()
            })
        });
        let log = log.borrow();
        let data = log.iter().position(|e| e.starts_with("data 1")).unwrap();
        let exited = log.iter().position(|e| e == "process_exited").unwrap();
        assert!(data < exited, "{log:?}");
    }
}

#[test]
fn cat_echoes_what_its_stdin_gets() {
    let (log, recorder) = recording();
    let code = run(move |handle| {
        Box::pin(async move {
            let transport = subprocess_exec(&handle, recorder, "cat", &[] as &[&str])
                .await
                .unwrap();
            let stdin = transport.get_pipe_transport(0).unwrap();
            stdin.write(b"through cat").unwrap();
            stdin.close();
            assert!(transport
                .get_pipe_transport(1)
                .unwrap()
                .write(b"x")
                .is_err());
            transport.wait().await.unwrap()
        })
    });
    assert_eq!(code, 0);
    let log = log.borrow();
    let received: String = log
        .iter()
        .filter_map(|e| e.strip_prefix("data 1 "))
        .map(|text| text.trim_matches('"').to_owned())
        .collect();
    assert_eq!(received, "through cat");
}

#[test]
fn signals_kill_and_close() {
    let (killed, after, closed, terminated) = run(|handle| {
        Box::pin(async move {
            let quiet = || Recorder(Rc::default());
            let transport = subprocess_exec(&handle, quiet, "sleep", &["10"])
                .await
                .unwrap();
            transport.kill().unwrap();
            let killed = transport.wait().await.unwrap();
            // Exited and reaped: no signal can reach it.
            let after = transport.send_signal(15).unwrap_err();
            let transport = subprocess_exec(&handle, quiet, "sleep", &["10"])
                .await
                .unwrap();
            transport.close();
            assert!(transport.is_closing());
            let closed = transport.wait().await.unwrap();
            let transport = subprocess_exec(&handle, quiet, "sleep", &["10"])
                .await
                .unwrap();
            transport.terminate().unwrap();
            let terminated = transport.wait().await.unwrap();
            (killed, after, closed, terminated)
        })
    });
    assert_eq!(killed, -9);
    assert!(after.is_process_lookup(), "{after:?}");
    assert_eq!(closed, -9);
    assert_eq!(terminated, -15);
}

#[test]
fn a_child_that_closes_its_stdin_gives_a_broken_pipe_not_a_crash() {
    let (log, recorder) = recording();
    run(move |handle| {
        Box::pin(async move {
            let transport = subprocess_exec(
                &handle,
                recorder,
                "sh",
                &["-c", "sleep 0.1; exec 0<&-; sleep 0.2"],
            )
            .await
            .unwrap();
            let stdin = transport.get_pipe_transport(0).unwrap();
            // More than a pipe holds: the rest is buffered, then refused.
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..16 {
                stdin.write(&chunk).unwrap();
            }
            transport.wait().await.unwrap()
        })
    });
    let log = log.borrow();
    assert!(
        log.iter().any(|e| e == "pipe_lost 0 Io(BrokenPipe)"),
        "{log:?}"
    );
}

#[test]
fn a_stdin_closed_before_any_write_ends_cleanly_and_later_writes_are_dropped() {
    let (log, recorder) = recording();
    run(move |handle| {
        Box::pin(async move {
            let transport =
                subprocess_exec(&handle, recorder, "sh", &["-c", "exec 0<&-; sleep 0.3"])
                    .await
                    .unwrap();
            let stdin = transport.get_pipe_transport(0).unwrap();
            handle.sleep(0.15).await.unwrap();
            // The pipe ended without an error (nothing was buffered), as
            // asyncio's does; writes now are dropped, and from the sixth
            // on each logs asyncio's warning (CPython 3.11 prints it for
            // writes 6, 7 and 8 of eight made to a stdin the child closed).
            assert!(stdin.is_closing());
            let warning = [
                "asyncio WARN pipe closed by peer or os.write(pipe, data) raised exception."
                    .to_owned(),
            ];
            for write in 1..=8 {
                let (written, records) = asyncio_testing::logged(|| stdin.write(b"too late"));
                written.unwrap();
                let expected: &[String] = if write >= 6 { &warning } else { &[] };
                assert_eq!(records, expected, "write {write}");
            }
            transport.wait().await.unwrap()
        })
    });
    assert!(
        log.borrow().iter().any(|e| e == "pipe_lost 0"),
        "{:?}",
        log.borrow()
    );
}

#[test]
fn children_left_running_are_reaped_after_the_loop_closes_or_the_transport_goes() {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let (running, dropped) = event_loop
        .run_until_complete(async move {
            let quiet = || Recorder(Rc::default());
            let running = subprocess_exec(&handle, quiet, "sleep", &["0.2"])
                .await
                .unwrap();
            let dropped = subprocess_exec(&handle, quiet, "sleep", &["10"])
                .await
                .unwrap();
            (running, dropped.get_pid())
        })
        .unwrap();
    // The last handle gone: killed, as asyncio's collected transport is.
    let running_pid = running.get_pid();
    drop(running);
    let _ = dropped;
    event_loop.close().unwrap();
    // The loop is closed with both watches pending: threads reap them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (common::exists(running_pid) || common::exists(dropped)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!common::exists(running_pid) && !common::exists(dropped));
}

#[test]
fn shell_commands_and_standard_stream_choices() {
    let (log, recorder) = recording();
    run(move |handle| {
        Box::pin(async move {
            let transport = subprocess_shell(&handle, recorder, "echo out; echo err >&2")
                .await
                .unwrap();
            transport.wait().await.unwrap();
        })
    });
    assert!(
        log.borrow().iter().any(|e| e == "data 1 \"out\\n\""),
        "{:?}",
        log.borrow()
    );
    assert!(
        log.borrow().iter().any(|e| e == "data 2 \"err\\n\""),
        "{:?}",
        log.borrow()
    );

    // stderr to stdout, stdin from /dev/null: one pipe, both texts.
    let (log, recorder) = recording();
    run(move |handle| {
        Box::pin(async move {
            let mut command = std::process::Command::new("sh");
            command.args(["-c", "cat; echo out; echo err >&2"]);
            let stdios = Stdios::pipes().stdin(Stdio::Null).stderr(Stdio::Stdout);
            let transport = subprocess_command(&handle, recorder, command, stdios)
                .await
                .unwrap();
            assert!(transport.get_pipe_transport(0).is_none());
            assert!(transport.get_pipe_transport(2).is_none());
            transport.wait().await.unwrap();
        })
    });
    let joined: String = log
        .borrow()
        .iter()
        .filter_map(|e| e.strip_prefix("data 1 "))
        .map(|text| text.trim_matches('"').replace("\\n", "\n"))
        .collect();
    assert_eq!(joined, "out\nerr\n");
    let bad = run(|handle| {
        Box::pin(async move {
            let stdios = Stdios::pipes().stdout(Stdio::Stdout);
            subprocess_command(
                &handle,
                || Recorder(Rc::default()),
                std::process::Command::new("true"),
                stdios,
            )
            .await
            .unwrap_err()
        })
    });
    assert_eq!(bad.kind(), ProcessErrorKind::InvalidArgument);
}

#[test]
fn a_panicking_protocol_is_reported_and_the_process_still_ends() {
    struct Panics;
    impl SubprocessProtocol for Panics {
        fn pipe_data_received(&mut self, _fd: i32, _data: &[u8]) {
            panic!("protocol failed");
        }
    }
    let (event_loop, reported) = reporting_loop();
    let handle = event_loop.handle();
    let code = event_loop
        .run_until_complete(async move {
            let transport = subprocess_exec(&handle, || Panics, "echo", &["x"])
                .await
                .unwrap();
            transport.wait().await.unwrap()
        })
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        *reported.borrow(),
        ["Exception in subprocess protocol.pipe_data_received()"]
    );
}

/// Writing pauses and resumes the protocol as asyncio's pipe transport
/// does: a write above the high-water mark from outside the protocol tells
/// it at once; one from inside a protocol call, as soon as that call
/// returns; the pipe emptying below the low-water mark resumes it.
#[test]
fn writes_pause_and_resume_the_protocol() {
    /// Writes 256 KiB to a child that reads nothing for 0.2 s, from
    /// `connection_made`; records the calls.
    struct Flow(Rc<RefCell<Vec<&'static str>>>);
    impl SubprocessProtocol for Flow {
        fn connection_made(&mut self, transport: &SubprocessTransport) {
            let stdin = transport.get_pipe_transport(0).unwrap();
            stdin.write(&[b'w'; 256 * 1024]).unwrap();
            self.0.borrow_mut().push("connection_made returns");
        }
        fn pause_writing(&mut self) {
            self.0.borrow_mut().push("pause_writing");
        }
        fn resume_writing(&mut self) {
            self.0.borrow_mut().push("resume_writing");
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&log);
    let after_write = run(move |handle| {
        Box::pin(async move {
            let transport = subprocess_command(
                &handle,
                move || Flow(seen),
                {
                    let mut command = std::process::Command::new("sh");
                    command.args(["-c", "sleep 0.2; cat > /dev/null"]);
                    command
                },
                Stdios::inherit().stdin(Stdio::Pipe),
            )
            .await
            .unwrap();
            let calls = |transport: &SubprocessTransport| {
                transport.with_protocol(|flow: &mut Flow| flow.0.borrow().len())
            };
            // Resumed once the child has read; then a write from here
            // pauses it before `write` returns.
            while calls(&transport) != Some(3) {
                handle.sleep(0.01).await.unwrap();
            }
            let stdin = transport.get_pipe_transport(0).unwrap();
            stdin.write(&[b'v'; 256 * 1024]).unwrap();
            let after_write = calls(&transport);
            stdin.close();
            transport.wait().await.unwrap();
            after_write
        })
    });
    assert_eq!(after_write, Some(4), "paused before write returned");
    assert_eq!(
        *log.borrow(),
        [
            "connection_made returns",
            "pause_writing",
            "resume_writing",
            "pause_writing",
            "resume_writing"
        ]
    );
}

/// `test_cancel_post_init`: the task making a subprocess transport is
/// cancelled by a callback queued right after it: it ends cancelled, and
/// the loop goes on without a hang or a report.
#[test]
fn cancelling_the_transports_creation_right_away() {
    struct Quiet;
    impl SubprocessProtocol for Quiet {}
    let (event_loop, reported) = reporting_loop();
    let handle = event_loop.handle();
    let stopper = event_loop.handle();
    event_loop.call_later(20.0, move || stopper.stop()).unwrap();
    let cancelled = event_loop
        .run_until_complete(async move {
            let task = {
                let handle = handle.clone();
                handle
                    .clone()
                    .create_task(async move {
                        subprocess_exec(&handle, || Quiet, "sleep", &["30"])
                            .await
                            .map(|_| ())
                    })
                    .unwrap()
            };
            let canceller = task.clone();
            handle
                .call_soon(move || {
                    canceller.cancel();
                })
                .unwrap();
            let outcome = task.wait().await;
            handle.sleep(0.05).await.unwrap();
            outcome.unwrap_err().is_cancelled()
        })
        .unwrap();
    assert!(cancelled);
    assert!(reported.borrow().is_empty(), "{:?}", reported.borrow());
}
