//! Finding the documents, reading them, and replacing them all or not at all.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::interrupt;

/// The suffix of the temporary file a write goes through.
const TEMPORARY_SUFFIX: &str = ".xtask-docs.tmp";

/// What a walk of the documents found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// `README.md` and `docs/**/*.md`, each real file once, in walk order.
    pub(crate) documents: Vec<PathBuf>,
    /// Temporary files an interrupted run left behind (`kill -9`).
    pub(crate) debris: Vec<PathBuf>,
}

/// Walks `README.md` and `docs/`. Symbolic links are followed, to files and
/// to folders, but every folder and every file is visited once, by its real
/// path: a link loop (`docs/again -> ..`) ends there, and a document linked
/// from two places is read once, under the first name the walk meets
/// (entries are visited in name order). Names starting with `.` are
/// skipped, except that temporary files of an earlier run are noted.
pub(crate) fn find(root: &Path) -> Found {
    let mut found = Found::default();
    let mut seen = BTreeSet::new();
    let readme = root.join("README.md");
    if readme.is_file() {
        note_document(&readme, &mut seen, &mut found);
    }
    walk(&root.join("docs"), &mut seen, &mut found);
    found
}

fn note_document(path: &Path, seen: &mut BTreeSet<PathBuf>, found: &mut Found) {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    if !seen.insert(real.clone()) {
        return;
    }
    found.documents.push(path.to_owned());
    // A linked document's temporary file is beside its target, which may
    // be outside the folders walked.
    if real != path {
        let temporary = temporary_for(&real);
        if temporary.exists() && !found.debris.contains(&temporary) {
            found.debris.push(temporary);
        }
    }
}

/// The temporary file a write of `target` goes through.
fn temporary_for(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{TEMPORARY_SUFFIX}"))
}

fn walk(directory: &Path, seen: &mut BTreeSet<PathBuf>, found: &mut Found) {
    let Ok(real) = std::fs::canonicalize(directory) else {
        return;
    };
    if !seen.insert(real) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            if name.ends_with(TEMPORARY_SUFFIX) && !found.debris.contains(&path) {
                found.debris.push(path);
            }
            continue;
        }
        // Follows a link: what it points to decides.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            walk(&path, seen, found);
        } else if metadata.is_file() && path.extension().is_some_and(|extension| extension == "md")
        {
            note_document(&path, seen, found);
        }
    }
}

/// A document's text, or why it has none. The messages go after the
/// document's name: `:LINE: message` or `: message`.
pub(crate) enum Read {
    Text(String),
    /// Not UTF-8 and no marker in it: nothing to generate; a warning.
    Skipped(String),
    Error(String),
}

/// Reads `path`. A file that is not UTF-8 is an error at the line of its
/// first bad byte if it has a marker, and is skipped with a warning if it
/// has none (it cannot hold a block, so it cannot be stale).
pub(crate) fn read(path: &Path) -> Read {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return Read::Error(format!(": cannot read: {error}")),
    };
    match String::from_utf8(bytes) {
        Ok(text) => Read::Text(text),
        Err(error) => {
            let bytes = error.as_bytes();
            let valid = error.utf8_error().valid_up_to();
            let line = 1 + bytes[..valid].iter().filter(|&&byte| byte == b'\n').count();
            let has_marker = bytes.windows(10).any(|window| window == b"<!-- docs:");
            if has_marker {
                Read::Error(format!(
                    ":{line}: not UTF-8 (the first bad byte is on this line); a file with markers must be UTF-8"
                ))
            } else {
                Read::Skipped(format!(
                    ":{line}: not UTF-8 (the first bad byte is on this line) and no marker in it; skipped"
                ))
            }
        }
    }
}

/// One file whose text changes.
#[derive(Debug)]
pub(crate) struct Change {
    /// The real file written: a symbolic link is written through to it.
    pub(crate) target: PathBuf,
    /// The document as messages name it (its path under the root, as walked).
    pub(crate) display: String,
    pub(crate) old: String,
    pub(crate) new: String,
}

/// Where the bytes go: the disk, or a test's writer that fails on purpose.
pub(crate) trait Writer {
    /// Replaces the file `target` with `text` as a whole, or not at all.
    fn replace(&self, target: &Path, text: &str) -> std::io::Result<()>;
}

/// Writes through a temporary file in the same folder and a rename, so an
/// interrupted write leaves the old file whole; the temporary file gets the
/// old file's permissions before the rename (a read-only document stays
/// read-only) and is removed on every error path.
pub(crate) struct Disk;

