//! An event that two coroutines wait for: the port of `asyncio_event.py`.
//!
//! A callback sets the event after 0.1 s, which wakes both waiters at
//! once, in the order they began to wait.
// end of header

use std::error::Error;

use asyncio::{wait, Event, EventLoop, FutureError, LoopHandle};

fn set_event(event: &Event) {
    println!("setting event in callback");
    event.set();
}

/// `coro1` and `coro2` of the original, which differ only in their name.
async fn coro(name: &str, event: Event) -> Result<(), FutureError> {
    println!("{name} waiting for event");
    event.wait().await?;
    println!("{name} triggered");
    Ok(())
}

fn python_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    // Create a shared event.
    let event = Event::new();
    println!("event start state: {}", python_bool(event.is_set()));

    let setter = event.clone();
    event_loop.call_later(0.1, move || set_event(&setter))?;

    wait([coro("coro1", event.clone()), coro("coro2", event.clone())]).await?;
    println!("event end state: {}", python_bool(event.is_set()));
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
