//! `cargo xtask docs-bench`: how `cargo xtask docs` scales with output size.
//!
//! Builds a scratch tree with one document whose output block shows N
//! lines of a scripted example (no cargo, no process: only the tool's own
//! work is timed) and times, per N, the median of a few runs of:
//! regenerating an empty block (N lines written), `--check` of a fresh
//! block, `--check` of a block where every line is stale (the worst case
//! for a diff) and `--check` of a block with one stale line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::files::{self, Disk};
use super::generate::{RunOutput, Status};
use super::runner::{Examples, Limits};
use super::{regenerate, unified_diff, Settings};
use crate::Exit;

pub(crate) const HELP: &str = "\
cargo xtask docs-bench: time `cargo xtask docs` on large outputs

USAGE:
    cargo xtask docs-bench [--lines N,N,...] [--runs R]

For each N (default 10000,100000,1000000), times regenerating a block of N
output lines, --check of it when fresh, when every line is stale, and when
one line is; prints the median of R runs (default 3) in milliseconds.
";

/// One example whose output is fixed.
struct Scripted {
    outputs: BTreeMap<String, String>,
}

impl Examples for Scripted {
    fn names(&self) -> Vec<String> {
        self.outputs.keys().cloned().collect()
    }

    fn source(&self, name: &str) -> Option<String> {
        self.outputs
            .contains_key(name)
            .then(|| "// end of header\nfn main() {}\n".to_owned())
    }

    fn build(&self, _names: &[String]) -> Result<(), Vec<(String, String)>> {
        Ok(())
    }

    fn run(&self, name: &str, _args: &[String], _limits: Limits) -> Result<RunOutput, String> {
        Ok(RunOutput {
            stdout: self.outputs[name].clone(),
            stderr: String::new(),
            status: Status::Code(0),
        })
    }
}

fn lines(count: usize, tag: &str) -> String {
    (0..count).map(|i| format!("{tag} line {i}\n")).collect()
}

/// The four timings for `n` lines, each the median of `runs`, in ms.
fn measure(scratch: &Path, n: usize, runs: usize) -> Result<[f64; 4], String> {
    let document = scratch.join("docs").join("big.md");
    std::fs::create_dir_all(document.parent().unwrap_or(scratch)).map_err(|e| e.to_string())?;
    let begin = format!("# Big\n\n<!-- docs:output big max-lines={n} -->\n");
    let examples = Scripted {
        outputs: BTreeMap::from([("big".to_owned(), lines(n, "new"))]),
    };
    let check = Settings {
        check: true,
        ..Settings::default()
    };
    // The document as regeneration writes it, made once to derive the stale ones.
    std::fs::write(&document, format!("{begin}<!-- docs:end -->\n")).map_err(|e| e.to_string())?;
    regenerate_and_write(scratch, &examples)?;
    let fresh = std::fs::read_to_string(&document).map_err(|e| e.to_string())?;
    let all_stale = fresh.replace("new line", "old line");
    let one_stale = fresh.replacen("new line 7\n", "old line 7\n", 1);
    let mut medians = [0.0; 4];
    for (which, median) in medians.iter_mut().enumerate() {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let text = match which {
                0 => format!("{begin}<!-- docs:end -->\n"),
                1 => fresh.clone(),
                2 => all_stale.clone(),
                _ => one_stale.clone(),
            };
            std::fs::write(&document, &text).map_err(|e| e.to_string())?;
            let started = Instant::now();
            let changed = if which == 0 {
                regenerate_and_write(scratch, &examples)?
            } else {
                check_with_diff(scratch, &examples, check)?
            };
            times.push(started.elapsed().as_secs_f64() * 1e3);
            if changed != (which != 1) {
                return Err(format!(
                    "workload {which} at {n} lines: changed = {changed}"
                ));
            }
        }
        times.sort_by(f64::total_cmp);
        *median = times[times.len() / 2];
    }
    Ok(medians)
}

/// Regenerates and writes the scratch tree; whether a file changed.
fn regenerate_and_write(root: &Path, examples: &Scripted) -> Result<bool, String> {
    let documents = files::find(root).documents;
    let outcome =
        regenerate(root, &documents, examples, Settings::default()).map_err(|e| e.join("\n"))?;
    files::write_all(&outcome.changes, &Disk).map_err(|failed| failed.message)?;
    Ok(!outcome.changes.is_empty())
}

/// `--check` as the command does it, diffs included (not printed);
/// whether anything was stale.
fn check_with_diff(root: &Path, examples: &Scripted, check: Settings) -> Result<bool, String> {
    let documents = files::find(root).documents;
    let outcome = regenerate(root, &documents, examples, check).map_err(|e| e.join("\n"))?;
    let diff_bytes: usize = outcome
        .changes
        .iter()
        .map(|change| unified_diff("a", "b", &change.old, &change.new).len())
        .sum();
    Ok(diff_bytes > 0 && !outcome.stale.is_empty())
}

pub(crate) fn main(arguments: &[String]) -> Exit {
    let mut sizes = vec![10_000, 100_000, 1_000_000];
    let mut runs = 3;
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        let value = match argument.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Exit::Success;
            }
            "--lines" | "--runs" => arguments.next(),
            other => {
                eprintln!("error: unknown option `{other}`\n\n{HELP}");
                return Exit::Usage;
            }
        };
        let parsed = value.and_then(|value| {
            value
                .split(',')
                .map(|n| n.parse::<usize>().ok().filter(|n| *n > 0))
                .collect::<Option<Vec<_>>>()
        });
        match (argument.as_str(), parsed) {
            ("--lines", Some(values)) => sizes = values,
            ("--runs", Some(values)) if values.len() == 1 => runs = values[0],
            _ => {
                eprintln!("error: `{argument}` takes whole numbers above 0\n\n{HELP}");
                return Exit::Usage;
            }
        }
    }
    let scratch: PathBuf =
        std::env::temp_dir().join(format!("xtask-docs-bench-{}", std::process::id()));
    println!("| output lines | regenerate | --check, fresh | --check, every line stale | --check, one line stale |");
    println!("|---:|---:|---:|---:|---:|");
    let mut exit = Exit::Success;
    for n in sizes {
        let _ = std::fs::remove_dir_all(&scratch);
        match measure(&scratch, n, runs) {
            Ok([write, fresh, all, one]) => {
                println!("| {n} | {write:.0} ms | {fresh:.0} ms | {all:.0} ms | {one:.0} ms |")
            }
            Err(message) => {
                eprintln!("error: {message}");
                exit = Exit::Failure;
                break;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    exit
}
