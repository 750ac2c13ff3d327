//! The loop's I/O step: `add_reader`/`add_writer` (asyncio's level-
//! triggered meaning on our edge-triggered poller), readiness ordering
//! within an iteration, `Registered` sources and the `sock_*` coroutines,
//! the stuck check and the manual clock with I/O in flight.
//!
//! Orders were checked against CPython 3.11 (each test says how). Every
//! wait is bounded: sockets are local pairs or loopback listeners on ports
//! the OS picks, and each run is under a `wait_for` or a stop timer.
#![cfg(all(unix, not(miri)))]

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::socket2::{Domain, Socket, Type};
use asyncio_loop::{wait_for, EventLoop, LoopError, LoopErrorKind, ManualClock, Registered};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

/// Stops the loop after `seconds` of real time, so that no test runs for ever.
fn stop_after(event_loop: &EventLoop, seconds: f64) {
    let handle = event_loop.handle();
    event_loop
        .call_later(seconds, move || handle.stop())
        .unwrap();
}

/// A reader on `fd` that counts its calls, runs `then` on each, and at the
/// `last` call removes itself and stops the loop; the count.
fn reader_counting_to(
    event_loop: &EventLoop,
    fd: std::os::fd::RawFd,
    last: u32,
    then: impl Fn() + 'static,
) -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let (count, handle) = (calls.clone(), event_loop.handle());
    event_loop
        .add_reader(fd, move || {
            count.set(count.get() + 1);
            if count.get() == last {
                handle.remove_reader(fd);
                handle.stop();
            }
            then();
        })
        .unwrap();
    calls
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

// ---- add_reader / add_writer ------------------------------------------------

/// CPython 3.11 (`/tmp/order.py` in the session notes): a callback that makes
/// an fd readable and queues a `call_soon` and an overdue `call_later`
/// logs `['soon', 'reader', 'timer']`: readiness is queued after what is
/// queued and before due timers (IO2).
#[test]
fn readiness_is_queued_after_ready_callbacks_and_before_due_timers() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let fd = ours.as_raw_fd();
    let log = log();
    let handle = event_loop.handle();
    let sink = log.clone();
    let mut ours = ours;
    event_loop
        .add_reader(fd, move || {
            push(&sink, "reader");
            let mut buffer = [0; 16];
            let _ = ours.read(&mut buffer);
            handle.remove_reader(fd);
        })
        .unwrap();
    let (sink, handle) = (log.clone(), event_loop.handle());
    event_loop
        .call_soon(move || {
            theirs.write_all(b"x").unwrap();
            let soon = sink.clone();
            handle.call_soon(move || push(&soon, "soon")).unwrap();
            let timer = sink.clone();
            handle
                .call_later(-1.0, move || push(&timer, "timer"))
                .unwrap();
            // Keep the peer open for the rest of the test.
            std::mem::forget(theirs);
        })
        .unwrap();
    stop_after(&event_loop, 0.05);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["soon", "reader", "timer"]);
}

/// Level-triggered (IO5): a reader that does not drain its fd runs once
/// per iteration for as long as the fd stays readable, though the poller
/// reports the edge once.
#[test]
fn a_reader_that_does_not_drain_runs_once_per_iteration() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    theirs.write_all(b"unread").unwrap();
    let fd = ours.as_raw_fd();
    let calls = reader_counting_to(&event_loop, fd, 5, || {});
    // Each iteration's callbacks: one reader call, and a ticker counting
    // the iterations.
    let iterations = Rc::new(Cell::new(0));
    fn tick(handle: asyncio_loop::LoopHandle, iterations: Rc<Cell<u32>>) {
        iterations.set(iterations.get() + 1);
        let again = handle.clone();
        handle.call_soon(move || tick(again, iterations)).unwrap();
    }
    let (handle, ticks) = (event_loop.handle(), iterations.clone());
    event_loop.call_soon(move || tick(handle, ticks)).unwrap();
    stop_after(&event_loop, 5.0);
    event_loop.run_forever().unwrap();
    assert_eq!(calls.get(), 5);
    // The ticker ran in the same iterations (it kept the loop busy, and
    // the reader was not starved: IO1).
    assert!((5..=6).contains(&iterations.get()), "{}", iterations.get());
    drop(ours);
}

