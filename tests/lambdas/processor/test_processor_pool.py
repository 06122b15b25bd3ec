"""The processor's thread pool: as wide as the target serves usefully."""
from __future__ import annotations

import threading
import time

from barometer.catalogue import ENDPOINT_ENV
from lambdas.processor import pool


def test_the_pool_is_wide_on_aws_and_narrow_against_the_local_emulator(monkeypatch):
    # Given no endpoint (AWS), then an emulator's
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    on_aws = pool.workers()
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:4566")
    locally = pool.workers()
    # Then AWS gets calls enough to cover its network waits, the emulator's one process only a few
    assert (on_aws, locally) == (pool.WORKERS, pool.EMULATOR_WORKERS)
    assert pool.EMULATOR_WORKERS < pool.WORKERS


def test_run_all_keeps_at_most_the_pools_width_in_flight(monkeypatch):
    # Given a fresh pool against the emulator, and calls that note how many run at once
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:4566")
    pool._executor.cache_clear()
    lock, running, peak = threading.Lock(), [0], [0]

    def call(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return i * 2

    try:
        # When twenty independent calls are run
        results = pool.run_all(call, range(20))
    finally:
        pool._executor().shutdown(wait=True)
        pool._executor.cache_clear()
    # Then each result is in its place, and no more than the emulator's width ran together
    assert results == [i * 2 for i in range(20)]
    assert 1 < peak[0] <= pool.EMULATOR_WORKERS
