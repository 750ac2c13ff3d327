//! The facade re-exports the whole public API of the four crates: every
//! item and module each one exports at its root is re-exported here, so
//! an item added to a crate and forgotten here fails this test.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn crate_lib(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../{name}/src/lib.rs"));
    fs::read_to_string(path).unwrap()
}

/// The names in the `pub use` statements of `source`, and its `pub mod`s.
fn exported(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for statement in source.split(';') {
        let statement = statement.trim();
        let lines: Vec<&str> = statement
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect();
        let statement = lines.join(" ");
        let statement = statement.trim();
        if let Some(module) = statement.strip_prefix("pub mod ") {
            if !module.contains('{') {
                names.insert(module.trim().to_owned());
                continue;
            }
        }
        // A `pub use` may follow the opening of an inline module.
        let Some(at) = statement.rfind("pub use ") else {
            continue;
        };
        let path = &statement[at + "pub use ".len()..];
        let items = match path.find('{') {
            Some(open) => &path[open + 1..path.rfind('}').unwrap()],
            None => path.rsplit("::").next().unwrap(),
        };
        for item in items.split(',') {
            let item = item.trim();
            let item = item.rsplit(" as ").next().unwrap();
            let item = item.rsplit("::").next().unwrap();
            if !item.is_empty() {
                names.insert(item.to_owned());
            }
        }
    }
    names
}

/// Every name the facade re-exports, anywhere in it (a module's items
/// count: `parts` re-exports `cancel`, `contextvars` is `context::*`).
fn facade() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap()
}

#[test]
fn every_item_of_the_four_crates_is_re_exported() {
    let facade = facade();
    let reexported = exported(&facade);
    let mut missing = Vec::new();
    for name in ["core", "loop", "net", "process", "sync"] {
        for item in exported(&crate_lib(name)) {
            let covered = reexported.contains(&item)
                || (name == "core"
                    && item == "context"
                    && facade.contains("asyncio_core::context::*"));
            if !covered {
                missing.push(format!("asyncio-{name}: {item}"));
            }
        }
    }
    // asyncio-callbacks is re-exported whole, as `callbacks`.
    assert!(facade.contains("pub use asyncio_callbacks::*;"));
    assert!(missing.is_empty(), "not re-exported: {missing:?}");
}

#[test]
fn the_parser_reads_braces_renames_and_modules() {
    let names =
        exported("pub mod a;\npub use x::{b, c as d,\n  e::f};\npub use y::g;\n// pub use z::h;");
    let expected: BTreeSet<String> = ["a", "b", "d", "f", "g"].map(String::from).into();
    assert_eq!(names, expected);
}

#[test]
fn a_program_reads_as_its_python_did() {
    use asyncio::{gather, run, sleep, Lock, Queue, TaskGroup};

    let total = run(async {
        let lock = Lock::new();
        let queue = Queue::new();
        let (lock2, queue2) = (lock.clone(), queue.clone());
        let results = TaskGroup::run(|group| async move {
            let task = group.create_task(async move {
                let _held = lock2.acquire().await?;
                queue2.put_nowait(3)?;
                Ok::<_, asyncio::FutureError>(())
            })?;
            sleep(0.0).await?;
            Ok::<_, asyncio::FutureError>(task)
        })
        .await?;
        results.result()?;
        let value = |n: i32| async move { n };
        let sums = gather([value(1), value(2)]).await?;
        Ok::<_, asyncio::FutureError>(
            sums.iter().sum::<i32>() + queue.get_nowait()? + i32::from(lock.locked()),
        )
    })
    .unwrap()
    .unwrap();
    assert_eq!(total, 6);
}
