//! `StreamReader` on its own, fed by hand: CPython 3.11's
//! `test_streams.py` `StreamTests` cases that do not need a connection,
//! ported one for one (the name of each is in its doc comment), and what
//! asyncio's tests leave out: cancellation at every wait, several
//! separators, the typed errors' data.

use std::cell::RefCell;
use std::rc::Rc;

use asyncio_loop::{EventLoop, LoopHandle};
use asyncio_net::{Chunk, NetError, NetErrorKind, StreamReader};

const DATA: &[u8] = b"line1\nline2\nline3\n";

/// Runs `body` on a fresh loop.
fn run<T: 'static, F>(body: impl FnOnce(LoopHandle) -> F) -> T
where
    F: std::future::Future<Output = T> + 'static,
{
    let event_loop = EventLoop::new();
    let future = body(event_loop.handle());
    event_loop.run_until_complete(future).expect("the loop ran")
}

/// What is left in the buffer, read out after the end is fed (asyncio's
/// tests look at `stream._buffer`).
fn rest(reader: &StreamReader) -> Chunk {
    let reader = reader.clone();
    reader.feed_eof();
    run(move |_| async move { reader.read(-1).await.unwrap() })
}

fn error(message: &str) -> NetError {
    NetError::from(std::io::Error::other(message.to_owned()))
}

/// `test_feed_empty_data`, `test_feed_nonempty_data`.
#[test]
fn feeding_adds_to_the_buffer() {
    let reader = StreamReader::new();
    reader.feed_data(b"").unwrap();
    assert_eq!(reader.buffered(), 0);
    reader.feed_data(DATA).unwrap();
    assert_eq!(rest(&reader), DATA);
    assert!(reader.feed_data(b"x").unwrap_err().is_invalid_state());
}

/// `feed_with` (ours): a read lent the buffer's room is buffered as fed
/// data is; its error comes back whole; a read that claims more than its
/// room, or any after the end, buffers nothing.
#[test]
fn feeding_in_place_adds_what_the_read_put_in_the_room() {
    let reader = StreamReader::new();
    let fed = reader.feed_with(|room| {
        room[..6].copy_from_slice(b"line1\n");
        Ok(6)
    });
    assert_eq!(fed.unwrap(), 6);
    assert_eq!(reader.feed_with(|_| Ok(0)).unwrap(), 0);
    let failed = reader
        .feed_with(|_| Err(std::io::ErrorKind::WouldBlock.into()))
        .unwrap_err();
    assert_eq!(
        failed.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::WouldBlock)
    );
    let overclaimed = reader.feed_with(|room| Ok(room.len() + 1)).unwrap_err();
    assert_eq!(
        overclaimed.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::InvalidData)
    );
    assert_eq!(reader.buffered(), 6);
    // A waiting read wakes for what is read in place.
    let r = reader.clone();
    let line = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || {
                let _ = feeder.feed_with(|room| {
                    room[..6].copy_from_slice(b"line2\n");
                    Ok(6)
                });
            })
            .unwrap();
        r.readexactly(12).await.unwrap()
    });
    assert_eq!(line, b"line1\nline2\n");
    reader.feed_eof();
    let late = reader.feed_with(|_| panic!("not called after the end"));
    assert!(late.unwrap_err().is_invalid_state());
}

/// `test_read_zero`.
#[test]
fn read_zero_reads_nothing() {
    let reader = StreamReader::new();
    reader.feed_data(DATA).unwrap();
    let r = reader.clone();
    assert_eq!(run(move |_| async move { r.read(0).await.unwrap() }), b"");
    assert_eq!(rest(&reader), DATA);
}

/// `test_read`, `test_read_eof`: a waiting read gets what is fed, or the
/// end.
#[test]
fn a_waiting_read_gets_what_is_fed_or_the_end() {
    let reader = StreamReader::new();
    let r = reader.clone();
    let data = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || feeder.feed_data(DATA).unwrap())
            .unwrap();
        r.read(30).await.unwrap()
    });
    assert_eq!(data, DATA);
    assert_eq!(reader.buffered(), 0);
    let reader = StreamReader::new();
    let data = run(move |handle| async move {
        let feeder = reader.clone();
        handle.call_soon(move || feeder.feed_eof()).unwrap();
        reader.read(1024).await.unwrap()
    });
    assert_eq!(data, b"");
}

