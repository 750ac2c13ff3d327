//! `asyncio.run()`: one call that makes a fresh loop, runs the main
//! coroutine to completion, then cancels every task it left behind (and
//! waits for them), shuts the default executor down and closes the loop.
//! What the main coroutine returns comes back; the outer `Result` is the
//! loop's own error (run from inside a running loop, for one).
// end of header

use asyncio::{get_running_loop, LoopError};

/// A task the main coroutine starts and never awaits.
async fn background(name: &'static str) -> Result<(), LoopError> {
    let event_loop = get_running_loop()?;
    println!("{name}: started");
    if let Err(cancelled) = event_loop.sleep(3600.0).await {
        println!("{name}: cancelled at shutdown");
        return Err(cancelled.into());
    }
    println!("{name}: woke up");
    Ok(())
}

async fn main_coroutine() -> Result<u32, LoopError> {
    let event_loop = get_running_loop()?;
    event_loop.create_task(background("left behind"))?;
    let answer = event_loop.run_in_executor(|| 6 * 7)?.wait().await?;
    println!("main: the executor's thread computed {answer}");
    // `run` inside a running loop is refused, as asyncio's is.
    let nested = asyncio::run(async { Ok::<_, LoopError>(0) });
    println!("main: a nested run fails: {}", nested.unwrap_err());
    Ok(answer)
}

fn main() -> Result<(), LoopError> {
    let answer = asyncio::run(main_coroutine())??;
    println!("run returned {answer}");
    Ok(())
}
