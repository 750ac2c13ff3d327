//! Every example prints, byte for byte, what the chapter shows for its
//! Python original. The snapshots are the chapter's outputs.

use std::path::PathBuf;
use std::process::Command;

/// Runs the example `name` (built by `cargo test` next to this test) and
/// returns what it printed to stdout; fails on a non-zero exit.
fn run_example(name: &str) -> String {
    let binary = example_binary(name);
    let output = Command::new(&binary)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("examples print UTF-8");
    // insta trims the ends of a snapshot; pin them here: lines end in "\n",
    // with no blank line before or after, as in the chapter.
    assert!(!stdout.contains('\r'), "{name} printed a carriage return");
    assert!(
        stdout.ends_with('\n') && !stdout.ends_with("\n\n"),
        "{name}: {stdout:?}"
    );
    assert!(!stdout.starts_with('\n'), "{name}: {stdout:?}");
    stdout
}

/// `target/<profile>/examples/<name>`, building it if this test runs alone
/// (`cargo test --test examples` does not build examples).
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/examples-HASH -> target/<profile>/examples/NAME
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "--quiet",
            "--package",
            "asyncio-examples",
            "--example",
            name,
        ]);
        if profile_dir
            .file_name()
            .is_some_and(|profile| profile == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building example {name} failed");
    }
    binary
}

