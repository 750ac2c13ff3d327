"""The subprocess and signal workloads of benches/benches/processes.rs on
asyncio or uvloop. Prints one line: the workload's seconds per operation.

    python processes.py --loop asyncio|uvloop --workload spawn|pipe|signal --n N
"""

import argparse
import asyncio
import os
import signal
import time


async def spawn(n):
    for _ in range(n):
        process = await asyncio.create_subprocess_exec("true")
        code = await process.wait()
        assert code == 0


async def pipe(n, size):
    data = b"x" * size
    for _ in range(n):
        process = await asyncio.create_subprocess_exec(
            "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate(data)
        assert len(out) == size


async def signals(n):
    loop = asyncio.get_running_loop()
    pid = os.getpid()
    waiter = None

    def handler():
        waiter.set_result(None)

    loop.add_signal_handler(signal.SIGUSR1, handler)
    for _ in range(n):
        waiter = loop.create_future()
        os.kill(pid, signal.SIGUSR1)
        await waiter
    loop.remove_signal_handler(signal.SIGUSR1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--workload", choices=["spawn", "pipe", "signal"], required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024)
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    work = {
        "spawn": lambda: spawn(args.n),
        "pipe": lambda: pipe(args.n, args.size),
        "signal": lambda: signals(args.n),
    }[args.workload]

    async def timed():
        start = time.perf_counter()
        await work()
        return time.perf_counter() - start

    print(asyncio.run(timed()) / args.n)


if __name__ == "__main__":
    main()
