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

/// The signal paths, each run in a child process (this test binary run
/// again with one test and an environment variable), since the handler
/// exits the process and its state is process-wide.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::docs::files::{write_all, Change, Disk, Writer};
    use crate::docs::runner::{run_limited, Limits};
    use std::process::Command;
    use std::time::{Duration, Instant};

    const CHILD: &str = "XTASK_INTERRUPT_TEST_DIR";

    /// Runs `test` of this module in a child with `dir` as its folder;
    /// returns its exit code.
    fn in_child(test: &str, dir: &Path) -> Option<i32> {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &format!("docs::interrupt::tests::{test}"),
                "--nocapture",
            ])
            .env(CHILD, dir)
            .output()
            .unwrap();
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        output.status.code()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    }

    fn raise(signal: i32) {
        // SAFETY: `raise` takes an integer and touches no memory of ours.
        unsafe {
            libc::raise(signal);
        }
    }

    #[test]
    fn ctrl_c_kills_the_running_examples_groups_and_exits_130() {
        let dir = scratch("ctrl-c");
        assert_eq!(
            in_child("child_interrupted_while_an_example_runs", &dir),
            Some(130)
        );
        let pid: u32 = std::fs::read_to_string(dir.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let started = Instant::now();
        while alive(pid) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !alive(pid),
            "the example's child {pid} survived the interruption"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn child_interrupted_while_an_example_runs() {
        let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) else {
            return;
        };
        install();
        let pid_file = dir.join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let runner = std::thread::spawn(move || {
            let mut command = Command::new("sh");
            command.args(["-c", &script]);
            run_limited(
                command,
                Limits {
                    timeout: Duration::from_secs(60),
                    max_lines: 10,
                },
            )
        });
        while !pid_file.exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        raise(libc::SIGINT);
        // The handler exits the process; this only runs if it does not.
        let _ = runner.join();
        std::process::exit(3);
    }

    #[test]
    fn sigterm_while_writing_puts_the_written_files_back() {
        let dir = scratch("sigterm-write");
        for name in ["a.md", "b.md", "c.md"] {
            std::fs::write(dir.join(name), format!("old {name}\n")).unwrap();
        }
        assert_eq!(
            in_child("child_interrupted_while_writing", &dir),
            Some(128 + libc::SIGTERM)
        );
        for name in ["a.md", "b.md", "c.md"] {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).unwrap(),
                format!("old {name}\n")
            );
        }
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 3, "no temporary file is left");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn child_interrupted_while_writing() {
        let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) else {
            return;
        };
        install();
        /// Raises SIGTERM while writing the second file.
        struct Interrupting(std::cell::Cell<usize>);
        impl Writer for Interrupting {
            fn replace(&self, target: &Path, text: &str) -> std::io::Result<()> {
                self.0.set(self.0.get() + 1);
                if self.0.get() == 2 {
                    raise(libc::SIGTERM);
                    // Give the handler thread time to record it.
                    std::thread::sleep(Duration::from_millis(200));
                }
                Disk.replace(target, text)
            }
        }
        let changes: Vec<Change> = ["a.md", "b.md", "c.md"]
            .iter()
            .map(|name| Change {
                target: dir.join(name),
                display: (*name).to_owned(),
                old: format!("old {name}\n"),
                new: format!("new {name}\n"),
            })
            .collect();
        let failed = write_all(&changes, &Interrupting(std::cell::Cell::new(0))).unwrap_err();
        assert_eq!(
            failed.message,
            "interrupted by signal 15; the 2 file(s) written before were put back"
        );
        std::process::exit(128 + failed.signal.unwrap());
    }
}
