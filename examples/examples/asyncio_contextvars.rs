//! Context variables (`contextvars`): a value per task, inherited from the
//! task that created it. Each task runs in a copy of its creator's context,
//! so a request id set by a handler is seen by everything it starts (tasks,
//! callbacks), and never by the other handlers running at the same time.
// end of header

use asyncio::{contextvars::ContextVar, gather, get_running_loop, EventLoop, LoopError};

static REQUEST_ID: ContextVar<u32> = ContextVar::new("request_id");

fn log(message: &str) {
    match REQUEST_ID.get() {
        Some(id) => println!("[request {id}] {message}"),
        None => println!("[no request] {message}"),
    }
}

async fn query_database() -> Result<(), LoopError> {
    get_running_loop()?.sleep(0.01).await?;
    log("database answered");
    Ok(())
}

async fn handle_request(id: u32) -> Result<(), LoopError> {
    REQUEST_ID.set(id);
    log("handling");
    let event_loop = get_running_loop()?;
    // A task and a callback started here inherit the request id.
    let query = event_loop.create_task(query_database())?;
    event_loop.call_soon(|| log("callback scheduled by the handler"))?;
    query.await?;
    log("done");
    Ok(())
}

fn main() -> Result<(), LoopError> {
    let event_loop = EventLoop::new();
    event_loop.run_until_complete(async {
        gather([handle_request(1), handle_request(2)]).await?;
        log("all requests handled");
        Ok::<_, LoopError>(())
    })??;
    Ok(())
}