/// A reader that drains its fd is not called again until more data comes.
#[test]
fn a_reader_that_drains_waits_for_more_data() {
    let event_loop = EventLoop::new();
    let (mut ours, theirs) = pair();
    let fd = ours.as_raw_fd();
    let log = log();
    let (sink, handle) = (log.clone(), event_loop.handle());
    let writer = Rc::new(RefCell::new(theirs));
    let peer = writer.clone();
    event_loop
        .add_reader(fd, move || {
            let mut buffer = [0; 64];
            let n = ours.read(&mut buffer).unwrap();
            let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
            push(&sink, text.clone());
            match text.as_str() {
                "one" => {
                    // Two quiet iterations, then more data.
                    let (handle, peer) = (handle.clone(), peer.clone());
                    let inner = handle.clone();
                    handle
                        .call_soon(move || {
                            inner
                                .call_soon(move || peer.borrow_mut().write_all(b"two").unwrap())
                                .unwrap();
                        })
                        .unwrap();
                }
                _ => {
                    handle.remove_reader(fd);
                    handle.stop();
                }
            }
        })
        .unwrap();
    writer.borrow_mut().write_all(b"one").unwrap();
    stop_after(&event_loop, 5.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["one", "two"]);
}

/// CPython's `test_add_reader_existing` and `test_remove_reader`: a second
/// `add_reader` replaces the first (which never runs), `remove_reader` says
/// whether there was one, and a writer is independent of the reader.
#[test]
fn add_reader_replaces_and_remove_reader_says_whether_one_was_there() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let fd = ours.as_raw_fd();
    let log = log();
    let sink = log.clone();
    event_loop
        .add_reader(fd, move || push(&sink, "first"))
        .unwrap();
    let (sink, handle) = (log.clone(), event_loop.handle());
    event_loop
        .add_reader(fd, move || {
            push(&sink, "second");
            handle.remove_reader(fd);
            handle.stop();
        })
        .unwrap();
    assert!(!event_loop.remove_writer(fd));
    theirs.write_all(b"x").unwrap();
    stop_after(&event_loop, 5.0);
    event_loop.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["second"]);
    assert!(!event_loop.remove_reader(fd));
    // A writer and a reader on one fd; removing one leaves the other.
    event_loop.add_writer(fd, || {}).unwrap();
    event_loop.add_reader(fd, || {}).unwrap();
    assert!(event_loop.remove_writer(fd));
    assert!(event_loop.remove_reader(fd));
    assert!(!event_loop.remove_reader(fd));
}

/// A reader removed after its call was queued does not run (asyncio
/// cancels the queued handle).
#[test]
fn a_reader_removed_before_its_queued_call_runs_does_not_run() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let fd = ours.as_raw_fd();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    theirs.write_all(b"x").unwrap();
    // The first iteration polls and queues the reader after this callback,
    // which runs first and removes it.
    let handle = event_loop.handle();
    event_loop
        .call_soon(move || {
            assert!(handle.remove_reader(fd));
        })
        .unwrap();
    event_loop.add_reader(fd, move || flag.set(true)).unwrap();
    stop_after(&event_loop, 0.05);
    event_loop.run_forever().unwrap();
    assert!(!ran.get());
}

