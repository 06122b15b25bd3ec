"""A thread pool for the processor's independent DynamoDB work: each key's records applied (its departure
Queries), BatchWriteItem chunks, one PutItem per key. On AWS each call waits ~5-10 ms on the network,
so a batch of 500 keys sends them WORKERS at a time; the CPU between the waits is the interpreter's one
core either way. boto3 clients are thread-safe, and the processor's DynamoDB client keeps
MAX_POOL_CONNECTIONS (barometer/aws/retry.py) >= WORKERS connections open. Created on first use, never
at import."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache
from typing import TypeVar

WORKERS = 32
_THREAD_PREFIX = "processor-pool"

T = TypeVar("T")
R = TypeVar("R")


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=_THREAD_PREFIX)


def run_all(fn: Callable[[T], R], args: Iterable[T]) -> list[R]:
    """fn of every argument, in order; concurrently when there are several. Every call finishes before
    the first exception (in argument order) is raised, so none is left running. Called from one of the
    pool's own threads it runs inline: waiting there on the pool could take every worker and deadlock."""
    args = list(args)
    if len(args) <= 1 or threading.current_thread().name.startswith(_THREAD_PREFIX):
        return [fn(a) for a in args]
    futures = [_executor().submit(fn, a) for a in args]
    wait(futures)
    return [f.result() for f in futures]
