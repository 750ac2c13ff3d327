//! A subprocess with streams: the port of `asyncio_subprocess_coroutine.py`.
//!
//! `create_subprocess_exec` runs `df -hl` with its stdout piped; the
//! coroutine reads it line by line from the process's `StreamReader` until
//! the empty read at its end, then waits for the exit and parses what it
//! read.
// end of header

use std::error::Error;

use asyncio::subprocess::Stdio;
use asyncio::{create_subprocess_exec, EventLoop, LoopHandle, ProcessOptions, Stdios};
use asyncio_examples::{bytes_repr, parse_df, print_free_space, DfRow};

async fn run_df(event_loop: LoopHandle) -> Result<(i32, Vec<DfRow>), Box<dyn Error>> {
    println!("in run_df");
    let options = ProcessOptions::new().stdios(Stdios::inherit().stdout(Stdio::Pipe));
    println!("launching process");
    let process = create_subprocess_exec(&event_loop, "df", &["-hl"], options).await?;
    println!("process started {}", process.pid());
    let mut results = Vec::new();
    if let Some(stdout) = &process.stdout {
        loop {
            let line = stdout.readline().await?;
            println!("read {}", bytes_repr(&line));
            if line.is_empty() {
                println!("no more output from command");
                break;
            }
            results.extend_from_slice(&line);
        }
    }
    println!("waiting for process to complete");
    let return_code = process.wait().await?;
    println!("return code {return_code}");
    let parsed = if return_code == 0 {
        parse_df(&String::from_utf8_lossy(&results))
    } else {
        Vec::new()
    };
    Ok((return_code, parsed))
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(run_df(event_loop.handle()));
    event_loop.close()?;
    let (return_code, results) = outcome??;
    print_free_space(return_code, &results);
    Ok(())
}
