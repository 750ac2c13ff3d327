//! The target ratios measured in paired rounds (see `asyncio_benches::paired`):
//! every contender of a workload runs once per round, and each ratio is taken
//! within a round, so load that drifts between criterion's measurements of
//! one contender and the next cancels out.
//!
//! `cargo bench --bench paired` prints one line per target and size:
//! `paired <target> <n> <rounds> <low> <median> <high>`, the quartiles and
//! median of the per-round ratio (`cargo xtask bench` reads them). Under
//! `cargo test --benches` it runs three rounds at a tiny size as a smoke test.

use std::collections::VecDeque;

use asyncio_benches::paired::{ratios, rounds, Summary};
use asyncio_benches::{peers, w1_asyncio, w1_floor, w2_asyncio, w3_asyncio, SIZES};
use asyncio_loop::EventLoop;

/// The Rust peers' executors, one set per workload, as criterion's groups have.
struct Peers {
    executor: async_executor::LocalExecutor<'static>,
    pool: futures::executor::LocalPool,
    runtime: tokio::runtime::Runtime,
}

impl Peers {
    fn new() -> Self {
        Peers {
            executor: async_executor::LocalExecutor::new(),
            pool: futures::executor::LocalPool::new(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime"),
        }
    }
}

/// Prints one target's line; `ratios` holds one ratio per round.
fn report(target: &str, n: usize, ratios: Vec<f64>) {
    let count = ratios.len();
    if let Some(Summary { low, median, high }) = Summary::of(ratios) {
        println!("paired {target} {n} {count} {low:.3} {median:.3} {high:.3}");
    }
}

/// W1 against the floor and the Rust peers, and our W3 against our W1.
fn w1_and_w3(n: usize, warm_up: usize, count: usize) {
    let (ours_loop, w3_loop) = (EventLoop::new(), EventLoop::new());
    let mut queue = VecDeque::new();
    let mut rust = Peers::new();
    let times = rounds(
        &mut [
            &mut || w1_asyncio(&ours_loop, n),
            &mut || w1_floor(&mut queue, n),
            &mut || peers::w1_async_executor(&rust.executor, n),
            &mut || peers::w1_local_pool(&mut rust.pool, n),
            &mut || peers::w1_tokio(&rust.runtime, n),
            &mut || w3_asyncio(&w3_loop, n),
        ],
        warm_up,
        count,
    );
    report("w1_floor", n, ratios(&times, 0, &[1]));
    report("w1_rust_peers", n, ratios(&times, 0, &[2, 3, 4]));
    // W1 and W3 both run `n` callbacks, so per round this is W1 / W3 per callback.
    report("w1_over_w3", n, ratios(&times, 5, &[0]));
}

/// W2 against the Rust peers.
fn w2(n: usize, warm_up: usize, count: usize) {
    let event_loop = EventLoop::new();
    let mut rust = Peers::new();
    let times = rounds(
        &mut [
            &mut || {
                w2_asyncio(&event_loop, n);
            },
            &mut || {
                peers::w2_async_executor(&rust.executor, n);
            },
            &mut || {
                peers::w2_local_pool(&mut rust.pool, n);
            },
            &mut || {
                peers::w2_tokio(&rust.runtime, n);
            },
        ],
        warm_up,
        count,
    );
    report("w2_rust_peers", n, ratios(&times, 0, &[1, 2, 3]));
}

fn main() {
    let full = std::env::args().any(|argument| argument == "--bench");
    let sizes: &[usize] = if full { &SIZES } else { &[100] };
    for &n in sizes {
        // A few seconds per workload and size; never fewer than 60 rounds.
        let count = if full { (3_000_000 / n).max(60) } else { 3 };
        let warm_up = (count / 10).max(1);
        w1_and_w3(n, warm_up, count);
        w2(n, warm_up, count);
    }
}
