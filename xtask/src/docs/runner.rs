//! Reading, building and running the examples.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::generate::{RunOutput, Status};
use super::interrupt;

/// How long an example may run and how much it may print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    /// The most lines each of stdout and stderr may have; a stream may also
    /// hold at most `max_lines` KiB, so one endless line is caught too.
    pub(crate) max_lines: usize,
}

impl Limits {
    /// What a block's options ask for.
    pub(crate) fn of(options: &super::markers::Options) -> Limits {
        Limits {
            timeout: options.timeout,
            max_lines: options.max_lines,
        }
    }

    /// The larger of each limit: one run serves every block of an example.
    pub(crate) fn max(self, other: Limits) -> Limits {
        Limits {
            timeout: self.timeout.max(other.timeout),
            max_lines: self.max_lines.max(other.max_lines),
        }
    }
}

/// Where examples come from. The real one uses `cargo`; tests use a fake.
pub(crate) trait Examples: Sync {
    /// The names of all examples.
    fn names(&self) -> Vec<String>;

    /// The source of example `name`, or `None` if there is no such example.
    fn source(&self, name: &str) -> Option<String>;

    /// Builds `names` once. On failure, returns each failing example with
    /// the compiler's message.
    fn build(&self, names: &[String]) -> Result<(), Vec<(String, String)>>;

    /// Runs the built example `name` with `args` within `limits`.
    fn run(&self, name: &str, args: &[String], limits: Limits) -> Result<RunOutput, String>;
}

/// The examples of the `asyncio-examples` package, built with `cargo`.
pub(crate) struct CargoExamples {
    root: PathBuf,
    cargo: String,
}

impl CargoExamples {
    pub(crate) fn new(root: &Path) -> Self {
        CargoExamples {
            root: root.to_owned(),
            cargo: std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        }
    }

    fn directory(&self) -> PathBuf {
        self.root.join("examples").join("examples")
    }

    fn binary(&self, name: &str) -> PathBuf {
        crate::target_dir(&self.root)
            .join("debug")
            .join("examples")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }

    fn cargo_build(&self, names: &[String]) -> Result<(), String> {
        let mut command = Command::new(&self.cargo);
        command
            .current_dir(&self.root)
            .args(["build", "--quiet", "--package", "asyncio-examples"]);
        for name in names {
            command.args(["--example", name]);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cannot run `{}`: {error}", self.cargo))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

impl Examples for CargoExamples {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.directory())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                (path.extension()? == "rs")
                    .then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        names.sort();
        names
    }

    fn source(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.directory().join(format!("{name}.rs"))).ok()
    }

    fn build(&self, names: &[String]) -> Result<(), Vec<(String, String)>> {
        if names.is_empty() || self.cargo_build(names).is_ok() {
            return Ok(());
        }
        // Find out which ones fail: the others are cached by now.
        let failures: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| {
                self.cargo_build(std::slice::from_ref(name))
                    .err()
                    .map(|message| (name.clone(), message))
            })
            .collect();
        if failures.is_empty() {
            // Together they fail, alone each builds: report the batch.
            let message = self.cargo_build(names).err().unwrap_or_default();
            return Err(names
                .iter()
                .map(|name| (name.clone(), message.clone()))
                .collect());
        }
        Err(failures)
    }

    fn run(&self, name: &str, args: &[String], limits: Limits) -> Result<RunOutput, String> {
        let mut command = Command::new(self.binary(name));
        command.current_dir(&self.root).args(args);
        run_limited(command, limits)
    }
}

