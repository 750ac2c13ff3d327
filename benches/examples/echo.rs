//! An echo server on the `sock_*` coroutines and a closed-loop client, for
//! measuring syscalls and CPU per request (`docs/benchmarks.md`, "Echo").
//! Loopback only, on a port the OS picks; every loop is bounded.
//!
//! ```text
//! echo server CONNECTIONS            prints its port, serves CONNECTIONS
//!                                    clients until each closes, then exits
//! echo client PORT CONNECTIONS REQUESTS SIZE
//!                                    CONNECTIONS threads, each REQUESTS
//!                                    round trips of SIZE bytes; prints the
//!                                    requests per second
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use asyncio_loop::{wait_for, EventLoop, Registered};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> usize { args[i].parse().expect("a number") };
    match args.first().map(String::as_str) {
        Some("server") => server(number(1)),
        Some("client") => client(number(1) as u16, number(2), number(3), number(4)),
        _ => {
            eprintln!("usage: echo server CONNECTIONS | echo client PORT CONNECTIONS REQUESTS SIZE")
        }
    }
}

fn server(connections: usize) {
    let event_loop = EventLoop::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    let listener = Registered::new(&event_loop, listener).unwrap();
    let handle = event_loop.handle();
    let served = event_loop.run_until_complete(wait_for(
        async move {
            let mut tasks = Vec::new();
            for _ in 0..connections {
                let (connection, _) = handle.sock_accept(&listener).await?;
                connection.get_ref().set_tcp_nodelay(true).ok();
                let handle2 = handle.clone();
                tasks.push(handle.create_task(async move {
                    let mut buffer = vec![0; 256 * 1024];
                    let mut requests = 0usize;
                    loop {
                        let n = handle2.sock_recv_into(&connection, &mut buffer).await?;
                        if n == 0 {
                            return Ok::<_, std::io::Error>(requests);
                        }
                        handle2.sock_sendall(&connection, &buffer[..n]).await?;
                        requests += 1;
                    }
                })?);
            }
            let mut total = 0usize;
            for task in tasks {
                total += task.await?;
            }
            Ok::<_, BoxError>(total)
        },
        600.0,
    ));
    eprintln!(
        "served {:?} reads",
        served.map(|r| r.map_err(|e| e.to_string()))
    );
}

fn client(port: u16, connections: usize, requests: usize, size: usize) {
    let start = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_nodelay(true).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                // One line: the line servers read up to the newline.
                let mut message = vec![b'x'; size];
                message[size - 1] = b'\n';
                let mut reply = vec![0; size];
                for _ in 0..requests {
                    stream.write_all(&message).unwrap();
                    stream.read_exact(&mut reply).unwrap();
                    assert_eq!(reply, message);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{:.0} requests/s",
        (connections * requests) as f64 / seconds
    );
}
