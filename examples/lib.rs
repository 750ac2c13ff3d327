//! The examples of the asyncio chapters, ported to this workspace's API.
//!
//! Each file in `examples/` is a Rust port of one Python example of "Python 3
//! Module of the Week" and prints, byte for byte, what the chapter shows for
//! the original. Run one with `cargo run --example NAME`; `tests/examples.rs`
//! pins every output with `insta`, and `cargo xtask docs` pastes them into
//! `docs/`. This library target is empty: the package exists for its examples.

/// Python's `repr()` of a bytes value (`b'...'`), for the examples that
/// log bytes as the chapter's do.
///
/// # Examples
///
/// ```
/// use asyncio_examples::bytes_repr;
///
/// assert_eq!(bytes_repr(b"in parts."), "b'in parts.'");
/// assert_eq!(bytes_repr(b"it's\n\x00"), "b\"it's\\n\\x00\"");
/// ```
pub fn bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut text = format!("b{quote}");
    for &byte in data {
        match byte {
            b'\\' => text.push_str("\\\\"),
            b'\t' => text.push_str("\\t"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            _ if char::from(byte) == quote => {
                text.push('\\');
                text.push(quote);
            }
            0x20..=0x7e => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push(quote);
    text
}

/// Python's `repr()` of an ASCII text (`'...'`, with `\n` escapes), for
/// the examples that print one as the chapter does.
///
/// # Examples
///
/// ```
/// assert_eq!(asyncio_examples::str_repr("two\nlines"), "'two\\nlines'");
/// ```
pub fn str_repr(text: &str) -> String {
    bytes_repr(text.as_bytes())[1..].to_owned()
}

/// One line of `df`'s table: its values by header.
pub type DfRow = Vec<(String, String)>;

/// `df -hl`'s output as the two `df` examples parse it: the first line's
/// words are the headers, paired with each later line's words, the
/// shorter deciding (so `Mounted` gets the mount point although the header
/// ends in `Mounted on`). Prints `parsing results` first, as they do.
///
/// # Examples
///
/// ```
/// let rows = asyncio_examples::parse_df("Size Avail Mounted on\n9G 5G /\n");
/// assert_eq!(rows[0][2], ("Mounted".to_owned(), "/".to_owned()));
/// ```
pub fn parse_df(output: &str) -> Vec<DfRow> {
    println!("parsing results");
    let mut lines = output.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let headers: Vec<&str> = header.split_whitespace().collect();
    lines
        .map(|line| {
            headers
                .iter()
                .zip(line.split_whitespace())
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        })
        .collect()
}

/// The `df` examples' report: `error exit N`, or `Free space:` and each
/// file system's mount point (in 25 columns) and available space.
pub fn print_free_space(return_code: i32, results: &[DfRow]) {
    if return_code != 0 {
        println!("error exit {return_code}");
        return;
    }
    println!("\nFree space:");
    for row in results {
        let value = |name: &str| {
            row.iter()
                .find(|(header, _)| header == name)
                .map_or("", |(_, value)| value.as_str())
        };
        println!("{:25}: {}", value("Mounted"), value("Avail"));
    }
}

/// The workspace README's code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct WorkspaceReadme;

/// The chapters' code, compiled and run as doctests: the generated sources
/// (the examples again) and the hand-written snippets between them.
#[cfg(doctest)]
#[doc = include_str!("../docs/futures.md")]
struct FuturesChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/scheduling.md")]
struct SchedulingChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/executors.md")]
struct ExecutorsChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/coroutines.md")]
struct CoroutinesChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/tasks.md")]
struct TasksChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/composing.md")]
struct ComposingChapter;

/// See [`FuturesChapter`].
#[cfg(doctest)]
#[doc = include_str!("../docs/synchronization.md")]
struct SynchronizationChapter;
