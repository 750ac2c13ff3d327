//! What a task costs the allocator, counted: a task nobody waits for is
//! one allocation (its cell), with no result future and no waker of its
//! own (issue 24's one-allocation task; `docs/benchmarks.md`, history,
//! nineteenth session).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use asyncio_loop::EventLoop;

/// Counts the allocations made on each thread, on top of the system
/// allocator (per thread: the test harness allocates on its own threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread being torn down may still allocate.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counter is a thread-local
// `Cell` with a const initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Spawns `n` detached trivial tasks (W4's shape) and runs them; returns
/// how many allocations that made.
fn detached_burst(event_loop: &EventLoop, n: usize, ran: &std::rc::Rc<Cell<usize>>) -> usize {
    let before = allocations();
    for _ in 0..n {
        let ran = std::rc::Rc::clone(ran);
        drop(event_loop.create_task(async move { ran.set(ran.get() + 1) }));
    }
    event_loop.stop();
    event_loop.run_forever().unwrap();
    allocations() - before
}

/// Before, each task also allocated its result future and (beyond the
/// loop's 1,024 spare wakers, which a burst larger than that outruns) its
/// waker: three allocations a task.
#[test]
fn a_detached_task_is_one_allocation() {
    let n = if cfg!(miri) { 50 } else { 3_000 };
    let event_loop = EventLoop::new();
    let ran = std::rc::Rc::new(Cell::new(0));
    // The first burst grows the task table and the ready queue.
    detached_burst(&event_loop, n, &ran);
    let made = detached_burst(&event_loop, n, &ran);
    assert_eq!(ran.get(), 2 * n, "every task ran");
    assert_eq!(made, n, "one allocation per task, nothing else");
}

/// A task that waits is its cell plus its waker (made at its first step,
/// or one a finished task left to the loop's spares): still no result
/// future until something asks for one.
#[test]
fn a_waiting_task_adds_only_its_waker() {
    let n = if cfg!(miri) { 20 } else { 200 };
    let event_loop = EventLoop::new();
    // Each round: `n` tasks wait on a gate, one iteration runs their first
    // steps, then the gate opens and they end.
    let round = || {
        let gate = event_loop.create_future::<()>();
        let before = allocations();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let waiting = gate.clone();
                event_loop
                    .create_task(async move { waiting.wait().await.is_ok() })
                    .unwrap()
            })
            .collect();
        event_loop.stop();
        event_loop.run_forever().unwrap();
        let made = allocations() - before;
        assert!(tasks.iter().all(|task| !task.done()));
        gate.set_result(()).unwrap();
        event_loop.stop();
        event_loop.run_forever().unwrap();
        assert!(tasks.iter().all(|task| matches!(task.result(), Ok(true))));
        made
    };
    // The tasks' vector, the gate's list of wakers and, on a new loop, the
    // task table and the ready queue grow a few times on top.
    let first = round();
    assert!(
        (2 * n..=2 * n + 40).contains(&first),
        "{first} allocations for {n} tasks, each its cell and a new waker"
    );
    let second = round();
    assert!(
        (n..=n + 20).contains(&second),
        "{second} allocations for {n} tasks, each its cell and a spare waker"
    );
}
