//! Subprocesses and signals against the peers (issue 27's speed section):
//! spawn-and-wait of short children (`true`), 10 MB through `cat` and
//! back (`communicate`), and signal round trips (raise `SIGUSR1`, wait for
//! the handler). Contenders: ours (`asyncio-process`, the loop's signal
//! handlers), tokio's current-thread runtime (`tokio::process`,
//! `tokio::signal`), CPython's asyncio and uvloop
//! (`benches/python/processes.py`, timed inside the interpreter), and the
//! floor (blocking `std::process`; for signals, `signal-hook`'s pipe read
//! blocking). Rounds are paired: every contender once per round, the order
//! rotating; medians of the time per operation. Each run checks its work
//! (exit codes, the bytes that came back, the handler calls).
//!
//! `cargo bench --bench processes [-- --quick]`; one JSON row per
//! workload and contender on stdout (`asyncio_benches::report`).
//! `ECHO_PYTHON` names the Python with uvloop (xtask passes its venv's).

use std::process::Command;
use std::time::Instant;

use asyncio_benches::report;

/// The three workloads and their sizes (operations per round, full and
/// quick).
const SPAWN: (usize, usize) = (200, 10);
const PIPE: (usize, usize) = (5, 1);
const PIPE_BYTES: usize = 10 * 1024 * 1024;
const SIGNALS: (usize, usize) = (5000, 100);

