//! What an interruption must clean up, and who cleans it.
//!
//! Examples run in process groups of their own (on Unix), so that a timeout
//! kills an example with everything it started. That also takes them out of
//! the terminal's foreground group, so Ctrl-C no longer reaches them: the
//! tool catches SIGINT, SIGTERM and SIGHUP itself (on a thread, through
//! `signal-hook`), kills every live group, removes the temporary files of a
//! write in progress and exits with 128 + the signal's number. During the
//! write phase it only records the interruption: the writer finishes the
//! file at hand, puts back the files already replaced, and exits (see
//! `super::files`), so that even an interrupted run writes all or nothing.
//! `kill -9` cannot be caught; the next run removes the temporary file it
//! left (see `super::files::stale_temporaries`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

struct Live {
    /// Process groups of running examples, by their leader's pid.
    groups: BTreeSet<u32>,
    /// Temporary files that exist right now.
    temporaries: BTreeSet<PathBuf>,
    /// The files are being replaced: an interruption waits for the writer.
    writing: bool,
    /// A signal arrived (its number).
    interrupted: Option<i32>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    groups: BTreeSet::new(),
    temporaries: BTreeSet::new(),
    writing: false,
    interrupted: None,
});

fn live() -> MutexGuard<'static, Live> {
    // A panic while holding the lock leaves the sets as they were: usable.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the thread that handles SIGINT, SIGTERM and SIGHUP (once; a no-op
/// where there are no Unix signals). Only the real command installs it:
/// tests run the regenerator without it.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                eprintln!(
                    "warning: cannot catch Ctrl-C; an interrupted run may leave examples running"
                );
                return;
            };
            std::thread::spawn(move || {
                for signal in signals.forever() {
                    on_signal(signal);
                }
            });
        }
    });
}

#[cfg(unix)]
fn on_signal(signal: i32) {
    let mut live = live();
    live.interrupted = Some(signal);
    for &group in &live.groups {
        kill_group(group);
    }
    if live.writing {
        // The writer sees `interrupted` after the file at hand and restores.
        return;
    }
    for temporary in &live.temporaries {
        let _ = std::fs::remove_file(temporary);
    }
    eprintln!("docs: interrupted; no file was written");
    std::process::exit(128 + signal);
}

/// The signal that interrupted this run, if one did.
pub(crate) fn interrupted() -> Option<i32> {
    live().interrupted
}

/// Records the process group led by `pid` as live, so that an interruption
/// kills it. If one came already, kills it now and says so.
pub(crate) fn track_group(pid: u32) -> bool {
    let mut live = live();
    live.groups.insert(pid);
    if live.interrupted.is_some() {
        kill_group(pid);
        return false;
    }
    true
}

/// Kills what is left of the group led by `pid` and forgets it. Called once
/// its leader was reaped: a grandchild that outlived the example dies too.
pub(crate) fn end_group(pid: u32) {
    let mut live = live();
    kill_group(pid);
    live.groups.remove(&pid);
}

/// Sends SIGKILL to every process of the group led by `pid`.
pub(crate) fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: `kill` takes two integers and touches no memory of ours;
        // a group that is gone already makes it fail with ESRCH, ignored.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Records a temporary file, to be removed if the run is interrupted.
pub(crate) fn track_temporary(path: &Path) {
    live().temporaries.insert(path.to_owned());
}

/// Forgets a temporary file (renamed into place or removed).
pub(crate) fn forget_temporary(path: &Path) {
    live().temporaries.remove(path);
}

/// Marks the write phase: while it lasts, an interruption waits for the
/// writer to put the files back instead of exiting at once.
pub(crate) fn set_writing(writing: bool) {
    live().writing = writing;
}
