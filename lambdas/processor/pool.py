"""A small thread pool for the processor's independent DynamoDB calls (one PutItem per key, BatchWriteItem
chunks): on AWS each call waits ~5-10 ms on the network, so a batch of many keys saves them together.
boto3 clients are thread-safe; the pool is created on first use, never at import."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache
from typing import TypeVar

WORKERS = 8

T = TypeVar("T")
R = TypeVar("R")


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="processor")


def run_all(fn: Callable[[T], R], args: Iterable[T]) -> list[R]:
    """fn of every argument, in order; concurrently when there are several. Every call finishes before
    the first exception (in argument order) is raised, so none is left running."""
    args = list(args)
    if len(args) <= 1:
        return [fn(a) for a in args]
    futures = [_executor().submit(fn, a) for a in args]
    wait(futures)
    return [f.result() for f in futures]