impl Writer for Disk {
    fn replace(&self, target: &Path, text: &str) -> std::io::Result<()> {
        let permissions = std::fs::metadata(target)?.permissions();
        let temporary = temporary_for(target);
        interrupt::track_temporary(&temporary);
        let result = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            drop(file);
            std::fs::set_permissions(&temporary, permissions)?;
            std::fs::rename(&temporary, target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        interrupt::forget_temporary(&temporary);
        result
    }
}

/// Why [`write_all`] wrote nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WriteFailed {
    /// What failed, and what was put back.
    pub(crate) message: String,
    /// The signal that interrupted the run, if that was the reason.
    pub(crate) signal: Option<i32>,
}

/// Replaces every changed file, or none: if one write fails (or a signal
/// comes in between two), the files already replaced get their old text
/// back, newest first, and the error names the file that failed and any
/// that could not be put back.
pub(crate) fn write_all(changes: &[Change], writer: &dyn Writer) -> Result<(), WriteFailed> {
    interrupt::set_writing(true);
    let result = write_in_order(changes, writer);
    interrupt::set_writing(false);
    result
}

fn write_in_order(changes: &[Change], writer: &dyn Writer) -> Result<(), WriteFailed> {
    for (index, change) in changes.iter().enumerate() {
        let (what, signal) = match writer.replace(&change.target, &change.new) {
            Ok(()) => match interrupt::interrupted() {
                None => continue,
                Some(signal) => (format!("interrupted by signal {signal}"), Some(signal)),
            },
            Err(error) => (format!("{}: cannot write: {error}", change.display), None),
        };
        let done = if signal.is_some() { index + 1 } else { index };
        let mut lost = Vec::new();
        for change in changes[..done].iter().rev() {
            if let Err(error) = writer.replace(&change.target, &change.old) {
                lost.push(format!("{} ({error})", change.display));
            }
        }
        let message = if lost.is_empty() {
            format!("{what}; the {done} file(s) written before were put back")
        } else {
            format!(
                "{what}; these files could not be put back and hold the new text: {}",
                lost.join(", ")
            )
        };
        return Err(WriteFailed { message, signal });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    /// Files in memory; the `fail_at`-th call (0-based) fails.
    struct Flaky {
        files: RefCell<BTreeMap<PathBuf, String>>,
        calls: Cell<usize>,
        fail_at: usize,
    }

    impl Writer for Flaky {
        fn replace(&self, target: &Path, text: &str) -> std::io::Result<()> {
            let call = self.calls.get();
            self.calls.set(call + 1);
            if call == self.fail_at {
                return Err(std::io::Error::other("injected failure"));
            }
            self.files
                .borrow_mut()
                .insert(target.to_owned(), text.to_owned());
            Ok(())
        }
    }

    fn changes(count: usize) -> Vec<Change> {
        (0..count)
            .map(|i| Change {
                target: PathBuf::from(format!("doc{i}.md")),
                display: format!("docs/doc{i}.md"),
                old: format!("old {i}\n"),
                new: format!("new {i}\n"),
            })
            .collect()
    }

    fn originals(changes: &[Change]) -> BTreeMap<PathBuf, String> {
        changes
            .iter()
            .map(|change| (change.target.clone(), change.old.clone()))
            .collect()
    }

    #[test]
    fn a_failure_at_any_file_puts_every_earlier_one_back() {
        let count = 5;
        let changes = changes(count);
        for k in 0..count {
            let writer = Flaky {
                files: RefCell::new(originals(&changes)),
                calls: Cell::new(0),
                fail_at: k,
            };
            let failed = write_all(&changes, &writer).unwrap_err();
            assert_eq!(
                failed.message,
                format!("docs/doc{k}.md: cannot write: injected failure; the {k} file(s) written before were put back")
            );
            assert_eq!(*writer.files.borrow(), originals(&changes), "k = {k}");
        }
        let writer = Flaky {
            files: RefCell::new(originals(&changes)),
            calls: Cell::new(0),
            fail_at: usize::MAX,
        };
        write_all(&changes, &writer).unwrap();
        assert!(writer
            .files
            .borrow()
            .values()
            .all(|text| text.starts_with("new")));
    }

    #[test]
    fn a_file_that_cannot_be_put_back_is_named() {
        let changes = changes(3);
        // Writes 0 and 1, fails on 2, puts back 1, fails to put back 0.
        struct FailTwice(Flaky);
        impl Writer for FailTwice {
            fn replace(&self, target: &Path, text: &str) -> std::io::Result<()> {
                if self.0.calls.get() == 4 {
                    self.0.calls.set(5);
                    return Err(std::io::Error::other("disk gone"));
                }
                self.0.replace(target, text)
            }
        }
        let writer = FailTwice(Flaky {
            files: RefCell::new(originals(&changes)),
            calls: Cell::new(0),
            fail_at: 2,
        });
        let failed = write_all(&changes, &writer).unwrap_err();
        assert_eq!(
            failed.message,
            "docs/doc2.md: cannot write: injected failure; these files could not be put back and hold the new text: docs/doc0.md (disk gone)"
        );
    }
}