#[test]
fn asyncio_future_event_loop() {
    insta::assert_snapshot!(run_example("asyncio_future_event_loop"), @r"
    scheduling mark_done
    entering event loop
    setting future result to 'the result'
    returned result: 'the result'
    closing event loop
    future result: 'the result'
    ");
}

#[test]
fn asyncio_future_await() {
    insta::assert_snapshot!(run_example("asyncio_future_await"), @r"
    scheduling mark_done
    setting future result to 'the result'
    returned result: 'the result'
    ");
}

#[test]
fn asyncio_future_callback() {
    insta::assert_snapshot!(run_example("asyncio_future_callback"), @r"
    registering callbacks on future
    setting result of future
    1: future done: the result
    2: future done: the result
    ");
}

#[test]
fn asyncio_call_soon() {
    insta::assert_snapshot!(run_example("asyncio_call_soon"), @r"
    entering event loop
    registering callbacks
    callback invoked with 1 and default
    callback invoked with 2 and not default
    closing event loop
    ");
}

#[test]
fn asyncio_call_later() {
    insta::assert_snapshot!(run_example("asyncio_call_later"), @r"
    entering event loop
    registering callbacks
    callback 3 invoked
    callback 2 invoked
    callback 1 invoked
    closing event loop
    ");
}

/// The clock values vary from run to run; the order, and the gaps between
/// the deadlines, do not.
#[test]
fn asyncio_call_at() {
    let output = run_example("asyncio_call_at");
    let number = |line: &str| -> f64 {
        let value = line.rsplit(' ').next().unwrap();
        value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line:?}"))
    };
    let lines: Vec<&str> = output.lines().collect();
    let wall = number(lines[1]);
    assert!(wall > 1.5e9, "seconds since 1970: {wall}");
    let now = number(lines[2]);
    let (three, two, one) = (number(lines[4]), number(lines[5]), number(lines[6]));
    assert!(
        now <= three && three < now + 0.1,
        "call_soon runs first: {output}"
    );
    assert!(two >= now + 0.1 && two < now + 1.0, "{output}");
    assert!(one >= now + 0.2 && one < now + 1.0 && one > two, "{output}");
    let shape: String = lines
        .iter()
        .map(|line| match line.rsplit_once(' ') {
            Some((head, tail)) if tail.parse::<f64>().is_ok() => format!("{head} T\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    insta::assert_snapshot!(shape, @r"
    entering event loop
    clock time: T
    loop  time: T
    registering callbacks
    callback 3 invoked at T
    callback 2 invoked at T
    callback 1 invoked at T
    closing event loop
    ");
}

/// The worker threads print concurrently, so the order of their lines and
/// which worker ran which call vary from run to run. What does not: the
/// main thread's lines and their order, every call running then finishing
/// once, on one of three workers, never more than three at a time, and the
/// results in the order the calls were made (asyncio's `wait` returns a
/// set, whose order varies; awaiting each future in turn does not).
#[test]
fn asyncio_executor_thread() {
    let output = run_example("asyncio_executor_thread");
    let lines: Vec<&str> = output.lines().collect();
    let (main, workers): (Vec<&str>, Vec<&str>) = lines
        .iter()
        .partition(|line| line.starts_with("      main "));
    insta::assert_snapshot!(main.join("\n"), @r"
          main run_blocking_tasks: starting
          main run_blocking_tasks: creating executor tasks
          main run_blocking_tasks: waiting for executor tasks
          main run_blocking_tasks: results: [0, 1, 4, 9, 16, 25]
          main run_blocking_tasks: exiting
    ");
    // No call starts before it was made, and the results wait for them all;
    // "waiting for executor tasks" may come before or after the first calls
    // start (asyncio's runs show it after three).
    assert_eq!(lines[..2], main[..2], "{output}");
    assert_eq!(lines[lines.len() - 2..], main[3..], "{output}");
    let mut running = Vec::new();
    let mut worker_of = std::collections::BTreeMap::new();
    let mut busy = 0;
    for line in &workers {
        let (worker, event) = line.split_once(' ').unwrap();
        assert!(
            [
                "asyncio-executor-0",
                "asyncio-executor-1",
                "asyncio-executor-2"
            ]
            .contains(&worker),
            "{line}"
        );
        let event = event.trim_start();
        if let Some(call) = event.strip_suffix(": running") {
            assert!(worker_of.insert(call, worker).is_none(), "{call} ran twice");
            running.push(call);
            busy += 1;
            assert!(busy <= 3, "more than three calls at once: {output}");
        } else {
            let call = event.strip_suffix(": done").unwrap();
            assert_eq!(worker_of.get(call), Some(&worker), "{call}: {output}");
            busy -= 1;
        }
    }
    assert_eq!(busy, 0);
    running.sort_unstable();
    let expected: Vec<String> = (0..6).map(|n| format!("blocks({n})")).collect();
    assert_eq!(running, expected);
}

#[test]
fn asyncio_coroutine() {
    insta::assert_snapshot!(run_example("asyncio_coroutine"), @r#"
    starting coroutine
    entering event loop
    in coroutine
    closing event loop
    "#);
}

#[test]
fn asyncio_coroutine_return() {
    insta::assert_snapshot!(run_example("asyncio_coroutine_return"), @r#"
    in coroutine
    it returned: 'result'
    "#);
}

#[test]
fn asyncio_coroutine_chain() {
    insta::assert_snapshot!(run_example("asyncio_coroutine_chain"), @r#"
    in outer
    waiting for result1
    in phase1
    waiting for result2
    in phase2
    return value: ('result1', 'result2 derived from result1')
    "#);
}

#[test]
fn asyncio_generator() {
    insta::assert_snapshot!(run_example("asyncio_generator"), @r#"
    in outer
    waiting for result1
    in phase1
    waiting for result2
    in phase2
    return value: ('result1', 'result2 derived from result1')
    "#);
}

#[test]
fn asyncio_create_task() {
    insta::assert_snapshot!(run_example("asyncio_create_task"), @r#"
    creating task
    waiting for <Task pending name='Task-2' coro=<task_func() running>>
    in task_func
    task completed <Task finished name='Task-2' coro=<task_func() done> result="the result">
    return value: 'the result'
    "#);
}

#[test]
fn asyncio_cancel_task() {
    insta::assert_snapshot!(run_example("asyncio_cancel_task"), @r#"
    creating task
    canceling task
    canceled task <Task cancelling name='Task-2' coro=<task_func() running>>
    caught error from canceled task
    "#);
}

#[test]
fn asyncio_cancel_task2() {
    insta::assert_snapshot!(run_example("asyncio_cancel_task2"), @r#"
    creating task
    in task_func, sleeping
    in task_canceller
    canceled the task
    task_func was canceled
    main() also sees task as canceled
    "#);
}

#[test]
fn asyncio_ensure_future() {
    insta::assert_snapshot!(run_example("asyncio_ensure_future"), @r#"
    entering event loop
    starter: creating task
    starter: waiting for inner
    inner: starting
    inner: waiting for <Task pending name='Task-2' coro=<wrapped() running>>
    wrapped
    inner: task returned 'result'
    starter: inner returned
    "#);
}

#[test]
fn asyncio_wait() {
    insta::assert_snapshot!(run_example("asyncio_wait"), @r"
    starting main
    waiting for phases to complete
    in phase 0
    in phase 1
    in phase 2
    done with phase 0
    done with phase 1
    done with phase 2
    results: ['phase 0 result', 'phase 1 result', 'phase 2 result']
    ");
}

#[test]
fn asyncio_wait_timeout() {
    insta::assert_snapshot!(run_example("asyncio_wait_timeout"), @r"
    starting main
    waiting 0.1 for phases to complete
    in phase 0
    in phase 1
    in phase 2
    done with phase 0
    1 completed and 2 pending
    canceling tasks
    exiting main
    phase 1 canceled
    phase 2 canceled
    ");
}

#[test]
fn asyncio_gather() {
    insta::assert_snapshot!(run_example("asyncio_gather"), @r"
    starting main
    waiting for phases to complete
    in phase1
    in phase2
    done with phase2
    done with phase1
    results: ['phase1 result', 'phase2 result']
    ");
}

#[test]
fn asyncio_as_completed() {
    insta::assert_snapshot!(run_example("asyncio_as_completed"), @r"
    starting main
    waiting for phases to complete
    in phase 0
    in phase 1
    in phase 2
    done with phase 2
    received answer 'phase 2 result'
    done with phase 1
    received answer 'phase 1 result'
    done with phase 0
    received answer 'phase 0 result'
    results: ['phase 2 result', 'phase 1 result', 'phase 0 result']
    ");
}

#[test]
fn asyncio_lock() {
    insta::assert_snapshot!(run_example("asyncio_lock"), @r"
    acquiring the lock before starting coroutines
    lock acquired: True
    waiting for coroutines
    coro1 waiting for the lock
    coro2 waiting for the lock
    callback releasing lock
    coro1 acquired lock
    coro1 released lock
    coro2 acquired lock
    coro2 released lock
    ");
}

#[test]
fn asyncio_event() {
    insta::assert_snapshot!(run_example("asyncio_event"), @r"
    event start state: False
    coro1 waiting for event
    coro2 waiting for event
    setting event in callback
    coro1 triggered
    coro2 triggered
    event end state: True
    ");
}

#[test]
fn asyncio_condition() {
    insta::assert_snapshot!(run_example("asyncio_condition"), @r"
    starting manipulate_condition
    consumer 0 is waiting
    consumer 1 is waiting
    consumer 2 is waiting
    consumer 3 is waiting
    consumer 4 is waiting
    notifying 1 consumers
    consumer 0 triggered
    ending consumer 0
    notifying 2 consumers
    consumer 1 triggered
    ending consumer 1
    consumer 2 triggered
    ending consumer 2
    notifying remaining consumers
    ending manipulate_condition
    consumer 3 triggered
    ending consumer 3
    consumer 4 triggered
    ending consumer 4
    ");
}

#[test]
fn asyncio_queue() {
    insta::assert_snapshot!(run_example("asyncio_queue"), @r"
    consumer 0: starting
    consumer 0: waiting for item
    consumer 1: starting
    consumer 1: waiting for item
    producer: starting
    producer: added task 0 to the queue
    producer: added task 1 to the queue
    consumer 0: has item 0
    consumer 1: has item 1
    producer: added task 2 to the queue
    producer: added task 3 to the queue
    consumer 0: waiting for item
    consumer 0: has item 2
    producer: added task 4 to the queue
    consumer 1: waiting for item
    consumer 1: has item 3
    producer: added task 5 to the queue
    producer: adding stop signals to the queue
    consumer 0: waiting for item
    consumer 0: has item 4
    consumer 1: waiting for item
    consumer 1: has item 5
    producer: waiting for queue to empty
    consumer 0: waiting for item
    consumer 0: has item None
    consumer 0: ending
    consumer 1: waiting for item
    consumer 1: has item None
    consumer 1: ending
    producer: ending
    ");
}

#[test]
fn examples_print_nothing_to_stderr() {
    for name in [
        "asyncio_future_event_loop",
        "asyncio_future_await",
        "asyncio_future_callback",
        "asyncio_call_soon",
        "asyncio_call_later",
        "asyncio_call_at",
        "asyncio_executor_thread",
        "asyncio_coroutine",
        "asyncio_coroutine_return",
        "asyncio_coroutine_chain",
        "asyncio_generator",
        "asyncio_create_task",
        "asyncio_cancel_task",
        "asyncio_cancel_task2",
        "asyncio_ensure_future",
        "asyncio_wait",
        "asyncio_wait_timeout",
        "asyncio_gather",
        "asyncio_as_completed",
        "asyncio_lock",
        "asyncio_event",
        "asyncio_condition",
        "asyncio_queue",
        "asyncio_signal",
        "asyncio_subprocess_protocol",
        "asyncio_subprocess_coroutine",
        "asyncio_subprocess_coroutine_write",
    ] {
        let output = Command::new(example_binary(name)).output().unwrap();
        assert!(
            output.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// ---- The chapter "Running, Embedding and Testing the Loop" (no Python
// original: these show the Rust API; the snapshots are what they print) ----

#[test]
fn asyncio_run() {
    insta::assert_snapshot!(run_example("asyncio_run"), @r"
    left behind: started
    main: the executor's thread computed 42
    main: a nested run fails: cannot run the event loop while another loop is running
    left behind: cancelled at shutdown
    run returned 42
    ");
}

#[test]
fn asyncio_taskgroup() {
    insta::assert_snapshot!(run_example("asyncio_taskgroup"), @r#"
    body: both started
    b: done after 0.1 s
    a: done after 0.2 s
    group ended: a="a" b="b"

    failing: giving up after 0.5 s
    slow: cancelled by the group
    body: cancelled by the group
    group failed: unhandled errors in a TaskGroup (1 sub-exception)
      - could not connect
    the clock reads 0.7 s
    "#);
}

#[test]
fn asyncio_run_once() {
    insta::assert_snapshot!(run_example("asyncio_run_once"), @r"
    host: frame 0
    host: frame 1
    host: frame 2
    host: frame 3
      task: step 1 at t=0.048
    host: frame 4
    host: frame 5
    host: frame 6
      task: step 2 at t=0.096
    host: frame 7
    host: frame 8
    host: frame 9
      task: step 3 at t=0.144
    host: the task finished after 10 frames
    ");
}

#[test]
fn asyncio_threadsafe() {
    insta::assert_snapshot!(run_example("asyncio_threadsafe"), @r"
    to_thread: the sum is 5050
    completer: set by a thread of its own
    call_soon_threadsafe: runs on main
    run_coroutine_threadsafe: the coroutine ran on main
    ");
}

#[test]
fn asyncio_manual_clock() {
    insta::assert_snapshot!(run_example("asyncio_manual_clock"), @r"
    t=   0: attempt 1 fails, retrying in 1 s
    t=   1: attempt 2 fails, retrying in 2 s
    t=   3: attempt 3 fails, retrying in 4 s
    t=   7: attempt 4 succeeds
    succeeded after 4 attempts at t=7
    wait_for: timed out at t=37
    after advance(100): t=137
    real time taken: under a second
    ");
}

#[test]
fn asyncio_errors() {
    insta::assert_snapshot!(run_example("asyncio_errors"), @r#"
    transfer: Ok(7)
    a queue error inside a FutureError: queue is empty (kind Some(QueueEmpty))
    parse_and_wait("12"): Some(12)
    parse_and_wait("twelve"): invalid digit found in string
    cancelled: task.cancelled() = true, error: future was cancelled
    "#);
}

#[test]
fn asyncio_contextvars() {
    insta::assert_snapshot!(run_example("asyncio_contextvars"), @r"
    [request 1] handling
    [request 2] handling
    [request 1] callback scheduled by the handler
    [request 2] callback scheduled by the handler
    [request 1] database answered
    [request 2] database answered
    [request 1] done
    [request 2] done
    [no request] all requests handled
    ");
}

/// The echo examples' logs with the clients' ports as `N`, and the
/// chunks one connection received (and echoed) joined into one: how the
/// 46 bytes are split into reads varies from run to run, in the book too.
fn normalise_echo_log(text: &str) -> String {
    let mut out = String::new();
    // The name and the joined contents of the received chunks not yet shown.
    let mut pending: Option<(String, String, bool)> = None;
    fn flush(out: &mut String, pending: &mut Option<(String, String, bool)>) {
        if let Some((name, data, echoed)) = pending.take() {
            out.push_str(&format!("{name}: received b'{data}'\n"));
            if echoed {
                out.push_str(&format!("{name}: sent b'{data}'\n"));
            }
        }
    }
    for line in text.lines() {
        let (name, message) = line.split_once(": ").unwrap_or((line, ""));
        let name = match name.split_once("_127.0.0.1_") {
            Some((logger, _port)) => format!("{logger}_127.0.0.1_N"),
            None => name.to_owned(),
        };
        let chunk = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix("b'"))
                .and_then(|rest| rest.strip_suffix('\''))
                .map(str::to_owned)
        };
        if let Some(data) = chunk("received ") {
            match &mut pending {
                Some((_, joined, _)) => joined.push_str(&data),
                None => pending = Some((name, data, false)),
            }
            continue;
        }
        if chunk("sent ").is_some() {
            if let Some((_, _, echoed)) = &mut pending {
                *echoed = true;
            }
            continue;
        }
        flush(&mut out, &mut pending);
        out.push_str(&format!("{name}: {message}\n"));
    }
    flush(&mut out, &mut pending);
    out
}

/// A chapter's echo server and client, run together as the book runs them
/// (the server, then the client three times), on a port the OS picks
/// instead of 10000: the server serves three connections, then shuts down
/// as the book's does after Ctrl-C (`close`, `wait_closed`). Returns the
/// server's log and the three clients' logs (stderr, as Python's `logging`
/// writes), normalised: ports as `PORT`, the clients' ports as `N`, the
/// chunks of one connection joined. Checks that `chapter` shows one real
/// run of each, the same up to what varies.
fn echo_pair(server: &str, client: &str, chapter: &str) -> (String, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let server_binary = example_binary(server);
    let client_binary = example_binary(client);
    let mut server_process = Command::new(&server_binary)
        .args(["0", "3"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server runs");
    let mut lines = BufReader::new(server_process.stderr.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    let port = first
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let mut clients = String::new();
    for _ in 0..3 {
        let output = Command::new(&client_binary)
            .arg(port.to_string())
            .output()
            .expect("the client runs");
        assert!(output.status.success(), "{output:?}");
        clients.push_str(&String::from_utf8(output.stderr).unwrap());
    }
    let mut rest = String::new();
    // The server exits after its third connection; bounded by its own logic
    // and, should it hang, by the deadline below, which kills it.
    let reader = std::thread::spawn(move || {
        lines.read_to_string(&mut rest).unwrap();
        rest
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server_process.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = server_process.kill();
            let _ = server_process.wait();
            panic!("the server did not stop");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(status.success());
    let log = first + &reader.join().unwrap();
    let normalise = |text: &str| normalise_echo_log(&text.replace(&port.to_string(), "PORT"));
    let (log, clients) = (normalise(&log), normalise(&clients));
    // The chapter shows one real run of each (`cargo xtask docs` cannot
    // run a pair whose chunking varies): the same lines as this run, up to
    // the ports and how the bytes were split into reads.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs")
            .join(chapter),
    )
    .expect("the chapter");
    let shown = |example: &str| {
        let start = text
            .find(&format!("$ cargo run --example {example} -- "))
            .unwrap_or_else(|| panic!("{chapter} shows no run of {example}"));
        let block = &text[start..];
        let block = &block[block.find('\n').unwrap() + 1..block.find("\n```").unwrap()];
        normalise_echo_log(&block.replace("10000", "PORT"))
    };
    assert_eq!(shown(server), log);
    assert_eq!(shown(client).repeat(3), clients);
    (log, clients)
}

/// The protocol chapter's pair (see [`echo_pair`]).
#[test]
fn asyncio_echo_protocol_server_and_client() {
    let (log, clients) = echo_pair(
        "asyncio_echo_server_protocol",
        "asyncio_echo_client_protocol",
        "protocols.md",
    );
    insta::assert_snapshot!(log, @r"
    main: starting up on localhost port PORT
    EchoServer_127.0.0.1_N: connection accepted
    EchoServer_127.0.0.1_N: received b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: sent b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: received EOF
    EchoServer_127.0.0.1_N: closing
    EchoServer_127.0.0.1_N: connection accepted
    EchoServer_127.0.0.1_N: received b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: sent b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: received EOF
    EchoServer_127.0.0.1_N: closing
    EchoServer_127.0.0.1_N: connection accepted
    EchoServer_127.0.0.1_N: received b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: sent b'This is the message. It will be sent in parts.'
    EchoServer_127.0.0.1_N: received EOF
    EchoServer_127.0.0.1_N: closing
    main: closing server
    main: closing event loop
    ");
    let one_client = "\
main: waiting for client to complete
EchoClient: connecting to 127.0.0.1 port PORT
EchoClient: sending b'This is the message. '
EchoClient: sending b'It will be sent '
EchoClient: sending b'in parts.'
EchoClient: received b'This is the message. It will be sent in parts.'
EchoClient: received EOF
EchoClient: server closed connection
main: closing event loop
";
    assert_eq!(clients, one_client.repeat(3));
}

/// The streams chapter's pair (see [`echo_pair`]): CPython 3.11's lines on
/// Linux.
#[test]
fn asyncio_echo_coroutine_server_and_client() {
    let (log, clients) = echo_pair(
        "asyncio_echo_server_coroutine",
        "asyncio_echo_client_coroutine",
        "streams.md",
    );
    let connection = "\
echo_127.0.0.1_N: connection accepted
echo_127.0.0.1_N: received b'This is the message. It will be sent in parts.'
echo_127.0.0.1_N: sent b'This is the message. It will be sent in parts.'
echo_127.0.0.1_N: closing
";
    assert_eq!(
        log,
        format!(
            "main: starting up on localhost port PORT\n{}main: closing server\nmain: closing event loop\n",
            connection.repeat(3)
        )
    );
    let one_client = "\
echo_client: connecting to localhost port PORT
echo_client: sending b'This is the message. '
echo_client: sending b'It will be sent '
echo_client: sending b'in parts.'
echo_client: waiting for response
echo_client: received b'This is the message. It will be sent in parts.'
echo_client: closing
main: closing event loop
";
    assert_eq!(clients, one_client.repeat(3));
}

// ---- "Receiving Unix Signals" ----

#[test]
fn asyncio_signal() {
    let printed = run_example("asyncio_signal");
    let pid_line = printed.lines().next().unwrap_or_default();
    let pid = pid_line.trim_start_matches("starting send_signals for ");
    assert!(
        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        "{pid_line}"
    );
    // The pid varies; the rest is the chapter's output, byte for byte.
    insta::assert_snapshot!(printed.replacen(pid, "PID", 1), @r"
    starting send_signals for PID
    sending SIGHUP
    yielding control
    signal_handler('SIGHUP')
    sending SIGHUP
    yielding control
    signal_handler('SIGHUP')
    sending SIGUSR1
    yielding control
    signal_handler('SIGUSR1')
    sending SIGINT
    yielding control
    signal_handler('SIGINT')
    ");
}

/// The chapters' echo servers run until Ctrl-C, as the book's do: a real
/// `SIGINT` (from the system's `kill`, by pid) ends them after they close
/// the server and the loop. The coroutine server catches it and exits
/// cleanly; the protocol server lets it through afterwards (the book's
/// `finally`, then Python's `KeyboardInterrupt`).
#[test]
fn echo_servers_shut_down_on_ctrl_c() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    for (server, clean) in [
        ("asyncio_echo_server_coroutine", true),
        ("asyncio_echo_server_protocol", false),
    ] {
        let mut process = Command::new(example_binary(server))
            .arg("0")
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server runs");
        let mut lines = BufReader::new(process.stderr.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        assert!(first.contains("starting up on localhost port"), "{first}");
        // One echo: the loop runs, so its Ctrl-C handler is in place.
        let port: u16 = first.trim().rsplit(' ').next().unwrap().parse().unwrap();
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        std::io::Write::write_all(&mut client, b"ping\n").unwrap();
        let mut echoed = [0; 5];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping\n");
        drop(client);
        let sent = Command::new("kill")
            .args(["-INT", &process.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let reader = std::thread::spawn(move || {
            let mut rest = String::new();
            lines.read_to_string(&mut rest).unwrap();
            rest
        });
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = process.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(20) {
                let _ = process.kill();
                let _ = process.wait();
                panic!("{server} did not stop on SIGINT");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let rest = reader.join().unwrap();
        assert!(
            rest.contains("main: closing server\nmain: closing event loop\n"),
            "{server}: {rest}"
        );
        if clean {
            assert!(status.success(), "{server}: {status:?} {rest}");
        } else {
            assert!(!status.success(), "{server}: {status:?}");
            assert!(rest.ends_with("Error: Interrupted\n"), "{server}: {rest}");
        }
    }
}

// ---- "Working with Subprocesses" ----

#[test]
fn asyncio_subprocess_protocol() {
    let printed = run_example("asyncio_subprocess_protocol");
    // The pid, the byte counts and the file systems vary by machine; the
    // order of the progress lines does not: the output comes before the
    // exit notice.
    let progress: Vec<String> = printed
        .lines()
        .take_while(|line| !line.is_empty())
        .map(|line| {
            let line = match line.strip_prefix("process started ") {
                Some(pid) if pid.bytes().all(|b| b.is_ascii_digit()) => "process started PID",
                _ => line,
            };
            match line
                .strip_prefix("read ")
                .and_then(|rest| rest.split_once(' '))
            {
                Some((count, rest)) if count.parse::<usize>().is_ok() => format!("read N {rest}"),
                _ => line.to_owned(),
            }
        })
        .collect();
    let mut expected = vec![
        "in run_df",
        "launching process",
        "process started PID",
        "waiting for process to complete",
    ];
    let reads = progress
        .iter()
        .filter(|line| line.as_str() == "read N bytes from stdout")
        .count();
    assert!(reads >= 1, "{progress:?}");
    expected.extend(std::iter::repeat("read N bytes from stdout").take(reads));
    expected.extend(["process exited", "return code 0", "parsing results"]);
    assert_eq!(progress, expected);
    let report = printed
        .split_once("\n\n")
        .map(|(_, report)| report)
        .unwrap();
    assert!(report.starts_with("Free space:\n"), "{report}");
    assert!(
        report.lines().skip(1).all(|line| line.contains(": ")),
        "{report}"
    );
}

#[test]
fn asyncio_subprocess_coroutine() {
    let printed = run_example("asyncio_subprocess_coroutine");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[..2], ["in run_df", "launching process"]);
    assert!(lines[2].starts_with("process started "), "{printed}");
    // Every line df printed, as a bytes repr, then the empty read.
    let reads: Vec<&str> = lines[3..]
        .iter()
        .take_while(|line| line.starts_with("read b'"))
        .copied()
        .collect();
    assert!(
        reads.len() >= 2 && reads[0].starts_with("read b'Filesystem"),
        "{printed}"
    );
    assert_eq!(reads.last(), Some(&"read b''"));
    let rest = &lines[3 + reads.len()..];
    assert_eq!(
        rest[..5],
        [
            "no more output from command",
            "waiting for process to complete",
            "return code 0",
            "parsing results",
            "",
        ]
    );
    assert_eq!(rest[5], "Free space:");
}

#[test]
fn asyncio_subprocess_coroutine_write() {
    let printed = run_example("asyncio_subprocess_coroutine_write");
    let pid_line = printed.lines().nth(2).unwrap_or_default();
    let pid = pid_line.trim_start_matches("pid ");
    assert!(pid.bytes().all(|b| b.is_ascii_digit()), "{pid_line}");
    insta::assert_snapshot!(printed.replacen(pid_line, "pid PID", 1), @r"
    in to_upper
    launching process
    pid PID
    communicating with process
    waiting for process to complete
    return code 0
    Original: '\nThis message will be converted\nto all caps.\n'
    Changed : '\nTHIS MESSAGE WILL BE CONVERTED\nTO ALL CAPS.\n'
    ");
}

// ---- "Combining Coroutines with Threads and Processes", processes ----

#[test]
fn asyncio_executor_process() {
    let binary = example_binary("asyncio_executor_process");
    let output = Command::new(&binary).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    let log = String::from_utf8(output.stderr).unwrap();
    // "PID " + 5 columns + " " + the logger in 18 + ": " + the message.
    let lines: Vec<(u32, &str)> = log
        .lines()
        .map(|line| {
            let pid = line[4..9].trim().parse().unwrap();
            (pid, &line[10..])
        })
        .collect();
    let main_pid = lines[0].0;
    let main: Vec<&str> = lines
        .iter()
        .filter(|(pid, _)| *pid == main_pid)
        .map(|(_, text)| *text)
        .collect();
    assert_eq!(
        main,
        [
            "run_blocking_tasks: starting",
            "run_blocking_tasks: creating executor tasks",
            "run_blocking_tasks: waiting for executor tasks",
            "run_blocking_tasks: results: [0, 1, 4, 9, 16, 25]",
            "run_blocking_tasks: exiting",
        ]
    );
    let workers: std::collections::BTreeSet<u32> = lines
        .iter()
        .filter(|(pid, _)| *pid != main_pid)
        .map(|(pid, _)| *pid)
        .collect();
    assert_eq!(workers.len(), 3, "{log}");
    for n in 0..6 {
        for state in ["running", "done"] {
            let text = format!("{:>18}: {state}", format!("blocks({n})"));
            let count = lines
                .iter()
                .filter(|(pid, line)| *pid != main_pid && *line == text)
                .count();
            assert_eq!(count, 1, "{text} in {log}");
        }
    }
}
