//! The crate's modules import each other in one direction only: each sits
//! in a layer and uses only modules of lower layers (ARCHITECTURE.md,
//! "Layers of asyncio-loop"). The loop's state, `shared`, is one module
//! tree: its children implement its concerns and may use it and each other.
//!
//! This reads the sources: every `crate::` and `super::` path outside a
//! comment or a `#[cfg(test)] mod tests` names the module it reaches (an
//! item re-exported at the root names the module it comes from).
//!
//! (Not under Miri, which cannot read files, and has nothing to check here.)
#![cfg(not(miri))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The layers, lowest first. A module added to the crate must be placed here.
const LAYERS: &[&[&str]] = &[
    // The parts, which know nothing of a loop.
    &["clock", "error", "executor", "ready", "sources"],
    &["poller"],
    &["remote", "timers"],
    &["threadsafe"],
    // The loop's state: the parts composed, and the iteration.
    &["shared"],
    // What reaches the state by its methods.
    &["completer", "handle", "sleep", "task"],
    // The loop's API, written once, and its owner.
    &["loop_handle"],
    &["event_loop"],
    // Above the API: composition, TaskGroup, run(), threads (`compose/`).
    &["compose"],
];

/// The crate-private items the top layer (`compose/`) may use besides the
/// public API, each named in `compose/mod.rs`.
const TOP_LAYER_PRIVATE: &[&str] = &["task::cancellation", "task::unwrapped", "shared::TaskId"];

fn src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// Every module of the crate by its path (`shared::tasks`), with its source
/// (without its test module and its comment lines).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{stem}::"), out);
                continue;
            }
            let name = match stem.as_str() {
                "lib" => continue,
                "mod" => prefix.trim_end_matches("::").to_owned(),
                _ => format!("{prefix}{stem}"),
            };
            let text = fs::read_to_string(&path).unwrap();
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    let mut out = BTreeMap::new();
    walk(src(), "", &mut out);
    out
}

/// The root's re-exports: item name -> the module it comes from.
fn reexports() -> BTreeMap<String, String> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut out = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use crate::") else {
            continue;
        };
        for path in expand(rest) {
            let mut segments: Vec<&str> = path.split("::").collect();
            let item = segments.pop().unwrap().to_owned();
            out.insert(item, segments.join("::"));
        }
    }
    out
}

/// `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e` (and `a::b` -> itself).
fn expand(path: &str) -> Vec<String> {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = path.find('{') else {
        return vec![path.split(" as ").next().unwrap().to_owned()];
    };
    let head = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| expand(part).into_iter().map(move |p| format!("{head}{p}")))
        .collect()
}

/// The `crate::` and `super::` paths in `code`, braces expanded, each made
/// absolute (`super::x` in `shared::run` is `shared::x`).
fn paths(module: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut end = 0;
            let mut depth = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    c if depth > 0 || c.is_alphanumeric() || c == '_' || c == ':' => {}
                    _ if depth > 0 => {}
                    _ => {
                        end = i;
                        break;
                    }
                }
                end = i + c.len_utf8();
            }
            let base = if prefix == "super::" {
                match module.rsplit_once("::") {
                    Some((parent, _)) => format!("{parent}::"),
                    None => String::new(),
                }
            } else {
                String::new()
            };
            for path in expand(&rest[..end]) {
                out.push(format!("{base}{path}"));
            }
        }
    }
    out
}

/// The module a path reaches: its longest prefix that is a module, or the
/// module an item re-exported at the root comes from.
fn target(
    path: &str,
    modules: &BTreeMap<String, String>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    for len in (1..=segments.len()).rev() {
        let candidate = segments[..len].join("::");
        if modules.contains_key(&candidate) {
            return Some(candidate);
        }
    }
    reexports.get(segments[0]).cloned()
}

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap();
    LAYERS.iter().position(|layer| layer.contains(&top))
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = modules()
        .into_keys()
        .filter(|module| layer_of(module).is_none())
        .collect();
    assert!(unplaced.is_empty(), "not in LAYERS: {unplaced:?}");
}

/// The imports of `modules` that do not point to a lower layer.
fn violations(
    modules: &BTreeMap<String, String>,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut wrong = BTreeSet::new();
    for (module, code) in modules {
        let family = module.split("::").next().unwrap();
        let Some(own) = layer_of(module) else {
            continue;
        };
        for path in paths(module, code) {
            let Some(target) = target(&path, modules, reexports) else {
                continue;
            };
            if target.split("::").next() == Some(family) {
                continue;
            }
            if layer_of(&target).map_or(true, |layer| layer >= own) {
                wrong.insert(format!("{module} -> {target} (by {path})"));
            }
        }
    }
    wrong
}

/// Fails, listing them under `what`, if `found` has any.
fn assert_none(found: BTreeSet<String>, what: &str) {
    assert!(
        found.is_empty(),
        "{what}:\n{}",
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn modules_import_only_lower_layers() {
    let wrong = violations(&modules(), &reexports());
    assert_none(wrong, "imports that do not point down");
}

/// The paths of the top layer that are neither the public API (an item
/// the crate's root re-exports) nor its own modules nor one of
/// `TOP_LAYER_PRIVATE`.
fn top_layer_private_uses(
    modules: &BTreeMap<String, String>,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut private = BTreeSet::new();
    for (module, code) in modules {
        if module.split("::").next() != Some("compose") {
            continue;
        }
        for path in paths(module, code) {
            let first = path.split("::").next().unwrap();
            let public = reexports.contains_key(first);
            let own = first == "compose";
            if !(public || own || TOP_LAYER_PRIVATE.contains(&path.as_str())) {
                private.insert(format!("{module} -> {path}"));
            }
        }
    }
    private
}

#[test]
fn the_top_layer_uses_the_public_api() {
    let private = top_layer_private_uses(&modules(), &reexports());
    assert_none(private, "crate-private items used above the API");
    // The check sees one: the task table reached from `gather`.
    let mut modules = modules();
    modules
        .get_mut("compose")
        .unwrap()
        .push_str("\nuse crate::shared::tasks::TaskStep;");
    let private = top_layer_private_uses(&modules, &reexports());
    assert_eq!(
        private.into_iter().collect::<Vec<_>>(),
        ["compose -> shared::tasks::TaskStep"]
    );
}

#[test]
fn the_checker_sees_paths_braces_and_super() {
    let code = "use crate::shared::{registry, Shared};\nuse super::Shared;\nlet x = crate::LoopError::closed();";
    let found = paths("shared::run", code);
    assert_eq!(
        found,
        [
            "shared::registry",
            "shared::Shared",
            "LoopError::closed",
            "shared::Shared"
        ]
    );
    assert_eq!(expand("a::{b, c::{d, e}}"), ["a::b", "a::c::d", "a::c::e"]);
}

#[test]
fn the_checker_finds_upward_imports() {
    // The ready queue naming the task type (as it once did), the state
    // naming a handle, and a root re-export that hides where an item lives.
    let mut modules = modules();
    modules
        .get_mut("ready")
        .unwrap()
        .push_str("\nuse crate::task::TaskStep;");
    modules
        .get_mut("shared")
        .unwrap()
        .push_str("\nuse crate::{Handle, LoopError};");
    modules
        .get_mut("shared::tasks")
        .unwrap()
        .push_str("\nuse crate::Task;");
    let wrong = violations(&modules, &reexports());
    assert_eq!(
        wrong.into_iter().collect::<Vec<_>>(),
        [
            "ready -> task (by task::TaskStep)",
            "shared -> handle (by Handle)",
            "shared::tasks -> task (by Task)",
        ]
    );
}
