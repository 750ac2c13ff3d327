//! What a block's generated text is, given the example's source or output.

use super::markers::{Block, Options};

/// The line that ends an example's header; the docs show what follows it.
pub(crate) const HEADER_END: &str = "// end of header";

/// What an example printed, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunOutput {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) status: Status,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// It exited with this code (0 is success).
    Code(i32),
    /// A signal killed it (an abort, a segmentation fault): a crash, which
    /// `expect-failure` does not cover.
    Signal(i32),
}

impl Status {
    pub(crate) fn of(status: std::process::ExitStatus) -> Status {
        #[cfg(unix)]
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            return Status::Signal(signal);
        }
        Status::Code(status.code().unwrap_or(-1))
    }
}

/// The hash the end marker records: FNV-1a (64 bits) of what the block is
/// generated from: its kind, example, options and the example's source. The
/// library code an example calls is not part of it, so a matching hash means
/// "the inputs this block names did not change", not "fresh".
pub(crate) fn input_hash(block: &Block, source: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        block.kind.name(),
        &block.example,
        &block.options.canonical,
        source,
    ] {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The source block's body: the example's file from after its header.
pub(crate) fn source_body(example: &str, source: &str, newline: &str) -> Result<String, String> {
    let mut lines = source.lines();
    if !lines.by_ref().any(|line| line.trim() == HEADER_END) {
        return Err(format!(
            "example `{example}` has no `{HEADER_END}` line to start the shown source after"
        ));
    }
    let code: Vec<&str> = lines.collect();
    let first = code
        .iter()
        .position(|line| !line.trim().is_empty())
        .unwrap_or(code.len());
    let last = code
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .map_or(first, |i| i + 1);
    let code = &code[first..last];
    Ok(fenced(
        &format!("File: `examples/examples/{example}.rs`{newline}{newline}"),
        "rust",
        code,
        newline,
    ))
}

/// The output block's body: the command, a blank line, then the output,
/// as the chapter shows `$ python3 NAME.py`.
pub(crate) fn output_body(example: &str, args: &[String], output: &str, newline: &str) -> String {
    let command = if args.is_empty() {
        format!("$ cargo run --example {example}")
    } else {
        format!("$ cargo run --example {example} -- {}", args.join(" "))
    };
    let mut lines = vec![command, String::new()];
    lines.extend(output.lines().map(str::to_owned));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    fenced("", "text", &lines, newline)
}

/// What an output block shows of a run: stdout (and stderr if asked), with
/// the block's replacements applied.
pub(crate) fn shown_output(options: &Options, run: &RunOutput) -> String {
    let mut shown = run.stdout.clone();
    if options.stderr {
        shown.push_str(&run.stderr);
    }
    for replacement in &options.replacements {
        shown = replacement
            .pattern
            .replace_all(&shown, replacement.with.as_str())
            .into_owned();
    }
    shown
}

/// Whether two texts an output block could show are the same up to what the
/// block's options allow to vary: the parts that a `vary=` pattern matches,
/// and, with `unordered`, the order of the lines.
pub(crate) fn equivalent(options: &Options, a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if options.varies.is_empty() && !options.unordered {
        return false;
    }
    let masked = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| {
                options
                    .varies
                    .iter()
                    .fold(line.to_owned(), |line, pattern| {
                        pattern.replace_all(&line, "\u{0}").into_owned()
                    })
            })
            .collect();
        if options.unordered {
            lines.sort_unstable();
        }
        lines
    };
    masked(a) == masked(b)
}

