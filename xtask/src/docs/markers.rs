//! The marker syntax: parsing a Markdown file into text and generated blocks.
//!
//! ```text
//! <!-- docs:source NAME -->
//! ...generated: the source of examples/examples/NAME.rs after its header...
//! <!-- docs:end hash=0123456789abcdef -->
//!
//! <!-- docs:output NAME [expect-failure] [stderr] [unordered] [args=A,B] [timeout=SECS] [max-lines=N] [replace=/REGEX/TEXT/]... [vary=/REGEX/]... -->
//! ...generated: `$ cargo run --example NAME` and what it printed...
//! <!-- docs:end hash=0123456789abcdef -->
//! ```
//!
//! A marker is a whole line (surrounding spaces allowed). Lines inside code
//! blocks are never markers, so docs can show the syntax and generated
//! (fenced) text can hold marker lines. What is code follows CommonMark:
//! fenced blocks (a run of three or more backticks or tildes indented at
//! most three spaces, a backtick fence's info string holding no backtick,
//! closed by a run at least as long), indented blocks (four spaces or more
//! after a blank line, not inside a paragraph), each relative to the list
//! item it is in.
//!
//! This module depends on `std` and `regex-lite` only: the fuzz target in
//! `xtask/fuzz` compiles it as it is.

use std::fmt;
use std::time::Duration;

use regex_lite::Regex;

/// What a block generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The example's source, from after its header.
    Source,
    /// What running the example prints.
    Output,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Output => "output",
        }
    }
}

/// A regex replacement applied to an example's output.
#[derive(Clone, Debug)]
pub(crate) struct Replacement {
    pub(crate) pattern: Regex,
    pub(crate) with: String,
}

/// The options of an output block.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// A non-zero exit is expected (and required), as cog's `ignore_error`.
    pub(crate) expect_failure: bool,
    /// Show stderr after stdout.
    pub(crate) stderr: bool,
    /// How long the example may run.
    pub(crate) timeout: Duration,
    /// The most lines the example may print on each stream.
    pub(crate) max_lines: usize,
    /// Normalisations for output that varies between runs, applied in order.
    pub(crate) replacements: Vec<Replacement>,
    /// Text that varies between runs but is shown as one run printed it:
    /// a new run whose lines differ from the shown ones only where these
    /// match leaves the block as it is.
    pub(crate) varies: Vec<Regex>,
    /// The lines may come in another order on each run (threads): a new run
    /// with the same lines in another order leaves the block as it is.
    pub(crate) unordered: bool,
    /// The example's command-line arguments (`args=A,B`).
    pub(crate) args: Vec<String>,
    /// The options as written, whitespace-normalised: part of the block's hash.
    pub(crate) canonical: String,
}

pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default cap on an output block: no page of docs shows more, and an
/// example that prints without end is stopped long before it fills memory.
pub(crate) const DEFAULT_MAX_LINES: usize = 10_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            expect_failure: false,
            stderr: false,
            timeout: DEFAULT_TIMEOUT,
            max_lines: DEFAULT_MAX_LINES,
            replacements: Vec::new(),
            varies: Vec::new(),
            unordered: false,
            args: Vec::new(),
            canonical: String::new(),
        }
    }
}

/// A generated block and the markers around it.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub(crate) kind: Kind,
    pub(crate) example: String,
    pub(crate) options: Options,
    /// 1-based line of the begin marker.
    pub(crate) line: usize,
    /// The begin marker line, as written, with its line ending.
    pub(crate) begin: String,
    /// The line ending generated text uses: the begin marker's own, so a
    /// file that mixes endings keeps each block's.
    pub(crate) newline: &'static str,
    /// The generated text now in the file.
    pub(crate) body: String,
    /// The end marker line as written, with its line ending (if any).
    pub(crate) end: String,
    /// The hash the end marker records, if any.
    pub(crate) recorded_hash: Option<String>,
}

/// A part of a Markdown file.
#[derive(Clone, Debug)]
pub(crate) enum Segment {
    /// Hand-written text, kept byte for byte.
    Text(String),
    Block(Box<Block>),
}

/// A parsed Markdown file.
#[derive(Clone, Debug)]
pub(crate) struct Document {
    pub(crate) segments: Vec<Segment>,
}

