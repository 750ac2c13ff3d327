//! Tests of the regenerator against a fake set of examples.

use crate::Exit;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::generate::{RunOutput, Status};
use super::*;

/// Examples with fixed sources and scripted runs.
#[derive(Default)]
struct Fake {
    sources: BTreeMap<String, String>,
    /// Outputs by example; each run takes the next, the last one repeats.
    runs: Mutex<BTreeMap<String, Vec<Result<RunOutput, String>>>>,
    build_failures: BTreeMap<String, String>,
    log: Mutex<Vec<String>>,
}

fn printed(stdout: &str) -> Result<RunOutput, String> {
    Ok(RunOutput {
        stdout: stdout.to_owned(),
        stderr: String::new(),
        status: Status::Code(0),
    })
}

impl Fake {
    fn with(mut self, name: &str, stdout: &str) -> Self {
        self.sources.insert(
            name.to_owned(),
            format!("//! The {name} example.\n// end of header\n\nfn main() {{\n    println!(\"{name}\");\n}}\n"),
        );
        self.runs
            .get_mut()
            .unwrap()
            .insert(name.to_owned(), vec![printed(stdout)]);
        self
    }

    fn runs_as(self, name: &str, runs: Vec<Result<RunOutput, String>>) -> Self {
        self.runs.lock().unwrap().insert(name.to_owned(), runs);
        self
    }

    fn log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Examples for Fake {
    fn names(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    fn source(&self, name: &str) -> Option<String> {
        self.sources.get(name).cloned()
    }

    fn build(&self, names: &[String]) -> Result<(), Vec<(String, String)>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("build {}", names.join(" ")));
        let failures: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| Some((name.clone(), self.build_failures.get(name)?.clone())))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }

    fn run(&self, name: &str, _args: &[String], _limits: Limits) -> Result<RunOutput, String> {
        let mut runs = self.runs.lock().unwrap();
        let queue = runs.get_mut(name).expect("scripted example");
        if queue.len() > 1 {
            queue.remove(0)
        } else {
            queue[0].clone()
        }
    }
}

/// A folder with `README.md` and `docs/` files, removed when dropped.
struct Tree(std::path::PathBuf);

impl Tree {
    fn new(files: &[(&str, &str)]) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "xtask-docs-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Tree(root)
    }

    fn root(&self) -> &Path {
        &self.0
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.0.join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.0.join(path), text).unwrap();
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CHAPTER: &str = "\
# Chapter

Intro text stays as it is.

<!-- docs:source demo -->
<!-- docs:end -->

It prints:

<!-- docs:output demo -->
old output
<!-- docs:end -->

```markdown
<!-- docs:output not-a-block -->
```
";

fn regenerate_tree(
    tree: &Tree,
    examples: &Fake,
    settings: Settings,
) -> Result<Outcome, Vec<String>> {
    regenerate(tree.root(), &doc_files(tree.root()), examples, settings)
}

fn write_settings() -> Settings {
    Settings::default()
}

fn check_settings() -> Settings {
    Settings {
        check: true,
        ..Settings::default()
    }
}