/// `test_read_line_breaks`, `test_read_limit`: `read(n)` ignores lines
/// and the limit.
#[test]
fn read_n_takes_at_most_n_whatever_the_lines_and_limit() {
    let reader = StreamReader::new();
    reader.feed_data(b"line1").unwrap();
    reader.feed_data(b"line2").unwrap();
    let r = reader.clone();
    assert_eq!(
        run(move |_| async move { r.read(5).await.unwrap() }),
        b"line1"
    );
    assert_eq!(rest(&reader), b"line2");
    let reader = StreamReader::with_limit(3).unwrap();
    reader.feed_data(b"chunk").unwrap();
    let r = reader.clone();
    assert_eq!(
        run(move |_| async move { r.read(5).await.unwrap() }),
        b"chunk"
    );
    assert_eq!(reader.buffered(), 0);
}

/// `test_read_until_eof`.
#[test]
fn read_minus_one_reads_to_the_end() {
    let reader = StreamReader::new();
    let data = run(move |handle| async move {
        let feeder = reader.clone();
        handle
            .call_soon(move || {
                feeder.feed_data(b"chunk1\n").unwrap();
                feeder.feed_data(b"chunk2").unwrap();
                feeder.feed_eof();
            })
            .unwrap();
        reader.read(-1).await.unwrap()
    });
    assert_eq!(data, b"chunk1\nchunk2");
}

/// `test_read_exception`, `test_readline_exception`,
/// `test_readexactly_exception`, `test_exception`: a set error is
/// raised by every read from then on.
#[test]
fn a_set_exception_is_raised_by_every_read() {
    let reader = StreamReader::new();
    assert!(reader.exception().is_none());
    reader.feed_data(b"line\n").unwrap();
    let r = reader.clone();
    let (first, errors) = run(move |_| async move {
        let first = r.read(2).await.unwrap();
        r.set_exception(error("boom"));
        let errors = vec![
            r.read(2).await.unwrap_err(),
            r.readline().await.unwrap_err(),
            r.readexactly(2).await.unwrap_err(),
            r.readuntil(b"\n").await.unwrap_err(),
        ];
        (first, errors)
    });
    assert_eq!(first, b"li");
    for error in errors {
        assert_eq!(error.to_string(), "boom");
    }
    assert_eq!(reader.exception().unwrap().to_string(), "boom");
}

/// `test_invalid_limit`.
#[test]
fn a_zero_limit_is_refused() {
    let error = StreamReader::with_limit(0).unwrap_err();
    assert!(error.is_invalid_argument());
    assert!(error.to_string().contains("imit"));
}

/// `test_readline`: a line that comes in several pieces.
#[test]
fn readline_waits_for_the_newline() {
    let reader = StreamReader::new();
    reader.feed_data(b"chunk1 ").unwrap();
    let r = reader.clone();
    let line = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || {
                feeder.feed_data(b"chunk2 ").unwrap();
                feeder.feed_data(b"chunk3 ").unwrap();
                feeder.feed_data(b"\n chunk4").unwrap();
            })
            .unwrap();
        r.readline().await.unwrap()
    });
    assert_eq!(line, b"chunk1 chunk2 chunk3 \n");
    assert_eq!(rest(&reader), b" chunk4");
}

fn readline_now(reader: &StreamReader) -> Result<Chunk, NetError> {
    let r = reader.clone();
    run(move |_| async move { r.readline().await })
}

