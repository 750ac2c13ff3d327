//! An echo server with a protocol class: the port of
//! `asyncio_echo_server_protocol.py`.
//!
//! `create_server` makes one `EchoServer` per connection. It echoes every
//! chunk it receives, answers the client's EOF with its own and then lets
//! the transport close. Each line is logged as the chapter's `logging`
//! format does, `name: message`, to stderr.
//!
//! Run it with an optional port (10000, as in the book, when none is
//! given) and an optional number of connections to serve before it shuts
//! down. Without a count it runs until Ctrl-C, which, as in the book, is
//! let through after the server is closed: the program ends with the
//! interrupted error (Python's `KeyboardInterrupt` traceback) once it has
//! logged `closing server` and `closing event loop`. Then run
//! `asyncio_echo_client_protocol` with the same port.
// end of header

use std::error::Error;

use std::cell::Cell;
use std::rc::Rc;

use asyncio::{create_server, EventLoop, LoopHandle, NetError, Protocol, Transport};
use asyncio_examples::bytes_repr as repr;

/// `logging.getLogger(name).debug(message)` with the chapter's format.
fn log(name: &str, message: &str) {
    eprintln!("{name}: {message}");
}

struct EchoServer {
    transport: Option<Transport>,
    log: String,
    /// Connections that ended, and after how many the server stops.
    ended: Rc<Cell<usize>>,
    limit: Option<usize>,
    event_loop: LoopHandle,
}

impl Protocol for EchoServer {
    fn connection_made(&mut self, transport: &Transport) {
        self.transport = Some(transport.clone());
        let address = transport.peername().and_then(|peer| peer.as_socket());
        let (host, port) = address.map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
        self.log = format!("EchoServer_{host}_{port}");
        log(&self.log, "connection accepted");
    }

    fn data_received(&mut self, data: &[u8]) {
        log(&self.log, &format!("received {}", repr(data)));
        if let Some(transport) = &self.transport {
            let _ = transport.write(data);
        }
        log(&self.log, &format!("sent {}", repr(data)));
    }

    fn eof_received(&mut self) -> bool {
        log(&self.log, "received EOF");
        if let Some(transport) = &self.transport {
            if transport.can_write_eof() {
                let _ = transport.write_eof();
            }
        }
        false
    }

    fn connection_lost(&mut self, error: Option<NetError>) {
        match error {
            Some(error) => log(&self.log, &format!("ERROR: {error}")),
            None => log(&self.log, "closing"),
        }
        self.ended.set(self.ended.get() + 1);
        if Some(self.ended.get()) == self.limit {
            self.event_loop.stop();
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(10000), |port| port.parse())?;
    let connections: Option<usize> = args.next().map(|count| count.parse()).transpose()?;

    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let (ended, stopper) = (Rc::new(Cell::new(0)), event_loop.handle());
    let factory = move || EchoServer {
        transport: None,
        log: String::new(),
        ended: ended.clone(),
        limit: connections,
        event_loop: stopper.clone(),
    };
    let server = event_loop.run_until_complete(async move {
        create_server(&handle, factory, "localhost", port).await
    })??;
    let port = server.sockets()[0]
        .as_socket()
        .map_or(port, |address| address.port());
    log("main", &format!("starting up on localhost port {port}"));

    // The book's try/finally: the server closes whatever ended the loop,
    // and Ctrl-C's error goes on after that.
    let outcome = event_loop.run_forever_interruptible();

    log("main", "closing server");
    server.close();
    event_loop.run_until_complete(async move { server.wait_closed().await })??;
    log("main", "closing event loop");
    event_loop.close()?;
    Ok(outcome?)
}
