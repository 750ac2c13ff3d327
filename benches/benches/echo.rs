//! The echo workload (vmbench's shape; `../shared/reference/asyncio-io.md`,
//! section 5): 10 connections, closed loop, messages of 1 KiB, 10 KiB and
//! 100 KiB, one client (threads of this process, blocking sockets) and a
//! server in a process of its own, pinned to CPU 0 where there are two.
//!
//! Contenders: ours (an `asyncio-net` protocol, the `sock_*` coroutines,
//! and streams: `read(n)`/`write`/`drain` and `readline`), tokio's
//! current-thread runtime (a task per connection; `read`/`write_all`, and
//! `BufReader::read_until` for lines), CPython's asyncio and uvloop
//! (protocol, sockets and streams styles, `benches/python/echo_server.py`), and the floor, a raw mio server (one
//! shared 256 KiB buffer, write at once, the short-read rule). Rounds are
//! paired: every contender once per round, the order rotating. For each:
//! requests per second, the server's CPU time per request (its own
//! `/proc/PID/stat`, over a fixed request count), p99 latency, and in a
//! separate short run under `strace -c -f`, its system calls per request.
//! Loopback only (127.0.0.1, ports from the OS); every socket has a
//! 20 s timeout, and every server is killed by pid.
//!
//! `cargo bench --bench echo [-- --quick]` (`cargo test --benches` runs it
//! quick, as a smoke test); one JSON row per contender and
//! size on stdout (`asyncio_benches::report`). `ECHO_PYTHON` names the
//! Python with uvloop (xtask passes its venv's); without it, `python3`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use asyncio_benches::report;

const CONNECTIONS: usize = 10;
const SIZES: [usize; 3] = [1024, 10 * 1024, 100 * 1024];
const OURS_PROTOCOL: &str = "asyncio-rs protocol";
const FLOOR: &str = "raw mio (floor)";

