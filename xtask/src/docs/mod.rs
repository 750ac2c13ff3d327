//! `cargo xtask docs`: regenerate the example sources and outputs embedded in
//! the Markdown docs, or check that they are fresh.
//!
//! Every file is computed before any is written, so an error anywhere
//! writes nothing anywhere.

mod generate;
mod markers;
mod runner;

use crate::Exit;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use generate::{end_marker, input_hash, output_body, shown_output, source_body, RunOutput};
use markers::{Document, Kind, Segment};
pub(crate) use runner::{CargoExamples, Examples};

pub(crate) const HELP: &str = "\
cargo xtask docs: regenerate the examples' sources and outputs in the docs

USAGE:
    cargo xtask docs [--check [--fast]] [--verify-stable]

Rewrites every generated block in README.md and docs/**/*.md in place:
source blocks from the example's file (after its `// end of header` line),
output blocks by building the examples once and running them in parallel.

OPTIONS:
    --check           Change nothing; exit 1 and print a unified diff and the
                      file and line of each stale block if any is stale
    --fast            With --check: run nothing; compare each output block's
                      recorded hash of its inputs (example source, options)
                      and report the blocks that may be stale
    --verify-stable   Run every example twice and fail if its shown output
                      differs between the runs
    -h, --help        Print this message

MARKERS (HTML comments, invisible when the Markdown is rendered):
    <!-- docs:source NAME -->
    <!-- docs:end -->
        The source of examples/examples/NAME.rs after its header.

    <!-- docs:output NAME [expect-failure] [stderr] [timeout=SECS] [replace=/REGEX/TEXT/]... -->
    <!-- docs:end -->
        `$ cargo run --example NAME`, a blank line, and what it printed.
        expect-failure   the example must exit non-zero
        stderr           show stderr after stdout
        timeout=SECS     kill it after SECS seconds (default 60)
        replace=/RE/TXT/ normalise output that varies between runs
                         (regex-lite syntax; `\\/` for a slash; repeatable)

The end marker records `hash=` of the block's inputs; the command writes it.
Markers inside fenced code blocks are ignored.
";

/// What the command was asked to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) check: bool,
    pub(crate) fast: bool,
    pub(crate) verify_stable: bool,
}

impl Settings {
    pub(crate) fn parse(arguments: &[String]) -> Result<Option<Settings>, String> {
        let mut settings = Settings::default();
        for argument in arguments {
            match argument.as_str() {
                "--check" => settings.check = true,
                "--fast" => settings.fast = true,
                "--verify-stable" => settings.verify_stable = true,
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if settings.fast && !settings.check {
            return Err(
                "`--fast` goes with `--check`: it runs nothing, so it cannot regenerate".to_owned(),
            );
        }
        if settings.fast && settings.verify_stable {
            return Err("`--fast` runs nothing, so it cannot `--verify-stable`".to_owned());
        }
        Ok(Some(settings))
    }
}

/// One file whose text would change.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) path: PathBuf,
    pub(crate) display: String,
    pub(crate) old: String,
    pub(crate) new: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) files: usize,
    pub(crate) blocks: usize,
    /// `path:line: description` of each block whose text would change (or,
    /// with `--fast`, whose inputs changed).
    pub(crate) stale: Vec<String>,
    pub(crate) changes: Vec<Change>,
    pub(crate) examples_run: usize,
    pub(crate) warnings: Vec<String>,
}