#[test]
fn fills_blocks_from_sources_and_runs() {
    let tree = Tree::new(&[("docs/chapter.md", CHAPTER)]);
    let examples = Fake::default().with("demo", "hello\nworld\n");
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    insta::assert_snapshot!(tree.read("docs/chapter.md"), @r#"
    # Chapter

    Intro text stays as it is.

    <!-- docs:source demo -->
    File: `examples/examples/demo.rs`

    ```rust
    fn main() {
        println!("demo");
    }
    ```
    <!-- docs:end hash=547831796c5ef9c4 -->

    It prints:

    <!-- docs:output demo -->
    ```text
    $ cargo run --example demo

    hello
    world
    ```
    <!-- docs:end hash=74a943ebd5f1fd00 -->

    ```markdown
    <!-- docs:output not-a-block -->
    ```
    "#);
    assert_eq!(examples.log(), ["build demo"], "built once");
}

#[test]
fn a_second_run_changes_nothing() {
    let tree = Tree::new(&[("docs/chapter.md", CHAPTER)]);
    let examples = Fake::default().with("demo", "hello\n");
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    let first = tree.read("docs/chapter.md");
    let outcome = regenerate_tree(&tree, &examples, check_settings()).unwrap();
    assert!(
        outcome.changes.is_empty() && outcome.stale.is_empty(),
        "{outcome:?}"
    );
    assert_eq!(
        execute(tree.root(), check_settings(), &examples),
        Exit::Success
    );
    assert_eq!(tree.read("docs/chapter.md"), first);
}

#[test]
fn text_outside_markers_is_kept_byte_for_byte() {
    let text = "Line one\r\n  trailing spaces  \r\n<!-- docs:output demo -->\r\n<!-- docs:end -->\r\nno final newline";
    let tree = Tree::new(&[("docs/crlf.md", text)]);
    let examples = Fake::default().with("demo", "out\n");
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    let written = tree.read("docs/crlf.md");
    assert!(written.starts_with(
        "Line one\r\n  trailing spaces  \r\n<!-- docs:output demo -->\r\n```text\r\n"
    ));
    assert!(written.ends_with(" -->\r\nno final newline"), "{written:?}");
    assert!(
        !written.replace("\r\n", "").contains('\n'),
        "generated lines use the file's CRLF"
    );
}

#[test]
fn check_reports_each_stale_block_and_writes_nothing() {
    let tree = Tree::new(&[("docs/chapter.md", CHAPTER)]);
    let examples = Fake::default().with("demo", "hello\n");
    let outcome = regenerate_tree(&tree, &examples, check_settings()).unwrap();
    assert_eq!(
        outcome.stale,
        [
            "docs/chapter.md:5: stale source block for `demo`",
            "docs/chapter.md:10: stale output block for `demo`"
        ]
    );
    assert_eq!(
        execute(tree.root(), check_settings(), &examples),
        Exit::Failure
    );
    assert_eq!(tree.read("docs/chapter.md"), CHAPTER);
    let change = &outcome.changes[0];
    let diff = unified_diff("a", "b", &change.old, &change.new);
    assert!(diff.contains("-old output\n"), "{diff}");
    assert!(diff.contains("+hello\n"), "{diff}");
}

#[test]
fn an_error_in_one_file_writes_nothing_anywhere() {
    let tree = Tree::new(&[
        (
            "README.md",
            "<!-- docs:output demo -->\n<!-- docs:end -->\n",
        ),
        (
            "docs/broken.md",
            "<!-- docs:output missing -->\n<!-- docs:end -->\n<!-- docs:source demo -->\n",
        ),
    ]);
    let examples = Fake::default().with("demo", "hello\n");
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/broken.md:3: unterminated block: `docs:source demo` has no `<!-- docs:end -->`"]
    );
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Failure
    );
    assert_eq!(
        tree.read("README.md"),
        "<!-- docs:output demo -->\n<!-- docs:end -->\n"
    );

    tree.write(
        "docs/broken.md",
        "<!-- docs:output missing -->\n<!-- docs:end -->\n",
    );
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/broken.md:1: unknown example `missing` (there is no examples/examples/missing.rs)"]
    );
    assert_eq!(
        examples.log(),
        Vec::<String>::new(),
        "nothing is built when a block is bad"
    );
}

#[test]
fn a_failing_example_is_an_error_unless_expected() {
    let failure = Ok(RunOutput {
        stdout: "partial\n".into(),
        stderr: "boom\n".into(),
        status: Status::Code(1),
    });
    let examples = Fake::default()
        .with("demo", "")
        .runs_as("demo", vec![failure]);
    let tree = Tree::new(&[(
        "docs/a.md",
        "x\n<!-- docs:output demo -->\n<!-- docs:end -->\n",
    )]);
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/a.md:2: example `demo` exited with a failure (mark the block `expect-failure` if the docs should show one); stderr:\n    boom\n"]
    );

    tree.write(
        "docs/a.md",
        "<!-- docs:output demo expect-failure stderr -->\n<!-- docs:end -->\n",
    );
    let outcome = regenerate_tree(&tree, &examples, write_settings()).unwrap();
    assert!(outcome.changes[0].new.contains("partial\nboom\n"));

    let examples = Fake::default().with("demo", "fine\n");
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/a.md:1: example `demo` exited successfully, but the block says `expect-failure`"]
    );
}