/// `test_readline_limit_with_existing_data`: an over-long line is dropped
/// up to its newline, or the whole buffer without one.
#[test]
fn an_over_long_buffered_line_is_dropped() {
    let reader = StreamReader::with_limit(3).unwrap();
    reader.feed_data(b"li").unwrap();
    reader.feed_data(b"ne1\nline2\n").unwrap();
    let error = readline_now(&reader).unwrap_err();
    assert_eq!(error.kind(), NetErrorKind::LimitOverrun);
    assert_eq!(rest(&reader), b"line2\n");

    let reader = StreamReader::with_limit(3).unwrap();
    reader.feed_data(b"li").unwrap();
    reader.feed_data(b"ne1").unwrap();
    reader.feed_data(b"li").unwrap();
    assert_eq!(
        readline_now(&reader).unwrap_err().kind(),
        NetErrorKind::LimitOverrun
    );
    assert_eq!(reader.buffered(), 0);
}

/// `test_at_eof`.
#[test]
fn at_eof_is_the_end_fed_and_read() {
    let reader = StreamReader::new();
    assert!(!reader.at_eof());
    reader.feed_data(b"some data\n").unwrap();
    assert!(!reader.at_eof());
    readline_now(&reader).unwrap();
    assert!(!reader.at_eof());
    reader.feed_data(b"some data\n").unwrap();
    reader.feed_eof();
    assert!(!reader.at_eof());
    readline_now(&reader).unwrap();
    assert!(reader.at_eof());
}

/// `test_readline_limit`: fed while the read waits, and the limit's
/// strictness (a line of exactly `limit` bytes plus its newline passes).
#[test]
fn readline_limits_lines_fed_while_it_waits() {
    let fed_later = |pieces: &'static [&'static [u8]]| {
        let reader = StreamReader::with_limit(7).unwrap();
        let r = reader.clone();
        let result = run(move |handle| async move {
            let feeder = r.clone();
            handle
                .call_soon(move || {
                    for piece in pieces {
                        feeder.feed_data(piece).unwrap();
                    }
                    feeder.feed_eof();
                })
                .unwrap();
            r.readline().await
        });
        (result, reader)
    };
    let (result, reader) = fed_later(&[b"chunk1", b"chunk2", b"chunk3\n"]);
    assert_eq!(result.unwrap_err().kind(), NetErrorKind::LimitOverrun);
    assert_eq!(reader.buffered(), 0);
    let (result, reader) = fed_later(&[b"chunk1", b"chunk2\n", b"chunk3\n"]);
    assert_eq!(result.unwrap_err().kind(), NetErrorKind::LimitOverrun);
    assert_eq!(rest(&reader), b"chunk3\n");

    let reader = StreamReader::with_limit(7).unwrap();
    reader.feed_data(b"1234567\n").unwrap();
    assert_eq!(readline_now(&reader).unwrap(), b"1234567\n");
    assert_eq!(reader.buffered(), 0);
    reader.feed_data(b"12345678\n").unwrap();
    assert!(readline_now(&reader).is_err());
    assert_eq!(reader.buffered(), 0);
    reader.feed_data(b"12345678").unwrap();
    assert!(readline_now(&reader).is_err());
    assert_eq!(reader.buffered(), 0);
}

/// `test_readline_nolimit_nowait`, `test_readline_eof`,
/// `test_readline_empty_eof`, `test_readline_read_byte_count`.
#[test]
fn readline_takes_one_line_and_the_partial_last_one() {
    let reader = StreamReader::new();
    reader.feed_data(&DATA[..6]).unwrap();
    reader.feed_data(&DATA[6..]).unwrap();
    assert_eq!(readline_now(&reader).unwrap(), b"line1\n");
    let r = reader.clone();
    assert_eq!(
        run(move |_| async move { r.read(7).await.unwrap() }),
        b"line2\nl"
    );
    assert_eq!(rest(&reader), b"ine3\n");

    let reader = StreamReader::new();
    reader.feed_data(b"some data").unwrap();
    reader.feed_eof();
    assert_eq!(readline_now(&reader).unwrap(), b"some data");
    assert_eq!(readline_now(&reader).unwrap(), b"");
}

fn readuntil_now(reader: &StreamReader, separator: &'static [u8]) -> Result<Chunk, NetError> {
    let r = reader.clone();
    run(move |_| async move { r.readuntil(separator).await })
}

