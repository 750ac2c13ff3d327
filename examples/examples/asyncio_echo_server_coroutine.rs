//! An echo server with coroutines and streams: the port of
//! `asyncio_echo_server_coroutine.py`.
//!
//! `start_server` calls the coroutine `echo` with each connection's reader
//! and writer. It reads up to 128 bytes at a time and writes each chunk
//! back, waiting in `drain` for the peer to keep up; at the client's EOF
//! (an empty read) it closes the writer. Lines are logged as the chapter's
//! `logging` format does, `name: message`, to stderr.
//!
//! Run it with an optional port (10000, as in the book, when none is
//! given) and an optional number of connections to serve before it shuts
//! down. Without a count it runs until Ctrl-C, which, as in the book, it
//! catches: it closes the server and the loop and exits cleanly. Then run
//! `asyncio_echo_client_coroutine` with the same port.
// end of header

use std::cell::Cell;
use std::error::Error;
use std::rc::Rc;

use asyncio::{start_server, EventLoop, LoopHandle, NetError, StreamReader, StreamWriter};
use asyncio_examples::bytes_repr as repr;

/// `logging.getLogger(name).debug(message)` with the chapter's format.
fn log(name: &str, message: &str) {
    eprintln!("{name}: {message}");
}

/// Serves one connection (the book's `echo`); `served` counts the ended
/// ones and the loop stops at `limit`.
async fn echo(
    reader: StreamReader,
    writer: StreamWriter,
    served: Rc<Cell<usize>>,
    limit: Option<usize>,
    event_loop: LoopHandle,
) -> Result<(), NetError> {
    let address = writer.peername().and_then(|peer| peer.as_socket());
    let (host, port) = address.map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
    let name = format!("echo_{host}_{port}");
    log(&name, "connection accepted");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            log(&name, "closing");
            writer.close();
            break;
        }
        log(&name, &format!("received {}", repr(&data)));
        writer.write(&data)?;
        writer.drain().await?;
        log(&name, &format!("sent {}", repr(&data)));
    }
    served.set(served.get() + 1);
    if Some(served.get()) == limit {
        event_loop.stop();
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(10000), |port| port.parse())?;
    let connections: Option<usize> = args.next().map(|count| count.parse()).transpose()?;

    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let (served, stopper) = (Rc::new(Cell::new(0)), event_loop.handle());
    let client_connected =
        move |reader, writer| echo(reader, writer, served.clone(), connections, stopper.clone());
    let factory = async move { start_server(&handle, client_connected, "localhost", port).await };
    let server = event_loop.run_until_complete(factory)??;
    let port = server.sockets()[0]
        .as_socket()
        .map_or(port, |address| address.port());
    log("main", &format!("starting up on localhost port {port}"));

    // The book's `except KeyboardInterrupt: pass`.
    match event_loop.run_forever_interruptible() {
        Err(error) if error.is_interrupted() => {}
        other => other?,
    }

    log("main", "closing server");
    server.close();
    event_loop.run_until_complete(async move { server.wait_closed().await })??;
    log("main", "closing event loop");
    event_loop.close()?;
    Ok(())
}