#[test]
fn build_failures_and_timeouts_name_every_block_of_the_example() {
    let mut examples = Fake::default().with("demo", "x\n");
    examples
        .build_failures
        .insert("demo".into(), "error[E0425]: cannot find value".into());
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:output demo -->\n<!-- docs:end -->\n<!-- docs:output demo stderr -->\n<!-- docs:end -->\n",
    )]);
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        [
            "docs/a.md:1: example `demo` failed to build:\n    error[E0425]: cannot find value\n",
            "docs/a.md:3: example `demo` failed to build:\n    error[E0425]: cannot find value\n"
        ]
    );

    let examples = Fake::default()
        .with("demo", "")
        .runs_as("demo", vec![Err("timed out after 60 s".into())]);
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors[0],
        "docs/a.md:1: example `demo`: timed out after 60 s"
    );
}

#[test]
fn replace_normalises_output_that_varies() {
    let examples = Fake::default().with("demo", "").runs_as(
        "demo",
        vec![
            printed("took 13 ms at 0x7ffd12\n"),
            printed("took 9 ms at 0x55aa00\n"),
        ],
    );
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:output demo replace=/\\d+ ms/N ms/ replace=/0x[0-9a-f]+/0xADDR/ -->\n<!-- docs:end -->\n",
    )]);
    let settings = Settings {
        verify_stable: true,
        ..Settings::default()
    };
    let outcome = regenerate_tree(&tree, &examples, settings).unwrap();
    assert!(outcome.changes[0].new.contains("\ntook N ms at 0xADDR\n"));
}

#[test]
fn unordered_and_vary_keep_the_shown_run_when_a_new_one_differs_only_there() {
    let doc = "<!-- docs:output demo unordered vary=/worker-\\d/ -->\n<!-- docs:end -->\n";
    let tree = Tree::new(&[("docs/a.md", doc)]);
    let first = Fake::default().with("demo", "");
    let first = first.runs_as("demo", vec![printed("worker-0 a\nworker-1 b\nmain c\n")]);
    let outcome = regenerate_tree(&tree, &first, write_settings()).unwrap();
    tree.write("docs/a.md", &outcome.changes[0].new);
    let shown = tree.read("docs/a.md");
    assert!(shown.contains("worker-0 a\nworker-1 b\nmain c\n"));
    // Another order, other workers: the block stays as it is, and `--check`
    // passes with no change.
    let again = Fake::default().with("demo", "");
    let again = again.runs_as("demo", vec![printed("main c\nworker-1 a\nworker-0 b\n")]);
    let outcome = regenerate_tree(&tree, &again, write_settings()).unwrap();
    assert!(outcome.changes.is_empty());
    let again = Fake::default().with("demo", "");
    let again = again.runs_as("demo", vec![printed("main c\nworker-1 a\nworker-0 b\n")]);
    let outcome = regenerate_tree(&tree, &again, check_settings()).unwrap();
    assert!(outcome.stale.is_empty(), "{:?}", outcome.stale);
    // A real difference (a line that is not there before) is still stale.
    let changed = Fake::default().with("demo", "");
    let changed = changed.runs_as("demo", vec![printed("main c\nworker-1 a\nworker-0 x\n")]);
    let outcome = regenerate_tree(&tree, &changed, check_settings()).unwrap();
    assert_eq!(outcome.stale.len(), 1, "{:?}", outcome.stale);
}

