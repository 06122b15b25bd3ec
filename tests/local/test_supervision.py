"""One writer per state folder, and children that die with `barometer up` (issue 10, process supervision)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from barometer_local.emulator import free_port
from barometer_local.supervise import (
    StateFolderBusyError,
    StateLock,
    _alive,
    child_command,
    owner_pid,
    record_child,
    stop_leftovers,
)

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def start_up(home: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "BAROMETER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "barometer_local.cli", "up", "--port", str(free_port()), *extra],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def running_pids(home: Path) -> dict[str, int]:
    pids = {}
    for path in (home / "pids").glob("*.json"):
        pids[path.stem] = json.loads(path.read_text())["pid"]
    return pids


def wait_running(home: Path, process: subprocess.Popen) -> dict[str, int]:
    def ready():
        if process.poll() is not None:
            raise AssertionError(f"barometer up exited {process.returncode}: {process.stdout.read()}")
        # platform.json is written last, once the runner started; a killed owner's copy names another pid
        try:
            info = json.loads((home / "platform.json").read_text())
        except (OSError, ValueError):
            return None
        return info.get("pid") == process.pid and running_pids(home)
    return wait_for(ready, 90, "barometer up to start")


def test_lock_refuses_a_second_owner_and_names_the_first(tmp_path):
    # given a state folder owned by this process
    with StateLock(tmp_path):
        # when another owner tries it
        with pytest.raises(StateFolderBusyError) as refused:
            StateLock(tmp_path).acquire()
        # then it is refused, naming the owner's pid
        assert f"pid {os.getpid()}" in str(refused.value)
        assert owner_pid(tmp_path) == os.getpid()
    # and once released, the folder is free again
    assert owner_pid(tmp_path) is None


def test_lock_of_a_killed_owner_is_not_stale(tmp_path):
    # given a process holding the folder's lock
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from barometer_local.supervise import StateLock; "
        f"StateLock(Path({str(tmp_path)!r})).acquire(); print('held', flush=True); time.sleep(60)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert owner_pid(tmp_path) == holder.pid
        # when it is killed without any chance to clean up
        holder.kill()
        holder.wait()
        # then the next owner gets the folder
        with StateLock(tmp_path):
            assert owner_pid(tmp_path) == os.getpid()
    finally:
        holder.kill()


def test_leftovers_of_a_dead_owner_are_stopped_and_strangers_are_not(tmp_path):
    # given a recorded child still running its recorded command, and a pid file whose process runs something else
    command = child_command("runner", tmp_path, ["-m", "http.server", "--bind", "127.0.0.1", "0"])
    command[command.index("--parent") + 1] = "1"  # its parent is gone: it must still be found by the next owner
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *command[1:]],
                                start_new_session=True)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        recorded = [sys.executable, "-c", "import time; time.sleep(60)", *command[1:]]
        record_child(tmp_path, "runner", leftover.pid, recorded)
        record_child(tmp_path, "emulator", stranger.pid, ["python", "-m", "barometer_local.child", "--role", "emulator"])
        # when the next owner starts
        stopped = stop_leftovers(tmp_path, progress=lambda m: None)
        # then only the recorded child was stopped, and no pid file is left
        assert stopped == [leftover.pid]
        assert leftover.wait(timeout=10) == -signal.SIGTERM
        assert stranger.poll() is None
        assert list((tmp_path / "pids").glob("*.json")) == []
    finally:
        leftover.kill()
        stranger.kill()
        leftover.wait()
        stranger.wait()


def test_children_die_with_up_and_a_second_up_is_refused(tmp_path):
    # given a running platform
    first = start_up(tmp_path)
    try:
        children = wait_running(tmp_path, first)
        # when a second `up` starts on the same state folder
        second = start_up(tmp_path)
        out, _ = second.communicate(timeout=60)
        # then it is refused with the owner's pid, and the first platform's children are untouched
        assert second.returncode == 1, out
        assert f"pid {first.pid}" in out
        assert all(_alive(pid) for pid in children.values())
        # when the first `up` (its process only, not its group) is killed
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        # then its emulator and stream runner go too, and the folder is free
        wait_for(lambda: not any(_alive(pid) for pid in children.values()), 30, f"children {children} to exit")
        assert owner_pid(tmp_path) is None
    finally:
        for pid in running_pids(tmp_path).values():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        if first.poll() is None:
            first.kill()
