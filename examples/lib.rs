//! The examples of the asyncio chapters, ported to this workspace's API.
//!
//! Each file in `examples/` is a Rust port of one Python example of "Python 3
//! Module of the Week" and prints, byte for byte, what the chapter shows for
//! the original. Run one with `cargo run --example NAME`; `tests/examples.rs`
//! pins every output with `insta`, and `cargo xtask docs` pastes them into
//! `docs/`. This library target is empty: the package exists for its examples.

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
