//! W1 dispatch, W2 ping-pong and W3 fan-out, for asyncio-rs, the floor and
//! the Rust peers, each at N, 10N and 100N. Results land in
//! `target/criterion/<workload>/<contender>/<size>/`; `cargo xtask bench`
//! turns them into `docs/benchmarks.md`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::VecDeque;
use std::time::Duration;

use asyncio_benches::{
    check_work, peers, w1_asyncio, w1_expected, w1_floor, w2_asyncio, w3_asyncio, w3_expected,
    SIZES,
};
use asyncio_loop::EventLoop;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn w1_dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("w1_dispatch");
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        let event_loop = EventLoop::new();
        group.bench_with_input(BenchmarkId::new("asyncio-rs", n), &n, |b, &n| {
            b.iter(|| check_work("w1", w1_asyncio(&event_loop, n), w1_expected(n)))
        });
        let mut queue = VecDeque::new();
        group.bench_with_input(BenchmarkId::new("floor", n), &n, |b, &n| {
            b.iter(|| check_work("w1", w1_floor(&mut queue, n), w1_expected(n)))
        });
        let executor = async_executor::LocalExecutor::new();
        group.bench_with_input(BenchmarkId::new("async-executor", n), &n, |b, &n| {
            b.iter(|| check_work("w1", peers::w1_async_executor(&executor, n), w1_expected(n)))
        });
        let mut pool = futures::executor::LocalPool::new();
        group.bench_with_input(BenchmarkId::new("LocalPool", n), &n, |b, &n| {
            b.iter(|| check_work("w1", peers::w1_local_pool(&mut pool, n), w1_expected(n)))
        });
        let runtime = tokio_runtime();
        group.bench_with_input(BenchmarkId::new("tokio", n), &n, |b, &n| {
            b.iter(|| check_work("w1", peers::w1_tokio(&runtime, n), w1_expected(n)))
        });
    }
    group.finish();
}

fn w2_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("w2_ping_pong");
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        let event_loop = EventLoop::new();
        group.bench_with_input(BenchmarkId::new("asyncio-rs", n), &n, |b, &n| {
            b.iter(|| check_work("w2", w2_asyncio(&event_loop, n), w1_expected(n)))
        });
        let executor = async_executor::LocalExecutor::new();
        group.bench_with_input(BenchmarkId::new("async-executor", n), &n, |b, &n| {
            b.iter(|| check_work("w2", peers::w2_async_executor(&executor, n), w1_expected(n)))
        });
        let mut pool = futures::executor::LocalPool::new();
        group.bench_with_input(BenchmarkId::new("LocalPool", n), &n, |b, &n| {
            b.iter(|| check_work("w2", peers::w2_local_pool(&mut pool, n), w1_expected(n)))
        });
        let runtime = tokio_runtime();
        group.bench_with_input(BenchmarkId::new("tokio", n), &n, |b, &n| {
            b.iter(|| check_work("w2", peers::w2_tokio(&runtime, n), w1_expected(n)))
        });
    }
    group.finish();
}

fn w3_fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("w3_fan_out");
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        let event_loop = EventLoop::new();
        group.bench_with_input(BenchmarkId::new("asyncio-rs", n), &n, |b, &n| {
            b.iter(|| check_work("w3", w3_asyncio(&event_loop, n), w3_expected(n)))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // A shared 2-core machine: short, repeated samples; medians are compared.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = workloads;
    config = config();
    targets = w1_dispatch, w2_ping_pong, w3_fan_out
}
criterion_main!(workloads);