impl Document {
    pub(crate) fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Block(block) => Some(&**block),
            Segment::Text(_) => None,
        })
    }
}

/// A parse error: the 1-based line and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

enum Marker {
    Begin {
        kind: Kind,
        example: String,
        options: Options,
    },
    End {
        hash: Option<String>,
    },
}

/// A marker line that does not parse, and which kind of marker it meant to
/// be: a broken begin marker still opens a block, so that its end marker
/// is not reported a second time as an end without a block.
struct Malformed {
    begins: bool,
    message: String,
}

/// What the parser is inside of.
enum Open {
    /// Hand-written text.
    Nothing,
    /// A block whose begin marker parsed.
    Block(Box<Block>),
    /// A block whose begin marker did not (already reported): its body and
    /// end marker are skipped.
    Broken,
}

/// A code fence that is open: its run of backticks or tildes, its line, and
/// the indentation of the list item it is in (0 outside lists).
struct Fence {
    run: String,
    line: usize,
    base: usize,
}

impl Fence {
    /// `3 backticks`, `4 tildes`.
    fn describe(&self) -> String {
        let mark = if self.run.starts_with('`') {
            "backticks"
        } else {
            "tildes"
        };
        format!("{} {mark}", self.run.len())
    }
}

/// The line ending of `line`.
fn ending(line: &str) -> &'static str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// Parses `text`; every error found is returned, in line order.
///
/// Code fences are tracked everywhere, inside blocks too: a generated body
/// is fenced (with a fence longer than any backtick run it contains), so a
/// line of an example's output or source that looks like a marker is code,
/// never a marker. A fence still open at the end of the file is an error,
/// since everything after it would be skipped as code; so is a file whose
/// only marker lines are inside fences.
pub(crate) fn parse(text: &str) -> Result<Document, Vec<ParseError>> {
    let mut segments = Vec::new();
    let mut errors = Vec::new();
    let mut text_run = String::new();
    let mut open = Open::Nothing;
    let mut code = CodeTracker::default();
    let mut fenced_marker: Option<usize> = None;
    // A byte-order mark is text, not part of a line-1 marker.
    let body = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            text_run.push('\u{feff}');
            rest
        }
        None => text,
    };
    let mut number = 0;
    for line in body.split_inclusive('\n') {
        number += 1;
        let in_code = code.is_code(line, number);
        if in_code && matches!(open, Open::Nothing) && parse_marker(line).is_some() {
            fenced_marker.get_or_insert(number);
        }
        let marker = if in_code { None } else { parse_marker(line) };
        let marker = match marker {
            None => {
                match &mut open {
                    Open::Block(block) => block.body.push_str(line),
                    Open::Broken => {}
                    Open::Nothing => text_run.push_str(line),
                }
                continue;
            }
            Some(Err(malformed)) => {
                errors.push(ParseError {
                    line: number,
                    message: malformed.message,
                });
                if malformed.begins && matches!(open, Open::Nothing) {
                    open = Open::Broken;
                }
                continue;
            }
            Some(Ok(marker)) => marker,
        };
        match (marker, std::mem::replace(&mut open, Open::Nothing)) {
            (
                Marker::Begin {
                    kind,
                    example,
                    options,
                },
                Open::Nothing,
            ) => {
                if !text_run.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text_run)));
                }
                open = Open::Block(Box::new(Block {
                    kind,
                    example,
                    options,
                    line: number,
                    begin: line.to_owned(),
                    newline: ending(line),
                    body: String::new(),
                    end: String::new(),
                    recorded_hash: None,
                }));
            }
            (Marker::Begin { .. }, Open::Block(outer)) => {
                errors.push(ParseError {
                    line: number,
                    message: format!(
                        "nested block: the block opened at line {} is not closed yet (add `<!-- docs:end -->` before this marker)",
                        outer.line
                    ),
                });
                open = Open::Block(outer);
            }
            // Its begin marker was reported; this one starts the next block.
            (Marker::Begin { .. }, Open::Broken) => open = Open::Broken,
            (Marker::End { hash }, Open::Block(mut block)) => {
                block.end = line.to_owned();
                block.recorded_hash = hash;
                segments.push(Segment::Block(block));
            }
            (Marker::End { .. }, Open::Broken) => {}
            (Marker::End { .. }, Open::Nothing) => errors.push(ParseError {
                line: number,
                message: "`docs:end` without an open block".to_owned(),
            }),
        }
    }
    if let Some(fence) = &code.fence {
        errors.push(ParseError {
            line: fence.line,
            message: format!(
                "unclosed code fence (opened by {run}): everything after it is code, so no marker after it is read; close it with a line of {run}",
                run = fence.describe()
            ),
        });
    }
    if let Open::Block(block) = open {
        errors.push(ParseError {
            line: block.line,
            message: format!(
                "unterminated block: `docs:{} {}` has no `<!-- docs:end -->`",
                block.kind.name(),
                block.example
            ),
        });
    }
    let has_blocks = segments
        .iter()
        .any(|segment| matches!(segment, Segment::Block(_)));
    if let (Some(line), false, true) = (fenced_marker, has_blocks, errors.is_empty()) {
        errors.push(ParseError {
            line,
            message: "this file's only markers are inside code blocks, so it has no block to check (is a fence left open above one?)".to_owned(),
        });
    }
    if !text_run.is_empty() {
        segments.push(Segment::Text(text_run));
    }
    errors.sort_by_key(|error| error.line);
    if errors.is_empty() {
        Ok(Document { segments })
    } else {
        Err(errors)
    }
}

