//! `Process`, the streams flavour (asyncio's `create_subprocess_exec` and
//! `asyncio.subprocess.Process`; `test_subprocess.py`'s cases that apply),
//! against real programs. Every run is bounded by a stop timer.
#![cfg(all(unix, not(miri)))]

mod common;

use std::time::Duration;

use asyncio_loop::{EventLoop, LoopHandle};
use asyncio_net::NetErrorKind;
use asyncio_process::{
    create_subprocess_exec, create_subprocess_shell, ProcessErrorKind, ProcessOptions, Stdio,
    Stdios,
};

/// A bounded run (see `common::run_for`).
fn run<T: 'static>(
    main: impl FnOnce(LoopHandle) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>,
) -> T {
    common::run_for(30.0, main)
}

fn piped() -> ProcessOptions {
    ProcessOptions::new().stdios(Stdios::pipes())
}

/// Only stdout piped; stdin and stderr inherited.
fn stdout_piped() -> ProcessOptions {
    ProcessOptions::new().stdios(Stdios::inherit().stdout(Stdio::Pipe))
}

#[test]
fn stdout_read_line_by_line_as_the_chapter_does() {
    let (lines, code) = run(|handle| {
        Box::pin(async move {
            let options = stdout_piped();
            let process =
                create_subprocess_exec(&handle, "sh", &["-c", "echo one; echo two"], options)
                    .await
                    .unwrap();
            assert!(process.stdin.is_none() && process.stderr.is_none());
            let stdout = process.stdout.as_ref().unwrap();
            let mut lines = Vec::new();
            loop {
                let line = stdout.readline().await.unwrap();
                if line.is_empty() {
                    break;
                }
                lines.push(String::from_utf8(line.into_vec()).unwrap());
            }
            let code = process.wait().await.unwrap();
            assert_eq!(process.returncode(), Some(code));
            (lines, code)
        })
    });
    assert_eq!(lines, ["one\n", "two\n"]);
    assert_eq!(code, 0);
}

#[test]
fn communicate_large_data_both_ways_without_deadlock() {
    let input: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let expected = input.clone();
    let (out, err, code) = run(move |handle| {
        Box::pin(async move {
            let process = create_subprocess_exec(&handle, "cat", &[] as &[&str], piped())
                .await
                .unwrap();
            let (out, err) = process.communicate(Some(&input)).await.unwrap();
            (out, err, process.returncode())
        })
    });
    assert_eq!(out.unwrap(), expected);
    assert_eq!(err.unwrap(), b"");
    assert_eq!(code, Some(0));
}

#[test]
fn communicate_without_input_closes_stdin_so_cat_ends() {
    let (out, err) = run(|handle| {
        Box::pin(async move {
            let options = ProcessOptions::new().stdios(Stdios::pipes().stderr(Stdio::Inherit));
            let process = create_subprocess_exec(&handle, "cat", &[] as &[&str], options)
                .await
                .unwrap();
            process.communicate(None).await.unwrap()
        })
    });
    assert_eq!(out.unwrap(), b"");
    assert!(err.is_none());
}

#[test]
fn a_child_that_stops_reading_its_stdin_is_no_error_for_communicate() {
    let out = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_shell(&handle, "exec 0<&-; echo done", piped())
                .await
                .unwrap();
            let (out, _) = process
                .communicate(Some(&vec![b'x'; 1 << 20]))
                .await
                .unwrap();
            out.unwrap()
        })
    });
    assert_eq!(out, b"done\n");
}

#[test]
fn stderr_to_stdout_and_return_codes() {
    let (out, code) = run(|handle| {
        Box::pin(async move {
            let options = ProcessOptions::new()
                .stdios(Stdios::inherit().stdout(Stdio::Pipe).stderr(Stdio::Stdout));
            let process =
                create_subprocess_shell(&handle, "echo out; echo err >&2; exit 4", options)
                    .await
                    .unwrap();
            let (out, err) = process.communicate(None).await.unwrap();
            assert!(err.is_none());
            (out.unwrap(), process.returncode())
        })
    });
    assert_eq!(out, b"out\nerr\n");
    assert_eq!(code, Some(4));
}

