//! Project automation that plain `cargo` cannot express: `cargo xtask <command>`.
//!
//! The alias lives in `.cargo/config.toml`. Each command is a module; this
//! file only dispatches.

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask: project automation for asyncio-rs

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    help    Print this message

Run `cargo xtask <COMMAND> --help` for a command's options.
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown command `{other}`\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}