/// What the line before was, for the rules that depend on it.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Previous {
    /// A blank line, or the start of the file.
    #[default]
    Blank,
    /// Paragraph text: an indented line after it continues it.
    Paragraph,
    /// Anything else: a heading, a marker or other HTML, a fence line, a
    /// line of an indented code block.
    Other,
}

/// Which lines of a Markdown file are code, as CommonMark reads them:
/// fenced and indented code blocks, inside list items too.
#[derive(Default)]
struct CodeTracker {
    fence: Option<Fence>,
    /// The content indentation of each open list item, innermost last.
    lists: Vec<usize>,
    previous: Previous,
}

impl CodeTracker {
    /// Whether `line` (line `number`) is code: inside a code block, or a
    /// fence line of one.
    fn is_code(&mut self, line: &str, number: usize) -> bool {
        let content = line.trim_end_matches(['\n', '\r']);
        let blank = content.trim().is_empty();
        let indent = indentation(content);
        if let Some(fence) = &self.fence {
            if blank || indent >= fence.base {
                let relative = indent - fence.base.min(indent);
                if !blank && relative <= 3 && closes_fence(content.trim_start(), &fence.run) {
                    self.fence = None;
                    self.previous = Previous::Other;
                }
                return true;
            }
            // The list item it was in ended: so did the fence.
            self.fence = None;
        }
        if blank {
            self.previous = Previous::Blank;
            return false;
        }
        let rest = content.trim_start();
        let lazy = self.previous == Previous::Paragraph && !interrupts_paragraph(rest);
        while let Some(&width) = self.lists.last() {
            if indent >= width || lazy {
                break;
            }
            self.lists.pop();
        }
        let base = self.lists.last().copied().unwrap_or(0);
        let relative = indent.saturating_sub(base);
        if relative >= 4 {
            // Indented code cannot interrupt a paragraph: it continues it.
            if self.previous == Previous::Paragraph {
                return false;
            }
            self.previous = Previous::Other;
            return true;
        }
        if let Some(run) = opens_fence(rest) {
            self.fence = Some(Fence {
                run,
                line: number,
                base,
            });
            return true;
        }
        if let Some(width) = list_item(rest) {
            self.lists.push(indent + width);
            self.previous = Previous::Paragraph;
            return false;
        }
        self.previous = if interrupts_paragraph(rest) {
            Previous::Other
        } else {
            Previous::Paragraph
        };
        false
    }
}

/// The indentation of `line` in columns, a tab reaching the next multiple
/// of four.
fn indentation(line: &str) -> usize {
    let mut column = 0;
    for c in line.chars() {
        match c {
            ' ' => column += 1,
            '\t' => column += 4 - column % 4,
            _ => break,
        }
    }
    column
}

