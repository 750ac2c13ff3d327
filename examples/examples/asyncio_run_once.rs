//! Embedding the loop in a host program: the host keeps its own loop (a
//! game's frames, a GUI's events) and gives the event loop one iteration
//! per turn with `run_once(Some(Duration::ZERO))`, which runs what is
//! ready and never blocks. Here the host moves a `ManualClock` by one
//! 16 ms frame per turn, so the output is the same on every run; with the
//! real clock the host does nothing more than call `run_once`.
// end of header

use std::time::Duration;

use asyncio::{EventLoop, LoopError, ManualClock};

fn main() -> Result<(), LoopError> {
    let clock = ManualClock::new();
    let event_loop = EventLoop::with_clock(&clock);
    let handle = event_loop.handle();
    let animation = event_loop.create_task(async move {
        for step in 1..=3 {
            handle.sleep(0.030).await?;
            println!("  task: step {step} at t={:.3}", handle.time());
        }
        Ok::<_, LoopError>("finished")
    })?;
    let mut frame = 0;
    while !animation.done() {
        println!("host: frame {frame}");
        // Runs what is ready now; returns at once.
        event_loop.run_once(Some(Duration::ZERO))?;
        clock.advance(0.016);
        frame += 1;
    }
    println!(
        "host: the task {} after {frame} frames",
        animation.result()?
    );
    Ok(())
}