/// `caption` then `lines` in a fence longer than any backtick run inside them.
fn fenced(caption: &str, info: &str, lines: &[&str], newline: &str) -> String {
    let longest_run = lines
        .iter()
        .flat_map(|line| line.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let mut body = format!("{caption}{fence}{info}{newline}");
    for line in lines {
        body.push_str(line);
        body.push_str(newline);
    }
    body.push_str(&fence);
    body.push_str(newline);
    body
}

/// The end marker for `hash`, keeping the old marker's indentation and
/// line ending.
pub(crate) fn end_marker(old: &str, hash: &str) -> String {
    let indent = &old[..old.len() - old.trim_start().len()];
    let ending = if old.ends_with("\r\n") {
        "\r\n"
    } else if old.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    format!("{indent}<!-- docs:end hash={hash} -->{ending}")
}

/// How messages name a block: `output block for `NAME``.
pub(crate) fn describe(block: &Block) -> String {
    format!("{} block for `{}`", block.kind.name(), block.example)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::markers::parse_options;

    #[test]
    fn source_starts_after_the_header_without_blank_edges() {
        let source = "//! Doc.\n// end of header\n\nfn main() {}\n\n";
        assert_eq!(
            source_body("demo", source, "\n").unwrap(),
            "File: `examples/examples/demo.rs`\n\n```rust\nfn main() {}\n```\n"
        );
    }

    #[test]
    fn source_without_a_header_is_an_error() {
        let error = source_body("demo", "fn main() {}\n", "\n").unwrap_err();
        assert_eq!(
            error,
            "example `demo` has no `// end of header` line to start the shown source after"
        );
    }

    #[test]
    fn output_uses_the_files_line_endings() {
        assert_eq!(
            output_body("demo", &[], "a\nb\n", "\r\n"),
            "```text\r\n$ cargo run --example demo\r\n\r\na\r\nb\r\n```\r\n"
        );
    }

    #[test]
    fn arguments_are_shown_after_a_double_dash() {
        let args = ["localhost".to_owned(), "0".to_owned()];
        assert_eq!(
            output_body("demo", &args, "a\n", "\n"),
            "```text\n$ cargo run --example demo -- localhost 0\n\na\n```\n"
        );
    }

    #[test]
    fn fences_grow_past_backticks_in_the_content() {
        assert_eq!(
            output_body("demo", &[], "````\n", "\n"),
            "`````text\n$ cargo run --example demo\n\n````\n`````\n"
        );
    }

    #[test]
    fn replacements_apply_in_order_to_the_shown_output() {
        let options = parse_options(r"stderr replace=/\d+ms/Nms/ replace=/N/M/").unwrap();
        let run = RunOutput {
            stdout: "took 12ms\n".into(),
            stderr: "warn 3ms\n".into(),
            status: Status::Code(0),
        };
        assert_eq!(shown_output(&options, &run), "took Mms\nwarn Mms\n");
    }

    #[test]
    fn equivalence_allows_only_what_the_options_say_varies() {
        let strict = parse_options("").unwrap();
        assert!(equivalent(&strict, "a\nb\n", "a\nb\n"));
        assert!(!equivalent(&strict, "a\nb\n", "b\na\n"));
        let unordered = parse_options("unordered").unwrap();
        assert!(equivalent(&unordered, "a\nb\n", "b\na\n"));
        assert!(!equivalent(&unordered, "a\nb\n", "a\na\n"));
        assert!(!equivalent(&unordered, "a\nb\n", "a\nb\nc\n"));
        let varying = parse_options(r"vary=/worker-\d+/").unwrap();
        assert!(equivalent(&varying, "worker-1 ran\n", "worker-12 ran\n"));
        assert!(!equivalent(&varying, "worker-1 ran\n", "worker-1 failed\n"));
        // What varies stays inside its line.
        assert!(!equivalent(&varying, "worker-1 ran\n", "worker-1\nran\n"));
        let both = parse_options(r"unordered vary=/w\d/").unwrap();
        assert!(equivalent(&both, "w1 a\nw2 b\n", "w1 b\nw2 a\n"));
    }

    #[test]
    fn end_marker_keeps_indentation_and_ending() {
        assert_eq!(
            end_marker("  <!-- docs:end -->\r\n", "ab"),
            "  <!-- docs:end hash=ab -->\r\n"
        );
        assert_eq!(
            end_marker("<!-- docs:end -->", "ab"),
            "<!-- docs:end hash=ab -->"
        );
    }
}