/// Whether a line that starts with `rest` (indentation removed) begins a
/// block of its own rather than continuing a paragraph: a heading, HTML
/// (a marker), a fence, a thematic break, a block quote or a list item.
fn interrupts_paragraph(rest: &str) -> bool {
    rest.starts_with('#')
        || rest.starts_with('<')
        || rest.starts_with('>')
        || opens_fence(rest).is_some()
        || list_item(rest).is_some()
}

/// The width of a list item's marker and the spaces after it (its
/// content's indentation), if `rest` starts one: `-`, `+` or `*`, or up to
/// nine digits and `.` or `)`, then one to four spaces (or the end of the
/// line).
fn list_item(rest: &str) -> Option<usize> {
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let marker = match rest.as_bytes().first()? {
        b'-' | b'+' | b'*' => 1,
        _ if (1..=9).contains(&digits)
            && matches!(rest.as_bytes().get(digits), Some(b'.' | b')')) =>
        {
            digits + 1
        }
        _ => return None,
    };
    let after = &rest[marker..];
    let content = after.trim_end_matches(['\n', '\r']);
    if content.is_empty() {
        return Some(marker + 1);
    }
    let spaces = content.chars().take_while(|c| *c == ' ').count();
    match spaces {
        0 => None,
        // Five or more: the content is indented code, one space in.
        1..=4 if spaces < content.len() => Some(marker + spaces),
        _ => Some(marker + 1),
    }
}

/// The fence `rest` (a line, indentation removed) opens (its run of
/// backticks or tildes), if any: three or more, and for backticks an info
/// string with no backtick (`` ```x``` `` is a code span, not a fence).
fn opens_fence(rest: &str) -> Option<String> {
    let mark = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run: String = rest.chars().take_while(|c| *c == mark).collect();
    if run.len() < 3 || (mark == '`' && rest[run.len()..].contains('`')) {
        return None;
    }
    Some(run)
}

/// Whether `rest` (a line, indentation removed) closes a fence opened by
/// `fence`: a run of its character at least as long, then only spaces.
fn closes_fence(rest: &str, fence: &str) -> bool {
    let mark = fence.chars().next().unwrap_or('`');
    let run = rest.chars().take_while(|c| *c == mark).count();
    run >= fence.len() && rest[run..].trim().is_empty()
}

/// `None` if `line` is not a marker; `Some(Err)` if it is a malformed one.
fn parse_marker(line: &str) -> Option<Result<Marker, Malformed>> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let rest = inner.strip_prefix("docs:")?;
    let (directive, arguments) = match rest.split_once(char::is_whitespace) {
        Some((directive, arguments)) => (directive, arguments.trim()),
        None => (rest, ""),
    };
    let begins = directive != "end";
    let parsed = match directive {
        "source" => parse_begin(Kind::Source, arguments),
        "output" => parse_begin(Kind::Output, arguments),
        "end" => parse_end(arguments),
        other => Err(format!(
            "unknown marker `docs:{other}` (expected `docs:source`, `docs:output` or `docs:end`)"
        )),
    };
    Some(parsed.map_err(|message| Malformed { begins, message }))
}

fn parse_begin(kind: Kind, arguments: &str) -> Result<Marker, String> {
    let (example, options) = match arguments.split_once(char::is_whitespace) {
        Some((example, options)) => (example, options.trim()),
        None => (arguments, ""),
    };
    if example.is_empty() {
        return Err(format!("`docs:{}` needs an example name", kind.name()));
    }
    if !example
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("`{example}` is not an example name"));
    }
    if kind == Kind::Source && !options.is_empty() {
        return Err(format!("`docs:source` takes no options, found `{options}`"));
    }
    Ok(Marker::Begin {
        kind,
        example: example.to_owned(),
        options: parse_options(options)?,
    })
}

fn parse_end(arguments: &str) -> Result<Marker, String> {
    if arguments.is_empty() {
        return Ok(Marker::End { hash: None });
    }
    let hash = arguments
        .strip_prefix("hash=")
        .filter(|hash| !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| format!("`docs:end` takes only `hash=HEX`, found `{arguments}`"))?;
    Ok(Marker::End {
        hash: Some(hash.to_owned()),
    })
}

