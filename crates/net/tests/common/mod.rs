//! Helpers shared by the network tests: a bounded loop run, child
//! processes killed by pid, Python peers.

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::process::{Command, Stdio};

use asyncio_loop::{wait_for, EventLoop, LoopHandle};
use asyncio_net::{NetError, Server};

/// A boxed body for [`run`].
pub type Body<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, NetError>>>>;

/// Runs `body` on a fresh loop, bounded by `seconds`.
pub fn run<T: 'static>(seconds: f64, body: impl FnOnce(LoopHandle) -> Body<T>) -> T {
    let event_loop = EventLoop::new();
    let handle = event_loop.handle();
    event_loop
        .run_until_complete(wait_for(body(handle), seconds))
        .expect("the loop ran")
        .expect("the body finished in time and succeeded")
}

/// The port of a server's first socket.
pub fn port_of(server: &Server) -> u16 {
    server.sockets()[0].as_socket().unwrap().port()
}

/// Waits (on the loop) until `done` holds, polling every millisecond.
pub async fn until(handle: &LoopHandle, done: impl Fn() -> bool) -> Result<(), NetError> {
    while !done() {
        handle.sleep(0.001).await?;
    }
    Ok(())
}

/// A child process killed (by pid) when the test ends.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 -c script args...`, its stdout piped.
pub fn python(script: &str, args: &[String]) -> Child {
    Child(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs"),
    )
}

/// Everything the child prints, once it exited successfully.
pub fn output_of(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(child.0.wait().unwrap().success());
    text
}

/// A blocking peer on 127.0.0.1 (a port from the OS) that accepts one
/// connection on a thread and runs `serve` with it: the port and the
/// thread.
pub fn blocking_peer<T: Send + 'static>(
    serve: impl FnOnce(std::net::TcpStream) -> T + Send + 'static,
) -> (u16, std::thread::JoinHandle<T>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        serve(stream)
    });
    (port, peer)
}

/// Runs `python3 -c script args...` on the loop's executor (the loop goes
/// on meanwhile) and returns what it printed.
pub async fn python_output(
    handle: &LoopHandle,
    script: &str,
    args: &[String],
) -> Result<String, NetError> {
    let mut child = python(script, args);
    Ok(handle
        .run_in_executor(move || output_of(&mut child))?
        .wait()
        .await?)
}

/// A blocking peer that writes `data` to the one connection it accepts
/// (with a 20 s write timeout), then closes it.
pub fn sending_peer(data: Vec<u8>) -> (u16, std::thread::JoinHandle<()>) {
    blocking_peer(move |mut stream| {
        stream
            .set_write_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        std::io::Write::write_all(&mut stream, &data).unwrap();
    })
}
