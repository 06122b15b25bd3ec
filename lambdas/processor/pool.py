"""A thread pool for the processor's independent DynamoDB work: each key's records applied (its departure
Queries), BatchWriteItem chunks, one PutItem per key. On AWS each call waits ~5-10 ms on the network,
so a batch of 500 keys sends them WORKERS at a time; the CPU between the waits is the interpreter's one
core either way. boto3 clients are thread-safe, and the processor's DynamoDB client keeps
MAX_POOL_CONNECTIONS (barometer/aws/retry.py) >= WORKERS connections open. Created on first use, never
at import.

Against the local emulator the pool is EMULATOR_WORKERS wide. The emulator is one process on the same
machine: a call there is CPU, not a wait, so calls beyond a few in flight only queue in it, and a batch's
32 PutItems at once held the API's next Kinesis put and the stream's reads behind them (p99 from POST to
LatestTable at half the sustained rate: 1.0-1.5 s with 32, 0.67-0.94 s with 4; docs/benchmarks.md)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache
from typing import TypeVar

WORKERS = 32  # on AWS
EMULATOR_WORKERS = 4
_THREAD_PREFIX = "processor-pool"

T = TypeVar("T")
R = TypeVar("R")


def workers() -> int:
    """The pool's width for the target the environment names (BAROMETER_AWS_ENDPOINT: the emulator)."""
    from barometer.aws import AwsTarget

    return EMULATOR_WORKERS if AwsTarget.from_environment().is_emulator else WORKERS


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers(), thread_name_prefix=_THREAD_PREFIX)


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
