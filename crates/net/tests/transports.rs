//! Transports and protocols against ourselves and against peers no one
//! here wrote (CPython's asyncio and blocking sockets, run as processes),
//! and the faults of IO9-IO31: refused connections, resets, a peer that
//! never reads, a panicking protocol, many connections in a row.
//!
//! Loopback only, ports from the OS, every run under `wait_for` or a
//! deadline; child processes are killed by pid when a test ends.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use std::rc::Rc;
use std::time::Duration;

mod common;

use common::{port_of, python, python_output, run, until};

use asyncio_loop::{wait_for, EventLoop, LoopHandle};
use asyncio_net::{
    create_connection, create_server, create_unix_connection, create_unix_server, NetError,
    NetErrorKind, Protocol, ServerOptions, Transport,
};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// A protocol that logs every call, optionally echoing and answering EOF.
struct Recorder {
    log: Log,
    transport: Option<Transport>,
    echo: bool,
    /// Answer an EOF with ours, then close (the chapter's server).
    answer_eof: bool,
}

impl Recorder {
    fn new(log: &Log) -> Self {
        Recorder {
            log: log.clone(),
            transport: None,
            echo: false,
            answer_eof: false,
        }
    }

    fn echoing(log: &Log) -> Self {
        Recorder {
            echo: true,
            answer_eof: true,
            ..Recorder::new(log)
        }
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: &Transport) {
        self.log.borrow_mut().push("made".into());
        self.transport = Some(transport.clone());
    }

    fn data_received(&mut self, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
        if self.echo {
            self.transport.as_ref().unwrap().write(data).unwrap();
        }
    }

    fn eof_received(&mut self) -> bool {
        self.log.borrow_mut().push("eof".into());
        if self.answer_eof {
            // Answer the half-close with ours (IO76); returning false then
            // closes once what is buffered is sent.
            self.transport.as_ref().unwrap().write_eof().unwrap();
        }
        false
    }

    fn connection_lost(&mut self, error: Option<NetError>) {
        self.log.borrow_mut().push(match error {
            None => "lost".into(),
            Some(error) => format!("lost {:?}", error.kind()),
        });
    }

    fn pause_writing(&mut self) {
        self.log.borrow_mut().push("pause".into());
    }

    fn resume_writing(&mut self) {
        self.log.borrow_mut().push("resume".into());
    }
}

/// A client on `port` of 127.0.0.1 whose `Recorder` logs to `log`.
async fn recorded_client(handle: &LoopHandle, log: &Log, port: u16) -> Result<Transport, NetError> {
    let log = log.clone();
    create_connection(handle, move || Recorder::new(&log), "127.0.0.1", port).await
}

/// Waits (on the loop) until the last entry of `log` is `entry`.
async fn until_last(handle: &LoopHandle, log: &Log, entry: &str) -> Result<(), NetError> {
    until(handle, || {
        log.borrow().last().map(String::as_str) == Some(entry)
    })
    .await
}

// ---- call order ----------------------------------------------------------------

/// IO9, IO10, IO76: `create_connection` returns after `connection_made`;
/// a half-close round trip ends both sides with `connection_lost(None)`;
/// calls come in asyncio's order.
#[test]
fn a_half_close_round_trip_ends_both_sides_cleanly() {
    let (server_log, client_log) = (log(), log());
    let (s, c) = (server_log.clone(), client_log.clone());
    run(10.0, move |handle| {
        Box::pin(async move {
            let server =
                create_server(&handle, move || Recorder::echoing(&s), "127.0.0.1", 0).await?;
            let client = recorded_client(&handle, &c, port_of(&server)).await?;
            assert_eq!(
                *c.borrow(),
                ["made"],
                "connection_made ran before the return"
            );
            client.write(b"hello")?;
            client.write_eof()?;
            assert!(client.write(b"more").unwrap_err().is_invalid_state());
            until_last(&handle, &c, "lost").await?;
            server.close();
            server.wait_closed().await?;
            Ok(())
        })
    });
    assert_eq!(*server_log.borrow(), ["made", "data hello", "eof", "lost"]);
    assert_eq!(*client_log.borrow(), ["made", "data hello", "eof", "lost"]);
}