/// `test_readuntil_separator`, `test_readuntil_multi_chunks`,
/// `test_readuntil_multi_chunks_1`: separators split across feeds.
#[test]
fn readuntil_finds_separators_across_feeds() {
    let reader = StreamReader::new();
    assert!(readuntil_now(&reader, b"")
        .unwrap_err()
        .is_invalid_argument());
    for (pieces, expected, left) in [
        (&[&b"lineAAA"[..]][..], &b"lineAAA"[..], 0),
        (&[b"lineAAAxxx"], b"lineAAA", 3),
    ] {
        let reader = StreamReader::new();
        for piece in pieces {
            reader.feed_data(piece).unwrap();
        }
        assert_eq!(readuntil_now(&reader, b"AAA").unwrap(), expected);
        assert_eq!(reader.buffered(), left);
    }
    let reader = StreamReader::new();
    for (pieces, expected) in [
        (&[&b"QWEaa"[..], b"XYaa", b"a"][..], &b"QWEaaXYaaa"[..]),
        (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
        (&[b"aaa"], b"aaa"),
        (&[b"Xaaa"], b"Xaaa"),
        (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
    ] {
        for piece in pieces {
            reader.feed_data(piece).unwrap();
        }
        assert_eq!(readuntil_now(&reader, b"aaa").unwrap(), expected);
        assert_eq!(reader.buffered(), 0);
    }
}

/// `test_readuntil_eof`: the end before the separator is an incomplete
/// read with everything, and an empty buffer.
#[test]
fn readuntil_at_the_end_is_an_incomplete_read() {
    let reader = StreamReader::new();
    reader.feed_data(b"some dataAA").unwrap();
    reader.feed_eof();
    let error = readuntil_now(&reader, b"AAA").unwrap_err();
    assert_eq!(error.kind(), NetErrorKind::IncompleteRead);
    assert_eq!(error.partial(), Some(&b"some dataAA"[..]));
    assert_eq!(error.expected(), None);
    assert!(error.to_string().contains("undefined expected bytes"));
    assert_eq!(reader.buffered(), 0);
}

/// `test_readuntil_limit_found_sep`: both overruns leave the data where
/// it is, with asyncio's `consumed`.
#[test]
fn readuntil_overruns_leave_the_buffer() {
    let reader = StreamReader::with_limit(3).unwrap();
    reader.feed_data(b"some dataAA").unwrap();
    let error = readuntil_now(&reader, b"AAA").unwrap_err();
    assert_eq!(error.kind(), NetErrorKind::LimitOverrun);
    assert!(error.to_string().contains("not found"));
    assert_eq!(error.consumed(), Some(9));
    assert_eq!(reader.buffered(), 11);
    reader.feed_data(b"A").unwrap();
    let error = readuntil_now(&reader, b"AAA").unwrap_err();
    assert!(error.to_string().contains("is found"));
    assert_eq!(error.consumed(), Some(9));
    assert_eq!(rest(&reader), b"some dataAAA");
}

/// asyncio 3.13's `readuntil` with several separators: the one that ends
/// first wins.
#[test]
fn readuntil_any_takes_the_separator_that_ends_first() {
    let reader = StreamReader::new();
    reader.feed_data(b"a\r\nb\nc").unwrap();
    let r = reader.clone();
    let (first, second) = run(move |_| async move {
        let separators: [&[u8]; 2] = [b"\r\n", b"\n"];
        (
            r.readuntil_any(&separators).await.unwrap(),
            r.readuntil_any(&separators).await.unwrap(),
        )
    });
    assert_eq!(first, b"a\r\n");
    assert_eq!(second, b"b\n");
    let r = reader.clone();
    let refused = run(move |_| async move { r.readuntil_any(&[]).await.unwrap_err() });
    assert!(refused.is_invalid_argument());
    assert_eq!(rest(&reader), b"c");
}

/// `test_readexactly_zero_or_less`, `test_readexactly`,
/// `test_readexactly_limit`, `test_readexactly_eof`.
#[test]
fn readexactly_waits_for_n_or_reports_what_came() {
    let reader = StreamReader::new();
    reader.feed_data(DATA).unwrap();
    let r = reader.clone();
    assert_eq!(
        run(move |_| async move { r.readexactly(0).await.unwrap() }),
        b""
    );
    assert_eq!(reader.buffered(), DATA.len());

    let reader = StreamReader::new();
    let r = reader.clone();
    let data = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || {
                for _ in 0..3 {
                    feeder.feed_data(DATA).unwrap();
                }
            })
            .unwrap();
        r.readexactly(2 * DATA.len()).await.unwrap()
    });
    assert_eq!(data, [DATA, DATA].concat());
    assert_eq!(rest(&reader), DATA);

    let reader = StreamReader::with_limit(3).unwrap();
    reader.feed_data(b"chunk").unwrap();
    let r = reader.clone();
    assert_eq!(
        run(move |_| async move { r.readexactly(5).await.unwrap() }),
        b"chunk"
    );

    let reader = StreamReader::new();
    let r = reader.clone();
    let error = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || {
                feeder.feed_data(DATA).unwrap();
                feeder.feed_eof();
            })
            .unwrap();
        r.readexactly(2 * DATA.len()).await.unwrap_err()
    });
    assert_eq!(error.partial(), Some(DATA));
    assert_eq!(error.expected(), Some(36));
    assert_eq!(
        error.to_string(),
        "18 bytes read on a total of 36 expected bytes"
    );
    assert_eq!(reader.buffered(), 0);
}