/// The Markdown files the command maintains: `README.md` and `docs/**/*.md`.
pub(crate) fn doc_files(root: &Path) -> Vec<PathBuf> {
    fn walk(directory: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let readme = root.join("README.md");
    if readme.is_file() {
        files.push(readme);
    }
    let mut docs = Vec::new();
    walk(&root.join("docs"), &mut docs);
    docs.sort();
    files.extend(docs);
    files
}

/// Computes the new text of every file in `files`; writes nothing.
pub(crate) fn regenerate(
    root: &Path,
    files: &[PathBuf],
    examples: &dyn Examples,
    settings: Settings,
) -> Result<Outcome, Vec<String>> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for path in files {
        let display = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                errors.push(format!("{display}: cannot read: {error}"));
                continue;
            }
        };
        match markers::parse(&text) {
            Ok(document) => parsed.push((path.clone(), display, text, document)),
            Err(found) => {
                errors.extend(found.into_iter().map(|error| format!("{display}:{error}")))
            }
        }
    }

    // Every block must name an example that exists.
    let mut sources = BTreeMap::new();
    for (_, display, _, document) in &parsed {
        for block in document.blocks() {
            match examples.source(&block.example) {
                Some(source) => {
                    sources.insert(block.example.clone(), source);
                }
                None => errors.push(format!(
                    "{display}:{}: unknown example `{}` (there is no examples/examples/{}.rs)",
                    block.line, block.example, block.example
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut outcome = Outcome {
        files: parsed.len(),
        ..Outcome::default()
    };
    let shown: BTreeSet<&str> = parsed
        .iter()
        .flat_map(|(_, _, _, document)| document.blocks().map(|block| block.example.as_str()))
        .collect();
    for name in examples.names() {
        if !shown.contains(name.as_str()) {
            outcome
                .warnings
                .push(format!("example `{name}` is shown by no docs block"));
        }
    }

    let runs = if settings.fast {
        BTreeMap::new()
    } else {
        run_examples(&parsed, examples, settings.verify_stable, &mut errors)
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    outcome.examples_run = runs.len();

    for (path, display, old, document) in &parsed {
        let mut new = String::with_capacity(old.len());
        for segment in &document.segments {
            let block = match segment {
                Segment::Text(text) => {
                    new.push_str(text);
                    continue;
                }
                Segment::Block(block) => block,
            };
            outcome.blocks += 1;
            let source = &sources[&block.example];
            let hash = input_hash(block, source);
            let location = format!("{display}:{}", block.line);
            let body = match block.kind {
                Kind::Source => match source_body(&block.example, source, block.newline) {
                    Ok(body) => body,
                    Err(message) => {
                        errors.push(format!("{location}: {message}"));
                        continue;
                    }
                },
                Kind::Output if settings.fast => {
                    if block.recorded_hash.as_deref() != Some(hash.as_str()) {
                        outcome.stale.push(format!(
                            "{location}: {} may be stale: its example or options changed since it was generated",
                            generate::describe(block)
                        ));
                    }
                    block.body.clone()
                }
                Kind::Output => match output_for(block, &runs, settings.verify_stable) {
                    Ok(output) => output_body(&block.example, &output, block.newline),
                    Err(message) => {
                        errors.push(format!("{location}: {message}"));
                        continue;
                    }
                },
            };
            let end = if settings.fast && block.kind == Kind::Output {
                block.end.clone()
            } else {
                end_marker(&block.end, &hash)
            };
            if body != block.body || end != block.end {
                outcome
                    .stale
                    .push(format!("{location}: stale {}", generate::describe(block)));
            }
            new.push_str(&block.begin);
            new.push_str(&body);
            new.push_str(&end);
        }
        if new != *old {
            outcome.changes.push(Change {
                path: path.clone(),
                display: display.clone(),
                old: old.clone(),
                new,
            });
        }
    }
    if errors.is_empty() {
        Ok(outcome)
    } else {
        Err(errors)
    }
}

/// The result of running one example once or twice.
type Runs = BTreeMap<String, Result<(RunOutput, Option<RunOutput>), String>>;

/// Builds the examples that output blocks name, once, and runs each in
/// parallel (twice with `verify_stable`), with the longest timeout any of
/// its blocks asks for.
fn run_examples(
    parsed: &[(PathBuf, String, String, Document)],
    examples: &dyn Examples,
    verify_stable: bool,
    errors: &mut Vec<String>,
) -> Runs {
    let mut timeouts: BTreeMap<String, Duration> = BTreeMap::new();
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, display, _, document) in parsed {
        for block in document.blocks().filter(|block| block.kind == Kind::Output) {
            let timeout = timeouts.entry(block.example.clone()).or_default();
            *timeout = (*timeout).max(block.options.timeout);
            users
                .entry(block.example.clone())
                .or_default()
                .push(format!("{display}:{}", block.line));
        }
    }
    let names: Vec<String> = timeouts.keys().cloned().collect();
    if let Err(failures) = examples.build(&names) {
        for (name, message) in failures {
            for location in &users[&name] {
                errors.push(format!(
                    "{location}: example `{name}` failed to build:\n{}",
                    indent(&message)
                ));
            }
        }
        return Runs::new();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = timeouts
            .iter()
            .map(|(name, timeout)| {
                let handle = scope.spawn(move || {
                    let first = examples.run(name, *timeout)?;
                    let second = if verify_stable {
                        Some(examples.run(name, *timeout)?)
                    } else {
                        None
                    };
                    Ok((first, second))
                });
                (name.clone(), handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let run = handle
                    .join()
                    .unwrap_or_else(|_| Err("the runner thread panicked".to_owned()));
                (name, run)
            })
            .collect()
    })
}

/// The output an output block shows, or why it cannot be shown.
fn output_for(block: &markers::Block, runs: &Runs, verify_stable: bool) -> Result<String, String> {
    let name = &block.example;
    let (first, second) = match runs.get(name) {
        Some(Ok(run)) => run,
        Some(Err(message)) => return Err(format!("example `{name}`: {message}")),
        None => return Err(format!("example `{name}` was not run")),
    };
    match (first.success, block.options.expect_failure) {
        (false, false) => {
            return Err(format!(
                "example `{name}` exited with a failure (mark the block `expect-failure` if the docs should show one); stderr:\n{}",
                indent(&first.stderr)
            ))
        }
        (true, true) => {
            return Err(format!(
                "example `{name}` exited successfully, but the block says `expect-failure`"
            ))
        }
        _ => {}
    }
    let shown = shown_output(&block.options, first);
    if verify_stable {
        if let Some(second) = second {
            let again = shown_output(&block.options, second);
            if again != shown {
                return Err(format!(
                    "example `{name}` printed different output on a second run (normalise it with `replace=`):\n{}",
                    unified_diff("first run", "second run", &shown, &again)
                ));
            }
        }
    }
    Ok(shown)
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

pub(crate) fn unified_diff(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// Writes `text` to `path` through a temporary file in the same folder and
/// a rename, so an interrupted write leaves the old file whole.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.xtask-docs.tmp"));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// The command: parse `arguments`, regenerate, print, write.
pub(crate) fn main(root: &Path, arguments: &[String]) -> Exit {
    match Settings::parse(arguments) {
        Ok(Some(settings)) => execute(root, settings, &CargoExamples::new(root)),
        Ok(None) => {
            print!("{HELP}");
            Exit::Success
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            Exit::Usage
        }
    }
}

/// Regenerates the docs under `root` with `examples`; prints what it found
/// and, unless checking, writes the files that change.
pub(crate) fn execute(root: &Path, settings: Settings, examples: &dyn Examples) -> Exit {
    let outcome = match regenerate(root, &doc_files(root), examples, settings) {
        Ok(outcome) => outcome,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            eprintln!("docs: {} error(s); no file was written", errors.len());
            return Exit::Failure;
        }
    };
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    let mut summary = format!(
        "docs: {} block(s) in {} file(s) checked, ",
        outcome.blocks, outcome.files
    );
    if settings.check {
        for change in &outcome.changes {
            print!(
                "{}",
                unified_diff(
                    &format!("a/{}", change.display),
                    &format!("b/{}", change.display),
                    &change.old,
                    &change.new
                )
            );
        }
        for stale in &outcome.stale {
            eprintln!("{stale}");
        }
        let _ = write!(summary, "{} stale", outcome.stale.len());
    } else {
        for change in &outcome.changes {
            if let Err(error) = write_atomically(&change.path, &change.new) {
                eprintln!("error: {}: cannot write: {error}", change.display);
                return Exit::Failure;
            }
        }
        let _ = write!(summary, "{} updated", outcome.stale.len());
    }
    let _ = write!(summary, ", {} example(s) run", outcome.examples_run);
    println!("{summary}");
    if settings.check && !outcome.stale.is_empty() {
        eprintln!("docs are stale: run `cargo xtask docs` to regenerate them");
        return Exit::Failure;
    }
    Exit::Success
}

#[cfg(test)]
mod tests;
