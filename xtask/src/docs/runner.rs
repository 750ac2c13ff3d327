//! Reading, building and running the examples.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::generate::RunOutput;

/// Where examples come from. The real one uses `cargo`; tests use a fake.
pub(crate) trait Examples: Sync {
    /// The names of all examples.
    fn names(&self) -> Vec<String>;

    /// The source of example `name`, or `None` if there is no such example.
    fn source(&self, name: &str) -> Option<String>;

    /// Builds `names` once. On failure, returns each failing example with
    /// the compiler's message.
    fn build(&self, names: &[String]) -> Result<(), Vec<(String, String)>>;

    /// Runs the built example `name`, killing it after `timeout`.
    fn run(&self, name: &str, timeout: Duration) -> Result<RunOutput, String>;
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

    fn run(&self, name: &str, timeout: Duration) -> Result<RunOutput, String> {
        let mut command = Command::new(self.binary(name));
        command.current_dir(&self.root);
        run_with_timeout(command, timeout)
    }
}

/// Runs `command` with no stdin, capturing stdout and stderr, and kills it
/// if it runs longer than `timeout`.
pub(crate) fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> Result<RunOutput, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{program}`: {error}"))?;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
            break status;
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {} s", timeout.as_secs_f64()));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(RunOutput {
        stdout: String::from_utf8(stdout)
            .map_err(|_| "printed something that is not UTF-8".to_owned())?,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        success: status.success(),
    })
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
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

    #[test]
    fn captures_both_streams_and_the_status() {
        let output = run_with_timeout(
            shell("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert!(!output.success);
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
