//! The loops of this thread, for wakers and `get_running_loop`.
//!
//! A waker is `Send + Sync` and so cannot hold the loop (`Rc`); it holds the
//! loop's id, and this thread-local table turns the id back into the loop when
//! the wake happens on the loop's own thread.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Shared;

thread_local! {
    /// Every live loop of this thread, by id. Usually one entry.
    static LOOPS: RefCell<Vec<(u64, Weak<Shared>)>> = const { RefCell::new(Vec::new()) };
    /// The id of the loop running on this thread, or 0.
    static RUNNING: Cell<u64> = const { Cell::new(0) };
}

/// A process-wide unique loop id (never 0).
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn register(id: u64, shared: Weak<Shared>) {
    LOOPS.with(|loops| loops.borrow_mut().push((id, shared)));
}

pub(crate) fn deregister(id: u64) {
    // `try_with`: a loop dropped during thread teardown has nothing to undo.
    let _ = LOOPS.try_with(|loops| loops.borrow_mut().retain(|(known, _)| *known != id));
}

/// The live loop `id` if it belongs to this thread.
pub(crate) fn find(id: u64) -> Option<Rc<Shared>> {
    LOOPS
        .try_with(|loops| {
            let loops = loops.borrow();
            loops
                .iter()
                .find(|(known, _)| *known == id)
                .and_then(|(_, shared)| shared.upgrade())
        })
        .ok()
        .flatten()
}

/// The id of the loop running on this thread, or 0.
pub(crate) fn running() -> u64 {
    RUNNING.with(Cell::get)
}

pub(crate) fn set_running(id: u64) {
    RUNNING.with(|running| running.set(id));
}
