//! Consumers notified through a condition: the port of
//! `asyncio_condition.py`.
//!
//! Five consumers wait on the condition; the manipulator notifies one,
//! then two, then all the rest, each time holding the condition's lock.
//! A notified consumer returns from its wait once it holds the lock again,
//! so it runs after the manipulator releases it.
// end of header

use std::error::Error;

use asyncio::{wait, Condition, EventLoop, FutureError, LoopHandle};

async fn consumer(condition: Condition, n: u32) -> Result<(), FutureError> {
    {
        let guard = condition.acquire().await?;
        println!("consumer {n} is waiting");
        let _guard = guard.wait().await?;
        println!("consumer {n} triggered");
    }
    println!("ending consumer {n}");
    Ok(())
}

async fn manipulate_condition(
    event_loop: LoopHandle,
    condition: Condition,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    println!("starting manipulate_condition");

    // Pause to let the consumers start.
    event_loop.sleep(0.1).await?;

    for i in 1..3 {
        {
            let guard = condition.acquire().await?;
            println!("notifying {i} consumers");
            guard.notify(i);
        }
        event_loop.sleep(0.1).await?;
    }

    {
        let guard = condition.acquire().await?;
        println!("notifying remaining consumers");
        guard.notify_all();
    }

    println!("ending manipulate_condition");
    Ok(())
}

async fn main_coroutine(event_loop: LoopHandle) -> Result<(), Box<dyn Error>> {
    // Create a condition.
    let condition = Condition::new();

    // Set up tasks watching the condition.
    let consumers: Vec<_> = (0..5).map(|i| consumer(condition.clone(), i)).collect();

    // Schedule a task to manipulate the condition variable.
    event_loop.create_task(manipulate_condition(event_loop.clone(), condition))?;

    // Wait for the consumers to be done.
    wait(consumers).await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle()));
    event_loop.close()?;
    outcome?
}
