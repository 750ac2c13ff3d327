//! `cargo xtask bench`: run the benchmarks and the Python peers, and write
//! `docs/benchmarks.md`.
//!
//! - `records.rs` reads what the benches print (JSON records, with
//!   `serde_json`) and criterion's estimates;
//! - `declare.rs` declares what the page shows: workloads, targets, tables;
//! - `render.rs` renders the declarations with shared code.

mod declare;
mod records;
mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Exit;

use declare::{Source, WORKLOADS};
use records::{median_over_runs, read_criterion, Measured};
use render::{Context, HISTORY_MARKER};

pub(crate) const HELP: &str = "\
cargo xtask bench: benchmark asyncio-rs against its peers and write docs/benchmarks.md

USAGE:
    cargo xtask bench [--quick] [--no-python] [--runs K]

Runs the criterion workloads (benches/benches/workloads.rs), the memory
bench (benches/benches/memory.rs), the paired rounds (benches/benches/
paired.rs), the echo servers (benches/benches/echo.rs), the subprocess
and signal workloads (benches/benches/processes.rs) and the Python
peers (asyncio and uvloop, benches/python/
bench_asyncio.py, in a virtual environment under target/ that this command
creates), reads the JSON records they print, and writes docs/benchmarks.md
from the declarations in xtask/src/bench/declare.rs. The hand-written
history section at the end of that file is kept.

OPTIONS:
    --quick       Shorter measurements (for a first look; noisier)
    --no-python   Skip the Python peers (the table says so)
    --runs K      Run the criterion workloads K times (default 1) and report
                  the median over the runs (the targets themselves come from
                  the paired rounds, which drift does not skew).
    -h, --help    Print this message
";

struct Settings {
    quick: bool,
    python: bool,
    /// How many times the criterion workloads run; at least 1.
    runs: usize,
}

pub(crate) fn main(root: &Path, arguments: &[String]) -> Exit {
    let mut settings = Settings {
        quick: false,
        python: true,
        runs: 1,
    };
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--quick" => settings.quick = true,
            "--no-python" => settings.python = false,
            "--runs" => match arguments.next().map(|runs| runs.parse::<usize>()) {
                Some(Ok(runs)) if runs > 0 => settings.runs = runs,
                _ => {
                    eprintln!("error: `--runs` takes a whole number above 0\n\n{HELP}");
                    return Exit::Usage;
                }
            },
            "-h" | "--help" => {
                print!("{HELP}");
                return Exit::Success;
            }
            other => {
                eprintln!("error: unknown option `{other}`\n\n{HELP}");
                return Exit::Usage;
            }
        }
    }
    match run(root, &settings) {
        Ok(path) => {
            println!("bench: wrote {}", path.display());
            Exit::Success
        }
        Err(message) => {
            eprintln!("error: {message}");
            Exit::Failure
        }
    }
}

fn run(root: &Path, settings: &Settings) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let bench = |name: &str| {
        let mut command = Command::new(&cargo);
        command
            .current_dir(root)
            .args(["bench", "--package", "asyncio-benches", "--bench", name]);
        command
    };
    let criterion_workloads: Vec<&str> = WORKLOADS
        .iter()
        .filter(|workload| workload.source == Source::Criterion)
        .map(|workload| workload.key)
        .collect();
    let mut measured = Measured::default();
    for run in 1..=settings.runs {
        eprintln!(
            "bench: running the criterion workloads, run {run} of {} (a few minutes each)",
            settings.runs
        );
        let mut command = bench("workloads");
        command.arg("--");
        if settings.quick {
            command.args(["--warm-up-time", "0.2", "--measurement-time", "0.5"]);
        }
        run_status(&mut command)?;
        let directory = crate::target_dir(root).join("criterion");
        measured
            .runs
            .push(read_criterion(&directory, &criterion_workloads)?);
    }
    measured.figures = median_over_runs(&measured.runs);

    eprintln!("bench: measuring memory");
    measured.add(records::read(&run_output(&mut bench("memory"))?)?);
    eprintln!("bench: measuring the paired rounds");
    measured.add(records::read(&run_output(&mut bench("paired"))?)?);

    let python = if settings.python {
        eprintln!("bench: running the Python peers");
        python_peers(root, settings.quick)
    } else {
        Err("skipped (`--no-python`)".to_owned())
    };
    let (versions, python_note) = match python {
        Ok((versions, records)) => {
            measured.add(records);
            (Some(versions), None)
        }
        Err(message) => (None, Some(message)),
    };
    eprintln!("bench: running the echo servers (a few minutes)");
    let mut echo = bench("echo");
    let venv_python = crate::target_dir(root)
        .join("bench-venv")
        .join("bin")
        .join("python");
    if venv_python.exists() {
        echo.env("ECHO_PYTHON", &venv_python);
    }
    if settings.quick {
        echo.args(["--", "--quick"]);
    }
    measured.add(records::read(&run_output(&mut echo)?)?);
    eprintln!("bench: running the subprocess and signal workloads (a minute)");
    let mut processes = bench("processes");
    if venv_python.exists() {
        processes.env("ECHO_PYTHON", &venv_python);
    }
    if settings.quick {
        processes.args(["--", "--quick"]);
    }
    measured.add(records::read(&run_output(&mut processes)?)?);
    let machine = machine(root, versions.as_ref());
    let path = root.join("docs").join("benchmarks.md");
    let history = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(HISTORY_MARKER).map(|at| old[at..].to_owned()))
        .unwrap_or_else(|| format!("{HISTORY_MARKER}\n## History\n\n"));
    let context = Context {
        machine: &machine,
        python_note: python_note.as_deref(),
        history: &history,
    };
    std::fs::write(&path, render::page(&measured, &context))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

