//! Feeding a subprocess: the port of
//! `asyncio_subprocess_coroutine_write.py`.
//!
//! `tr` turns its stdin to capitals; `communicate` writes the message to
//! the process's stdin, closes it and collects all of stdout, then the
//! coroutine waits for the exit.
// end of header

use std::error::Error;

use asyncio::subprocess::Stdio;
use asyncio::{create_subprocess_exec, EventLoop, LoopHandle, ProcessOptions, Stdios};
use asyncio_examples::str_repr;

const MESSAGE: &str = "
This message will be converted
to all caps.
";

async fn to_upper(event_loop: LoopHandle, input: &str) -> Result<(i32, String), Box<dyn Error>> {
    println!("in to_upper");
    let options =
        ProcessOptions::new().stdios(Stdios::inherit().stdin(Stdio::Pipe).stdout(Stdio::Pipe));
    println!("launching process");
    let process =
        create_subprocess_exec(&event_loop, "tr", &["[:lower:]", "[:upper:]"], options).await?;
    println!("pid {}", process.pid());
    println!("communicating with process");
    let (stdout, _) = process.communicate(Some(input.as_bytes())).await?;
    println!("waiting for process to complete");
    let return_code = process.wait().await?;
    println!("return code {return_code}");
    let results = match (return_code, stdout) {
        (0, Some(stdout)) => String::from_utf8(stdout)?,
        _ => String::new(),
    };
    Ok((return_code, results))
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(to_upper(event_loop.handle(), MESSAGE));
    event_loop.close()?;
    let (return_code, results) = outcome??;
    if return_code != 0 {
        println!("error exit {return_code}");
    } else {
        println!("Original: {}", str_repr(MESSAGE));
        println!("Changed : {}", str_repr(&results));
    }
    Ok(())
}
