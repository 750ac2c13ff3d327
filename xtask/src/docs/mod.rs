//! `cargo xtask docs`: regenerate the example sources and outputs embedded in
//! the Markdown docs, or check that they are fresh.
//!
//! Every file is computed before any is written, so an error anywhere
//! writes nothing anywhere.

pub(crate) mod bench;
mod diff;
mod files;
mod generate;
mod interrupt;
mod markers;
mod runner;

use crate::Exit;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(crate) use diff::unified_diff;
pub(crate) use files::Change;
use generate::{end_marker, input_hash, output_body, shown_output, source_body, RunOutput, Status};
use markers::{Document, Kind, Segment};
pub(crate) use runner::{CargoExamples, Examples, Limits};

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

    <!-- docs:output NAME [expect-failure] [stderr] [timeout=SECS] [max-lines=N] [replace=/REGEX/TEXT/]... -->
    <!-- docs:end -->
        `$ cargo run --example NAME`, a blank line, and what it printed.
        expect-failure   the example must exit with a non-zero code (a
                         crash, killed by a signal, is still an error)
        stderr           show stderr after stdout
        timeout=SECS     kill it after SECS seconds (default 60)
        max-lines=N      show at most N lines; stop an example that prints
                         more, or more than N KiB (default 10000)
        replace=/RE/TXT/ normalise output that varies between runs
                         (regex-lite syntax; `\\/` for a slash; repeatable)

The end marker records `hash=` of the block's inputs; the command writes it.
Lines inside fenced code blocks are never markers, in blocks too: generated
text is fenced, so an example may print a marker line. An unclosed fence is
an error. Symbolic links to documents are written through; permissions are
kept; a failed write puts back the files already written.
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

/// What a run found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) files: usize,
    pub(crate) blocks: usize,
    /// Each file that has blocks, with how many were checked in it.
    pub(crate) blocks_per_file: Vec<(String, usize)>,
    /// `path:line: description` of each block whose text would change (or,
    /// with `--fast`, whose inputs changed).
    pub(crate) stale: Vec<String>,
    pub(crate) changes: Vec<Change>,
    pub(crate) examples_run: usize,
    pub(crate) warnings: Vec<String>,
}

/// The Markdown files the command maintains: `README.md` and `docs/**/*.md`
/// (see [`files::find`] for links and loops).
#[cfg(test)]
pub(crate) fn doc_files(root: &Path) -> Vec<PathBuf> {
    files::find(root).documents
}

