//! Project automation that plain `cargo` cannot express: `cargo xtask <command>`.
//!
//! The alias lives in `.cargo/config.toml`. Each command is a module; this
//! file only dispatches.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod docs;

const HELP: &str = "\
cargo xtask: project automation for asyncio-rs

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    bench   Benchmark against the peers and write docs/benchmarks.md
    docs    Regenerate the example sources and outputs embedded in the docs
    docs-bench
            Time `docs` on outputs of 10^4 to 10^6 lines
    help    Print this message

Run `cargo xtask <COMMAND> --help` for a command's options.
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let exit = match arguments.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Exit::Success
        }
        Some("bench") => bench::main(&workspace_root(), &arguments[1..]),
        Some("docs") => docs::main(&workspace_root(), &arguments[1..]),
        Some("docs-bench") => docs::bench::main(&arguments[1..]),
        Some(other) => {
            eprintln!("error: unknown command `{other}`\n\n{HELP}");
            Exit::Usage
        }
    };
    ExitCode::from(exit as u8)
}

/// How a command ended, as its exit status: comparable in tests, which
/// `ExitCode` is not before Rust 1.81 (this workspace's MSRV is 1.80).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Exit status 0.
    Success = 0,
    /// Exit status 1: the command ran and failed (or found differences).
    Failure = 1,
    /// Exit status 2: the command line was wrong.
    Usage = 2,
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root when relative), or `target/` in the root.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}
