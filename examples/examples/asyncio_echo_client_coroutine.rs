//! An echo client with coroutines and streams: the port of
//! `asyncio_echo_client_coroutine.py`.
//!
//! `echo_client` opens a connection with `open_connection`, writes three
//! messages and an EOF, waits in `drain`, then reads the echo 128 bytes at
//! a time until the server closes. Run `asyncio_echo_server_coroutine`
//! first; both take the port as an optional argument (10000 by default).
// end of header

use std::error::Error;

use asyncio::{open_connection, EventLoop, LoopHandle, NetError};
use asyncio_examples::bytes_repr as repr;

/// `logging.getLogger(name).debug(message)` with the chapter's format.
fn log(name: &str, message: &str) {
    eprintln!("{name}: {message}");
}

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];

async fn echo_client(
    event_loop: LoopHandle,
    (host, port): (&str, u16),
    messages: &[&[u8]],
) -> Result<(), NetError> {
    let name = "echo_client";
    log(name, &format!("connecting to {host} port {port}"));
    let (reader, writer) = open_connection(&event_loop, host, port).await?;
    for message in messages {
        writer.write(message)?;
        log(name, &format!("sending {}", repr(message)));
    }
    if writer.can_write_eof() {
        writer.write_eof()?;
    }
    writer.drain().await?;

    log(name, "waiting for response");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            log(name, "closing");
            writer.close();
            return Ok(());
        }
        log(name, &format!("received {}", repr(&data)));
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(Ok(10000), |port| port.parse())?;
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let outcome = event_loop.run_until_complete(async move {
        echo_client(handle, ("localhost", port), &MESSAGES).await
    });
    log("main", "closing event loop");
    event_loop.close()?;
    Ok(outcome??)
}
