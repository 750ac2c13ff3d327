//! Receiving Unix signals: the port of `asyncio_signal.py`.
//!
//! Three handlers are registered on the loop before it runs. The coroutine
//! then sends signals to its own process; a handler never interrupts it:
//! the loop notices the signal and runs the handler as an ordinary
//! callback while the coroutine sleeps, so each `signal_handler(...)` line
//! follows the matching `yielding control`. `SIGINT` does not end the
//! program, since the loop's handler replaced the default one.
// end of header

use std::error::Error;

use asyncio::{EventLoop, LoopHandle};
use signal_hook::consts::{SIGHUP, SIGINT, SIGUSR1};

fn signal_handler(name: &str) {
    println!("signal_handler('{name}')");
}

async fn send_signals(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    let pid = std::process::id();
    println!("starting send_signals for {pid}");
    for (name, signal) in [
        ("SIGHUP", SIGHUP),
        ("SIGHUP", SIGHUP),
        ("SIGUSR1", SIGUSR1),
        ("SIGINT", SIGINT),
    ] {
        println!("sending {name}");
        // Python's `os.kill(os.getpid(), signal)`.
        signal_hook::low_level::raise(signal)?;
        // Yield control to allow the signal handler to run, since the
        // signal does not interrupt the program flow otherwise.
        println!("yielding control");
        event_loop.sleep(0.01).await?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    for (name, signal) in [("SIGHUP", SIGHUP), ("SIGUSR1", SIGUSR1), ("SIGINT", SIGINT)] {
        event_loop.add_signal_handler(signal, move || signal_handler(name))?;
    }
    // Python's try/finally: close the loop whatever the coroutine returns.
    let outcome = event_loop.run_until_complete(send_signals(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
