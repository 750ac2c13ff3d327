//! Every example prints, byte for byte, what the chapter shows for its
//! Python original. The snapshots are the chapter's outputs.

use std::path::PathBuf;
use std::process::Command;

/// Runs the example `name` (built by `cargo test` next to this test) and
/// returns what it printed to stdout; fails on a non-zero exit.
fn run_example(name: &str) -> String {
    let binary = example_binary(name);
    let output = Command::new(&binary)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("examples print UTF-8");
    // insta trims the ends of a snapshot; pin them here: lines end in "\n",
    // with no blank line before or after, as in the chapter.
    assert!(!stdout.contains('\r'), "{name} printed a carriage return");
    assert!(
        stdout.ends_with('\n') && !stdout.ends_with("\n\n"),
        "{name}: {stdout:?}"
    );
    assert!(!stdout.starts_with('\n'), "{name}: {stdout:?}");
    stdout
}

/// `target/<profile>/examples/<name>`, building it if this test runs alone
/// (`cargo test --test examples` does not build examples).
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/examples-HASH -> target/<profile>/examples/NAME
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "--quiet",
            "--package",
            "asyncio-examples",
            "--example",
            name,
        ]);
        if profile_dir
            .file_name()
            .is_some_and(|profile| profile == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building example {name} failed");
    }
    binary
}

#[test]
fn asyncio_future_event_loop() {
    insta::assert_snapshot!(run_example("asyncio_future_event_loop"), @r"
    scheduling mark_done
    entering event loop
    setting future result to 'the result'
    returned result: 'the result'
    closing event loop
    future result: 'the result'
    ");
}

#[test]
fn asyncio_future_await() {
    insta::assert_snapshot!(run_example("asyncio_future_await"), @r"
    scheduling mark_done
    setting future result to 'the result'
    returned result: 'the result'
    ");
}

#[test]
fn asyncio_future_callback() {
    insta::assert_snapshot!(run_example("asyncio_future_callback"), @r"
    registering callbacks on future
    setting result of future
    1: future done: the result
    2: future done: the result
    ");
}

#[test]
fn examples_print_nothing_to_stderr() {
    for name in [
        "asyncio_future_event_loop",
        "asyncio_future_await",
        "asyncio_future_callback",
    ] {
        let output = Command::new(example_binary(name)).output().unwrap();
        assert!(
            output.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