#[test]
fn signals_and_a_process_that_is_gone() {
    let (code, error) = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_exec(&handle, "sleep", &["10"], ProcessOptions::new())
                .await
                .unwrap();
            process.kill().unwrap();
            let code = process.wait().await.unwrap();
            (code, process.terminate().unwrap_err())
        })
    });
    assert_eq!(code, -9);
    assert_eq!(error.kind(), ProcessErrorKind::ProcessLookup);
}

#[test]
fn the_limit_applies_to_the_readers() {
    let error = run(|handle| {
        Box::pin(async move {
            let options = stdout_piped().limit(16);
            let process = create_subprocess_shell(&handle, "printf '%0100d\\n' 0", options)
                .await
                .unwrap();
            let error = process
                .stdout
                .as_ref()
                .unwrap()
                .readline()
                .await
                .unwrap_err();
            process.wait().await.unwrap();
            error
        })
    });
    assert_eq!(error.kind(), NetErrorKind::LimitOverrun);
    let bad = run(|handle| {
        Box::pin(async move {
            create_subprocess_exec(
                &handle,
                "true",
                &[] as &[&str],
                ProcessOptions::new().limit(0),
            )
            .await
            .unwrap_err()
        })
    });
    assert_eq!(bad.kind(), ProcessErrorKind::InvalidArgument);
}

#[test]
fn stdin_as_a_stream_writer_with_drain() {
    let out = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_exec(&handle, "cat", &[] as &[&str], piped())
                .await
                .unwrap();
            let stdin = process.stdin.clone().unwrap();
            let stdout = process.stdout.clone().unwrap();
            // A writer task and a reader, as a program pipes data through.
            let writer = handle
                .create_task(async move {
                    for _ in 0..64 {
                        stdin.write(&[b'y'; 16 * 1024]).unwrap();
                        stdin.drain().await.unwrap();
                    }
                    assert!(stdin.can_write_eof());
                    stdin.write_eof().unwrap();
                })
                .unwrap();
            let all = stdout.read(-1).await.unwrap();
            writer.wait().await.unwrap();
            process.wait().await.unwrap();
            all.len()
        })
    });
    assert_eq!(out, 64 * 16 * 1024);
}

/// A `drain` right after a `write` above the high-water mark waits: the
/// pipe pauses its writer at once, as asyncio's pipe transport pauses its
/// protocol (the pause was queued once, so every `drain` returned at once
/// and 1 MB for a child that did not read yet all went into the buffer).
#[test]
fn drain_right_after_a_large_write_waits_for_the_child() {
    let most = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_shell(
                &handle,
                "sleep 0.2; cat > /dev/null",
                ProcessOptions::new().stdios(Stdios::inherit().stdin(Stdio::Pipe)),
            )
            .await
            .unwrap();
            let stdin = process.stdin.clone().unwrap();
            let pipe = process.transport().get_pipe_transport(0).unwrap();
            let mut most = 0;
            for _ in 0..16 {
                stdin.write(&[b'z'; 64 * 1024]).unwrap();
                stdin.drain().await.unwrap();
                most = most.max(pipe.get_write_buffer_size());
            }
            stdin.close();
            assert_eq!(process.wait().await.unwrap(), 0);
            most
        })
    });
    // After a drain: at most the high-water mark (64 KiB) is buffered.
    assert!(most <= 64 * 1024, "{most} bytes buffered after a drain");
}

/// Output read before the streams exist goes through the protocol (queued
/// reads); after, the pipe reads into the reader itself: the bytes stay
/// in order across the change.
#[test]
fn output_stays_in_order_when_the_pipe_starts_reading_in_place() {
    let (out, expected) = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_exec(&handle, "seq", &["1", "200000"], stdout_piped())
                .await
                .unwrap();
            let out = process.stdout.as_ref().unwrap().read(-1).await.unwrap();
            assert_eq!(process.wait().await.unwrap(), 0);
            let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
            (out.into_vec(), expected.into_bytes())
        })
    });
    assert!(out == expected, "{} bytes, not in order", out.len());
}