/// A server's `close` stops accepting and leaves open connections open;
/// `wait_closed` waits for them (3.12's meaning).
#[test]
fn closing_a_server_leaves_its_connections_and_wait_closed_waits_for_them() {
    let server_log = log();
    let s = server_log.clone();
    run(10.0, move |handle| {
        Box::pin(async move {
            let server =
                create_server(&handle, move || Recorder::echoing(&s), "127.0.0.1", 0).await?;
            let port = port_of(&server);
            let client_log = log();
            let c = client_log.clone();
            let client =
                create_connection(&handle, move || Recorder::new(&c), "127.0.0.1", port).await?;
            until(&handle, || s_made(&server_log)).await?;
            server.close();
            assert!(!server.is_serving());
            assert!(server.sockets().is_empty());
            // The open connection still echoes.
            client.write(b"still here")?;
            until(&handle, || {
                client_log.borrow().iter().any(|l| l == "data still here")
            })
            .await?;
            // And a new one is refused.
            let refused =
                create_connection(&handle, || Recorder::new(&log()), "127.0.0.1", port).await;
            assert_eq!(
                refused.unwrap_err().kind(),
                NetErrorKind::Io(std::io::ErrorKind::ConnectionRefused)
            );
            let waiting = handle.create_task({
                let server = Rc::new(server);
                async move { server.wait_closed().await }
            })?;
            handle.sleep(0.01).await?;
            assert!(!waiting.done(), "a connection is still open");
            client.close();
            wait_for(waiting, 5.0).await?;
            Ok(())
        })
    });
}

fn s_made(log: &Log) -> bool {
    log.borrow().iter().any(|entry| entry == "made")
}

// ---- real peers ----------------------------------------------------------------

/// Our server with CPython's asyncio client (streams), which half-closes
/// and reads our echo and our EOF.
#[test]
fn our_server_echoes_a_cpython_asyncio_client() {
    let script = r#"
import asyncio, sys
async def main(port):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    for message in (b'This is the message. ', b'It will be sent ', b'in parts.'):
        writer.write(message)
    writer.write_eof()
    print((await reader.read()).decode())
    writer.close()
    await writer.wait_closed()
asyncio.run(asyncio.wait_for(main(int(sys.argv[1])), 20))
"#;
    let server_log = log();
    let s = server_log.clone();
    let output = run(30.0, move |handle| {
        Box::pin(async move {
            let server =
                create_server(&handle, move || Recorder::echoing(&s), "127.0.0.1", 0).await?;
            let output = python_output(&handle, script, &[port_of(&server).to_string()]).await?;
            server.close();
            server.wait_closed().await?;
            Ok(output)
        })
    });
    assert_eq!(
        output.trim(),
        "This is the message. It will be sent in parts."
    );
    let entries = server_log.borrow();
    assert_eq!(entries.first().map(String::as_str), Some("made"));
    assert_eq!(entries[entries.len() - 2..], ["eof", "lost"]);
    let echoed: String = entries
        .iter()
        .filter_map(|entry| entry.strip_prefix("data "))
        .collect();
    assert_eq!(echoed, "This is the message. It will be sent in parts.");
}

/// Our server with a blocking Python socket client.
#[test]
fn our_server_echoes_a_blocking_python_socket() {
    let script = r#"
import socket, sys
with socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20) as s:
    s.sendall(b'x' * 100000)
    s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    print(len(got), got == b'x' * 100000)
"#;
    let output = run(30.0, move |handle| {
        Box::pin(async move {
            let quiet = log();
            let server =
                create_server(&handle, move || Recorder::echoing(&quiet), "127.0.0.1", 0).await?;
            let output = python_output(&handle, script, &[port_of(&server).to_string()]).await?;
            server.close();
            Ok(output)
        })
    });
    assert_eq!(output.trim(), "100000 True");
}

/// Our client against CPython's asyncio echo server (a protocol that
/// answers EOF with its own).
#[test]
fn our_client_talks_to_a_cpython_asyncio_server() {
    let script = r#"
import asyncio, sys
class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(data)
    def eof_received(self):
        self.transport.write_eof()
        return True
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(20)
asyncio.run(main())
"#;
    let mut child = python(script, &[]);
    let mut line = String::new();
    {
        use std::io::BufRead;
        let stdout = child.0.stdout.as_mut().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
    }
    let port: u16 = line.trim().parse().unwrap();
    let client_log = log();
    let c = client_log.clone();
    run(20.0, move |handle| {
        Box::pin(async move {
            let client = recorded_client(&handle, &c, port).await?;
            client.writelines([&b"ping "[..], b"pong"])?;
            client.write_eof()?;
            until_last(&handle, &c, "lost").await?;
            Ok(())
        })
    });
    let entries = client_log.borrow();
    let echoed: String = entries
        .iter()
        .filter_map(|entry| entry.strip_prefix("data "))
        .collect();
    assert_eq!(echoed, "ping pong");
    assert_eq!(entries[entries.len() - 2..], ["eof", "lost"]);
    drop(child);
}

