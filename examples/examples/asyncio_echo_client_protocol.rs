//! An echo client with a protocol class: the port of
//! `asyncio_echo_client_protocol.py`.
//!
//! `create_connection` connects an `EchoClient`, which sends three
//! messages and an EOF, logs what comes back, and sets a future when the
//! server's EOF or the end of the connection comes; `main` runs the loop
//! until that future is done. Run `asyncio_echo_server_protocol` first;
//! both take the port as an optional argument (10000 by default).
// end of header

use std::error::Error;

use asyncio::{create_connection, EventLoop, Future, NetError, Protocol, Transport};
use asyncio_examples::bytes_repr as repr;

/// `logging.getLogger(name).debug(message)` with the chapter's format.
fn log(name: &str, message: &str) {
    eprintln!("{name}: {message}");
}

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];

struct EchoClient {
    messages: &'static [&'static [u8]],
    future: Future<bool>,
    transport: Option<Transport>,
}

impl EchoClient {
    fn finish(&self) {
        if !self.future.done() {
            let _ = self.future.set_result(true);
        }
    }
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: &Transport) {
        self.transport = Some(transport.clone());
        let address = transport.peername().and_then(|peer| peer.as_socket());
        let (host, port) = address.map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
        log("EchoClient", &format!("connecting to {host} port {port}"));
        for message in self.messages {
            let _ = transport.write(message);
            log("EchoClient", &format!("sending {}", repr(message)));
        }
        if transport.can_write_eof() {
            let _ = transport.write_eof();
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        log("EchoClient", &format!("received {}", repr(data)));
    }

    fn eof_received(&mut self) -> bool {
        log("EchoClient", "received EOF");
        if let Some(transport) = &self.transport {
            transport.close();
        }
        self.finish();
        false
    }

    fn connection_lost(&mut self, _error: Option<NetError>) {
        log("EchoClient", "server closed connection");
        if let Some(transport) = &self.transport {
            transport.close();
        }
        self.finish();
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(Ok(10000), |port| port.parse())?;
    let event_loop = EventLoop::new();
    let client_completed = event_loop.create_future::<bool>();
    let future = client_completed.clone();
    let factory = move || EchoClient {
        messages: &MESSAGES,
        future: future.clone(),
        transport: None,
    };
    let handle = event_loop.handle();
    let factory_coroutine =
        async move { create_connection(&handle, factory, "localhost", port).await };

    log("main", "waiting for client to complete");
    let outcome = event_loop
        .run_until_complete(factory_coroutine)
        .map_err(Box::<dyn Error>::from)
        .and_then(|connected| Ok(connected?))
        .and_then(|_transport| Ok(event_loop.run_until_complete(&client_completed)?));
    log("main", "closing event loop");
    event_loop.close()?;
    outcome.map(drop)
}