#[test]
fn dropping_a_process_kills_its_child() {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let pid = event_loop
        .run_until_complete(async move {
            let process = create_subprocess_exec(&handle, "sleep", &["10"], ProcessOptions::new())
                .await
                .unwrap();
            let pid = process.pid();
            drop(process);
            // The watch reaps it on this loop.
            handle.sleep(0.3).await.unwrap();
            pid
        })
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && std::time::Instant::now() < deadline
    {
        event_loop
            .run_once(Some(Duration::from_millis(20)))
            .unwrap();
    }
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn a_child_that_ends_its_output_early_while_we_write_is_no_error() {
    // `head` takes 5 bytes, writes them, closes its stdout and exits while
    // `communicate` is still writing 1 MiB: a broken pipe on stdin, which
    // communicate ignores as asyncio's does (IO59).
    let (out, code) = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_exec(&handle, "head", &["-c", "5"], piped())
                .await
                .unwrap();
            let (out, _) = process
                .communicate(Some(&vec![b'z'; 1 << 20]))
                .await
                .unwrap();
            (out.unwrap(), process.returncode())
        })
    });
    assert_eq!(out, b"zzzzz");
    assert_eq!(code, Some(0));
}

#[test]
fn a_child_that_ends_at_once_still_leaves_its_streams() {
    // `true` exits and closes its pipes before the caller's task resumes:
    // the protocol's calls are over by then, and the streams must be there.
    for _ in 0..20 {
        let (out, code) = run(|handle| {
            Box::pin(async move {
                let process = create_subprocess_exec(&handle, "true", &[] as &[&str], piped())
                    .await
                    .unwrap();
                assert!(process.stdin.is_some() && process.stderr.is_some());
                let out = process.stdout.as_ref().unwrap().read(-1).await.unwrap();
                (out.into_vec(), process.wait().await.unwrap())
            })
        });
        assert_eq!((out, code), (Vec::new(), 0));
    }
}

/// `test_cancel_make_subprocess_transport_exec`: the task creating a
/// process is cancelled while it waits for the connection; the child,
/// started already, is killed and reaped (no zombie), and the task ends
/// cancelled.
#[test]
fn cancelling_the_creation_kills_and_reaps_the_child() {
    // A duration no other test's child has, to find this one by.
    let unique = format!("29.{}", std::process::id());
    let (cancelled, pid) = run(move |handle| {
        Box::pin(async move {
            let creator = {
                let (handle, unique) = (handle.clone(), unique.clone());
                handle
                    .clone()
                    .create_task(async move {
                        create_subprocess_exec(&handle, "sleep", &[unique], ProcessOptions::new())
                            .await
                            .map(|_| ())
                    })
                    .unwrap()
            };
            // The child is started in the task's first step; cancel the
            // task while it waits for `connection_made` (the child runs
            // until the cancellation reaches the task).
            handle.sleep(0.0).await.unwrap();
            // (Its arguments show once its `exec` has set them up: look
            // again for a while; the child lives until this task yields.)
            let looked_since = std::time::Instant::now();
            let pid = loop {
                if let Some(pid) = common::child_with_argument(&unique) {
                    break pid;
                }
                assert!(looked_since.elapsed() < Duration::from_secs(5), "no child");
                std::thread::sleep(Duration::from_millis(1));
            };
            assert!(creator.cancel());
            let cancelled = creator.wait().await.unwrap_err().is_cancelled();
            (cancelled, pid)
        })
    });
    assert!(cancelled, "the creating task ends cancelled");
    // Killed, and reaped (by the watch, or its reaper once the loop is gone).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while common::exists(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!common::exists(pid), "child {pid} still exists");
}