#[test]
fn verify_stable_accepts_runs_that_differ_only_in_what_may_vary() {
    let examples = Fake::default()
        .with("demo", "")
        .runs_as("demo", vec![printed("a 1\nb\n"), printed("b\na 2\n")]);
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:output demo unordered vary=/\\d/ -->\n<!-- docs:end -->\n",
    )]);
    let settings = Settings {
        verify_stable: true,
        ..Settings::default()
    };
    let outcome = regenerate_tree(&tree, &examples, settings).unwrap();
    assert!(outcome.changes[0].new.contains("\na 1\nb\n"));
}

#[test]
fn verify_stable_fails_with_a_diff_when_two_runs_differ() {
    let examples = Fake::default()
        .with("demo", "")
        .runs_as("demo", vec![printed("a\n1\n"), printed("a\n2\n")]);
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:output demo -->\n<!-- docs:end -->\n",
    )]);
    let settings = Settings {
        verify_stable: true,
        ..Settings::default()
    };
    let errors = regenerate_tree(&tree, &examples, settings).unwrap_err();
    insta::assert_snapshot!(errors[0], @r"
    docs/a.md:1: example `demo` printed different output on a second run (normalise it with `replace=`, or allow it with `vary=` or `unordered`):
    --- first run
    +++ second run
    @@ -1,2 +1,2 @@
     a
    -1
    +2
    ");
}

#[test]
fn examples_that_no_doc_shows_are_reported() {
    let examples = Fake::default().with("demo", "x\n").with("lonely", "y\n");
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:source demo -->\n<!-- docs:end -->\n",
    )]);
    let outcome = regenerate_tree(&tree, &examples, write_settings()).unwrap();
    assert_eq!(
        outcome.warnings,
        ["example `lonely` is shown by no docs block"]
    );
    assert_eq!(outcome.examples_run, 0, "a source block runs nothing");
}

#[test]
fn fast_check_runs_nothing_and_spots_changed_inputs() {
    let tree = Tree::new(&[("docs/chapter.md", CHAPTER)]);
    let mut examples = Fake::default().with("demo", "hello\n");
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    examples.log();
    let fast = Settings {
        check: true,
        fast: true,
        verify_stable: false,
    };
    let outcome = regenerate_tree(&tree, &examples, fast).unwrap();
    assert!(outcome.stale.is_empty(), "{:?}", outcome.stale);

    let source = examples.sources.get_mut("demo").unwrap();
    *source = source.replace("println", "eprintln");
    let outcome = regenerate_tree(&tree, &examples, fast).unwrap();
    assert_eq!(
        outcome.stale,
        [
            "docs/chapter.md:5: stale source block for `demo`",
            "docs/chapter.md:17: output block for `demo` may be stale: its example or options changed since it was generated"
        ]
    );
    assert_eq!(outcome.examples_run, 0);
    assert_eq!(
        examples.log(),
        Vec::<String>::new(),
        "fast runs and builds nothing"
    );
}

