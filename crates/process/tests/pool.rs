//! `ProcessPool` with real worker processes: copies of this test binary,
//! each running only `pool_worker` (below), which serves jobs when the
//! pool starts it. Every run is bounded by a stop timer.
#![cfg(all(unix, not(miri)))]

mod common;

use std::time::{Duration, Instant};

use asyncio_loop::LoopHandle;
use asyncio_process::{serve_if_worker, ProcessErrorKind, ProcessPool, Registry};

fn square(n: u64) -> u64 {
    n * n
}

fn slow(milliseconds: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(milliseconds));
    milliseconds
}

fn touch(path: String) -> bool {
    std::fs::write(path, b"ran").is_ok()
}

fn die(code: i32) -> i32 {
    std::process::exit(code)
}

fn fail(message: String) -> String {
    panic!("{message}")
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register("square", square)
        .register("slow", slow)
        .register("touch", touch)
        .register("die", die)
        .register("fail", fail);
    registry
}

/// In a worker (the pool sets its variable), serves jobs and exits; in the
/// test run itself, returns at once.
#[test]
fn pool_worker() {
    serve_if_worker(&registry());
}

fn pool(handle: &LoopHandle, workers: usize) -> ProcessPool {
    ProcessPool::with_command(
        handle,
        workers,
        std::env::current_exe().unwrap(),
        ["--exact", "pool_worker", "--nocapture", "--test-threads=1"],
    )
}

/// A bounded run (see `common::run_for`).
fn run<T: 'static>(
    main: impl FnOnce(LoopHandle) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>,
) -> T {
    common::run_for(60.0, main)
}

fn gone(pid: u32) -> bool {
    !common::exists(pid)
}

#[test]
fn jobs_run_in_three_workers_started_at_the_first_submit() {
    let (squares, pids) = run(|handle| {
        Box::pin(async move {
            let pool = pool(&handle, 3);
            assert!(pool.pids().is_empty());
            let jobs: Vec<_> = (0..6u64)
                .map(|n| {
                    let pool = pool.clone();
                    handle
                        .create_task(async move { pool.submit::<u64, u64>("square", &n).await })
                        .unwrap()
                })
                .collect();
            let mut squares = Vec::new();
            for job in jobs {
                squares.push(job.await.unwrap());
            }
            let pids = pool.pids();
            pool.shutdown().await.unwrap();
            (squares, pids)
        })
    });
    assert_eq!(squares, [0, 1, 4, 9, 16, 25]);
    assert_eq!(pids.len(), 3);
    assert!(!pids.contains(&std::process::id()));
    // Joined: no worker is left.
    assert!(pids.iter().all(|&pid| gone(pid)), "{pids:?}");
}

#[test]
fn a_worker_that_dies_fails_its_job_and_is_replaced() {
    let (died, after, workers) = run(|handle| {
        Box::pin(async move {
            let pool = pool(&handle, 2);
            let died = pool.submit::<i32, i32>("die", &3).await.unwrap_err();
            let after = pool.submit::<u64, u64>("square", &12).await.unwrap();
            // Replaced: two workers again.
            let deadline = Instant::now() + Duration::from_secs(10);
            while pool.pids().len() < 2 && Instant::now() < deadline {
                handle.sleep(0.01).await.unwrap();
            }
            let workers = pool.pids().len();
            pool.shutdown().await.unwrap();
            (died, after, workers)
        })
    });
    assert_eq!(died.kind(), ProcessErrorKind::WorkerDied);
    assert_eq!(after, 144);
    assert_eq!(workers, 2);
}

#[test]
fn a_panicking_or_unknown_function_is_a_job_error_and_the_worker_lives() {
    let (panicked, unknown, pids_before, pids_after, bad) = run(|handle| {
        Box::pin(async move {
            let pool = pool(&handle, 1);
            let _ = pool.submit::<u64, u64>("square", &1).await.unwrap();
            let pids_before = pool.pids();
            let panicked = pool
                .submit::<String, String>("fail", &"on purpose".to_owned())
                .await
                .unwrap_err();
            let unknown = pool.submit::<u64, u64>("nothing", &1).await.unwrap_err();
            let bad = pool
                .submit::<&str, u64>("square", &"not a number")
                .await
                .unwrap_err();
            let pids_after = pool.pids();
            pool.shutdown().await.unwrap();
            (panicked, unknown, pids_before, pids_after, bad)
        })
    });
    assert_eq!(panicked.kind(), ProcessErrorKind::Job);
    assert_eq!(panicked.to_string(), "fail panicked: on purpose");
    assert_eq!(unknown.kind(), ProcessErrorKind::Job);
    assert!(unknown.to_string().contains("\"nothing\""), "{unknown}");
    assert_eq!(bad.kind(), ProcessErrorKind::Job);
    assert_eq!(pids_before, pids_after);
}

#[test]
fn a_job_cancelled_before_a_worker_takes_it_never_runs() {
    let marker = std::env::temp_dir().join(format!("asyncio-pool-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let path = marker.to_string_lossy().into_owned();
    run(move |handle| {
        Box::pin(async move {
            let pool = pool(&handle, 1);
            // Start the worker and keep it busy.
            let busy = {
                let pool = pool.clone();
                handle
                    .create_task(async move { pool.submit::<u64, u64>("slow", &300).await })
                    .unwrap()
            };
            let queued = {
                let pool = pool.clone();
                handle
                    .create_task(async move { pool.submit::<String, bool>("touch", &path).await })
                    .unwrap()
            };
            handle.sleep(0.05).await.unwrap();
            queued.cancel();
            assert_eq!(busy.await.unwrap(), 300);
            pool.shutdown().await.unwrap();
        })
    });
    assert!(!marker.exists(), "the cancelled job ran");
}

#[test]
fn submits_after_shutdown_fail_and_a_dropped_pool_leaves_no_worker() {
    let (error, pids) = run(|handle| {
        Box::pin(async move {
            let pool = pool(&handle, 2);
            pool.submit::<u64, u64>("square", &2).await.unwrap();
            let pids = pool.pids();
            drop(pool);
            let other = self::pool(&handle, 1);
            other.shutdown().await.unwrap();
            let error = other.submit::<u64, u64>("square", &2).await.unwrap_err();
            // The dropped pool's workers see their stdin close, or are
            // killed with their `Process`.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !pids.iter().all(|&pid| gone(pid)) && Instant::now() < deadline {
                handle.sleep(0.02).await.unwrap();
            }
            (error, pids)
        })
    });
    assert_eq!(error.kind(), ProcessErrorKind::InvalidArgument);
    assert!(pids.iter().all(|&pid| gone(pid)), "{pids:?}");
}

#[test]
fn a_pool_whose_workers_cannot_start_fails_its_jobs() {
    let error = run(|handle| {
        Box::pin(async move {
            let pool =
                ProcessPool::with_command(&handle, 2, "/no/such/worker", Vec::<String>::new());
            pool.submit::<u64, u64>("square", &3).await.unwrap_err()
        })
    });
    assert_eq!(
        error.kind(),
        ProcessErrorKind::Spawn(std::io::ErrorKind::NotFound)
    );
}