/// `test_cancel_process_wait`: cancelling a task that waits for the
/// process leaves the process running; a later `wait` sees its end.
#[test]
fn cancelling_a_wait_leaves_the_child_running() {
    let code = run(|handle| {
        Box::pin(async move {
            let process = std::rc::Rc::new(
                create_subprocess_exec(&handle, "sleep", &["30"], ProcessOptions::new())
                    .await
                    .unwrap(),
            );
            let waiter = {
                let process = std::rc::Rc::clone(&process);
                handle
                    .create_task(async move { process.wait().await })
                    .unwrap()
            };
            handle.sleep(0.05).await.unwrap();
            assert!(waiter.cancel());
            assert!(waiter.wait().await.unwrap_err().is_cancelled());
            handle.sleep(0.05).await.unwrap();
            assert_eq!(process.returncode(), None, "still running");
            process.kill().unwrap();
            process.wait().await.unwrap()
        })
    });
    assert_eq!(code, -9);
}

/// `test_read_stdout_after_process_exit`: the output stays readable after
/// the process has ended and been waited for.
#[test]
fn output_is_readable_after_the_child_was_waited_for() {
    let out = run(|handle| {
        Box::pin(async move {
            let process =
                create_subprocess_exec(&handle, "echo", &["after the end"], stdout_piped())
                    .await
                    .unwrap();
            assert_eq!(process.wait().await.unwrap(), 0);
            process.stdout.as_ref().unwrap().read(-1).await.unwrap()
        })
    });
    assert_eq!(out, b"after the end\n");
}

/// `test_create_subprocess_env_exec`: a `Command`'s environment reaches
/// the child.
#[test]
fn a_commands_environment_reaches_the_child() {
    let out = run(|handle| {
        Box::pin(async move {
            let mut command = std::process::Command::new("sh");
            command
                .args(["-c", "printf %s \"$ASYNCIO_TEST_VALUE\""])
                .env("ASYNCIO_TEST_VALUE", "from the parent");
            let process =
                asyncio_process::create_subprocess_command(&handle, command, stdout_piped())
                    .await
                    .unwrap();
            let (out, _) = process.communicate(None).await.unwrap();
            out.unwrap()
        })
    });
    assert_eq!(out, b"from the parent");
}

/// `test_empty_input`, `test_devstdin_input`: empty input is an end of
/// file at once; the stdin pipe can be opened again as `/dev/stdin`.
#[test]
fn empty_input_and_stdin_reopened_by_name() {
    let (empty, reopened) = run(|handle| {
        Box::pin(async move {
            let count = |input: &'static [u8], script: &'static str| {
                let handle = handle.clone();
                async move {
                    let process = create_subprocess_exec(&handle, "sh", &["-c", script], piped())
                        .await
                        .unwrap();
                    let (out, _) = process.communicate(Some(input)).await.unwrap();
                    assert_eq!(process.wait().await.unwrap(), 0);
                    String::from_utf8(out.unwrap()).unwrap().trim().to_owned()
                }
            };
            (
                count(b"", "wc -c").await,
                count(b"abc", "wc -c < /dev/stdin").await,
            )
        })
    });
    assert_eq!((empty.as_str(), reopened.as_str()), ("0", "3"));
}

/// `test_kill_issue43884`: killing a shell whose own child still holds its
/// stdout open: `wait` gives the kill's return code once that pipe closes.
#[test]
fn killing_a_shell_whose_child_holds_its_output() {
    let code = run(|handle| {
        Box::pin(async move {
            let process = create_subprocess_shell(&handle, "sleep 1; sleep 1", stdout_piped())
                .await
                .unwrap();
            handle.sleep(0.2).await.unwrap();
            process.kill().unwrap();
            process.wait().await.unwrap()
        })
    });
    assert_eq!(code, -9);
}

/// `test_start_new_session`: a `Command`'s own settings (here a new
/// process group) apply to the child.
#[test]
fn a_commands_own_settings_apply() {
    use std::os::unix::process::CommandExt;
    let code = run(|handle| {
        Box::pin(async move {
            let mut command = std::process::Command::new("sh");
            command.args(["-c", "exit 8"]).process_group(0);
            let process =
                asyncio_process::create_subprocess_command(&handle, command, ProcessOptions::new())
                    .await
                    .unwrap();
            process.wait().await.unwrap()
        })
    });
    assert_eq!(code, 8);
}
