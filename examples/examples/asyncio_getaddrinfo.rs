//! Looking host names up: the port of `asyncio_getaddrinfo.py`.
//!
//! `getaddrinfo` runs the system resolver on the loop's default executor
//! for each target and service `https`, restricted to TCP, and each
//! address found is printed beside its host name. The targets are the
//! book's unless others are given as arguments. On a machine without
//! outside DNS (ours) the first lookup fails as CPython's does, with the
//! resolver's `Name or service not known`; `localhost` resolves from
//! `/etc/hosts`.
// end of header

use asyncio::socket2::Protocol;
use asyncio::{getaddrinfo, AddrInfoHints, EventLoop, LoopHandle, NetError};

const TARGETS: [&str; 3] = ["pymotw.com", "doughellmann.com", "python.org"];

async fn main_(event_loop: LoopHandle, targets: Vec<String>) -> Result<(), NetError> {
    for target in &targets {
        let hints = AddrInfoHints::new().protocol(Protocol::TCP);
        let info = getaddrinfo(&event_loop, Some(target), Some("https"), &hints).await?;
        for host in info {
            println!("{target:<20}: {}", host.address.ip());
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut targets: Vec<String> = std::env::args().skip(1).collect();
    if targets.is_empty() {
        targets = TARGETS.iter().map(|target| target.to_string()).collect();
    }
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let outcome = event_loop
        .run_until_complete(main_(handle, targets))
        .map_err(NetError::from)
        .and_then(|outcome| outcome);
    let _ = event_loop.close();
    // The resolver's error as CPython's traceback ends: code and text.
    if let Err(error) = outcome {
        eprintln!("Error: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
