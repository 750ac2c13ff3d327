//! Errors travel into the ecosystem's error types, and `set_exception` takes
//! theirs, compile-checked.

use std::error::Error;
use std::fmt;

use asyncio_core::{Exception, Future, FutureError, FutureErrorKind};

/// An error with a cause, to check that chains name each cause once.
#[derive(Debug)]
struct Outer(std::num::ParseIntError);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not read the count")
    }
}

impl Error for Outer {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn parse_error() -> std::num::ParseIntError {
    "x".parse::<u8>().unwrap_err()
}

fn failed_with(error: impl Into<asyncio_core::BoxError>) -> Future<u8> {
    let future = Future::new();
    future.set_exception(error).unwrap();
    future
}

#[test]
fn question_mark_converts_into_anyhow() {
    fn read(future: &Future<u8>) -> anyhow::Result<u8> {
        Ok(future.result()?)
    }
    let error = read(&Future::new()).unwrap_err();
    let inner = error.downcast_ref::<FutureError>().unwrap();
    assert_eq!(inner.kind(), FutureErrorKind::InvalidState);
}

#[test]
fn question_mark_converts_into_a_boxed_error_that_crosses_threads() {
    fn read(future: &Future<u8>) -> Result<u8, Box<dyn Error + Send + Sync>> {
        Ok(future.result()?)
    }
    let error = read(&failed_with(Outer(parse_error()))).unwrap_err();
    let chain = std::thread::spawn(move || {
        let mut chain = vec![error.to_string()];
        let mut cause = error.source();
        while let Some(next) = cause {
            chain.push(next.to_string());
            cause = next.source();
        }
        chain
    })
    .join()
    .unwrap();
    assert_eq!(
        chain,
        ["could not read the count", "invalid digit found in string"]
    );
}

#[test]
fn set_exception_takes_any_error_and_keeps_its_type() {
    let future = failed_with(parse_error());
    let exception = future.exception().unwrap().unwrap();
    assert_eq!(exception.downcast_ref(), Some(&parse_error()));
}

#[test]
fn set_exception_takes_a_boxed_error_and_keeps_its_type() {
    let boxed: Box<dyn Error + Send + Sync> = Box::new(parse_error());
    let future = failed_with(boxed);
    let exception = future.exception().unwrap().unwrap();
    assert!(exception.is::<std::num::ParseIntError>());
}

#[test]
fn set_exception_takes_an_anyhow_error() {
    let future = failed_with(anyhow::anyhow!("from anyhow"));
    let exception = future.exception().unwrap().unwrap();
    assert_eq!(exception.to_string(), "from anyhow");
    let future = failed_with(anyhow::Error::new(parse_error()));
    let exception = future.exception().unwrap().unwrap();
    assert_eq!(exception.to_string(), parse_error().to_string());
    // anyhow's conversion into a boxed error wraps the error in anyhow's own
    // type: message and chain survive, the original type does not (documented
    // on `set_exception`; downcast with anyhow before converting).
    assert!(exception
        .downcast_ref::<std::num::ParseIntError>()
        .is_none());
}

#[test]
fn set_exception_takes_a_message() {
    let future = failed_with("plain words");
    assert_eq!(future.result().unwrap_err().to_string(), "plain words");
}

#[test]
fn an_exception_given_back_is_not_wrapped_twice() {
    let exception = Exception::new(Outer(parse_error()));
    let future = failed_with(exception.clone());
    let stored = future.exception().unwrap().unwrap();
    assert!(stored.ptr_eq(&exception));
    assert!(stored.is::<Outer>());
    assert_eq!(
        stored.source().unwrap().to_string(),
        "invalid digit found in string"
    );
}

#[test]
fn every_kind_matches() {
    let pending: Future<u8> = Future::new();
    assert_eq!(
        pending.result().unwrap_err().kind(),
        FutureErrorKind::InvalidState
    );
    assert_eq!(
        pending.add_done_callback(|_| {}).unwrap_err().kind(),
        FutureErrorKind::Unbound
    );
    let failed = failed_with("boom");
    assert_eq!(
        failed.result().unwrap_err().kind(),
        FutureErrorKind::Exception
    );
    pending.cancel();
    assert_eq!(
        pending.result().unwrap_err().kind(),
        FutureErrorKind::Cancelled
    );
}