/// Parses `expect-failure`, `stderr`, `timeout=SECS`, `max-lines=N`,
/// `unordered`, `replace=/REGEX/TEXT/` and `vary=/REGEX/`.
pub(crate) fn parse_options(text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    let mut canonical = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let token_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token;
        if let Some(body) = rest.strip_prefix("replace=") {
            let (pattern, with, after) = split_replacement(body)?;
            let pattern_regex = Regex::new(&pattern)
                .map_err(|error| format!("bad regex `{pattern}` in `replace`: {error}"))?;
            options.replacements.push(Replacement {
                pattern: pattern_regex,
                with,
            });
            token = &rest[..rest.len() - after.len()];
            rest = after;
        } else if let Some(body) = rest.strip_prefix("vary=") {
            let (pattern, after) = split_pattern(body)?;
            let pattern_regex = Regex::new(&pattern)
                .map_err(|error| format!("bad regex `{pattern}` in `vary`: {error}"))?;
            options.varies.push(pattern_regex);
            token = &rest[..rest.len() - after.len()];
            rest = after;
        } else {
            token = &rest[..token_end];
            rest = &rest[token_end..];
            match token.split_once('=') {
                None if token == "expect-failure" => options.expect_failure = true,
                None if token == "stderr" => options.stderr = true,
                None if token == "unordered" => options.unordered = true,
                Some(("timeout", seconds)) => {
                    let seconds: u64 = seconds
                        .parse()
                        .ok()
                        .filter(|seconds| *seconds > 0)
                        .ok_or_else(|| format!("`timeout` takes a whole number of seconds above 0, found `{seconds}`"))?;
                    options.timeout = Duration::from_secs(seconds);
                }
                Some(("args", list)) => {
                    options.args = list
                        .split(',')
                        .map(str::to_owned)
                        .collect();
                    if options.args.iter().any(String::is_empty) {
                        return Err(format!(
                            "`args` takes arguments separated by commas, found `args={list}`"
                        ));
                    }
                }
                Some(("max-lines", lines)) => {
                    options.max_lines = lines
                        .parse()
                        .ok()
                        .filter(|lines| *lines > 0)
                        .ok_or_else(|| format!("`max-lines` takes a whole number above 0, found `{lines}`"))?;
                }
                _ => {
                    return Err(format!(
                        "unknown option `{token}` (expected `expect-failure`, `stderr`, `unordered`, `args=A,B`, `timeout=SECS`, `max-lines=N`, `replace=/REGEX/TEXT/` or `vary=/REGEX/`)"
                    ))
                }
            }
        }
        canonical.push(token.to_owned());
        rest = rest.trim_start();
    }
    options.canonical = canonical.join(" ");
    Ok(options)
}

/// Splits `/REGEX/TEXT/rest` into its parts; `\/` stands for `/`.
fn split_replacement(body: &str) -> Result<(String, String, &str), String> {
    let (parts, after) = split_slashed(body, "replace", "/REGEX/TEXT/", 2)?;
    let [pattern, with]: [String; 2] = parts.try_into().expect("two parts");
    Ok((pattern, with, after))
}

/// Splits `/REGEX/rest` into the pattern and the rest; `\/` stands for `/`.
fn split_pattern(body: &str) -> Result<(String, &str), String> {
    let (mut parts, after) = split_slashed(body, "vary", "/REGEX/", 1)?;
    Ok((parts.remove(0), after))
}

