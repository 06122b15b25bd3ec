"""Background snapshots: the lowest priority, their cost counted in CPU, abandoned for the final one."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from barometer_local.snapshots import Gate, SnapshotAbandoned, Snapshots

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="snapshots fork where the OS can")


def snapshots_dumping(tmp_path: Path, dump) -> Snapshots:
    snapshots = Snapshots(tmp_path, Gate(), log=lambda m: None)
    snapshots._dump = dump  # runs in the forked child, as the real pickling does
    return snapshots


def test_a_background_snapshot_pickles_at_the_lowest_priority_and_the_final_one_at_normal(tmp_path):
    # Given a dump that writes the niceness it runs at
    def dump(tmp, checkpoints, mark=None):
        Path(tmp).write_text(str(os.nice(0)))

    snapshots = snapshots_dumping(tmp_path, dump)
    base = os.nice(0)
    # When one snapshot is taken in the background and one in the foreground
    snapshots.write(background=True)
    background = int(snapshots.path.read_text())
    snapshots.write()
    foreground = int(snapshots.path.read_text())
    # Then only the background one gave way to everything else
    assert background == min(base + 19, 19)
    assert foreground == base


def test_a_snapshot_costs_its_cpu_not_its_wall_time(tmp_path):
    # Given a dump that waits (as a starved one does) and one that works
    def waiting(tmp, checkpoints, mark=None):
        time.sleep(1.0)
        Path(tmp).write_text("waited")

    def working(tmp, checkpoints, mark=None):
        deadline = time.process_time() + 0.5
        while time.process_time() < deadline:
            pass
        Path(tmp).write_text("worked")

    # When each is taken in the background
    waited = snapshots_dumping(tmp_path / "a", waiting).write(background=True)
    worked = snapshots_dumping(tmp_path / "b", working).write(background=True)
    # Then the waiting one took time but next to no CPU, and the working one's CPU is counted
    assert waited.seconds_total >= 1.0 and waited.cpu_seconds < 0.3
    assert worked.cpu_seconds >= 0.45


def test_stop_abandons_a_background_snapshot_so_the_final_one_starts_at_once(tmp_path):
    # Given a state folder with a snapshot, and a background snapshot that would take a minute
    Path(tmp_path / "emulator").mkdir()
    (tmp_path / "emulator" / "state.pickle").write_text("before")
    slow_started = threading.Event()

    def slow(tmp, checkpoints, mark=None):
        Path(tmp).write_text("partial")
        time.sleep(60)

    snapshots = snapshots_dumping(tmp_path, slow)
    errors: list[BaseException] = []

    def background() -> None:
        slow_started.set()
        try:
            snapshots.write(background=True)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            errors.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    slow_started.wait()
    time.sleep(0.5)  # the child is pickling
    # When the emulator stops and writes its final snapshot
    started = time.monotonic()
    snapshots.stop()
    snapshots._dump = lambda tmp, checkpoints, mark=None: Path(tmp).write_text("final")
    snapshots.write()
    thread.join(timeout=10)
    # Then the background one was abandoned, not waited for, and left nothing behind
    assert time.monotonic() - started < 5
    assert errors and isinstance(errors[0], SnapshotAbandoned)
    assert snapshots.path.read_text() == "final"
    assert [p.name for p in snapshots.folder.iterdir() if p.name.startswith(".")] == []
    # And no background snapshot starts after the stop
    with pytest.raises(SnapshotAbandoned):
        snapshots.write(background=True)
