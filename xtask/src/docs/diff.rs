//! Unified diffs whose cost stays linear in the size of the texts.
//!
//! A line diff (Myers, in `similar`) costs the product of the changed
//! region's size and the number of differences: a stale 20,000-line output
//! whose every line changed took 72 s. Here the common first and last lines
//! are set aside first (linear), and a changed region of more than
//! [`FULL_DIFF_LINES`] lines on its two sides together is summarised (where
//! it is, how long each side is, its first lines) instead of diffed.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The largest changed region (old and new lines together) diffed in full.
pub(crate) const FULL_DIFF_LINES: usize = 4_000;

/// How many lines of each side a summary shows.
const SUMMARY_LINES: usize = 10;

/// A unified diff from `old` to `new` (empty when they are equal).
pub(crate) fn unified_diff(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = old_lines
        .iter()
        .zip(&new_lines)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old_lines[prefix..]
        .iter()
        .rev()
        .zip(new_lines[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_changed = &old_lines[prefix..old_lines.len() - suffix];
    let new_changed = &new_lines[prefix..new_lines.len() - suffix];
    if old_changed.len() + new_changed.len() > FULL_DIFF_LINES {
        return summary(old_name, new_name, prefix, old_changed, new_changed);
    }
    // Only the changed region and its context go to `similar` (tokenizing
    // a million equal lines costs more than diffing the rest); its hunk
    // headers are then moved to the region's place in the file.
    let skipped = prefix.saturating_sub(CONTEXT);
    let old_window: String =
        old_lines[skipped..(old_lines.len() - suffix + CONTEXT).min(old_lines.len())].concat();
    let new_window: String =
        new_lines[skipped..(new_lines.len() - suffix + CONTEXT).min(new_lines.len())].concat();
    // The deadline is a second guard: past it the diff is still correct,
    // only less minimal.
    let diff = similar::TextDiff::configure()
        .deadline(Instant::now() + Duration::from_secs(2))
        .diff_lines(&old_window, &new_window)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(old_name, new_name)
        .to_string();
    if skipped == 0 {
        return diff;
    }
    diff.split_inclusive('\n')
        .map(|line| shift_hunk_header(line, skipped))
        .collect()
}

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// `@@ -A,B +C,D @@` with `by` added to A and C; other lines as they are.
fn shift_hunk_header(line: &str, by: usize) -> String {
    let shifted = (|| {
        let rest = line.strip_prefix("@@ -")?;
        let (old, rest) = rest.split_once(" +")?;
        let (new, rest) = rest.split_once(" @@")?;
        let shift = |range: &str| -> Option<String> {
            let (start, count) = match range.split_once(',') {
                Some((start, count)) => (start, Some(count)),
                None => (range, None),
            };
            let start = start.parse::<usize>().ok()? + by;
            Some(match count {
                Some(count) => format!("{start},{count}"),
                None => start.to_string(),
            })
        };
        Some(format!("@@ -{} +{} @@{rest}", shift(old)?, shift(new)?))
    })();
    shifted.unwrap_or_else(|| line.to_owned())
}

/// A hunk header for the whole changed region and its first lines.
fn summary(old_name: &str, new_name: &str, prefix: usize, old: &[&str], new: &[&str]) -> String {
    let mut text = format!("--- {old_name}\n+++ {new_name}\n");
    let _ = writeln!(
        text,
        "@@ -{},{} +{},{} @@ changed region too large to diff in full ({} and {} lines); its first {SUMMARY_LINES} lines on each side:",
        prefix + 1,
        old.len(),
        prefix + 1,
        new.len(),
        old.len(),
        new.len(),
    );
    for (sign, lines) in [('-', old), ('+', new)] {
        for line in lines.iter().take(SUMMARY_LINES) {
            text.push(sign);
            text.push_str(line);
            if !line.ends_with('\n') {
                text.push_str("\n\\ No newline at end of file\n");
            }
        }
        if lines.len() > SUMMARY_LINES {
            let _ = writeln!(
                text,
                "{sign}... {} more line(s) not shown",
                lines.len() - SUMMARY_LINES
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(count: usize, tag: &str) -> String {
        (0..count).map(|i| format!("{tag} {i}\n")).collect()
    }

    #[test]
    fn a_small_change_is_a_full_unified_diff() {
        let diff = unified_diff("a", "b", "one\ntwo\nthree\n", "one\n2\nthree\n");
        assert_eq!(
            diff,
            "--- a\n+++ b\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
        );
        assert_eq!(unified_diff("a", "b", "same\n", "same\n"), "");
    }

    #[test]
    fn a_huge_change_is_summarised_where_it_is() {
        let old = format!("head\n{}tail\n", numbered(5000, "old"));
        let new = format!("head\n{}tail\n", numbered(6000, "new"));
        let diff = unified_diff("a", "b", &old, &new);
        assert!(
            diff.starts_with("--- a\n+++ b\n@@ -2,5000 +2,6000 @@ changed region too large"),
            "{diff}"
        );
        assert!(diff.contains("-old 0\n") && diff.contains("+new 9\n"));
        assert!(diff.contains("-... 4990 more line(s) not shown\n"));
        assert!(diff.contains("+... 5990 more line(s) not shown\n"));
        assert!(!diff.contains("tail"), "the common end is not shown");
    }

    #[test]
    fn a_long_file_with_a_small_change_gets_a_full_diff() {
        let mut new_lines = numbered(100_000, "line");
        new_lines = new_lines.replace("line 500\n", "changed\n");
        let diff = unified_diff("a", "b", &numbered(100_000, "line"), &new_lines);
        assert!(diff.contains("@@ -498,7 +498,7 @@\n"), "{diff}");
        assert!(diff.contains("-line 500\n+changed\n"));
        let whole =
            similar::TextDiff::from_lines(numbered(100_000, "line").as_str(), new_lines.as_str())
                .unified_diff()
                .context_radius(3)
                .header("a", "b")
                .to_string();
        assert_eq!(diff, whole, "the same diff as of the whole texts");
    }

    #[test]
    fn changes_near_the_ends_and_of_length_are_diffed_like_the_whole() {
        let cases = [
            ("a\nb\n", "x\nb\n"),
            ("a\nb\nc\nd\ne\nf\n", "a\nb\nc\nd\ne\nF\n"),
            ("a\nb\nc\nd\ne\n", "a\nb\nc\nd\ne\nf\ng\n"),
            ("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n"),
            ("1\n2\n3\n4\n5\n6\n7\n8", "1\n2\n3\n4\n5\n6\n7\n9"),
            (
                "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
                "1\n2\n3\n4\n5\nX\n7\n8\n9\n10\n11\nY\n",
            ),
        ];
        for (old, new) in cases {
            let whole = similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header("a", "b")
                .to_string();
            assert_eq!(
                unified_diff("a", "b", old, new),
                whole,
                "{old:?} -> {new:?}"
            );
        }
    }
}