/// Splits `/A/B/.../rest` (`count` slash-ended parts after the first slash)
/// of the option `name`, whose form is `form`.
fn split_slashed<'a>(
    body: &'a str,
    name: &str,
    form: &str,
    count: usize,
) -> Result<(Vec<String>, &'a str), String> {
    let malformed = || format!("`{name}` takes `{form}`, found `{name}={body}`");
    let mut chars = body.char_indices();
    if chars.next().map(|(_, c)| c) != Some('/') {
        return Err(malformed());
    }
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for (index, c) in chars {
        let done = parts.len();
        let part = parts.last_mut().expect("one part at least");
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (true, '/') => {
                part.push('/');
                escaped = false;
            }
            (true, other) => {
                part.push('\\');
                part.push(other);
                escaped = false;
            }
            (false, '/') if done < count => parts.push(String::new()),
            (false, '/') => {
                let after = &body[index + 1..];
                if !after.is_empty() && !after.starts_with(char::is_whitespace) {
                    return Err(malformed());
                }
                return Ok((parts, after));
            }
            (false, other) => part.push(other),
        }
    }
    Err(malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn text_without_markers_is_one_segment() {
        let document = parse("# Title\n\nBody\n").unwrap();
        assert_eq!(document.segments.len(), 1);
        assert_eq!(document.blocks().count(), 0);
    }

    #[test]
    fn a_block_keeps_its_markers_and_body() {
        let text =
            "a\n<!-- docs:output demo stderr timeout=5 -->\nold\n<!-- docs:end hash=00ff -->\nb";
        let document = parse(text).unwrap();
        let block = document.blocks().next().unwrap();
        assert_eq!(block.kind, Kind::Output);
        assert_eq!(block.example, "demo");
        assert!(block.options.stderr && !block.options.expect_failure);
        assert_eq!(block.options.timeout, Duration::from_secs(5));
        assert_eq!(block.line, 2);
        assert_eq!(block.body, "old\n");
        assert_eq!(block.end, "<!-- docs:end hash=00ff -->\n");
        assert_eq!(block.recorded_hash.as_deref(), Some("00ff"));
        assert_eq!(document.segments.len(), 3);
    }

    #[test]
    fn markers_inside_fenced_code_are_text() {
        let text = "```\n<!-- docs:source demo -->\n```\n~~~~\n<!-- docs:end -->\n~~~~\n<!-- docs:source real -->\n<!-- docs:end -->\n";
        let document = parse(text).unwrap();
        let names: Vec<&str> = document.blocks().map(|b| b.example.as_str()).collect();
        assert_eq!(names, ["real"]);
    }

    #[test]
    fn a_file_whose_markers_are_all_fenced_is_an_error() {
        assert_eq!(
            errors("```\n<!-- docs:source demo -->\n<!-- docs:end -->\n```\n"),
            ["2: this file's only markers are inside code blocks, so it has no block to check (is a fence left open above one?)"]
        );
    }

    /// The markers a text's blocks were parsed from: `(kind, example)`.
    fn blocks_of(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .blocks()
            .map(|block| (block.kind.name().to_owned(), block.example.clone()))
            .collect()
    }

    #[test]
    fn a_marker_pair_in_an_indented_code_block_is_code() {
        let text = "Text.\n\n    <!-- docs:source shown -->\n    <!-- docs:end -->\n\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
        // Tabs count as four columns.
        let text = "\n\t<!-- docs:source shown -->\n\t<!-- docs:end -->\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text).len(), 1);
    }

    #[test]
    fn an_indented_line_right_after_a_paragraph_continues_it() {
        // Not code: CommonMark's indented code cannot interrupt a paragraph.
        let text = "A paragraph\n    <!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
    }

    #[test]
    fn inside_a_list_item_code_is_indented_from_the_item() {
        // Four spaces in a `- ` item is its paragraph, not code ...
        let text = "- item\n\n  more\n\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text).len(), 1);
        // ... six spaces (two for the item, four more) is code.
        let text = "- item\n\n      <!-- docs:source shown -->\n      <!-- docs:end -->\n\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
        // A fence in an item, indented with it.
        let text = "1. item\n\n   ```\n   <!-- docs:source shown -->\n   <!-- docs:end -->\n   ```\n\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
    }

    #[test]
    fn a_code_span_of_backticks_opens_no_fence() {
        // "```x```" is a paragraph with a code span: the block after it is
        // live (before, it opened a fence that hid the block from --check).
        let text = "```x```\n\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
        // A tilde fence may have backticks in its info string.
        let text = "~~~ `x`\n<!-- docs:source shown -->\n<!-- docs:end -->\n~~~\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
    }

    #[test]
    fn a_fence_indented_four_spaces_is_indented_code_and_a_closing_run_needs_nothing_after_it() {
        let text = "\n    ```\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text).len(), 1);
        // "``` x" does not close a fence; "````" does (longer is fine).
        let text = "```\n``` x\n<!-- docs:source shown -->\n<!-- docs:end -->\n````\n<!-- docs:source live -->\n<!-- docs:end -->\n";
        assert_eq!(blocks_of(text), [("source".to_owned(), "live".to_owned())]);
    }

    #[test]
    fn an_unclosed_fence_is_an_error_at_its_line() {
        let text = "<!-- docs:source a -->\n<!-- docs:end -->\n\n~~~\nstray\n<!-- docs:source b -->\n<!-- docs:end -->\n";
        assert_eq!(
            errors(text),
            ["4: unclosed code fence (opened by 3 tildes): everything after it is code, so no marker after it is read; close it with a line of 3 tildes"]
        );
        // Inside a block, the end marker is swallowed too: both are named.
        assert_eq!(
            errors("<!-- docs:output a -->\n```text\n<!-- docs:end -->\n"),
            [
                "1: unterminated block: `docs:output a` has no `<!-- docs:end -->`",
                "2: unclosed code fence (opened by 3 backticks): everything after it is code, so no marker after it is read; close it with a line of 3 backticks",
            ]
        );
    }

    #[test]
    fn marker_lines_in_a_fenced_body_belong_to_the_body() {
        let text = "<!-- docs:output a -->\n````text\n<!-- docs:end -->\n```\n<!-- docs:source b -->\n````\n<!-- docs:end hash=01 -->\n";
        let document = parse(text).unwrap();
        let block = document.blocks().next().unwrap();
        assert_eq!(
            block.body,
            "````text\n<!-- docs:end -->\n```\n<!-- docs:source b -->\n````\n"
        );
        assert_eq!(block.recorded_hash.as_deref(), Some("01"));
    }

    #[test]
    fn a_byte_order_mark_does_not_hide_a_line_one_marker() {
        let document = parse("\u{feff}<!-- docs:source a -->\n<!-- docs:end -->\n").unwrap();
        assert_eq!(document.blocks().next().unwrap().line, 1);
        assert!(matches!(&document.segments[0], Segment::Text(bom) if bom == "\u{feff}"));
        assert_eq!(
            errors("\u{feff}<!-- docs:sauce a -->\n"),
            ["1: unknown marker `docs:sauce` (expected `docs:source`, `docs:output` or `docs:end`)"]
        );
    }

    #[test]
    fn a_broken_begin_marker_reports_once_and_its_end_is_not_an_orphan() {
        let text = "<!-- docs:output -->\nbody\n<!-- docs:end -->\n<!-- docs:output a verbose -->\n<!-- docs:end -->\n<!-- docs:source ok -->\n<!-- docs:end -->\n";
        assert_eq!(
            errors(text),
            [
                "1: `docs:output` needs an example name",
                "4: unknown option `verbose` (expected `expect-failure`, `stderr`, `unordered`, `args=A,B`, `timeout=SECS`, `max-lines=N`, `replace=/REGEX/TEXT/` or `vary=/REGEX/`)",
            ]
        );
    }

    #[test]
    fn each_block_takes_the_line_ending_of_its_begin_marker() {
        let text = "a\n<!-- docs:source x -->\r\n<!-- docs:end -->\n<!-- docs:source y -->\n<!-- docs:end -->";
        let endings: Vec<&str> = parse(text).unwrap().blocks().map(|b| b.newline).collect();
        assert_eq!(endings, ["\r\n", "\n"]);
    }

    #[test]
    fn unterminated_block_names_its_begin_line() {
        assert_eq!(
            errors("x\n<!-- docs:source demo -->\nbody\n"),
            ["2: unterminated block: `docs:source demo` has no `<!-- docs:end -->`"]
        );
    }

    #[test]
    fn nested_block_names_both_lines() {
        let found = errors("<!-- docs:source a -->\n<!-- docs:output b -->\n<!-- docs:end -->\n");
        assert_eq!(
            found,
            ["2: nested block: the block opened at line 1 is not closed yet (add `<!-- docs:end -->` before this marker)"]
        );
    }

    #[test]
    fn end_without_begin_is_an_error() {
        assert_eq!(
            errors("text\n<!-- docs:end -->\n"),
            ["2: `docs:end` without an open block"]
        );
    }

    #[test]
    fn malformed_markers_are_errors() {
        assert_eq!(
            errors("<!-- docs:sauce demo -->\n"),
            ["1: unknown marker `docs:sauce` (expected `docs:source`, `docs:output` or `docs:end`)"]
        );
        assert_eq!(
            errors("<!-- docs:output -->\n"),
            ["1: `docs:output` needs an example name"]
        );
        assert_eq!(
            errors("<!-- docs:output ../x -->\n"),
            ["1: `../x` is not an example name"]
        );
        assert_eq!(
            errors("<!-- docs:source demo stderr -->\n"),
            ["1: `docs:source` takes no options, found `stderr`"]
        );
        assert_eq!(
            errors("<!-- docs:output demo verbose -->\n"),
            ["1: unknown option `verbose` (expected `expect-failure`, `stderr`, `unordered`, `args=A,B`, `timeout=SECS`, `max-lines=N`, `replace=/REGEX/TEXT/` or `vary=/REGEX/`)"]
        );
        assert_eq!(
            errors("<!-- docs:output demo timeout=0 -->\n"),
            ["1: `timeout` takes a whole number of seconds above 0, found `0`"]
        );
        assert_eq!(
            errors("<!-- docs:output demo max-lines=many -->\n"),
            ["1: `max-lines` takes a whole number above 0, found `many`"]
        );
        assert_eq!(
            errors("<!-- docs:end hash=xyz -->\n"),
            ["1: `docs:end` takes only `hash=HEX`, found `hash=xyz`"]
        );
    }

    #[test]
    fn replace_takes_a_regex_and_a_replacement_with_escaped_slashes() {
        let options =
            parse_options(r"replace=/0x[0-9a-f]+/0xADDR/ replace=/a\/b/c d/ stderr").unwrap();
        assert_eq!(options.replacements.len(), 2);
        assert_eq!(options.replacements[0].pattern.as_str(), "0x[0-9a-f]+");
        assert_eq!(options.replacements[0].with, "0xADDR");
        assert_eq!(options.replacements[1].pattern.as_str(), "a/b");
        assert_eq!(options.replacements[1].with, "c d");
        assert!(options.stderr);
        assert_eq!(
            options.canonical,
            r"replace=/0x[0-9a-f]+/0xADDR/ replace=/a\/b/c d/ stderr"
        );
    }

    #[test]
    fn malformed_replace_is_an_error() {
        assert!(parse_options("replace=x")
            .unwrap_err()
            .contains("takes `/REGEX/TEXT/`"));
        assert!(parse_options("replace=/a/b")
            .unwrap_err()
            .contains("takes `/REGEX/TEXT/`"));
        assert!(parse_options("replace=/(/x/")
            .unwrap_err()
            .starts_with("bad regex `(`"));
    }

    #[test]
    fn vary_takes_one_pattern_and_unordered_is_a_flag() {
        let options = parse_options(r"unordered vary=/a\/\d/ vary=/x/ stderr").unwrap();
        assert!(options.unordered && options.stderr);
        let patterns: Vec<_> = options.varies.iter().map(Regex::as_str).collect();
        assert_eq!(patterns, ["a/\\d", "x"]);
        assert_eq!(options.canonical, r"unordered vary=/a\/\d/ vary=/x/ stderr");
        assert!(parse_options("vary=x")
            .unwrap_err()
            .contains("`vary` takes `/REGEX/`"));
        assert!(parse_options("vary=/a/b/")
            .unwrap_err()
            .contains("`vary` takes `/REGEX/`"));
        assert!(parse_options("vary=/(/")
            .unwrap_err()
            .starts_with("bad regex `(` in `vary`"));
    }

    #[test]
    fn args_are_split_on_commas_and_part_of_the_hash() {
        let options = parse_options("args=localhost,0 stderr").unwrap();
        assert_eq!(options.args, ["localhost", "0"]);
        assert_eq!(options.canonical, "args=localhost,0 stderr");
        assert!(parse_options("args=a,,b")
            .unwrap_err()
            .contains("separated by commas"));
        assert!(parse_options("").unwrap().args.is_empty());
    }
}