/// IO6: a closed loop refuses `add_reader`/`add_writer` and removes
/// nothing; closing drops the callbacks (and what they hold).
#[test]
fn a_closed_loop_refuses_readers_and_drops_the_ones_it_had() {
    let event_loop = EventLoop::new();
    let (ours, _theirs) = pair();
    let fd = ours.as_raw_fd();
    let held = Rc::new(());
    let inside = held.clone();
    event_loop
        .add_reader(fd, move || assert_eq!(Rc::strong_count(&inside), 2))
        .unwrap();
    assert_eq!(Rc::strong_count(&held), 2);
    event_loop.close().unwrap();
    assert_eq!(Rc::strong_count(&held), 1);
    assert!(event_loop.add_reader(fd, || {}).unwrap_err().is_closed());
    assert!(event_loop.add_writer(fd, || {}).unwrap_err().is_closed());
    assert!(!event_loop.remove_reader(fd));
    assert!(!event_loop.remove_writer(fd));
}

#[test]
fn a_registered_descriptor_is_refused_to_add_reader_and_twice() {
    let event_loop = EventLoop::new();
    let (ours, _theirs) = pair();
    let fd = ours.as_raw_fd();
    let ours = Registered::new(&event_loop, ours).unwrap();
    let error = event_loop.add_reader(fd, || {}).unwrap_err();
    assert_eq!(error.kind(), LoopErrorKind::FdInUse);
    assert_eq!(
        error.to_string(),
        format!("file descriptor {fd} is used by a registered source")
    );
    assert!(event_loop.add_writer(fd, || {}).unwrap_err().is_fd_in_use());
    let ours = ours.into_inner();
    event_loop.add_reader(fd, || {}).unwrap();
    // Watched by add_reader: refused to a registration.
    assert!(Registered::new(&event_loop, ours)
        .unwrap_err()
        .is_fd_in_use());
}

/// A panicking reader is reported and the loop goes on (and calls it
/// again while the fd stays readable).
#[test]
fn a_panicking_reader_is_reported_and_the_loop_goes_on() {
    let event_loop = EventLoop::new();
    let reports = log();
    let sink = reports.clone();
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        push(&sink, context.message.clone());
    }));
    let (ours, mut theirs) = pair();
    theirs.write_all(b"x").unwrap();
    let fd = ours.as_raw_fd();
    let calls = reader_counting_to(&event_loop, fd, 2, || panic!("reader failed"));
    stop_after(&event_loop, 5.0);
    event_loop.run_forever().unwrap();
    assert_eq!(calls.get(), 2);
    assert_eq!(reports.borrow().len(), 2);
    assert!(
        reports.borrow()[0].starts_with("Exception in callback"),
        "{:?}",
        reports.borrow()
    );
}

// ---- Registered and sock_* ---------------------------------------------------

/// Accepts one connection on `listener` and echoes it with `sock_*` (reads
/// of up to `size`) until the peer's EOF; the bytes echoed.
async fn echo_one(
    handle: asyncio_loop::LoopHandle,
    listener: Registered<TcpListener>,
    size: usize,
) -> std::io::Result<usize> {
    let (connection, _) = handle.sock_accept(&listener).await?;
    let mut total = 0;
    loop {
        let data = handle.sock_recv(&connection, size).await?;
        if data.is_empty() {
            return Ok(total);
        }
        total += data.len();
        handle.sock_sendall(&connection, &data).await?;
    }
}

