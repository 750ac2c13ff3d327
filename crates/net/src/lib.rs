//! asyncio's transports, protocols, streams and name lookups for Rust: the
//! connection layer of `asyncio` (`Protocol`, `BufferedProtocol`, the
//! socket `Transport`, `create_connection`, `create_server` and `Server`),
//! its streams (`open_connection`, `start_server`, [`StreamReader`] and
//! the [`Chunk`]s it reads, [`StreamWriter`], with the `futures::io`
//! traits) and `getaddrinfo` /
//! `getnameinfo`, on an [`asyncio-loop`](asyncio_loop) event loop. Unix
//! only.
//!
//! A [`Protocol`] is a set of callbacks a connection calls
//! (`connection_made`, `data_received`, `eof_received`, `connection_lost`,
//! and `pause_writing`/`resume_writing` for flow control); a [`Transport`]
//! is what the protocol writes to and closes. As in asyncio there is no
//! task per connection: the loop calls the transport when its socket is
//! ready, the transport reads once and calls the protocol, and `write`
//! sends at once when nothing is buffered. Protocol callbacks run in
//! asyncio's order, each on a later loop iteration as asyncio schedules
//! them.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use asyncio_loop::EventLoop;
//! use asyncio_net::{create_connection, create_server, NetError, Protocol, Transport};
//!
//! /// The server's side: echoes, and answers the client's EOF with its own.
//! struct Echo(Option<Transport>);
//! impl Protocol for Echo {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         self.0 = Some(transport.clone());
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.0.as_ref().unwrap().write(data).unwrap();
//!     }
//!     fn eof_received(&mut self) -> bool {
//!         self.0.as_ref().unwrap().write_eof().unwrap();
//!         false
//!     }
//! }
//!
//! /// The client's side: sends, half-closes, and keeps what comes back.
//! struct Client(Rc<RefCell<Vec<u8>>>);
//! impl Protocol for Client {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"ping").unwrap();
//!         transport.write_eof().unwrap();
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.0.borrow_mut().extend_from_slice(data);
//!     }
//! }
//!
//! let event_loop = EventLoop::new();
//! let handle = event_loop.handle();
//! let received = Rc::new(RefCell::new(Vec::new()));
//! let sink = received.clone();
//! event_loop
//!     .run_until_complete(async move {
//!         let server = create_server(&handle, || Echo(None), "127.0.0.1", 0).await?;
//!         let port = server.sockets()[0].as_socket().unwrap().port();
//!         let sink = sink.clone();
//!         let client = create_connection(&handle, move || Client(sink.clone()), "127.0.0.1", port).await?;
//!         while !client.is_closing() {
//!             handle.sleep(0.001).await?;
//!         }
//!         server.close();
//!         server.wait_closed().await?;
//!         Ok::<_, NetError>(())
//!     })
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(&*received.borrow(), b"ping");
//! ```
//!
//! # Logging
//!
//! asyncio's warnings (writes dropped after a connection was lost, past
//! asyncio's threshold of five) go to the [`log`] facade with the target
//! `asyncio` at level warn, as Python's go to the `asyncio` logger: a
//! program sees them by installing a logger (`env_logger`, a `tracing`
//! bridge, ...); without one they cost nothing.
//!
//! # What it is not
//!
//! Not TLS, UDP or pipes yet. Not a resolver: names are resolved with the
//! system's `getaddrinfo` on the loop's executor.
//!
//! Read more: the chapters on
//! [protocols](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/protocols.md),
//! [streams](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/streams.md)
//! and [names](https://github.com/asyncio-rs/asyncio-rs/blob/main/docs/dns.md),
//! and ARCHITECTURE.md for where this crate sits.
#![cfg(unix)]

mod carrier;
mod chunk;
mod connect;
mod dns;
mod error;
mod phase;
mod protocol;
mod server;
mod stream_io;
mod stream_reader;
mod stream_writer;
mod streams;
mod transport;

pub use asyncio_loop::socket2;
pub use carrier::StreamTransport;
pub use chunk::Chunk;
pub use connect::{
    create_connection, create_connection_with, create_unix_connection, ConnectOptions,
};
pub use dns::{getaddrinfo, getnameinfo, AddrInfo, AddrInfoHints};
pub use error::{NetError, NetErrorKind};
pub use protocol::{
    buffered, AnyProtocolBox, Buffered, BufferedProtocol, Protocol, ProtocolFactory,
};
pub use server::{create_server, create_server_with, create_unix_server, Server, ServerOptions};
pub use stream_io::StreamBufReader;
pub use stream_reader::{Lines, StreamReader, DEFAULT_LIMIT};
pub use stream_writer::{StreamWriter, WriterFlow};
pub use streams::{
    callback, open_connection, open_connection_with, open_unix_connection, start_server,
    start_server_with, start_unix_server, ClientConnected, PlainCallback, StreamOptions,
};
pub use transport::Transport;