fn main() {
    // A signal contender in a process of its own (see `rust_run`).
    if let Ok(spec) = std::env::var("PROCESSES_SIGNALS") {
        let (contender, n) = spec.split_once(':').expect("contender:n");
        let n: usize = n.parse().expect("a count");
        let started = Instant::now();
        let threads = match contender {
            "asyncio-rs" => ours::signals(n),
            "tokio current_thread" => peers::tokio_signals(n),
            _ => peers::hook_signals(n),
        };
        println!("{} {threads}", started.elapsed().as_secs_f64() / n as f64);
        return;
    }
    // One Rust contender's run, for a profiler:
    // `PROCESSES_ONE="asyncio-rs:pipe:5" perf record ... processes-HASH`.
    if let Ok(spec) = std::env::var("PROCESSES_ONE") {
        let mut parts = spec.splitn(3, ':');
        let (contender, kind, n) = (parts.next(), parts.next(), parts.next());
        let workload = match kind {
            Some("spawn") => "spawn and wait `true`",
            Some("pipe") => "10 MB through `cat`",
            _ => "signal round trip",
        };
        let n = n.and_then(|n| n.parse().ok()).unwrap_or(1);
        let (seconds, _) = rust_run(contender.unwrap_or("asyncio-rs"), workload, n);
        println!("{:.1} us per operation", seconds * 1e6);
        return;
    }
    let quick = std::env::args().any(|argument| argument == "--quick")
        || !std::env::args().any(|argument| argument == "--bench");
    let rounds = if quick { 1 } else { 5 };
    let python = std::env::var("ECHO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let pick = |(full, small): (usize, usize)| if quick { small } else { full };
    let workloads: [(&str, usize, &[&str]); 3] = [
        (
            "spawn and wait `true`",
            pick(SPAWN),
            &[
                "asyncio-rs",
                "tokio current_thread",
                "std (blocking, floor)",
                "asyncio",
                "uvloop",
            ],
        ),
        (
            "10 MB through `cat`",
            pick(PIPE),
            &[
                "asyncio-rs",
                "tokio current_thread",
                "std (blocking, floor)",
                "asyncio",
                "uvloop",
            ],
        ),
        (
            "signal round trip",
            pick(SIGNALS),
            &[
                "asyncio-rs",
                "tokio current_thread",
                "signal-hook pipe (floor)",
                "asyncio",
                "uvloop",
            ],
        ),
    ];
    for (workload, n, contenders) in workloads {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        let mut threads = 0;
        for round in 0..rounds {
            for offset in 0..contenders.len() {
                let index = (round + offset) % contenders.len();
                let contender = contenders[index];
                let seconds = match contender {
                    "asyncio" | "uvloop" => python_run(&python, contender, workload, n),
                    _ => {
                        let (seconds, most_threads) = rust_run(contender, workload, n);
                        if contender == "asyncio-rs" {
                            threads = threads.max(most_threads);
                        }
                        Some(seconds)
                    }
                };
                if let Some(seconds) = seconds {
                    times[index].push(seconds);
                }
            }
        }
        let ours = median(&times[0]);
        for (index, contender) in contenders.iter().enumerate() {
            if times[index].is_empty() {
                continue;
            }
            let per_op = median(&times[index]);
            report::row(
                "processes",
                serde_json::json!({
                    "workload": workload,
                    "contender": contender,
                    "rounds": times[index].len(),
                    "per_op_us": per_op * 1e6,
                    "vs_ours": per_op / ours,
                    "threads": if index == 0 { serde_json::Value::from(threads) } else { serde_json::Value::Null },
                }),
            );
        }
    }
}

/// One of the Python peers: seconds per operation, `None` if it cannot run
/// (no uvloop).
fn python_run(python: &str, event_loop: &str, workload: &str, n: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/processes.py");
    let kind = workload_kind(workload);
    let output = Command::new(python)
        .args([
            script,
            "--loop",
            event_loop,
            "--workload",
            kind,
            "--n",
            &n.to_string(),
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

fn workload_kind(workload: &str) -> &'static str {
    if workload.starts_with("spawn") {
        "spawn"
    } else if workload.starts_with("10 MB") {
        "pipe"
    } else {
        "signal"
    }
}

/// This process's threads now.
fn threads_now() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|count| count.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A Rust contender: seconds per operation, and the most threads the
/// process had while it ran.
///
/// The signal contenders each run in a copy of this process: their
/// handlers are the process's, and once our loop lets a signal go its
/// default action is back, which another runtime's handler registered
/// later in the same process would not stop.
fn rust_run(contender: &str, workload: &str, n: usize) -> (f64, usize) {
    if workload_kind(workload) == "signal" {
        let output = Command::new(std::env::current_exe().expect("this bench's path"))
            .env("PROCESSES_SIGNALS", format!("{contender}:{n}"))
            .output()
            .expect("the bench runs");
        assert!(output.status.success(), "{contender}: {:?}", output.status);
        let text = String::from_utf8_lossy(&output.stdout);
        let mut fields = text.split_whitespace();
        let seconds = fields.next().and_then(|s| s.parse().ok()).expect("a time");
        let threads = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        return (seconds, threads);
    }
    let started = Instant::now();
    let threads = match (contender, workload_kind(workload)) {
        ("asyncio-rs", "spawn") => ours::spawn(n),
        ("asyncio-rs", _) => ours::pipe(n),
        ("tokio current_thread", "spawn") => peers::tokio_spawn(n),
        ("tokio current_thread", _) => peers::tokio_pipe(n),
        (_, "spawn") => peers::std_spawn(n),
        _ => peers::std_pipe(n),
    };
    (started.elapsed().as_secs_f64() / n as f64, threads)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

mod ours {
    use std::cell::Cell;
    use std::rc::Rc;

    use asyncio_loop::EventLoop;
    use asyncio_process::{create_subprocess_exec, ProcessOptions, Stdios};

    use super::{threads_now, PIPE_BYTES};

    pub(super) fn spawn(n: usize) -> usize {
        let event_loop = EventLoop::new();
        let handle = event_loop.handle();
        event_loop
            .run_until_complete(async move {
                let mut most = 0;
                for i in 0..n {
                    let process = create_subprocess_exec(
                        &handle,
                        "true",
                        &[] as &[&str],
                        ProcessOptions::new(),
                    )
                    .await
                    .unwrap();
                    // With the first child alive (a watcher thread per
                    // child would show then); each reading of
                    // /proc/self/status costs about 12 us, which the
                    // other contenders do not pay per child.
                    if i == 0 {
                        most = threads_now();
                    }
                    assert_eq!(process.wait().await.unwrap(), 0, "the child ran");
                }
                most
            })
            .unwrap()
    }

    pub(super) fn pipe(n: usize) -> usize {
        let event_loop = EventLoop::new();
        let handle = event_loop.handle();
        let data = vec![b'x'; PIPE_BYTES];
        event_loop
            .run_until_complete(async move {
                let mut most = 0;
                for _ in 0..n {
                    let options = ProcessOptions::new().stdios(Stdios::pipes());
                    let process = create_subprocess_exec(&handle, "cat", &[] as &[&str], options)
                        .await
                        .unwrap();
                    most = most.max(threads_now());
                    let (out, _) = process.communicate(Some(&data)).await.unwrap();
                    assert_eq!(out.map(|out| out.len()), Some(PIPE_BYTES), "cat echoed it");
                }
                most
            })
            .unwrap()
    }

    pub(super) fn signals(n: usize) -> usize {
        let event_loop = EventLoop::new();
        let handle = event_loop.handle();
        let waiter = Rc::new(Cell::new(None::<asyncio_core::Future<()>>));
        let seen = Rc::clone(&waiter);
        event_loop
            .add_signal_handler(libc::SIGUSR1, move || {
                if let Some(future) = seen.take() {
                    let _ = future.set_result(());
                }
            })
            .unwrap();
        let most = event_loop
            .run_until_complete(async move {
                for _ in 0..n {
                    let future = handle.create_future::<()>();
                    waiter.set(Some(future.clone()));
                    signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
                    future.wait().await.unwrap();
                }
                threads_now()
            })
            .unwrap();
        event_loop.remove_signal_handler(libc::SIGUSR1).unwrap();
        most
    }
}

mod peers {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    use super::{threads_now, PIPE_BYTES};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    pub(super) fn tokio_spawn(n: usize) -> usize {
        runtime().block_on(async {
            for _ in 0..n {
                let status = tokio::process::Command::new("true").status().await.unwrap();
                assert!(status.success());
            }
            threads_now()
        })
    }

    pub(super) fn tokio_pipe(n: usize) -> usize {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let data = vec![b'x'; PIPE_BYTES];
        runtime().block_on(async {
            for _ in 0..n {
                let mut child = tokio::process::Command::new("cat")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                let mut stdout = child.stdout.take().unwrap();
                let write = async {
                    stdin.write_all(&data).await.unwrap();
                    drop(stdin);
                };
                let mut out = Vec::new();
                let read = stdout.read_to_end(&mut out);
                let ((), read) = tokio::join!(write, read);
                assert_eq!(read.unwrap(), PIPE_BYTES);
                assert!(child.wait().await.unwrap().success());
            }
            threads_now()
        })
    }

    pub(super) fn tokio_signals(n: usize) -> usize {
        runtime().block_on(async {
            let mut signals =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                    .unwrap();
            for _ in 0..n {
                signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
                signals.recv().await.unwrap();
            }
            threads_now()
        })
    }

    #[allow(clippy::zombie_processes)]
    pub(super) fn std_spawn(n: usize) -> usize {
        for _ in 0..n {
            assert!(Command::new("true").status().unwrap().success());
        }
        threads_now()
    }

    pub(super) fn std_pipe(n: usize) -> usize {
        let data = vec![b'x'; PIPE_BYTES];
        let mut most = 0;
        for _ in 0..n {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let input = data.clone();
            let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
            most = most.max(threads_now());
            let mut out = Vec::new();
            child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
            writer.join().unwrap();
            assert!(child.wait().unwrap().success());
            assert_eq!(out.len(), PIPE_BYTES);
        }
        most
    }

    pub(super) fn hook_signals(n: usize) -> usize {
        let (mut read, write) = std::os::unix::net::UnixStream::pair().unwrap();
        let id = signal_hook::low_level::pipe::register(libc::SIGUSR1, write).unwrap();
        let mut byte = [0];
        for _ in 0..n {
            signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
            read.read_exact(&mut byte).unwrap();
        }
        signal_hook::low_level::unregister(id);
        threads_now()
    }
}
