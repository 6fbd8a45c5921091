"""Many threads sharing a number of calls, started together: the load of the throughput
figures. Imports nothing of the app, so a worker process measuring another version of it
(bench/throughput_child.py) can use it before loading that version."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def run_concurrently(call: Callable[[], object], threads: int, calls: int) -> float:
    """Seconds `threads` threads take to make `calls` calls between them, all released at
    once; the first failure of any call is raised after all have stopped."""
    share = [calls // threads + (1 if i < calls % threads else 0) for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def worker(count: int) -> None:
        barrier.wait()
        try:
            for _ in range(count):
                call()
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            failures.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in share]
    for thread in workers:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed
