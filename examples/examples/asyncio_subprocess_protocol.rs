//! A subprocess with a protocol: the port of `asyncio_subprocess_protocol.py`.
//!
//! `subprocess_command` runs `df -hl` with its stdout piped (stdin and
//! stderr inherited, as the book passes `None` for them). The protocol
//! prints what happens to the child: its start, each chunk it writes, its
//! exit; at the exit it parses the output and completes a future, which
//! `run_df` waits for. The output arrives before the exit notice in every
//! run: the loop delivers what a child wrote before it exited first.
// end of header

use std::error::Error;

use asyncio::{
    subprocess::Stdio, subprocess_command, EventLoop, Future, LoopHandle, Stdios,
    SubprocessProtocol, SubprocessTransport,
};
use asyncio_examples::{parse_df, print_free_space, DfRow};

struct DfProtocol {
    done: Future<(i32, Vec<DfRow>)>,
    buffer: Vec<u8>,
    transport: Option<SubprocessTransport>,
}

const FD_NAMES: [&str; 3] = ["stdin", "stdout", "stderr"];

impl SubprocessProtocol for DfProtocol {
    fn connection_made(&mut self, transport: &SubprocessTransport) {
        println!("process started {}", transport.get_pid());
        self.transport = Some(transport.clone());
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        println!("read {} bytes from {}", data.len(), FD_NAMES[fd as usize]);
        if fd == 1 {
            self.buffer.extend_from_slice(data);
        }
    }

    fn process_exited(&mut self) {
        println!("process exited");
        let return_code = self
            .transport
            .as_ref()
            .and_then(SubprocessTransport::get_returncode)
            .unwrap_or(-1);
        println!("return code {return_code}");
        let results = if return_code == 0 {
            parse_df(&String::from_utf8_lossy(&self.buffer))
        } else {
            Vec::new()
        };
        let _ = self.done.set_result((return_code, results));
    }
}

async fn run_df(event_loop: LoopHandle) -> Result<(i32, Vec<DfRow>), Box<dyn Error>> {
    println!("in run_df");
    let cmd_done = event_loop.create_future();
    let done = cmd_done.clone();
    let factory = move || DfProtocol {
        done,
        buffer: Vec::new(),
        transport: None,
    };
    let mut command = std::process::Command::new("df");
    command.arg("-hl");
    let stdios = Stdios::pipes().stdin(Stdio::Inherit).stderr(Stdio::Inherit);
    println!("launching process");
    let transport = subprocess_command(&event_loop, factory, command, stdios).await?;
    println!("waiting for process to complete");
    let outcome = cmd_done.wait().await;
    // The book's `finally: transport.close()`.
    transport.close();
    Ok(outcome?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(run_df(event_loop.handle()));
    event_loop.close()?;
    let (return_code, results) = outcome??;
    print_free_space(return_code, &results);
    Ok(())
}