fn main() {
    if let Ok(kind) = std::env::var("ECHO_SERVE") {
        servers::serve(&kind);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` (CI's smoke
    // run) does not, and gets the quick run.
    let quick = std::env::args().any(|argument| argument == "--quick")
        || !std::env::args().any(|argument| argument == "--bench");
    let python = std::env::var("ECHO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut contenders: Vec<Contender> = vec![
        Contender::rust(OURS_PROTOCOL, "protocol"),
        Contender::rust("asyncio-rs sock_*", "sock"),
        Contender::rust("asyncio-rs streams", "streams"),
        Contender::rust("asyncio-rs streams readline", "streams-line"),
        Contender::rust("tokio current_thread", "tokio"),
        Contender::rust("tokio read_until", "tokio-line"),
        Contender::rust(FLOOR, "mio"),
    ];
    for (name, event_loop, style) in [
        ("asyncio protocol", "asyncio", "protocol"),
        ("uvloop protocol", "uvloop", "protocol"),
        ("asyncio sockets", "asyncio", "sockets"),
        ("uvloop sockets", "uvloop", "sockets"),
        ("asyncio streams", "asyncio", "streams"),
        ("uvloop streams", "uvloop", "streams"),
    ] {
        let available = event_loop == "asyncio"
            || Command::new(&python)
                .args(["-c", "import uvloop"])
                .status()
                .is_ok_and(|status| status.success());
        if available {
            contenders.push(Contender::python(name, &python, event_loop, style));
        }
    }
    let rounds = if quick { 1 } else { 3 };
    let pin = std::thread::available_parallelism().map_or(1, usize::from) >= 2
        && Command::new("taskset").arg("-V").output().is_ok();
    for size in SIZES {
        let requests = match size {
            1024 => 2000,
            10240 => 1000,
            _ => 200,
        } / if quick { 4 } else { 1 };
        let mut results: Vec<Vec<Outcome>> = vec![Vec::new(); contenders.len()];
        for round in 0..rounds {
            for offset in 0..contenders.len() {
                let index = (round + offset) % contenders.len();
                let outcome = contenders[index].run(size, requests, pin);
                results[index].push(outcome);
            }
        }
        let floor_cpu = median(
            &results[contenders.iter().position(|c| c.name == FLOOR).unwrap()]
                .iter()
                .map(|o| o.cpu_us)
                .collect::<Vec<_>>(),
        );
        for (contender, outcomes) in contenders.iter().zip(&results) {
            let cpu = median(&outcomes.iter().map(|o| o.cpu_us).collect::<Vec<_>>());
            let syscalls = if size == 1024 {
                contender.syscalls(size, requests / 4)
            } else {
                None
            };
            report::row(
                "echo",
                serde_json::json!({
                    "contender": contender.name,
                    "size": format!("{} KiB", size / 1024),
                    "rounds": rounds,
                    "req_s": median(&outcomes.iter().map(|o| o.requests_per_second).collect::<Vec<_>>()),
                    "cpu_us": cpu,
                    "cpu_vs_floor": cpu / floor_cpu,
                    "p99_us": median(&outcomes.iter().map(|o| o.p99_us).collect::<Vec<_>>()),
                    "syscalls": syscalls.map_or(serde_json::Value::Null, serde_json::Value::from),
                }),
            );
        }
    }
    report::row(
        "echo_machine",
        serde_json::json!({"load": load_average(), "pinned": if pin { "yes" } else { "no" }}),
    );
}

#[derive(Clone, Copy)]
struct Outcome {
    requests_per_second: f64,
    cpu_us: f64,
    p99_us: f64,
}

struct Contender {
    name: &'static str,
    command: Vec<String>,
    env: Option<(String, String)>,
}

impl Contender {
    fn rust(name: &'static str, kind: &str) -> Self {
        let exe = std::env::current_exe().unwrap().display().to_string();
        Contender {
            name,
            command: vec![exe],
            env: Some(("ECHO_SERVE".to_owned(), kind.to_owned())),
        }
    }

    fn python(name: &'static str, python: &str, event_loop: &str, style: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/echo_server.py");
        Contender {
            name,
            command: vec![
                python.to_owned(),
                script.to_owned(),
                "--loop".to_owned(),
                event_loop.to_owned(),
                "--style".to_owned(),
                style.to_owned(),
            ],
            env: None,
        }
    }

    /// Starts the server (under `prefix`), and reads the port it prints.
    fn start(&self, prefix: &[String]) -> (Server, u16) {
        let mut argv: Vec<String> = prefix.to_vec();
        argv.extend(self.command.iter().cloned());
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some((key, value)) = &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the server prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{}: no port in {line:?}", self.name));
        (Server(child), port)
    }

    /// One measured run: `requests` round trips on each connection.
    fn run(&self, size: usize, requests: usize, pin: bool) -> Outcome {
        let prefix: Vec<String> = if pin {
            vec!["taskset".into(), "-c".into(), "0".into()]
        } else {
            Vec::new()
        };
        let (server, port) = self.start(&prefix);
        let connections = connect(port);
        let before = cpu_seconds(server.0.id());
        let (elapsed, mut latencies) = closed_loop(connections, size, requests, pin);
        let cpu = cpu_seconds(server.0.id()) - before;
        drop(server);
        latencies.sort_unstable();
        let total = (CONNECTIONS * requests) as f64;
        Outcome {
            requests_per_second: total / elapsed.as_secs_f64(),
            cpu_us: cpu * 1e6 / total,
            p99_us: latencies[latencies.len() * 99 / 100] as f64,
        }
    }

    /// System calls per request of the server: `strace -c -f` attached
    /// to it for a short run (attached, so that the server itself is the
    /// child killed by pid afterwards, never left behind a tracer).
    fn syscalls(&self, size: usize, requests: usize) -> Option<f64> {
        Command::new("strace").arg("-V").output().ok()?;
        let file = std::env::temp_dir().join(format!(
            "echo-strace-{}-{}",
            std::process::id(),
            self.name.replace(' ', "_")
        ));
        let (server, port) = self.start(&[]);
        let mut tracer = Server(
            Command::new("strace")
                .args(["-f", "-c", "-o"])
                .arg(&file)
                .args(["-p", &server.0.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .ok()?,
        );
        // strace says "Process N attached" once it is.
        let mut line = String::new();
        BufReader::new(tracer.0.stderr.take()?)
            .read_line(&mut line)
            .ok()?;
        let connections = connect(port);
        closed_loop(connections, size, requests, false);
        // SIGINT: strace detaches and writes its summary.
        // SAFETY: kill(2) of our own child's pid has no memory preconditions.
        unsafe {
            libc::kill(tracer.0.id() as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while tracer.0.try_wait().ok()?.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(tracer);
        drop(server);
        let summary = std::fs::read_to_string(&file).ok()?;
        let _ = std::fs::remove_file(&file);
        let total: f64 = summary
            .lines()
            .find(|line| line.trim_end().ends_with("total"))?
            .split_whitespace()
            .nth(3)?
            .parse()
            .ok()?;
        Some(total / (CONNECTIONS * requests) as f64)
    }
}

/// A server process, killed (by pid) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn connect(port: u16) -> Vec<TcpStream> {
    (0..CONNECTIONS)
        .map(|_| {
            let stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
            stream.set_nodelay(true).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            stream
                .set_write_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            stream
        })
        .collect()
}

/// Each connection on its own thread (pinned to CPU 1 when `pin`):
/// `requests` times, write `size` bytes and read them back. The wall time
/// from the start to the last reply, and every request's latency in µs.
fn closed_loop(
    connections: Vec<TcpStream>,
    size: usize,
    requests: usize,
    pin: bool,
) -> (Duration, Vec<u64>) {
    let barrier = Arc::new(Barrier::new(connections.len() + 1));
    let threads: Vec<_> = connections
        .into_iter()
        .map(|mut stream| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                if pin {
                    pin_to_cpu(1);
                }
                // One line: the line servers read up to the newline.
                let mut message = vec![b'x'; size];
                message[size - 1] = b'\n';
                let mut reply = vec![0; size];
                let mut latencies = Vec::with_capacity(requests);
                barrier.wait();
                for _ in 0..requests {
                    let start = Instant::now();
                    stream.write_all(&message).expect("the server reads");
                    stream.read_exact(&mut reply).expect("the server echoes");
                    latencies.push(start.elapsed().as_micros() as u64);
                }
                assert_eq!(reply, message, "the echo is the message");
                latencies
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for thread in threads {
        latencies.extend(thread.join().expect("a client thread"));
    }
    (start.elapsed(), latencies)
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // within it; sched_setaffinity reads it (pid 0: this thread).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The CPU time the process's threads have run so far, in seconds
/// (`/proc/PID/task/*/schedstat`: nanoseconds, user and system, where
/// `stat`'s ticks are 10 ms).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let nanoseconds: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanoseconds as f64 / 1e9
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

mod servers {
    //! The Rust servers, each run as its own process: it prints its port,
    //! then serves until killed.

    use std::io::{ErrorKind, Read, Write};

    pub(super) fn serve(kind: &str) {
        match kind {
            "protocol" => protocol(),
            "sock" => sock(),
            "streams" => streams(false),
            "streams-line" => streams(true),
            "tokio" => tokio_server(),
            "tokio-line" => tokio_lines(),
            "mio" => floor(),
            other => panic!("unknown server {other}"),
        }
    }

    fn protocol() {
        use asyncio_net::{create_server, Protocol, Transport};
        struct Echo(Option<Transport>);
        impl Protocol for Echo {
            fn connection_made(&mut self, transport: &Transport) {
                self.0 = Some(transport.clone());
            }
            fn data_received(&mut self, data: &[u8]) {
                if let Some(transport) = &self.0 {
                    let _ = transport.write(data);
                }
            }
        }
        let event_loop = asyncio_loop::EventLoop::new();
        let handle = event_loop.handle();
        let server = event_loop
            .run_until_complete(async move {
                create_server(&handle, || Echo(None), "127.0.0.1", 0).await
            })
            .unwrap()
            .unwrap();
        println!("{}", server.sockets()[0].as_socket().unwrap().port());
        event_loop.run_forever().unwrap();
    }

    fn sock() {
        use asyncio_loop::{EventLoop, Registered};
        let event_loop = EventLoop::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let listener = Registered::new(&event_loop, listener).unwrap();
        let handle = event_loop.handle();
        let _ = event_loop.run_until_complete(async move {
            loop {
                let (connection, _) = handle.sock_accept(&listener).await?;
                let _ = connection.get_ref().set_tcp_nodelay(true);
                let h = handle.clone();
                handle.create_task(async move {
                    let mut buffer = vec![0; 256 * 1024];
                    loop {
                        let n = h.sock_recv_into(&connection, &mut buffer).await?;
                        if n == 0 {
                            return Ok::<_, std::io::Error>(());
                        }
                        h.sock_sendall(&connection, &buffer[..n]).await?;
                    }
                })?;
            }
            #[allow(unreachable_code)]
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        });
    }

    /// `start_server` with a coroutine per connection, as users write it:
    /// `read(n)` (or `readline()`), `write`, `drain`.
    fn streams(lines: bool) {
        use asyncio_benches::stream_echo as echo;
        use asyncio_net::{start_server_with, StreamOptions};
        let event_loop = asyncio_loop::EventLoop::new();
        let handle = event_loop.handle();
        // The largest message is one 100 KiB line.
        let options = StreamOptions::new().limit(256 * 1024);
        let server = event_loop
            .run_until_complete(async move {
                let client = move |reader, writer| echo(reader, writer, lines);
                start_server_with(&handle, client, "127.0.0.1", 0, options).await
            })
            .unwrap()
            .unwrap();
        println!("{}", server.sockets()[0].as_socket().unwrap().port());
        event_loop.run_forever().unwrap();
    }

    /// tokio's line reading: `BufReader::read_until(b'\n')`, `write_all`.
    fn tokio_lines() {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        serve_tokio(|stream| async move {
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut line = Vec::new();
            loop {
                line.clear();
                match read.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if write.write_all(&line).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    /// A current-thread tokio server: a task per connection running
    /// `serve`.
    fn serve_tokio<F: std::future::Future<Output = ()> + Send + 'static>(
        serve: impl Fn(tokio::net::TcpStream) -> F,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("{}", listener.local_addr().unwrap().port());
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(serve(stream));
            }
        });
    }

    fn tokio_server() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        serve_tokio(|mut stream| async move {
            let mut buffer = vec![0; 256 * 1024];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    /// The floor: raw mio, edge-triggered, one shared buffer, write at
    /// once (the rest kept per connection), a short read ends the reads.
    fn floor() {
        use mio::net::{TcpListener, TcpStream};
        use mio::{Events, Interest, Poll, Token};
        let mut poll = Poll::new().unwrap();
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)
            .unwrap();
        let mut connections: slab::Slab<(TcpStream, Vec<u8>)> = slab::Slab::new();
        let mut buffer = vec![0u8; 256 * 1024];
        let mut events = Events::with_capacity(1024);
        loop {
            // A tracer attaching interrupts the wait (EINTR).
            if let Err(error) = poll.poll(&mut events, None) {
                assert_eq!(error.kind(), ErrorKind::Interrupted, "{error}");
                continue;
            }
            for event in events.iter() {
                if event.token() == Token(0) {
                    while let Ok((mut stream, _)) = listener.accept() {
                        stream.set_nodelay(true).unwrap();
                        let entry = connections.vacant_entry();
                        poll.registry()
                            .register(
                                &mut stream,
                                Token(entry.key() + 1),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .unwrap();
                        entry.insert((stream, Vec::new()));
                    }
                    continue;
                }
                let key = event.token().0 - 1;
                let mut closed = false;
                if let Some((stream, pending)) = connections.get_mut(key) {
                    if event.is_writable() && !pending.is_empty() {
                        match stream.write(pending) {
                            Ok(n) => {
                                pending.drain(..n);
                            }
                            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                            Err(_) => closed = true,
                        }
                    }
                    if event.is_readable() {
                        loop {
                            match stream.read(&mut buffer) {
                                Ok(0) => {
                                    closed = true;
                                    break;
                                }
                                Ok(n) => {
                                    if pending.is_empty() {
                                        match stream.write(&buffer[..n]) {
                                            Ok(sent) => pending.extend_from_slice(&buffer[sent..n]),
                                            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                                                pending.extend_from_slice(&buffer[..n]);
                                            }
                                            Err(_) => closed = true,
                                        }
                                    } else {
                                        pending.extend_from_slice(&buffer[..n]);
                                    }
                                    if n < buffer.len() {
                                        break;
                                    }
                                }
                                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                                Err(_) => {
                                    closed = true;
                                    break;
                                }
                            }
                        }
                    }
                }
                if closed {
                    let (mut stream, _) = connections.remove(key);
                    let _ = poll.registry().deregister(&mut stream);
                }
            }
        }
    }
}