#[test]
fn settings_reject_unknown_and_contradictory_flags() {
    let parse = |arguments: &[&str]| {
        Settings::parse(&arguments.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(parse(&["--bogus"]).unwrap_err(), "unknown option `--bogus`");
    assert!(parse(&["--fast"])
        .unwrap_err()
        .starts_with("`--fast` goes with `--check`"));
    assert!(parse(&["--check", "--fast", "--verify-stable"]).is_err());
    assert_eq!(parse(&["--help"]).unwrap(), None);
    assert_eq!(
        parse(&["--check", "--fast"]).unwrap(),
        Some(Settings {
            check: true,
            fast: true,
            verify_stable: false
        })
    );
}

#[test]
fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
    use files::Writer as _;
    let tree = Tree::new(&[("docs/a.md", "old")]);
    let path = tree.root().join("docs/a.md");
    files::Disk.replace(&path, "new").unwrap();
    assert_eq!(tree.read("docs/a.md"), "new");
    let leftovers: Vec<_> = std::fs::read_dir(tree.root().join("docs"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1);
}

/// An output and a source that contain marker lines, fences and tildes.
const TRICKY: &str =
    "<!-- docs:end -->\n<!-- docs:source demo -->\n```\n~~~\n  <!-- docs:output demo -->  \n";

#[test]
fn marker_lines_in_outputs_and_sources_are_shown_and_read_back_as_text() {
    let tree = Tree::new(&[("docs/chapter.md", CHAPTER)]);
    let mut examples = Fake::default().with("demo", TRICKY);
    examples.sources.insert(
        "demo".to_owned(),
        "// end of header\nfn main() {}\n// <!-- docs:end -->\n/*\n```\n*/\n".to_owned(),
    );
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    let first = tree.read("docs/chapter.md");
    assert!(first.contains("\n<!-- docs:end -->\n<!-- docs:source demo -->\n```\n~~~\n"));
    for _ in 0..2 {
        assert_eq!(
            execute(tree.root(), write_settings(), &examples),
            Exit::Success
        );
        assert_eq!(tree.read("docs/chapter.md"), first, "idempotent");
    }
    let outcome = regenerate_tree(&tree, &examples, check_settings()).unwrap();
    assert!(outcome.stale.is_empty(), "{outcome:?}");
    assert_eq!(outcome.blocks_per_file, [("docs/chapter.md".to_owned(), 2)]);
}

#[test]
fn a_crash_is_an_error_even_when_a_failure_is_expected() {
    let tree = Tree::new(&[(
        "docs/a.md",
        "<!-- docs:output demo expect-failure -->\n<!-- docs:end -->\n",
    )]);
    let examples = Fake::default().with("demo", "").runs_as(
        "demo",
        vec![Ok(RunOutput {
            stdout: String::new(),
            stderr: "abort\n".into(),
            status: Status::Signal(6),
        })],
    );
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/a.md:1: example `demo` was killed by signal 6 (SIGABRT): a crash, which `expect-failure` does not cover; stderr:\n    abort\n"]
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_document_is_written_through_and_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new(&[
        (
            "shared/real.md",
            "<!-- docs:output demo -->\n<!-- docs:end -->\n",
        ),
        (
            "docs/ro.md",
            "<!-- docs:output demo -->\n<!-- docs:end -->\n",
        ),
    ]);
    std::os::unix::fs::symlink(
        tree.root().join("shared/real.md"),
        tree.root().join("docs/link.md"),
    )
    .unwrap();
    let read_only = tree.root().join("docs/ro.md");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Left by a killed run beside the link's target, outside `docs/`.
    let debris = tree.root().join("shared/.real.md.xtask-docs.tmp");
    std::fs::write(&debris, "half").unwrap();
    let examples = Fake::default().with("demo", "hi\n");
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    let link = tree.root().join("docs/link.md");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a link"
    );
    assert!(
        tree.read("shared/real.md").contains("hi\n"),
        "its target was written"
    );
    assert!(
        !debris.exists(),
        "the stale temporary file beside the target is removed"
    );
    assert!(tree.read("docs/ro.md").contains("hi\n"));
    let mode = std::fs::metadata(&read_only).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "read-only stays read-only");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[cfg(unix)]
#[test]
fn the_walk_survives_link_loops_and_visits_each_file_once() {
    let tree = Tree::new(&[
        ("README.md", "readme\n"),
        ("docs/a.md", "a\n"),
        ("docs/sub/b.md", "b\n"),
    ]);
    let docs = tree.root().join("docs");
    std::os::unix::fs::symlink(tree.root(), docs.join("root")).unwrap();
    std::os::unix::fs::symlink(&docs, docs.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(docs.join("a.md"), docs.join("z-again.md")).unwrap();
    std::os::unix::fs::symlink(docs.join("gone.md"), docs.join("dangling.md")).unwrap();
    let names: Vec<String> = doc_files(tree.root())
        .iter()
        .map(|path| {
            path.strip_prefix(tree.root())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["README.md", "docs/a.md", "docs/sub/b.md"]);
}

#[test]
fn a_stale_temporary_file_is_removed_by_the_next_writing_run() {
    let tree = Tree::new(&[
        (
            "docs/a.md",
            "<!-- docs:output demo -->\n<!-- docs:end -->\n",
        ),
        ("docs/.a.md.xtask-docs.tmp", "half a file"),
    ]);
    let examples = Fake::default().with("demo", "hi\n");
    assert_eq!(
        execute(tree.root(), check_settings(), &examples),
        Exit::Failure
    );
    assert!(
        tree.root().join("docs/.a.md.xtask-docs.tmp").exists(),
        "--check changes nothing"
    );
    assert_eq!(
        execute(tree.root(), write_settings(), &examples),
        Exit::Success
    );
    assert!(!tree.root().join("docs/.a.md.xtask-docs.tmp").exists());
}

#[test]
fn a_file_that_is_not_utf8_is_skipped_without_markers_and_an_error_with_them() {
    let tree = Tree::new(&[(
        "docs/good.md",
        "<!-- docs:output demo -->\n<!-- docs:end -->\n",
    )]);
    std::fs::write(tree.root().join("docs/latin1.md"), b"caf\xe9\n").unwrap();
    let examples = Fake::default().with("demo", "hi\n");
    let outcome = regenerate_tree(&tree, &examples, write_settings()).unwrap();
    assert_eq!(
        outcome.warnings,
        ["docs/latin1.md:1: not UTF-8 (the first bad byte is on this line) and no marker in it; skipped"]
    );
    std::fs::write(
        tree.root().join("docs/latin1.md"),
        b"ok\n<!-- docs:output demo -->\ncaf\xe9\n<!-- docs:end -->\n",
    )
    .unwrap();
    let errors = regenerate_tree(&tree, &examples, write_settings()).unwrap_err();
    assert_eq!(
        errors,
        ["docs/latin1.md:3: not UTF-8 (the first bad byte is on this line); a file with markers must be UTF-8"]
    );
}

/// Writes to the disk, but fails the `fail_at`-th replacement (0-based).
struct FailingDisk {
    calls: std::cell::Cell<usize>,
    fail_at: usize,
}

impl files::Writer for FailingDisk {
    fn replace(&self, target: &Path, text: &str) -> std::io::Result<()> {
        let call = self.calls.get();
        self.calls.set(call + 1);
        if call == self.fail_at {
            return Err(std::io::Error::other("injected failure"));
        }
        files::Disk.replace(target, text)
    }
}

#[test]
fn a_failed_write_of_any_file_leaves_every_file_as_it_was() {
    let block = "<!-- docs:output demo -->\n<!-- docs:end -->\n";
    let names = ["README.md", "docs/a.md", "docs/b.md", "docs/c/d.md"];
    let files: Vec<(&str, &str)> = names.iter().map(|name| (*name, block)).collect();
    let examples = Fake::default().with("demo", "hi\n");
    for fail_at in 0..names.len() {
        let tree = Tree::new(&files);
        let writer = FailingDisk {
            calls: std::cell::Cell::new(0),
            fail_at,
        };
        let exit = execute_with(tree.root(), write_settings(), &examples, &writer);
        assert_eq!(exit, Exit::Failure, "fail_at = {fail_at}");
        for name in names {
            assert_eq!(tree.read(name), block, "{name}, fail_at = {fail_at}");
        }
        let debris: Vec<_> = files::find(tree.root()).debris;
        assert!(debris.is_empty(), "{debris:?}");
    }
}

/// The repository's own docs: every block's recorded inputs match the
/// examples now (`cargo xtask docs --check` in CI also runs them).
#[test]
fn this_repositorys_docs_are_fresh_by_hash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let fast = Settings {
        check: true,
        fast: true,
        verify_stable: false,
    };
    let outcome = regenerate(root, &doc_files(root), &CargoExamples::new(root), fast).unwrap();
    assert!(
        outcome.stale.is_empty(),
        "run `cargo xtask docs`:\n{}",
        outcome.stale.join("\n")
    );
}

/// Property tests: for random documents (hand-written text with fences,
/// blocks with stale bodies, LF and CRLF lines, no final newline) and random
/// sources and outputs (marker lines, fences, tildes, non-ASCII), a
/// regeneration is accepted by `--check`, a second one changes nothing, and
/// the text outside the blocks is byte for byte what it was.
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A line of hand-written prose: never a marker, never a fence.
    fn prose() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9é日 .,]{0,16}"
    }

    /// A line an example may print or contain: anything, markers included.
    fn anything() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9é日 `~<>!-]{0,16}",
            1 => Just("<!-- docs:end -->".to_owned()),
            1 => Just("<!-- docs:end hash=0123 -->".to_owned()),
            1 => Just("  <!-- docs:source demo -->  ".to_owned()),
            1 => Just("<!-- docs:output other stderr -->".to_owned()),
            1 => Just("```".to_owned()),
            1 => Just("````text".to_owned()),
            1 => Just("~~~".to_owned()),
            1 => Just("// end of header".to_owned()),
        ]
    }

    #[derive(Clone, Debug)]
    enum Piece {
        Prose(Vec<String>),
        /// A fenced code block of hand-written text, marker lines and all.
        Fenced(Vec<String>),
        Block {
            output: bool,
            example: &'static str,
            stale: Vec<String>,
        },
    }

    fn piece() -> impl Strategy<Value = Piece> {
        let fenced_line = anything().prop_filter("does not close the fence", |line| {
            !line.trim().chars().all(|c| c == '~') || line.trim().len() < 3
        });
        prop_oneof![
            prop::collection::vec(prose(), 0..4).prop_map(Piece::Prose),
            prop::collection::vec(fenced_line, 0..4).prop_map(Piece::Fenced),
            (
                any::<bool>(),
                prop_oneof![Just("demo"), Just("other")],
                prop::collection::vec(prose(), 0..3)
            )
                .prop_map(|(output, example, stale)| Piece::Block {
                    output,
                    example,
                    stale
                }),
        ]
    }

    /// The document's lines (without endings) from its pieces.
    fn lines_of(pieces: &[Piece]) -> Vec<String> {
        let mut lines = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Prose(prose) => lines.extend(prose.iter().cloned()),
                Piece::Fenced(code) => {
                    lines.push("~~~~".to_owned());
                    lines.extend(code.iter().cloned());
                    lines.push("~~~~".to_owned());
                }
                Piece::Block {
                    output,
                    example,
                    stale,
                } => {
                    let kind = if *output { "output" } else { "source" };
                    lines.push(format!("<!-- docs:{kind} {example} -->"));
                    lines.extend(stale.iter().cloned());
                    lines.push("<!-- docs:end -->".to_owned());
                }
            }
        }
        lines
    }

    fn document() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(piece(), 1..6),
            prop::collection::vec(any::<bool>(), 64),
            any::<bool>(),
        )
            .prop_map(|(pieces, crlf, final_newline)| {
                let mut pieces = pieces;
                // At least one block, so the file is not all fenced markers.
                pieces.push(Piece::Block {
                    output: true,
                    example: "demo",
                    stale: Vec::new(),
                });
                let lines = lines_of(&pieces);
                let mut text = String::new();
                for (index, line) in lines.iter().enumerate() {
                    text.push_str(line);
                    if index + 1 < lines.len() || final_newline {
                        text.push_str(if crlf[index % crlf.len()] {
                            "\r\n"
                        } else {
                            "\n"
                        });
                    }
                }
                text
            })
    }

    fn text_of(lines: &[String], crlf: bool) -> String {
        let ending = if crlf { "\r\n" } else { "\n" };
        lines.iter().map(|line| format!("{line}{ending}")).collect()
    }

    fn outside_blocks(text: &str) -> Vec<String> {
        markers::parse(text)
            .unwrap()
            .segments
            .into_iter()
            .filter_map(|segment| match segment {
                Segment::Text(text) => Some(text),
                Segment::Block(_) => None,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn regenerate_then_check_passes_and_a_second_run_changes_nothing(
            document in document(),
            demo_output in prop::collection::vec(anything(), 0..6),
            other_output in prop::collection::vec(anything(), 0..6),
            source in prop::collection::vec(anything(), 0..6),
            crlf_output in any::<bool>(),
        ) {
            let tree = Tree::new(&[("docs/doc.md", &document)]);
            let mut examples = Fake::default()
                .with("demo", &text_of(&demo_output, crlf_output))
                .with("other", &text_of(&other_output, false));
            let mut code = "//! Generated.\n// end of header\n".to_owned();
            code.push_str(&text_of(&source, false));
            examples.sources.insert("demo".to_owned(), code);

            prop_assert_eq!(execute(tree.root(), write_settings(), &examples), Exit::Success);
            let written = tree.read("docs/doc.md");
            prop_assert_eq!(outside_blocks(&written), outside_blocks(&document));

            let checked = regenerate_tree(&tree, &examples, check_settings()).unwrap();
            prop_assert!(checked.stale.is_empty(), "{:?}", checked.stale);
            prop_assert!(checked.changes.is_empty());

            prop_assert_eq!(execute(tree.root(), write_settings(), &examples), Exit::Success);
            prop_assert_eq!(tree.read("docs/doc.md"), written);
        }

        #[test]
        fn the_parser_never_panics_and_its_errors_have_lines(text in "(?s).{0,400}") {
            if let Err(errors) = markers::parse(&text) {
                let lines = text.split_inclusive('\n').count().max(1);
                for error in errors {
                    prop_assert!(error.line >= 1 && error.line <= lines, "{error} of {lines}");
                }
            }
        }

        /// CommonMark: lines indented four spaces after a blank line are an
        /// indented code block, whatever they hold (markers, fences, list
        /// items): none is read, and a marker pair after them is.
        #[test]
        fn an_indented_code_block_hides_every_marker_in_it(
            lines in prop::collection::vec(anything(), 1..12),
            tab in any::<bool>(),
        ) {
            let indent = if tab { "\t" } else { "    " };
            let mut text = String::from("Some prose.\n\n");
            for line in &lines {
                text.push_str(indent);
                text.push_str(line);
                text.push('\n');
            }
            text.push_str("\n<!-- docs:source live -->\n<!-- docs:end -->\n");
            let document = markers::parse(&text).map_err(|errors| format!("{errors:?}\n{text}"));
            let document = document.map_err(TestCaseError::fail)?;
            let examples: Vec<&str> = document.blocks().map(|block| block.example.as_str()).collect();
            prop_assert_eq!(examples, ["live"], "{}", text);
        }

        /// CommonMark: a run of three or more backticks followed by text
        /// holding a backtick is a code span in a paragraph, not a fence:
        /// the marker pair after it is read.
        #[test]
        fn a_line_of_backtick_code_spans_opens_no_fence(
            run in 3usize..6,
            before in "[a-z ]{1,6}",
            after in "[a-z` ]{0,6}",
        ) {
            let text = format!(
                "{ticks}{before}`{after}\n\n<!-- docs:source live -->\n<!-- docs:end -->\n",
                ticks = "`".repeat(run),
            );
            let document = markers::parse(&text).map_err(|errors| format!("{errors:?}\n{text}"));
            let document = document.map_err(TestCaseError::fail)?;
            prop_assert_eq!(document.blocks().count(), 1, "{}", text);
        }

        #[test]
        fn parsing_keeps_every_byte(lines in prop::collection::vec(prop_oneof![prose(), anything()], 0..20)) {
            let text = text_of(&lines, false);
            if let Ok(document) = markers::parse(&text) {
                let mut again = String::new();
                for segment in &document.segments {
                    match segment {
                        Segment::Text(text) => again.push_str(text),
                        Segment::Block(block) => {
                            again.push_str(&block.begin);
                            again.push_str(&block.body);
                            again.push_str(&block.end);
                        }
                    }
                }
                prop_assert_eq!(again, text);
            }
        }
    }
}