// ---- faults --------------------------------------------------------------------

#[test]
fn a_refused_connection_is_an_io_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = run(10.0, move |handle| {
        Box::pin(async move {
            Ok(
                create_connection(&handle, || Recorder::new(&log()), "127.0.0.1", port)
                    .await
                    .unwrap_err(),
            )
        })
    });
    assert_eq!(
        error.kind(),
        NetErrorKind::Io(std::io::ErrorKind::ConnectionRefused)
    );
}

/// A peer that resets the connection while we write: `connection_lost`
/// with the error, no panic, and writes after it are dropped.
#[test]
fn a_reset_mid_write_is_connection_lost_with_the_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        // Close with unread data and a zero linger: the kernel sends RST.
        let socket = asyncio_loop::socket2::Socket::from(stream);
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(socket);
    });
    let client_log = log();
    let c = client_log.clone();
    run(20.0, move |handle| {
        Box::pin(async move {
            let client = recorded_client(&handle, &c, port).await?;
            // Keep writing until the reset ends the connection.
            let chunk = vec![b'x'; 64 * 1024];
            while !c.borrow().iter().any(|entry| entry.starts_with("lost")) {
                client.write(&chunk)?;
                handle.sleep(0.005).await?;
            }
            // Dropped, not an error.
            client.write(b"after")?;
            Ok(())
        })
    });
    peer.join().unwrap();
    let entries = client_log.borrow();
    let last = entries.last().unwrap();
    assert!(last.starts_with("lost Io("), "{entries:?}");
    assert_eq!(entries.iter().filter(|e| e.starts_with("lost")).count(), 1);
}

/// IO13: writes after `close` are dropped, and from the fifth on each logs
/// asyncio's warning (CPython 3.11 prints it for writes 5, 6 and 7 of
/// seven made right after `transport.close()`).
#[test]
fn writes_after_close_are_dropped_and_warned_of_from_the_fifth() {
    let (port, peer) = common::blocking_peer(|mut stream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        received
    });
    let client_log = log();
    let c = client_log.clone();
    let logged = run(20.0, move |handle| {
        Box::pin(async move {
            let client = recorded_client(&handle, &c, port).await?;
            client.close();
            let mut logged = Vec::new();
            for _ in 0..7 {
                let (written, records) = asyncio_testing::logged(|| client.write(b"late"));
                written?;
                logged.push(records);
            }
            until_last(&handle, &c, "lost").await?;
            Ok(logged)
        })
    });
    let warning = ["asyncio WARN socket.send() raised exception.".to_owned()];
    for (write, records) in logged.iter().enumerate() {
        let expected: &[String] = if write + 1 >= 5 { &warning } else { &[] };
        assert_eq!(records, expected, "write {}", write + 1);
    }
    assert_eq!(peer.join().unwrap(), b"", "nothing written after close");
}

/// A peer that does not read: the writer pauses above the high-water mark
/// (inside `write`), the buffer stays bounded, and `resume_writing` comes
/// once the peer reads and the buffer drains to the low-water mark.
#[test]
fn a_peer_that_does_not_read_pauses_the_writer_until_it_reads() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        go_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut total = 0;
        let mut buffer = vec![0; 1 << 16];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    });
    let client_log = log();
    let c = client_log.clone();
    let (written, most_buffered) = run(30.0, move |handle| {
        Box::pin(async move {
            let client = recorded_client(&handle, &c, port).await?;
            let chunk = vec![b'y'; 16 * 1024];
            let mut written = 0;
            // Write until paused; each pause is synchronous, inside write.
            while !c.borrow().iter().any(|entry| entry == "pause") {
                client.write(&chunk)?;
                written += chunk.len();
                handle.sleep(0.0).await?;
                assert!(written < 64 << 20, "never paused");
            }
            let most_buffered = client.get_write_buffer_size();
            assert!(most_buffered > 64 * 1024);
            assert!(most_buffered <= 64 * 1024 + chunk.len());
            go_tx.send(()).unwrap();
            until(&handle, || c.borrow().iter().any(|entry| entry == "resume")).await?;
            assert!(client.get_write_buffer_size() <= 16 * 1024);
            client.close();
            until_last(&handle, &c, "lost").await?;
            Ok((written, most_buffered))
        })
    });
    assert_eq!(peer.join().unwrap(), written);
    assert!(most_buffered > 0);
    let entries = client_log.borrow();
    assert_eq!(entries[..], ["made", "pause", "resume", "lost"]);
}

