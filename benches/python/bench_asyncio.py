"""The Python peers of benches/benches/workloads.rs: the same workloads on
CPython's asyncio loop and on uvloop.

Prints one JSON record per measurement, as the Rust benches do
(asyncio_benches::report):
{"record": "time", "workload": "w1_dispatch", "contender": "CPython asyncio",
 "n": 1000, "rounds": 9, "median_ns": ..., "low_ns": ..., "high_ns": ...}
where the values are nanoseconds per operation (median, and the lowest and
highest of the repeats). `cargo xtask bench` runs it in a virtual
environment with uvloop installed and folds the results into
docs/benchmarks.md.
"""

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time

FAN_OUT = 10


def touch(value):
    return value


def w1_dispatch(loop, n):
    call_soon = loop.call_soon
    for i in range(n):
        call_soon(touch, i)
    loop.stop()
    loop.run_forever()


def w2_ping_pong(loop, n):
    async def ping_pong():
        total = 0
        for i in range(n):
            future = loop.create_future()
            loop.call_soon(future.set_result, i)
            total += await future
        return total

    return loop.run_until_complete(ping_pong())


def w3_fan_out(loop, n):
    for _ in range(n // FAN_OUT):
        future = loop.create_future()
        for i in range(FAN_OUT):
            future.add_done_callback(touch)
        future.set_result(1)
    loop.stop()
    loop.run_forever()


def w4_spawn(loop, n):
    async def trivial(i):
        touch(i)

    create_task = loop.create_task
    for i in range(n):
        create_task(trivial(i))
    loop.call_soon(loop.stop)
    loop.run_forever()


def w5_gather(loop, n):
    async def one(i):
        future = loop.create_future()
        loop.call_soon(future.set_result, i)
        return await future

    async def main():
        return sum(await asyncio.gather(*(one(i) for i in range(n))))

    return loop.run_until_complete(main())


def queue(maxsize):
    def run(loop, n):
        async def consumer(q):
            total = 0
            for _ in range(n):
                total += await q.get()
            return total

        async def producer(q):
            for i in range(n):
                await q.put(i)

        async def main():
            q = asyncio.Queue(maxsize)
            receiving = asyncio.create_task(consumer(q))
            asyncio.create_task(producer(q))
            return await receiving

        total = loop.run_until_complete(main())
        assert total == n * (n - 1) // 2, "the queue lost items"

    return run


def lock_workload(tasks_of):
    def run(loop, n):
        tasks = tasks_of(n)

        async def main():
            lock = asyncio.Lock()
            total = 0

            async def worker(first):
                nonlocal total
                for i in range(first, n, tasks):
                    async with lock:
                        await asyncio.sleep(0)
                        total += i

            await asyncio.gather(*(worker(first) for first in range(tasks)))
            return total

        total = loop.run_until_complete(main())
        assert total == n * (n - 1) // 2, "a task did not run"

    return run


def timer_deadline(i):
    """The Rust workload's spread of deadlines over one second, in seconds."""
    return ((i * 0x9E3779B97F4A7C15) % (1 << 64)) % 1_000_000 / 1e6


def timers(loop, n):
    # Python loops have no manual clock, and uvloop's clock cannot be patched:
    # the deadlines are the same spread, but a second in the past, so all of
    # them are due at once and the loop runs them in one iteration, in
    # deadline order (CPython's heap; uvloop clamps past delays to zero).
    start = loop.time() - 1.0
    call_at = loop.call_at
    for i in range(n):
        call_at(start + timer_deadline(i), touch, i)
    loop.call_at(start + 1.0, loop.stop)
    loop.run_forever()


def timers_cancel(loop, n):
    call_later = loop.call_later
    handles = [call_later(1.0 + timer_deadline(i), touch, i) for i in range(n)]
    for handle in handles:
        handle.cancel()
    assert all(handle.cancelled() for handle in handles)
    loop.stop()
    loop.run_forever()


def threadsafe(producers):
    def run(loop, n):
        per_producer = n // producers
        left = [producers]
        lock = threading.Lock()
        seen = [0]

        def count(_):
            seen[0] += 1

        def produce():
            call = loop.call_soon_threadsafe
            for i in range(per_producer):
                call(count, i)
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                call(loop.stop)

        threads = [threading.Thread(target=produce) for _ in range(producers)]
        for thread in threads:
            thread.start()
        loop.run_forever()
        for thread in threads:
            thread.join()
        assert seen[0] == per_producer * producers, seen

    return run


WORKLOADS = {
    "w1_dispatch": w1_dispatch,
    "w2_ping_pong": w2_ping_pong,
    "w3_fan_out": w3_fan_out,
    "w4_spawn": w4_spawn,
    "w5_gather": w5_gather,
    "queue_unbounded": queue(0),
    "queue_bounded": queue(16),
    "lock": lock_workload(lambda n: n),
    "lock_handoff": lock_workload(lambda n: 16),
    "timers": timers,
    "timers_cancel": timers_cancel,
    "threadsafe_1": threadsafe(1),
    "threadsafe_3": threadsafe(3),
}

CONTENDERS = {"asyncio": "CPython asyncio", "uvloop": "uvloop"}


def new_loop(peer):
    if peer == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def measure(peer, workload, n, repeats):
    loop = new_loop(peer)
    try:
        run = WORKLOADS[workload]
        run(loop, n)  # warm-up
        per_op = []
        for _ in range(repeats):
            start = time.perf_counter_ns()
            run(loop, n)
            per_op.append((time.perf_counter_ns() - start) / n)
    finally:
        loop.close()
    return {
        "record": "time",
        "workload": workload,
        "contender": CONTENDERS[peer],
        "n": n,
        "rounds": repeats,
        "median_ns": statistics.median(per_op),
        "low_ns": min(per_op),
        "high_ns": max(per_op),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", choices=["asyncio", "uvloop"])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--versions", action="store_true", help="print the peers' versions and exit")
    arguments = parser.parse_args()
    peers = arguments.peer or ["asyncio"]
    if arguments.versions:
        versions = {"python": sys.version.split()[0]}
        if "uvloop" in peers:
            import uvloop

            versions["uvloop"] = uvloop.__version__
        print(json.dumps(versions))
        return
    for peer in peers:
        for workload in arguments.workload or WORKLOADS:
            for n in (int(size) for size in arguments.sizes.split(",")):
                print(json.dumps(measure(peer, workload, n, arguments.repeats)), flush=True)


if __name__ == "__main__":
    main()
