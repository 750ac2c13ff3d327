//! Exit detection: how the loop learns that a child exited, and reaps it.
//!
//! On Linux 5.3 and later a pidfd (`pidfd_open`) is a source of the loop:
//! it turns readable when the child exits, and its reader callback reaps
//! the child (`waitpid` with `WNOHANG`). No thread, no `SIGCHLD` handler.
//! Where `pidfd_open` is refused (an older kernel, a seccomp filter) a
//! thread blocks in `waitpid` for the child and hands the status to the
//! loop through a [`Completer`](asyncio_loop::Completer) (asyncio 3.11's
//! `ThreadedChildWatcher`).
//!
//! Either way the child is always reaped: a watch that the loop drops
//! unfired (the loop closed while the child ran) leaves a thread that
//! waits for the child and reaps it, so no zombie is left behind.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use asyncio_loop::{LoopHandle, Registered};
use rustix::process::{Pid, WaitOptions, WaitStatus};

use crate::ProcessError;

/// What a child's exit is reported as: asyncio's return code, the exit
/// status, or minus the signal that ended the child.
pub(crate) fn returncode(status: WaitStatus) -> i32 {
    if let Some(code) = status.exit_status() {
        return code;
    }
    if let Some(signal) = status.terminating_signal() {
        return -signal;
    }
    // Stopped or continued: waitpid without WUNTRACED reports neither.
    0
}

/// Reaps `pid` if it exited: its return code.
fn reap_now(pid: Pid) -> Option<i32> {
    match rustix::process::waitpid(Some(pid), WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Some(returncode(status)),
        // Not exited yet, or already reaped (ECHILD: nothing to report).
        _ => None,
    }
}

/// Blocks until `pid` exits and reaps it: its return code (`None` if it
/// cannot be waited for: someone else reaped it).
fn reap_blocking(pid: Pid) -> Option<i32> {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Some(returncode(status)),
            Err(rustix::io::Errno::INTR) => continue,
            _ => return None,
        }
    }
}

/// Waits for `pid` on a thread of its own and reaps it.
fn reap_later(pid: Pid) {
    // No thread left (the process is at its limit): the child stays a
    // zombie until this process exits, which reaps it.
    let _ = std::thread::Builder::new()
        .name(format!("asyncio-reaper-{}", pid.as_raw_nonzero()))
        .spawn(move || reap_blocking(pid));
}

/// The pidfd watch's state, owned by its reader callback.
struct PidfdWatch {
    pid: Pid,
    source: Option<Registered<OwnedFd>>,
    on_exit: Option<Box<dyn FnOnce(i32)>>,
}

impl Drop for PidfdWatch {
    fn drop(&mut self) {
        // Dropped unfired (the loop closed): reap the child whenever it
        // exits, so it is never left a zombie.
        if self.on_exit.is_some() {
            reap_later(self.pid);
        }
    }
}

/// Watches child `pid`: `on_exit` is called on the loop with its return
/// code once it exited and was reaped.
pub(crate) fn watch(
    handle: &LoopHandle,
    pid: u32,
    on_exit: Box<dyn FnOnce(i32)>,
) -> Result<(), ProcessError> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| ProcessError::invalid_argument(format!("no such pid: {pid}")))?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::NONBLOCK) {
        return watch_pidfd(handle, pid, pidfd, on_exit);
    }
    watch_thread(handle, pid, on_exit)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn watch_pidfd(
    handle: &LoopHandle,
    pid: Pid,
    pidfd: OwnedFd,
    on_exit: Box<dyn FnOnce(i32)>,
) -> Result<(), ProcessError> {
    let source = Registered::new(handle, pidfd)?;
    // A pidfd is readable once its process exited; before, nothing to read.
    source.clear_readable();
    let state = Rc::new(RefCell::new(PidfdWatch {
        pid,
        source: None,
        on_exit: Some(on_exit),
    }));
    let fired = Rc::clone(&state);
    source.set_reader(move || {
        let Some(code) = reap_now(pid) else {
            // Readable but not reapable: only an exit makes a pidfd
            // readable, so someone else reaped it; nothing will come.
            if let Ok(source) = fired.try_borrow() {
                if let Some(source) = &source.source {
                    source.clear_readable();
                }
            }
            return;
        };
        let (source, on_exit) = {
            let mut watch = fired.borrow_mut();
            (watch.source.take(), watch.on_exit.take())
        };
        // Deregistered: this callback's state goes with it once it returns.
        drop(source);
        if let Some(on_exit) = on_exit {
            on_exit(code);
        }
    })?;
    state.borrow_mut().source = Some(source);
    Ok(())
}