/// `test_exception_waiter`: a waiting read wakes to a set error.
#[test]
fn a_waiting_read_wakes_to_a_set_exception() {
    let reader = StreamReader::new();
    let error = run(move |handle| async move {
        let r = reader.clone();
        let waiting = handle
            .create_task(async move { r.readline().await })
            .unwrap();
        handle.sleep(0.0).await.unwrap();
        reader.set_exception(error("late"));
        waiting.wait().await.unwrap_err()
    });
    assert_eq!(error.to_string(), "late");
}

/// `test_exception_cancel`: a cancelled waiting read leaves no waiter, so
/// a later error (and a later read) finds none.
#[test]
fn a_cancelled_read_leaves_no_waiter() {
    let reader = StreamReader::new();
    let r = reader.clone();
    let (cancelled, next) = run(move |handle| async move {
        let waiting_reader = r.clone();
        let waiting = handle
            .create_task(async move { waiting_reader.readline().await })
            .unwrap();
        handle.sleep(0.0).await.unwrap();
        waiting.cancel();
        handle.sleep(0.0).await.unwrap();
        r.set_exception(error("message"));
        handle.sleep(0.0).await.unwrap();
        (waiting.cancelled(), format!("{r:?}"))
    });
    assert!(cancelled);
    assert!(!next.contains("waiting"), "{next}");
}

/// IO34: one waiter at a time; a second read that would wait is refused,
/// and the first still gets its data.
#[test]
fn a_second_waiting_read_is_refused() {
    let reader = StreamReader::new();
    let (second, first) = run(move |handle| async move {
        let r = reader.clone();
        let first = handle.create_task(async move { r.read(10).await }).unwrap();
        handle.sleep(0.0).await.unwrap();
        let second = reader.readline().await.unwrap_err();
        reader.feed_data(b"abc").unwrap();
        (second, first.wait().await.unwrap())
    });
    assert!(second.is_invalid_state());
    assert_eq!(
        second.to_string(),
        "readuntil() called while another coroutine is already waiting for incoming data"
    );
    assert_eq!(first, b"abc");
}

/// `test___repr__*`: the `Debug` text says what asyncio's repr says.
#[test]
fn debug_shows_the_state() {
    let reader = StreamReader::new();
    assert_eq!(format!("{reader:?}"), "StreamReader { buffered: 0 }");
    let limited = StreamReader::with_limit(123).unwrap();
    assert_eq!(
        format!("{limited:?}"),
        "StreamReader { buffered: 0, limit: 123 }"
    );
    reader.feed_data(b"data").unwrap();
    reader.feed_eof();
    assert_eq!(
        format!("{reader:?}"),
        "StreamReader { buffered: 4, eof: true }"
    );
}

