//! The loop and other threads: `to_thread` runs a blocking call on the
//! executor and awaits it; a `Completer` completes a loop future from
//! another thread; `call_soon_threadsafe` queues a callback from another
//! thread; `run_coroutine_threadsafe` runs a coroutine on the loop for
//! another thread, which blocks on (or awaits) its `ConcurrentFuture`.
//! Everything prints from the loop's thread, `main`.
// end of header

use std::error::Error;
use std::thread;

use asyncio::{get_running_loop, to_thread, EventLoop, LoopError, ThreadsafeHandle};

fn thread_name() -> String {
    thread::current().name().unwrap_or("unnamed").to_owned()
}

async fn main_coroutine(remote: ThreadsafeHandle) -> Result<(), Box<dyn Error>> {
    let event_loop = get_running_loop()?;

    let sum = to_thread(|| (1..=100u64).sum::<u64>()).await?;
    println!("to_thread: the sum is {sum}");

    let future = event_loop.create_future::<String>();
    let completer = event_loop.completer(&future)?;
    thread::spawn(move || completer.set_result("set by a thread of its own".to_owned()));
    println!("completer: {}", future.wait().await?);

    let sender = remote.clone();
    let worker = thread::spawn(move || {
        sender
            .call_soon_threadsafe(|| println!("call_soon_threadsafe: runs on {}", thread_name()))
            .map_err(|rejected| rejected.error().clone())?;
        // Blocks this thread (not the loop) until the coroutine ends.
        let coroutine = sender.run_coroutine_threadsafe(|| async {
            get_running_loop()?.sleep(0.01).await?;
            Ok::<_, LoopError>(thread_name())
        })?;
        coroutine.result()
    });
    // Joining blocks too: on an executor thread.
    let ran_on = to_thread(move || worker.join().expect("the worker does not panic")).await??;
    println!("run_coroutine_threadsafe: the coroutine ran on {ran_on}");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let remote = event_loop.threadsafe_handle();
    event_loop.run_until_complete(main_coroutine(remote))??;
    event_loop.close()?;
    Ok(())
}
