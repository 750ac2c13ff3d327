//! Fuzzes the marker parser of `cargo xtask docs` with arbitrary text:
//! it must not panic, every error must name a line of the text, and a
//! document it accepts must be rebuilt byte for byte from its segments.
//!
//! Run with `cargo +nightly fuzz run markers` from `xtask/` (`.ci/run` runs
//! it for a bounded time).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/docs/markers.rs"]
#[allow(dead_code, unreachable_pub)]
mod markers;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match markers::parse(text) {
        Ok(document) => {
            let mut again = String::with_capacity(text.len());
            for segment in &document.segments {
                match segment {
                    markers::Segment::Text(text) => again.push_str(text),
                    markers::Segment::Block(block) => {
                        again.push_str(&block.begin);
                        again.push_str(&block.body);
                        again.push_str(&block.end);
                    }
                }
            }
            assert_eq!(again, text, "the segments lose or add bytes");
        }
        Err(errors) => {
            let lines = text.split_inclusive('\n').count().max(1);
            assert!(!errors.is_empty());
            for error in errors {
                assert!(
                    error.line >= 1 && error.line <= lines,
                    "{error} of {lines} lines"
                );
            }
        }
    }
});