/// A reader cancelled at every wait of a long transfer loses no byte and
/// duplicates none: a pseudo-random cancellation point for each of 200
/// rounds of random feeds and reads of every kind.
#[test]
fn cancelled_reads_lose_nothing() {
    // xorshift: deterministic, no dependency.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let reader = StreamReader::with_limit(64).unwrap();
    let mut sent = Vec::new();
    let mut pieces = Vec::new();
    // Lines stay under the limit (an over-long line is dropped by design).
    let mut line = 0;
    for round in 0..2000u32 {
        let len = 1 + next(12) as usize;
        let piece: Vec<u8> = (0..len)
            .map(|i| {
                line += 1;
                if line >= 30 || next(8) == 0 {
                    line = 0;
                    b'\n'
                } else {
                    b'a' + ((round as usize + i) % 26) as u8
                }
            })
            .collect();
        sent.extend_from_slice(&piece);
        pieces.push((piece, 1 + next(4)));
    }
    let plan: Vec<(u64, u64)> = (0..8000).map(|_| (next(4), next(4))).collect();
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&got);
    let cancelled = run(move |handle| async move {
        let mut cancelled = 0;
        let feeder = reader.clone();
        let feed = handle
            .create_task({
                let handle = handle.clone();
                async move {
                    for (piece, pause) in pieces {
                        feeder.feed_data(&piece).unwrap();
                        for _ in 0..pause {
                            handle.sleep(0.0).await.unwrap();
                        }
                    }
                    feeder.feed_eof();
                }
            })
            .unwrap();
        for (kind, delay) in plan {
            if reader.at_eof() {
                break;
            }
            let r = reader.clone();
            let out = Rc::clone(&sink);
            let task = handle
                .create_task(async move {
                    let data = match kind {
                        0 => r.read(50).await,
                        1 => r.readline().await,
                        2 => r.readexactly(20).await,
                        _ => r.readuntil(b"\n").await,
                    };
                    match data {
                        Ok(data) => out.borrow_mut().extend_from_slice(&data),
                        Err(error) => {
                            if let Some(partial) = error.partial() {
                                out.borrow_mut().extend_from_slice(partial);
                            }
                        }
                    }
                })
                .unwrap();
            for _ in 0..delay {
                handle.sleep(0.0).await.unwrap();
            }
            task.cancel();
            let _ = task.wait().await;
            cancelled += usize::from(task.cancelled());
        }
        let rest = reader.read(-1).await.unwrap();
        sink.borrow_mut().extend_from_slice(&rest);
        feed.wait().await.unwrap();
        cancelled
    });
    assert_eq!(*got.borrow(), sent);
    assert!(cancelled > 300, "only {cancelled} reads were cancelled");
}

/// A connection that fails while `readexactly` waits: an incomplete read
/// with the bytes that came, the failure as its source, and the failure
/// again for the next read (asyncio raises the failure and strands the
/// bytes).
#[test]
fn a_failure_while_readexactly_waits_keeps_the_partial_bytes() {
    let reader = StreamReader::new();
    reader.feed_data(b"abc").unwrap();
    let r = reader.clone();
    let (error, next) = run(move |handle| async move {
        let feeder = r.clone();
        handle
            .call_soon(move || feeder.set_exception(error("reset")))
            .unwrap();
        let error = r.readexactly(10).await.unwrap_err();
        (error, r.read(1).await.unwrap_err())
    });
    assert_eq!(error.kind(), NetErrorKind::IncompleteRead);
    assert_eq!(error.partial(), Some(&b"abc"[..]));
    assert_eq!(error.expected(), Some(10));
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "reset");
    assert_eq!(next.to_string(), "reset");
    assert_eq!(reader.buffered(), 0);
}
