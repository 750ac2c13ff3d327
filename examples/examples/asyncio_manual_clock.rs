//! Testing with a manual clock: a loop on a `ManualClock` never waits for a
//! deadline, it jumps to it, so a test of timeouts and retries that spans
//! minutes of loop time runs at once and the same way every time. The clock
//! waits in real time only for work that runs in real time (an executor
//! job), and `advance` moves it by hand.
// end of header

use std::time::Instant;

use asyncio::{wait_for, EventLoop, LoopError, LoopHandle, ManualClock};

/// Retries `attempt` with exponential backoff, as a client would.
async fn with_retries(event_loop: LoopHandle) -> Result<u32, LoopError> {
    let mut delay = 1.0;
    for attempt in 1..=5 {
        if attempt == 4 {
            println!("t={:>4}: attempt {attempt} succeeds", event_loop.time());
            return Ok(attempt);
        }
        println!(
            "t={:>4}: attempt {attempt} fails, retrying in {delay} s",
            event_loop.time()
        );
        event_loop.sleep(delay).await?;
        delay *= 2.0;
    }
    unreachable!("the fourth attempt succeeds")
}

fn main() -> Result<(), LoopError> {
    let started = Instant::now();
    let clock = ManualClock::new();
    let event_loop = EventLoop::with_clock(&clock);
    let handle = event_loop.handle();

    let attempts = event_loop.run_until_complete(with_retries(handle.clone()))??;
    println!(
        "succeeded after {attempts} attempts at t={}",
        event_loop.time()
    );

    let slow = handle.clone();
    let timed_out = event_loop
        .run_until_complete(async move { wait_for(slow.sleep(3600.0), 30.0).await })?
        .unwrap_err();
    println!("wait_for: {timed_out} at t={}", event_loop.time());

    clock.advance(100.0);
    println!("after advance(100): t={}", event_loop.time());
    let real = if started.elapsed().as_secs() < 1 {
        "under a second"
    } else {
        "a second or more"
    };
    println!("real time taken: {real}");
    Ok(())
}