/// A protocol whose callback panics: that connection is closed with the
/// panic as its error and reported; the server serves the next one.
#[test]
fn a_panicking_protocol_closes_its_connection_and_the_server_goes_on() {
    struct Fragile(Option<Transport>);
    impl Protocol for Fragile {
        fn connection_made(&mut self, transport: &Transport) {
            self.0 = Some(transport.clone());
        }
        fn data_received(&mut self, data: &[u8]) {
            if data.starts_with(b"boom") {
                panic!("protocol failed");
            }
            self.0.as_ref().unwrap().write(data).unwrap();
        }
    }
    let event_loop = EventLoop::new();
    let reports = log();
    let sink = reports.clone();
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        sink.borrow_mut().push(context.message.to_string());
    }));
    let handle = event_loop.handle();
    let replies = event_loop
        .run_until_complete(wait_for(
            async move {
                let server = create_server(&handle, || Fragile(None), "127.0.0.1", 0).await?;
                let port = port_of(&server);
                let replies = handle
                    .run_in_executor(move || {
                        let mut first = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        first
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        first.write_all(b"boom").unwrap();
                        let mut rest = Vec::new();
                        let closed = first.read_to_end(&mut rest).map(|_| rest.len());
                        let mut second = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        second
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        second.write_all(b"fine").unwrap();
                        let mut reply = [0; 4];
                        second.read_exact(&mut reply).unwrap();
                        (closed.ok(), reply)
                    })?
                    .wait()
                    .await?;
                server.close();
                Ok::<_, NetError>(replies)
            },
            20.0,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(replies, (Some(0), *b"fine"));
    assert_eq!(
        *reports.borrow(),
        ["Fatal error: protocol.data_received() call failed."]
    );
}

/// 10,000 connections opened and closed in a row leak no descriptor.
#[test]
fn ten_thousand_connections_leak_no_descriptor() {
    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
    }
    struct Closer;
    impl Protocol for Closer {
        fn data_received(&mut self, _data: &[u8]) {}
    }
    let (before, after) = run(120.0, move |handle| {
        Box::pin(async move {
            let server = create_server(&handle, || Closer, "127.0.0.1", 0).await?;
            let port = port_of(&server);
            // Warm up: the loop's poller, the executor, the read buffer.
            let first = create_connection(&handle, || Closer, "127.0.0.1", port).await?;
            first.close();
            handle.sleep(0.01).await?;
            let before = open_fds();
            for _ in 0..10_000 {
                let client = create_connection(&handle, || Closer, "127.0.0.1", port).await?;
                client.close();
            }
            // Let both ends' connection_lost run and close their sockets.
            for _ in 0..100 {
                handle.sleep(0.005).await?;
                if open_fds() <= before {
                    break;
                }
            }
            Ok((before, open_fds()))
        })
    });
    assert!(
        after <= before,
        "{before} descriptors before, {after} after"
    );
}

// ---- Unix sockets --------------------------------------------------------------

