//! Producer and consumers around a bounded queue: the port of
//! `asyncio_queue.py`.
//!
//! The queue holds at most as many items as there are consumers. A `put`
//! or `get` that need not wait returns without suspending; a `get` that
//! takes an item wakes the oldest blocked `put`, and a woken consumer
//! takes its item only when it runs, so the interleaving is fixed. The
//! stop marker, Python's `None`, is `None` here too: items are `Option`s.
// end of header

use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use asyncio::{wait, EventLoop, LoopHandle, Queue};

type Coroutine = Pin<Box<dyn Future<Output = Result<(), Box<dyn Error + Send + Sync>>>>>;

/// An item as Python prints it: the number, or `None`.
fn show(item: Option<u32>) -> String {
    item.map_or_else(|| "None".to_owned(), |i| i.to_string())
}

async fn consumer(
    event_loop: LoopHandle,
    n: u32,
    q: Queue<Option<u32>>,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    println!("consumer {n}: starting");
    loop {
        println!("consumer {n}: waiting for item");
        let item = q.get().await?;
        println!("consumer {n}: has item {}", show(item));
        let Some(item) = item else {
            // None is the signal to stop.
            q.task_done()?;
            break;
        };
        event_loop.sleep(0.01 * f64::from(item)).await?;
        q.task_done()?;
    }
    println!("consumer {n}: ending");
    Ok(())
}

async fn producer(
    q: Queue<Option<u32>>,
    num_workers: u32,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    println!("producer: starting");
    // Add some numbers to the queue to simulate jobs.
    for i in 0..num_workers * 3 {
        q.put(Some(i))
            .await
            .map_err(|error| error.error().clone())?;
        println!("producer: added task {i} to the queue");
    }
    // Add None entries in the queue to signal the consumers to exit.
    println!("producer: adding stop signals to the queue");
    for _ in 0..num_workers {
        q.put(None).await?;
    }
    println!("producer: waiting for queue to empty");
    q.join().await?;
    println!("producer: ending");
    Ok(())
}

async fn main_coroutine(event_loop: LoopHandle, num_consumers: u32) -> Result<(), Box<dyn Error>> {
    let q = Queue::with_maxsize(num_consumers as usize);

    // Schedule the consumer tasks.
    let mut tasks = Vec::new();
    for i in 0..num_consumers {
        let coroutine: Coroutine = Box::pin(consumer(event_loop.clone(), i, q.clone()));
        tasks.push(event_loop.create_task(coroutine)?);
    }

    // Schedule the producer task.
    let coroutine: Coroutine = Box::pin(producer(q, num_consumers));
    tasks.push(event_loop.create_task(coroutine)?);

    // Wait for all of the coroutines to finish.
    wait(tasks).await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main_coroutine(event_loop.handle(), 2));
    event_loop.close()?;
    outcome?
}