/// Runs `command` with no stdin, capturing stdout and stderr, in a process
/// group of its own (on Unix). Kills the whole group if it runs longer than
/// `limits.timeout` or prints more than `limits.max_lines`, and once it has
/// exited, so that nothing it started outlives it.
pub(crate) fn run_limited(mut command: Command, limits: Limits) -> Result<RunOutput, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{program}`: {error}"))?;
    let pid = child.id();
    let tracked = interrupt::track_group(pid);
    let over = Arc::new(AtomicBool::new(false));
    let stdout = read_in_background(child.stdout.take(), limits.max_lines, &over);
    let stderr = read_in_background(child.stderr.take(), limits.max_lines, &over);
    let started = Instant::now();
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(error) => break Err(error.to_string()),
        }
        if !tracked || interrupt::interrupted().is_some() {
            break Err("interrupted".to_owned());
        }
        if started.elapsed() >= limits.timeout {
            break Err(format!(
                "timed out after {} s",
                limits.timeout.as_secs_f64()
            ));
        }
        if over.load(Ordering::Relaxed) {
            break Err(too_much(limits));
        }
        thread::sleep(Duration::from_millis(5));
    };
    // Whatever happened, nothing of the group survives: this also closes
    // the pipes that a grandchild still holds, so the readers finish.
    interrupt::kill_group(pid);
    if waited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    interrupt::end_group(pid);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = waited?;
    // It may have exited of the closed pipe before the loop saw the flag.
    if over.load(Ordering::Relaxed) {
        return Err(too_much(limits));
    }
    Ok(RunOutput {
        stdout: String::from_utf8(stdout)
            .map_err(|_| "printed something that is not UTF-8".to_owned())?,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        status: Status::of(status),
    })
}

fn too_much(limits: Limits) -> String {
    format!(
        "printed more than {} lines (or {} KiB) on one stream; raise the block's cap with `max-lines=N` if the docs should show it all",
        limits.max_lines, limits.max_lines
    )
}

/// Reads `pipe` to its end on a thread, keeping at most `max_lines` lines
/// and `max_lines` KiB; past either it sets `over` and stops reading (the
/// caller then kills the writer).
fn read_in_background(
    pipe: Option<impl Read + Send + 'static>,
    max_lines: usize,
    over: &Arc<AtomicBool>,
) -> thread::JoinHandle<Vec<u8>> {
    let over = Arc::clone(over);
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let Some(mut pipe) = pipe else {
            return bytes;
        };
        let max_bytes = max_lines.saturating_mul(1024);
        let mut lines = 0;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let read = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            lines += chunk[..read].iter().filter(|&&byte| byte == b'\n').count();
            if lines > max_lines || bytes.len() + read > max_bytes {
                over.store(true, Ordering::Relaxed);
                break;
            }
            bytes.extend_from_slice(&chunk[..read]);
        }
        bytes
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    fn limits(timeout: Duration) -> Limits {
        Limits {
            timeout,
            max_lines: 1000,
        }
    }

    fn run_with_timeout(command: Command, timeout: Duration) -> Result<RunOutput, String> {
        run_limited(command, limits(timeout))
    }

    /// Whether process `pid` still exists (a zombie counts as gone).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z')
            })
            .unwrap_or(false)
    }

    fn eventually_gone(pid: u32) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if !alive(pid) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn grandchild_pid(file: &Path) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(pid) = std::fs::read_to_string(file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
            {
                return pid;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "no pid written");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_timeout_kills_the_grandchildren_too() {
        let file = std::env::temp_dir().join(format!("xtask-grandchild-{}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let script = format!("sleep 30 & echo $! > {}; wait", file.display());
        let error = run_with_timeout(shell(&script), Duration::from_millis(300)).unwrap_err();
        assert_eq!(error, "timed out after 0.3 s");
        let pid = grandchild_pid(&file);
        let _ = std::fs::remove_file(&file);
        assert!(eventually_gone(pid), "the grandchild {pid} survived");
    }

    #[test]
    fn a_grandchild_left_running_by_an_example_is_killed_when_it_exits() {
        let file = std::env::temp_dir().join(format!("xtask-orphan-{}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        // The background sleep keeps stdout open: without the group kill the
        // reader would wait for it for 30 s.
        let script = format!("sleep 30 & echo $! > {}; echo done", file.display());
        let started = Instant::now();
        let output = run_with_timeout(shell(&script), Duration::from_secs(20)).unwrap();
        assert_eq!(output.stdout, "done\n");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = grandchild_pid(&file);
        let _ = std::fs::remove_file(&file);
        assert!(eventually_gone(pid), "the grandchild {pid} survived");
    }

    #[test]
    fn output_past_the_cap_is_an_error_not_a_memory_blowup() {
        let limits = Limits {
            timeout: Duration::from_secs(20),
            max_lines: 100,
        };
        let error = run_limited(shell("yes"), limits).unwrap_err();
        assert!(error.starts_with("printed more than 100 lines"), "{error}");
        let error =
            run_limited(shell("head -c 500000 /dev/zero | tr '\\0' x"), limits).unwrap_err();
        assert!(
            error.starts_with("printed more than 100 lines (or 100 KiB)"),
            "{error}"
        );
        let output = run_limited(shell("seq 100"), limits).unwrap();
        assert_eq!(
            output.stdout.lines().count(),
            100,
            "the cap itself is allowed"
        );
    }

    #[test]
    fn a_signal_is_a_crash_not_a_failure() {
        let output = run_with_timeout(shell("kill -ABRT $$"), Duration::from_secs(10)).unwrap();
        assert_eq!(output.status, Status::Signal(libc::SIGABRT));
        let output = run_with_timeout(shell("exit 134"), Duration::from_secs(10)).unwrap();
        assert_eq!(output.status, Status::Code(134));
    }

    #[test]
    fn captures_both_streams_and_the_status() {
        let output = run_with_timeout(
            shell("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert_eq!(output.status, Status::Code(3));
    }

    #[test]
    fn kills_a_program_that_runs_too_long() {
        let started = Instant::now();
        let error = run_with_timeout(shell("sleep 5"), Duration::from_millis(200)).unwrap_err();
        assert_eq!(error, "timed out after 0.2 s");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let error = run_with_timeout(Command::new("/nonexistent/program"), Duration::from_secs(1))
            .unwrap_err();
        assert!(
            error.starts_with("cannot run `/nonexistent/program`"),
            "{error}"
        );
    }
}