#[test]
fn unix_sockets_carry_a_half_close_round_trip() {
    let directory = std::env::temp_dir().join(format!("asyncio-net-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("echo.sock");
    let (server_log, client_log) = (log(), log());
    let (s, c, p) = (server_log.clone(), client_log.clone(), path.clone());
    run(10.0, move |handle| {
        Box::pin(async move {
            let server = create_unix_server(
                &handle,
                move || Recorder::echoing(&s),
                &p,
                &ServerOptions::new(),
            )
            .await?;
            let c2 = c.clone();
            let client = create_unix_connection(&handle, move || Recorder::new(&c2), &p).await?;
            client.write(b"over unix")?;
            client.write_eof()?;
            until_last(&handle, &c, "lost").await?;
            server.close();
            server.wait_closed().await?;
            Ok(())
        })
    });
    let _ = std::fs::remove_dir_all(&directory);
    assert_eq!(
        *client_log.borrow(),
        ["made", "data over unix", "eof", "lost"]
    );
    assert_eq!(
        *server_log.borrow(),
        ["made", "data over unix", "eof", "lost"]
    );
}

#[test]
fn write_buffer_limits_follow_asyncio() {
    run(10.0, move |handle| {
        Box::pin(async move {
            let server = create_server(&handle, || Recorder::new(&log()), "127.0.0.1", 0).await?;
            let client = create_connection(
                &handle,
                || Recorder::new(&log()),
                "127.0.0.1",
                port_of(&server),
            )
            .await?;
            assert_eq!(client.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
            client.set_write_buffer_limits(None, Some(100))?;
            assert_eq!(client.get_write_buffer_limits(), (100, 400));
            client.set_write_buffer_limits(Some(1000), None)?;
            assert_eq!(client.get_write_buffer_limits(), (250, 1000));
            let error = client
                .set_write_buffer_limits(Some(1), Some(2))
                .unwrap_err();
            assert!(error.is_invalid_argument());
            assert_eq!(
                error.to_string(),
                "high (1) must be >= low (2) must be >= 0"
            );
            assert!(client.is_reading());
            client.pause_reading();
            client.pause_reading();
            assert!(!client.is_reading());
            client.resume_reading();
            assert!(client.is_reading());
            assert!(client.can_write_eof());
            client.abort();
            assert!(client.is_closing());
            assert!(!client.is_reading());
            server.close();
            Ok(())
        })
    });
}

/// `with_protocol` reaches the protocol by its type, and the closure may
/// use the transport: a write that crosses the high-water mark there
/// calls `pause_writing` once the closure returns.
#[test]
fn with_protocol_finds_the_protocol_and_may_write() {
    let client_log = log();
    let c = client_log.clone();
    run(10.0, move |handle| {
        Box::pin(async move {
            let server = create_server(&handle, || Recorder::new(&log()), "127.0.0.1", 0).await?;
            let client = recorded_client(&handle, &c, port_of(&server)).await?;
            client.set_write_buffer_limits(Some(0), Some(0))?;
            let writer = client.clone();
            let echoing = client.with_protocol(|protocol: &mut Recorder| {
                // More than the socket takes at once: some is buffered.
                writer.write(&vec![b'z'; 16 << 20]).unwrap();
                protocol.echo
            });
            assert_eq!(echoing, Some(false));
            assert!(client.with_protocol(|_: &mut String| ()).is_none());
            assert_eq!(c.borrow().last().map(String::as_str), Some("pause"));
            client.abort();
            server.close();
            Ok(())
        })
    });
}

/// A `BufferedProtocol` receives into its own buffer (IO9's second order:
/// `get_buffer`, `buffer_updated`, ..., `eof_received`, `connection_lost`).
#[test]
fn a_buffered_protocol_receives_into_its_own_buffer() {
    use asyncio_net::{buffered, BufferedProtocol};

    struct Collect {
        buffer: Vec<u8>,
        received: Rc<RefCell<Vec<u8>>>,
        calls: Log,
    }
    impl BufferedProtocol for Collect {
        fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
            assert!(size_hint > 0);
            &mut self.buffer
        }
        fn buffer_updated(&mut self, filled: usize) {
            self.received
                .borrow_mut()
                .extend_from_slice(&self.buffer[..filled]);
            self.calls.borrow_mut().push("updated".into());
        }
        fn eof_received(&mut self) -> bool {
            self.calls.borrow_mut().push("eof".into());
            false
        }
        fn connection_lost(&mut self, error: Option<NetError>) {
            assert!(error.is_none());
            self.calls.borrow_mut().push("lost".into());
        }
    }
    let received = Rc::new(RefCell::new(Vec::new()));
    let calls = log();
    let (r, c) = (received.clone(), calls.clone());
    run(10.0, move |handle| {
        Box::pin(async move {
            let (r2, c2) = (r.clone(), c.clone());
            let factory = buffered(move || Collect {
                // Small, so that 10 KB takes several reads.
                buffer: vec![0; 1000],
                received: r2.clone(),
                calls: c2.clone(),
            });
            let server = create_server(&handle, factory, "127.0.0.1", 0).await?;
            let port = port_of(&server);
            handle
                .run_in_executor(move || {
                    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    stream.write_all(&[7; 10_000]).unwrap();
                })?
                .wait()
                .await?;
            until_last(&handle, &c, "lost").await?;
            server.close();
            Ok(())
        })
    });
    assert_eq!(*received.borrow(), vec![7; 10_000]);
    let calls = calls.borrow();
    assert!(calls.iter().filter(|call| *call == "updated").count() >= 10);
    assert_eq!(calls[calls.len() - 2..], ["eof", "lost"]);
}

/// `serve_forever` accepts until its task is cancelled; then the server is
/// closed and the cancellation returned.
#[test]
fn serve_forever_ends_cancelled_and_closes_the_server() {
    run(10.0, move |handle| {
        Box::pin(async move {
            let options = ServerOptions::new().start_serving(false);
            let server = Rc::new(
                asyncio_net::create_server_with(
                    &handle,
                    || Recorder::new(&log()),
                    "127.0.0.1",
                    0,
                    &options,
                )
                .await?,
            );
            assert!(!server.is_serving());
            let serving = server.clone();
            let task = handle.create_task(async move { serving.serve_forever().await })?;
            handle.sleep(0.01).await?;
            assert!(server.is_serving());
            let second = server.serve_forever().await.unwrap_err();
            assert!(second.is_invalid_state());
            let port = port_of(&server);
            let client =
                create_connection(&handle, || Recorder::new(&log()), "127.0.0.1", port).await?;
            client.close();
            task.cancel();
            let outcome = wait_for(task, 5.0).await;
            assert!(outcome.unwrap_err().is_cancelled());
            assert!(!server.is_serving());
            assert!(server.sockets().is_empty());
            Ok(())
        })
    });
}

/// A peer that sends and is gone at once: the data arrives, then the EOF,
/// then `connection_lost(None)`.
#[test]
fn a_peer_that_sends_and_vanishes_is_read_to_the_end() {
    let server_log = log();
    let (s, watched) = (server_log.clone(), server_log.clone());
    run(10.0, move |handle| {
        Box::pin(async move {
            let server = create_server(&handle, move || Recorder::new(&s), "127.0.0.1", 0).await?;
            let port = port_of(&server);
            handle
                .run_in_executor(move || {
                    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    stream.write_all(b"last words").unwrap();
                })?
                .wait()
                .await?;
            until(&handle, || s_lost(&watched)).await?;
            server.close();
            Ok(())
        })
    });
    assert_eq!(
        *server_log.borrow(),
        ["made", "data last words", "eof", "lost"]
    );
}

fn s_lost(log: &Log) -> bool {
    log.borrow().iter().any(|entry| entry.starts_with("lost"))
}

/// IO9: a protocol that keeps the connection open after EOF, whose reading
/// is then paused and resumed, gets no second `eof_received` and no data
/// after it (asyncio 3.11 would read the EOF again there).
#[test]
fn eof_comes_once_even_when_reading_resumes_after_it() {
    struct KeepOpen(Log);
    impl Protocol for KeepOpen {
        fn connection_made(&mut self, _transport: &Transport) {
            self.0.borrow_mut().push("made".into());
        }
        fn data_received(&mut self, data: &[u8]) {
            let text = String::from_utf8_lossy(data);
            self.0.borrow_mut().push(format!("data {text}"));
        }
        fn eof_received(&mut self) -> bool {
            self.0.borrow_mut().push("eof".into());
            true
        }
        fn connection_lost(&mut self, _error: Option<NetError>) {
            self.0.borrow_mut().push("lost".into());
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"x").unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        rest
    });
    let entries = log();
    let c = entries.clone();
    run(10.0, move |handle| {
        Box::pin(async move {
            let log = c.clone();
            let client =
                create_connection(&handle, move || KeepOpen(log.clone()), "127.0.0.1", port)
                    .await?;
            until_last(&handle, &c, "eof").await?;
            client.pause_reading();
            client.resume_reading();
            handle.sleep(0.05).await?;
            client.write(b"bye")?;
            client.close();
            until_last(&handle, &c, "lost").await?;
            Ok(())
        })
    });
    assert_eq!(*entries.borrow(), ["made", "data x", "eof", "lost"]);
    assert_eq!(peer.join().unwrap(), b"bye");
}
