//! Running out of file descriptors (its own test binary: it lowers this
//! process's `RLIMIT_NOFILE`). The server reports `socket.accept() out of
//! system resource` to the exception handler, keeps serving the
//! connections it has, and accepts again once descriptors come back
//! (asyncio's one-second retry).
#![cfg(target_os = "linux")]

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use asyncio_loop::{wait_for, EventLoop};
use asyncio_net::{create_server, NetError, Protocol, Transport};

struct Echo(Option<Transport>);

impl Protocol for Echo {
    fn connection_made(&mut self, transport: &Transport) {
        self.0 = Some(transport.clone());
    }
    fn data_received(&mut self, data: &[u8]) {
        self.0.as_ref().unwrap().write(data).unwrap();
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

/// Sets the soft limit of open descriptors; returns the one it had.
fn set_fd_limit(limit: u64) -> u64 {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into `current`, a valid rlimit.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) };
    assert_eq!(got, 0);
    let lowered = libc::rlimit {
        rlim_cur: limit,
        rlim_max: current.rlim_max,
    };
    // SAFETY: setrlimit reads `lowered`, a valid rlimit; the soft limit is
    // below the hard one.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) };
    assert_eq!(set, 0);
    current.rlim_cur
}

fn echo(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
    stream.write_all(text).unwrap();
    let mut reply = vec![0; text.len()];
    stream.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn a_server_out_of_descriptors_keeps_serving_and_accepts_again() {
    let event_loop = EventLoop::new();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    event_loop.set_exception_handler(Some(move |context: &asyncio_core::ExceptionContext| {
        sink.borrow_mut().push(context.message.to_string());
    }));
    let handle = event_loop.handle();
    let outcome = event_loop
        .run_until_complete(wait_for(
            async move {
                let server = create_server(&handle, || Echo(None), "127.0.0.1", 0).await?;
                let port = server.sockets()[0].as_socket().unwrap().port();
                // Warm up (the executor's threads, the read buffer).
                let warm = handle
                    .run_in_executor(move || {
                        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        echo(&mut stream, b"warm")
                    })?
                    .wait()
                    .await?;
                assert_eq!(warm, b"warm");
                handle.sleep(0.05).await?;
                // Five clients connect (the kernel completes them from the
                // backlog while the loop is busy here), with room left for
                // two accepted connections only.
                let original = set_fd_limit(open_fds() + 5 + 2);
                let mut clients: Vec<TcpStream> = (0..5)
                    .map(|_| {
                        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        stream
                    })
                    .collect();
                handle.sleep(0.2).await?;
                let out_of_resources = reports.borrow().len();
                let rest = clients.split_off(2);
                let first = clients.remove(0);
                let first = handle
                    .run_in_executor(move || {
                        let mut first = first;
                        let reply = echo(&mut first, b"still served");
                        (first, reply)
                    })?
                    .wait_take()
                    .await?;
                assert_eq!(first.1, b"still served");
                // Descriptors come back: the limit is raised, and the
                // clients not yet accepted are, after the retry delay.
                set_fd_limit(original);
                let replies = handle
                    .run_in_executor(move || {
                        rest.into_iter()
                            .map(|mut stream| echo(&mut stream, b"accepted later"))
                            .collect::<Vec<_>>()
                    })?
                    .wait_take()
                    .await?;
                server.close();
                Ok::<_, NetError>((out_of_resources, replies))
            },
            30.0,
        ))
        .unwrap()
        .unwrap();
    let (out_of_resources, replies) = outcome;
    assert!(out_of_resources >= 1, "the accept failure was reported");
    assert!(replies.iter().all(|reply| reply == b"accepted later"));
    assert!(!replies.is_empty());
}
