//! Descriptor and zombie counts around subprocesses, in a test binary of
//! their own (the other tests' pipes would move the counts), one test at
//! a time.
#![cfg(all(unix, not(miri)))]

mod common;

use std::sync::Mutex;

use asyncio_loop::LoopHandle;
use asyncio_process::{subprocess_exec, ProcessErrorKind, SubprocessProtocol};

static SERIAL: Mutex<()> = Mutex::new(());

struct Quiet;

impl SubprocessProtocol for Quiet {}

/// A bounded run (see `common::run_for`).
fn run<T: 'static>(
    main: impl FnOnce(LoopHandle) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>,
) -> T {
    common::run_for(60.0, main)
}

/// This process's open descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

#[test]
fn a_program_that_does_not_exist_is_a_typed_error_and_leaks_nothing() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = open_fds();
    let error = run(|handle| {
        Box::pin(async move {
            subprocess_exec(&handle, || Quiet, "/no/such/program", &["x"])
                .await
                .unwrap_err()
        })
    });
    assert_eq!(
        error.kind(),
        ProcessErrorKind::Spawn(std::io::ErrorKind::NotFound)
    );
    assert!(error.io_error().is_some());
    assert_eq!(open_fds(), before);
}

#[test]
fn a_thousand_short_children_leave_no_descriptor_and_no_zombie() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = open_fds();
    let pids = run(|handle| {
        Box::pin(async move {
            let mut pids = Vec::new();
            for _ in 0..1000 {
                let transport = subprocess_exec(&handle, || Quiet, "true", &[] as &[&str])
                    .await
                    .unwrap();
                pids.push(transport.get_pid());
                assert_eq!(transport.wait().await.unwrap(), 0);
            }
            pids
        })
    });
    assert_eq!(open_fds(), before);
    let left: Vec<_> = pids
        .into_iter()
        .filter(|&pid| common::exists(pid))
        .collect();
    assert!(left.is_empty(), "not reaped: {left:?}");
}

/// Peak resident set size in bytes (`VmHWM`).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[test]
fn communicate_with_100_mb_of_output_holds_about_the_output_only() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    const SIZE: usize = 100_000_000;
    let before = peak_rss();
    let length = run(|handle| {
        Box::pin(async move {
            let options = asyncio_process::ProcessOptions::new()
                .stdios(asyncio_process::Stdios::inherit().stdout(asyncio_process::Stdio::Pipe));
            let command = format!("head -c {SIZE} /dev/zero");
            let process = asyncio_process::create_subprocess_shell(&handle, command, options)
                .await
                .unwrap();
            let (out, _) = process.communicate(None).await.unwrap();
            out.unwrap().len()
        })
    });
    assert_eq!(length, SIZE);
    let grown = peak_rss().saturating_sub(before);
    // The output itself, and at most as much again while its buffer grows
    // (a `Vec` doubling), plus the reads in flight.
    assert!(
        grown < 2 * SIZE + 16 * 1024 * 1024,
        "peak grew by {grown} bytes"
    );
}