fn watch_thread(
    handle: &LoopHandle,
    pid: Pid,
    on_exit: Box<dyn FnOnce(i32)>,
) -> Result<(), ProcessError> {
    let exited = handle.create_future::<Option<i32>>();
    let completer = handle.completer(&exited)?;
    std::thread::Builder::new()
        .name(format!("asyncio-waitpid-{}", pid.as_raw_nonzero()))
        .spawn(move || {
            let _ = completer.set_result(reap_blocking(pid));
        })
        .map_err(ProcessError::io)?;
    let _ = exited.add_done_callback(move |exited| {
        if let Ok(Some(code)) = exited.result() {
            on_exit(code);
        }
    });
    Ok(())
}

#[cfg(all(test, not(miri)))]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn pid_of(child: &std::process::Child) -> Pid {
        Pid::from_raw(child.id() as i32).unwrap()
    }

    // Reaped with `waitpid` by pid, which `Child` cannot see.
    #[allow(clippy::zombie_processes)]
    #[test]
    fn return_codes_are_asyncios() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        assert_eq!(reap_blocking(pid_of(&child)), Some(3));
        let child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        rustix::process::kill_process(pid_of(&child), rustix::process::Signal::KILL).unwrap();
        assert_eq!(reap_blocking(pid_of(&child)), Some(-9));
        // Reaped already: nothing more to report.
        assert_eq!(reap_blocking(pid_of(&child)), None);
    }

    /// The stuck check counts a watched child: a run waiting for what only
    /// the child's exit brings is not reported stuck (by either watch),
    /// and a run waiting for what nothing brings is reported stuck only
    /// once the child has exited.
    #[allow(clippy::zombie_processes)]
    #[test]
    fn the_stuck_check_counts_unreaped_children() {
        type Watch = fn(&LoopHandle, Pid, Box<dyn FnOnce(i32)>) -> Result<(), ProcessError>;
        let by_pid: Watch =
            |handle, pid, on_exit| watch(handle, pid.as_raw_nonzero().get() as u32, on_exit);
        for (name, watch_with) in [("pidfd", by_pid), ("thread", watch_thread as Watch)] {
            let event_loop = asyncio_loop::EventLoop::new();
            let child = std::process::Command::new("sh")
                .args(["-c", "sleep 0.2; exit 5"])
                .spawn()
                .unwrap();
            let exited = event_loop.create_future::<i32>();
            let setter = exited.clone();
            watch_with(
                &event_loop,
                pid_of(&child),
                Box::new(move |code| {
                    let _ = setter.set_result(code);
                }),
            )
            .unwrap();
            let code = event_loop.run_until_complete(exited.wait());
            assert_eq!(
                code.unwrap().unwrap(),
                5,
                "{name}: not stuck, the exit came"
            );

            let child = std::process::Command::new("sleep")
                .arg("0.2")
                .spawn()
                .unwrap();
            watch_with(&event_loop, pid_of(&child), Box::new(|_| {})).unwrap();
            let never = event_loop.create_future::<()>();
            let started = std::time::Instant::now();
            let outcome = event_loop.run_until_complete(never.wait());
            assert!(outcome.unwrap_err().is_stuck(), "{name}: stuck in the end");
            assert!(
                started.elapsed() >= std::time::Duration::from_millis(150),
                "{name}: not before the child exited"
            );
        }
    }

    // Reaped by the watch's thread, with `waitpid` by pid.
    #[allow(clippy::zombie_processes)]
    #[test]
    fn the_thread_watch_reports_on_the_loop() {
        // The fallback where pidfd_open is refused, driven directly.
        let event_loop = asyncio_loop::EventLoop::new();
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let code = Rc::new(Cell::new(None));
        let (seen, stopper) = (Rc::clone(&code), event_loop.handle());
        watch_thread(
            &event_loop,
            pid_of(&child),
            Box::new(move |exit| {
                seen.set(Some(exit));
                stopper.stop();
            }),
        )
        .unwrap();
        let stopper = event_loop.handle();
        event_loop.call_later(20.0, move || stopper.stop()).unwrap();
        event_loop.run_forever().unwrap();
        assert_eq!(code.get(), Some(7));
    }
}