/// An echo over `sock_*` against a blocking client on another thread.
#[test]
fn sock_accept_recv_and_sendall_echo_a_blocking_client() {
    let event_loop = EventLoop::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let listener = Registered::new(&event_loop, listener).unwrap();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut replies = Vec::new();
        for message in ["one", "two", "three"] {
            stream.write_all(message.as_bytes()).unwrap();
            let mut reply = vec![0; message.len()];
            stream.read_exact(&mut reply).unwrap();
            replies.push(String::from_utf8(reply).unwrap());
        }
        replies
    });
    let served = event_loop
        .run_until_complete(wait_for(
            echo_one(event_loop.handle(), listener, 1024),
            10.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(client.join().unwrap(), ["one", "two", "three"]);
    assert_eq!(served, "onetwothree".len());
}

/// IO8: cancelling a `sock_recv` that waits leaves the bytes in the kernel
/// for the next receive.
#[test]
fn a_cancelled_sock_recv_leaves_the_bytes_for_the_next() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let ours = Rc::new(Registered::new(&event_loop, ours).unwrap());
    let handle = event_loop.handle();
    let waiting = {
        let (handle, ours) = (handle.clone(), ours.clone());
        event_loop
            .create_task(async move { handle.sock_recv(&ours, 100).await })
            .unwrap()
    };
    let h = handle.clone();
    let received = event_loop
        .run_until_complete(wait_for(
            async move {
                h.sleep(0.0).await?;
                assert!(!waiting.done());
                waiting.cancel();
                h.sleep(0.0).await?;
                assert!(waiting.cancelled());
                theirs.write_all(b"kept").unwrap();
                Ok::<_, LoopError>(h.sock_recv(&ours, 100).await.unwrap())
            },
            10.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(received, b"kept");
}

/// Data and the peer's FIN that arrive together: the short read that takes
/// the data does not hide the FIN (a closed side stays ready), so the next
/// receive returns the end of the stream instead of waiting for ever.
#[test]
fn the_end_of_stream_after_a_short_read_is_seen() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let ours = Rc::new(Registered::new(&event_loop, ours).unwrap());
    let handle = event_loop.handle();
    let reads = event_loop
        .run_until_complete(wait_for(
            async move {
                // Make the socket wait for an event first.
                let (h, o) = (handle.clone(), ours.clone());
                let first = wait_for(async move { h.sock_recv(&o, 100).await }, 0.01).await;
                assert!(first.unwrap_err().is_timeout());
                theirs.write_all(b"last words").unwrap();
                theirs.shutdown(std::net::Shutdown::Write).unwrap();
                let data = handle.sock_recv(&ours, 100).await.unwrap();
                let end = handle.sock_recv(&ours, 100).await.unwrap();
                Ok::<_, LoopError>((data, end))
            },
            10.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(reads, (b"last words".to_vec(), Vec::new()));
}

#[test]
fn sock_connect_reports_a_refused_connection() {
    let event_loop = EventLoop::new();
    // A port nobody listens on: bound, then closed.
    let address = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let socket = Registered::new(&event_loop, socket).unwrap();
    let handle = event_loop.handle();
    let error = event_loop
        .run_until_complete(wait_for(
            async move { Ok::<_, LoopError>(handle.sock_connect(&socket, address).await) },
            10.0,
        ))
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// Two tasks waiting to read one socket are both woken (neither hangs).
#[test]
fn two_waiters_on_one_socket_are_both_woken() {
    let event_loop = EventLoop::new();
    let (ours, mut theirs) = pair();
    let ours = Rc::new(Registered::new(&event_loop, ours).unwrap());
    let handle = event_loop.handle();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (handle, ours) = (handle.clone(), ours.clone());
            event_loop
                .create_task(async move { handle.sock_recv(&ours, 1).await.unwrap() })
                .unwrap()
        })
        .collect();
    let h = handle.clone();
    event_loop
        .run_until_complete(wait_for(
            async move {
                h.sleep(0.0).await?;
                theirs.write_all(b"ab").unwrap();
                let mut got = Vec::new();
                for task in tasks {
                    got.extend(task.await?);
                }
                got.sort_unstable();
                assert_eq!(got, b"ab");
                Ok::<_, LoopError>(())
            },
            10.0,
        ))
        .unwrap()
        .unwrap();
}

/// A registered source outlives its loop's close: its operations fail with
/// the loop's closed error instead of waiting.
#[test]
fn operations_on_a_source_of_a_closed_loop_fail() {
    let event_loop = EventLoop::new();
    let (ours, _theirs) = pair();
    let ours = Registered::new(&event_loop, ours).unwrap();
    event_loop.close().unwrap();
    let error = futures::executor::block_on(ours.readable()).unwrap_err();
    let loop_error = error
        .get_ref()
        .unwrap()
        .downcast_ref::<LoopError>()
        .unwrap();
    assert!(loop_error.is_closed());
    drop(ours);
}

// ---- the stuck check and the manual clock ------------------------------------

/// A read that nothing will ever answer waits (a peer could write), so a
/// timeout ends it rather than the stuck check.
#[test]
fn a_waiting_read_is_not_stuck() {
    let event_loop = EventLoop::new();
    let (ours, _theirs) = pair();
    let ours = Registered::new(&event_loop, ours).unwrap();
    let handle = event_loop.handle();
    let outcome = event_loop
        .run_until_complete(wait_for(
            async move { handle.sock_recv(&ours, 1).await },
            0.05,
        ))
        .unwrap();
    assert!(outcome.unwrap_err().is_timeout());
}

/// A registered socket nobody waits on cannot end a wait: a future nothing
/// completes is still reported stuck.
#[test]
fn an_idle_source_does_not_hide_a_stuck_loop() {
    let event_loop = EventLoop::new();
    let (ours, _theirs) = pair();
    let _ours = Registered::new(&event_loop, ours).unwrap();
    let forgotten = event_loop.create_future::<()>();
    assert!(event_loop
        .run_until_complete(&forgotten)
        .unwrap_err()
        .is_stuck());
}

/// A manual clock with a read in flight waits `io_grace` of real time
/// before it jumps to the next deadline, so a peer that answers within it
/// is not timed out; one that does not answer is, after about that long.
#[test]
fn a_manual_clock_waits_its_io_grace_before_jumping() {
    let clock = ManualClock::new();
    clock.set_io_grace(Duration::from_secs(5));
    let event_loop = EventLoop::with_clock(&clock);
    let (ours, mut theirs) = pair();
    let ours = Rc::new(Registered::new(&event_loop, ours).unwrap());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        theirs.write_all(b"late").unwrap();
        theirs
    });
    let (handle, sock) = (event_loop.handle(), ours.clone());
    let received = event_loop
        .run_until_complete(wait_for(
            async move { handle.sock_recv(&sock, 10).await },
            60.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(received, b"late");
    assert_eq!(event_loop.time(), 0.0, "no jump while the peer answered");
    let _theirs = writer.join().unwrap();

    clock.set_io_grace(Duration::from_millis(20));
    let start = Instant::now();
    let handle = event_loop.handle();
    let outcome = event_loop
        .run_until_complete(wait_for(
            async move { handle.sock_recv(&ours, 10).await },
            60.0,
        ))
        .unwrap();
    assert!(outcome.unwrap_err().is_timeout());
    assert_eq!(event_loop.time(), 60.0);
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(start.elapsed() < Duration::from_secs(10));
}

// ---- real peers --------------------------------------------------------------

/// A child process we started, killed (by pid) if the test ends first.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPython's asyncio client (`open_connection`, write, `read`, then
/// half-close) against our `sock_*` server: the bytes come back, and our
/// receive sees the client's EOF as an empty read.
#[test]
fn a_cpython_asyncio_client_is_echoed_by_sock_coroutines() {
    let event_loop = EventLoop::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = Registered::new(&event_loop, listener).unwrap();
    let script = r#"
import asyncio, sys
async def main(port):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    replies = []
    for message in (b'first', b'second' * 1000):
        writer.write(message)
        await writer.drain()
        replies.append(await reader.readexactly(len(message)))
    writer.write_eof()
    print(len(replies[0]), len(replies[1]), await reader.read())
    writer.close()
    await writer.wait_closed()
asyncio.run(asyncio.wait_for(main(int(sys.argv[1])), 20))
"#;
    let child = std::process::Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut child = Child(child);
    let echoed = event_loop
        .run_until_complete(wait_for(
            echo_one(event_loop.handle(), listener, 65536),
            20.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(echoed, 5 + 6000);
    let mut output = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    assert_eq!(output.trim(), "5 6000 b''");
    assert!(child.0.wait().unwrap().success());
}
