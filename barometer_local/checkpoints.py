"""Stream positions of the local consumers, kept in a file so a restart resumes where it stopped.

A position is saved only after the records up to it were handled, so a crash repeats some records
(the handlers are idempotent) and never skips one. Keys include the stream's identity (ARN and
creation time), so positions from an earlier emulator are never applied to a new stream.
"""
from __future__ import annotations

import threading
from pathlib import Path

from barometer_local.paths import read_json, write_json_atomic


class CheckpointStore:
    def __init__(self, path: Path):
        self.path = path
        self._positions: dict[str, str] = read_json(path, {}) or {}
        # Each shard's mapping sets its position from its own thread; one file write at a time.
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        return self._positions.get(key)

    def set(self, key: str, sequence_number: str) -> None:
        with self._lock:
            self._positions[key] = sequence_number
            write_json_atomic(self.path, self._positions, durable=False)

    def all(self) -> dict[str, str]:
        with self._lock:
            return dict(self._positions)