/// Computes the new text of every file in `files`; writes nothing.
pub(crate) fn regenerate(
    root: &Path,
    files: &[PathBuf],
    examples: &dyn Examples,
    settings: Settings,
) -> Result<Outcome, Vec<String>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut parsed = Vec::new();
    for path in files {
        let display = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = match files::read(path) {
            files::Read::Text(text) => text,
            files::Read::Skipped(message) => {
                warnings.push(format!("{display}{message}"));
                continue;
            }
            files::Read::Error(message) => {
                errors.push(format!("{display}{message}"));
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
        warnings,
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
        let mut bodies = Vec::new();
        for segment in &document.segments {
            let block = match segment {
                Segment::Text(text) => {
                    new.push_str(text);
                    continue;
                }
                Segment::Block(block) => &**block,
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
                    Ok(output) => {
                        let body = output_body(
                            &block.example,
                            &block.options.args,
                            &output,
                            block.newline,
                        );
                        // A run that differs only in what the block allows to
                        // vary keeps the run the docs show.
                        if generate::equivalent(&block.options, &body, &block.body) {
                            block.body.clone()
                        } else {
                            body
                        }
                    }
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
            bodies.push((block, body));
        }
        if !bodies.is_empty() {
            outcome
                .blocks_per_file
                .push((display.clone(), bodies.len()));
        }
        if let Err(message) = reads_back(&new, &bodies) {
            errors.push(format!("{display}:{message}"));
            continue;
        }
        if new != *old {
            outcome.changes.push(Change {
                target: std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
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

/// Checks that `new` parses back into the blocks just generated, with the
/// same bodies: the promise that generated text is never read as markers,
/// kept by construction (bodies are fenced, see `markers::parse`) and
/// checked here, so that a second run can only find what this one wrote.
fn reads_back(new: &str, generated: &[(&markers::Block, String)]) -> Result<(), String> {
    let document = markers::parse(new).map_err(|errors| {
        errors
            .first()
            .map(|error| format!("{error} (in the generated text, which would not read back)"))
            .unwrap_or_default()
    })?;
    let mut blocks = document.blocks();
    for (block, body) in generated {
        match blocks.next() {
            Some(again) if again.body == *body => {}
            _ => {
                return Err(format!(
                "{}: the generated {} would not read back as the same block; nothing was written",
                block.line,
                generate::describe(block)
            ))
            }
        }
    }
    match blocks.next() {
        None => Ok(()),
        Some(extra) => Err(format!(
            "{}: the generated text would read back with an extra block; nothing was written",
            extra.line
        )),
    }
}

/// One run of an example: its name and arguments.
type Invocation = (String, Vec<String>);

/// The result of running each invocation once or twice.
type Runs = BTreeMap<Invocation, Result<(RunOutput, Option<RunOutput>), String>>;

/// Builds the examples that output blocks name, once, and runs each in
/// parallel (twice with `verify_stable`), within the largest limits any of
/// its blocks asks for.
fn run_examples(
    parsed: &[(PathBuf, String, String, Document)],
    examples: &dyn Examples,
    verify_stable: bool,
    errors: &mut Vec<String>,
) -> Runs {
    let mut limits: BTreeMap<Invocation, Limits> = BTreeMap::new();
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, display, _, document) in parsed {
        for block in document.blocks().filter(|block| block.kind == Kind::Output) {
            let wanted = Limits::of(&block.options);
            limits
                .entry((block.example.clone(), block.options.args.clone()))
                .and_modify(|limits| *limits = limits.max(wanted))
                .or_insert(wanted);
            users
                .entry(block.example.clone())
                .or_default()
                .push(format!("{display}:{}", block.line));
        }
    }
    let mut names: Vec<String> = limits.keys().map(|(name, _)| name.clone()).collect();
    names.dedup();
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
        let handles: Vec<_> = limits
            .iter()
            .map(|(invocation, limits)| {
                let (name, args) = invocation;
                let handle = scope.spawn(move || {
                    let first = examples.run(name, args, *limits)?;
                    let second = if verify_stable {
                        Some(examples.run(name, args, *limits)?)
                    } else {
                        None
                    };
                    Ok((first, second))
                });
                (invocation.clone(), handle)
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
    let (first, second) = match runs.get(&(name.clone(), block.options.args.clone())) {
        Some(Ok(run)) => run,
        Some(Err(message)) => return Err(format!("example `{name}`: {message}")),
        None => return Err(format!("example `{name}` was not run")),
    };
    match (first.status, block.options.expect_failure) {
        (Status::Signal(signal), _) => {
            return Err(format!(
                "example `{name}` was killed by signal {signal}{}: a crash, which `expect-failure` does not cover; stderr:\n{}",
                signal_name(signal).map(|name| format!(" ({name})")).unwrap_or_default(),
                indent(&first.stderr)
            ))
        }
        (Status::Code(code), false) if code != 0 => {
            return Err(format!(
                "example `{name}` exited with a failure (mark the block `expect-failure` if the docs should show one); stderr:\n{}",
                indent(&first.stderr)
            ))
        }
        (Status::Code(0), true) => {
            return Err(format!(
                "example `{name}` exited successfully, but the block says `expect-failure`"
            ))
        }
        _ => {}
    }
    let shown = shown_output(&block.options, first);
    // The runner stops an example past the cap; this also holds for output
    // that a replacement lengthened, and for any other `Examples`.
    let lines = shown.lines().count();
    if lines > block.options.max_lines {
        return Err(format!(
            "example `{name}` shows {lines} lines, more than the block's cap of {}; raise it with `max-lines=N` if the docs should show them all",
            block.options.max_lines
        ));
    }
    if verify_stable {
        if let Some(second) = second {
            let again = shown_output(&block.options, second);
            if !generate::equivalent(&block.options, &again, &shown) {
                return Err(format!(
                    "example `{name}` printed different output on a second run (normalise it with `replace=`, or allow it with `vary=` or `unordered`):\n{}",
                    unified_diff("first run", "second run", &shown, &again)
                ));
            }
        }
    }
    Ok(shown)
}

/// The usual name of a signal that kills a crashing program.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return None,
    })
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

/// The command: parse `arguments`, regenerate, print, write.
pub(crate) fn main(root: &Path, arguments: &[String]) -> Exit {
    match Settings::parse(arguments) {
        Ok(Some(settings)) => {
            interrupt::install();
            execute_with(root, settings, &CargoExamples::new(root), &files::Disk)
        }
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

/// [`execute_with`] writing to the disk.
#[cfg(test)]
pub(crate) fn execute(root: &Path, settings: Settings, examples: &dyn Examples) -> Exit {
    execute_with(root, settings, examples, &files::Disk)
}

/// Regenerates the docs under `root` with `examples`; prints what it found
/// and, unless checking, writes the files that change through `writer`.
pub(crate) fn execute_with(
    root: &Path,
    settings: Settings,
    examples: &dyn Examples,
    writer: &dyn files::Writer,
) -> Exit {
    let found = files::find(root);
    let outcome = match regenerate(root, &found.documents, examples, settings) {
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
    for debris in &found.debris {
        let display = debris.strip_prefix(root).unwrap_or(debris).display();
        if settings.check {
            eprintln!("warning: {display}: a temporary file left by an interrupted run (the next `cargo xtask docs` removes it)");
        } else if std::fs::remove_file(debris).is_ok() {
            eprintln!("docs: removed {display}, a temporary file left by an interrupted run");
        }
    }
    for (display, blocks) in &outcome.blocks_per_file {
        println!("{display}: {blocks} block(s)");
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
        if let Err(failed) = files::write_all(&outcome.changes, writer) {
            eprintln!("error: {}", failed.message);
            if let Some(signal) = failed.signal {
                std::process::exit(128 + signal);
            }
            return Exit::Failure;
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