fn run_status(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

fn run_output(command: &mut Command) -> Result<String, String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", output.status));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("{command:?} printed non-UTF-8"))
}

/// Creates `target/bench-venv`, installs uvloop, runs the Python script;
/// returns the versions and the records it printed.
fn python_peers(
    root: &Path,
    quick: bool,
) -> Result<(BTreeMap<String, String>, Vec<records::Record>), String> {
    let python = ["python3", "python"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("not measured: no Python interpreter on this machine")?;
    let venv = crate::target_dir(root).join("bench-venv");
    let venv_python = venv.join("bin").join("python");
    if !venv_python.exists() {
        run_status(Command::new(python).args(["-m", "venv"]).arg(&venv)).map_err(|error| {
            format!("not measured: cannot create a virtual environment: {error}")
        })?;
    }
    let mut peers = vec!["asyncio"];
    let uvloop = run_status(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "uvloop",
            ])
            .stdout(Stdio::null()),
    );
    if uvloop.is_ok() {
        peers.push("uvloop");
    }
    let script = root.join("benches").join("python").join("bench_asyncio.py");
    let peer_arguments: Vec<String> = peers
        .iter()
        .flat_map(|peer| ["--peer".to_owned(), (*peer).to_owned()])
        .collect();
    let versions_json = run_output(
        Command::new(&venv_python)
            .arg(&script)
            .args(&peer_arguments)
            .arg("--versions"),
    )?;
    let mut versions: BTreeMap<String, String> = serde_json::from_str(versions_json.trim())
        .map_err(|error| format!("cannot read the Python versions `{versions_json}`: {error}"))?;
    if uvloop.is_err() {
        versions.insert("uvloop".to_owned(), "not installed (pip failed)".to_owned());
    }
    let repeats = if quick { "3" } else { "9" };
    let output = run_output(
        Command::new(&venv_python)
            .arg(&script)
            .args(&peer_arguments)
            .args(["--repeats", repeats]),
    )?;
    Ok((versions, records::read(&output)?))
}

/// Facts about the machine and the versions compared.
fn machine(root: &Path, python: Option<&BTreeMap<String, String>>) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    facts.push(("CPU".to_owned(), format!("{cpu}, {cores} cores available")));
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    facts.push(("rustc".to_owned(), rustc));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    for package in ["tokio", "async-executor", "futures-executor", "criterion"] {
        let version = lock
            .split("[[package]]")
            .find(|entry| entry.contains(&format!("name = \"{package}\"\n")))
            .and_then(|entry| entry.lines().find(|line| line.starts_with("version")))
            .and_then(|line| line.split('"').nth(1))
            .unwrap_or("?");
        facts.push((package.to_owned(), version.to_owned()));
    }
    match python {
        Some(versions) => {
            for (key, value) in versions {
                facts.push((key.clone(), value.clone()));
            }
        }
        None => facts.push(("Python".to_owned(), "not measured".to_owned())),
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_takes_a_positive_count() {
        let root = Path::new(".");
        for bad in [&["--runs"][..], &["--runs", "0"], &["--runs", "two"]] {
            let arguments: Vec<String> = bad.iter().map(|&a| a.to_owned()).collect();
            assert_eq!(main(root, &arguments), Exit::Usage);
        }
    }

    #[test]
    fn the_declarations_hang_together() {
        use declare::{Format, Measure, TABLES, TARGETS};
        let mut keys: Vec<&str> = WORKLOADS.iter().map(|w| w.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), WORKLOADS.len(), "workload keys are unique");
        for target in TARGETS {
            if let Measure::Figures { workload, .. } = target.measure {
                assert!(
                    keys.contains(&workload),
                    "{}: no workload {workload}",
                    target.label
                );
            }
            assert!(target.at_least > 0.0);
        }
        for table in TABLES {
            for (cell, _, format) in table.columns {
                if let Format::RatioAt(_) = format {
                    assert_eq!(
                        *cell, "n",
                        "{}: a ratio is looked up by the row's n",
                        table.key
                    );
                }
            }
        }
    }
}
