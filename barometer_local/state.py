"""What a state folder holds, and `barometer reset`: the data lives and dies together.

The data of a local platform is the emulator's snapshot (tables, streams, queues, the lake) with the
stream runner's positions, the mailbox, the webhook's recorded posts and Dagster's storage (runs,
materializations, schedules' ticks). They persist across restarts together, so that they never
disagree, and `reset` empties them together. The JWT signing key is kept (tokens issued for scripts go
on working) and so are the logs (`--logs` removes them too).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from barometer_local.supervise import PIDS_DIR, StateFolderBusyError, StateLock

DATA = ("emulator", "checkpoints.json", "mail", "webhook", "dagster", "runner-status.json", "platform.json",
        PIDS_DIR)
LOGS = "logs"


class ResetError(RuntimeError):
    """The folder cannot be reset now (a platform is running on it)."""


@dataclass(frozen=True)
class Entry:
    path: Path
    bytes: int
    files: int


def _size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return path.stat().st_size, 1
    total = count = 0
    for item in path.rglob("*"):
        if item.is_file():
            total, count = total + item.stat().st_size, count + 1
    return total, count


def data_entries(state_dir: Path, logs: bool = False) -> list[Entry]:
    """The data present in the folder (what `reset` would remove)."""
    names = DATA + ((LOGS,) if logs else ())
    return [Entry(state_dir / name, *_size(state_dir / name)) for name in names if (state_dir / name).exists()]


def describe(entries: list[Entry]) -> str:
    if not entries:
        return "nothing"
    return ", ".join(f"{e.path.name} ({e.files} files, {e.bytes / 1e6:.1f} MB)" if e.path.is_dir()
                     else f"{e.path.name} ({e.bytes / 1e6:.1f} MB)" for e in entries)


def reset(state_dir: Path, logs: bool = False) -> list[Entry]:
    """Remove the folder's data while holding its lock, so that no `barometer up` starts meanwhile."""
    try:
        lock = StateLock(state_dir).acquire()
    except StateFolderBusyError as exc:
        raise ResetError(f"{exc}; a running platform's data cannot be reset under it") from None
    try:
        removed = data_entries(state_dir, logs)
        for entry in removed:
            if entry.path.is_dir():
                shutil.rmtree(entry.path)
            else:
                entry.path.unlink()
        return removed
    finally:
        lock.release()
