//! A lock shared by two coroutines: the port of `asyncio_lock.py`.
//!
//! `main` holds the lock while the coroutines start, so both wait for it; a
//! callback releases it after 0.1 s, and the coroutines take it in the
//! order they began to wait. `coro1` holds it for a block, through its
//! guard (`async with lock:`); `coro2` uses the explicit acquire and
//! release pair.
// end of header

use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use asyncio::{wait, EventLoop, Lock, LoopHandle};

type Outcome = Result<(), Box<dyn Error + Send + Sync>>;
type Coroutine = Pin<Box<dyn Future<Output = Outcome>>>;

fn unlock(lock: &Lock) {
    println!("callback releasing lock");
    if let Err(error) = lock.release() {
        eprintln!("cannot release: {error}");
    }
}

async fn coro1(lock: Lock) -> Outcome {
    println!("coro1 waiting for the lock");
    {
        let _guard = lock.acquire().await?;
        println!("coro1 acquired lock");
    }
    println!("coro1 released lock");
    Ok(())
}

async fn coro2(lock: Lock) -> Outcome {
    println!("coro2 waiting for the lock");
    lock.acquire().await?.detach();
    println!("coro2 acquired lock");
    // asyncio's `finally:` block: report, then release.
    println!("coro2 released lock");
    lock.release()?;
    Ok(())
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    // Create and acquire a shared lock.
    let lock = Lock::new();
    println!("acquiring the lock before starting coroutines");
    lock.acquire().await?.detach();
    let state = if lock.locked() { "True" } else { "False" };
    println!("lock acquired: {state}");

    // Schedule a callback to unlock the lock.
    let releaser = lock.clone();
    event_loop.call_later(0.1, move || unlock(&releaser))?;

    // Run the coroutines that want to use the lock.
    println!("waiting for coroutines");
    let coroutines: [Coroutine; 2] = [Box::pin(coro1(lock.clone())), Box::pin(coro2(lock))];
    wait(coroutines).await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
