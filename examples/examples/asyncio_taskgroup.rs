//! `asyncio.TaskGroup` (3.11): tasks started in a group are awaited when
//! the group's body ends; the first one to fail cancels the others and the
//! body, and the group fails with every failure (asyncio's
//! `ExceptionGroup`), which `exceptions()` lists.
// end of header

use asyncio::{EventLoop, Exception, LoopError, LoopHandle, TaskGroup};

async fn worker(
    event_loop: LoopHandle,
    name: &'static str,
    seconds: f64,
) -> Result<&'static str, LoopError> {
    if let Err(cancelled) = event_loop.sleep(seconds).await {
        println!("{name}: cancelled by the group");
        return Err(cancelled.into());
    }
    println!("{name}: done after {seconds} s");
    Ok(name)
}

async fn failing(event_loop: LoopHandle, seconds: f64) -> Result<(), Exception> {
    event_loop.sleep(seconds).await.map_err(Exception::new)?;
    println!("failing: giving up after {seconds} s");
    Err(Exception::msg("could not connect"))
}

fn main() -> Result<(), LoopError> {
    let event_loop = EventLoop::with_clock(&asyncio::ManualClock::new());
    let handle = event_loop.handle();

    // Every task finishes: the group waits for all of them.
    let h = handle.clone();
    let (a, b) = event_loop.run_until_complete(TaskGroup::run(|group| async move {
        let a = group.create_task(worker(h.clone(), "a", 0.2))?;
        let b = group.create_task(worker(h.clone(), "b", 0.1))?;
        println!("body: both started");
        Ok::<_, LoopError>((a, b))
    }))??;
    println!("group ended: a={:?} b={:?}\n", a.result()?, b.result()?);

    // One fails: the others and the body are cancelled.
    let h = handle.clone();
    let error = event_loop
        .run_until_complete(TaskGroup::run(|group| async move {
            group.create_task(worker(h.clone(), "slow", 5.0))?;
            group.create_task(failing(h.clone(), 0.5))?;
            if let Err(cancelled) = h.sleep(10.0).await {
                println!("body: cancelled by the group");
                return Err(cancelled.into());
            }
            Ok::<_, LoopError>(())
        }))?
        .unwrap_err();
    println!("group failed: {error}");
    for exception in error.exceptions() {
        println!("  - {exception}");
    }
    println!("the clock reads {} s", event_loop.time());
    Ok(())
}
