"""One writer per state folder, and children that die with the platform that started them.

- `StateLock`: an flock'ed `owner.lock` in the state folder, held for the platform's life. The kernel
  drops an flock when its owner dies, so a crashed `barometer up` can never leave it stale; a second
  `up` on the same folder is refused with the owner's pid.
- Children (emulator, stream runner, Dagster) run under `barometer_local.child`, which asks Linux to
  send them SIGTERM when their parent dies (prctl PR_SET_PDEATHSIG) and also watches its parent
  itself (other systems, and the short window before prctl takes effect).
- Each child is recorded in `pids/<role>.json` with its command line; the next owner of the folder
  stops any recorded child that is still alive and still runs that command line (a pid alone could
  have been reused by an unrelated process).
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

LOCK_FILE = "owner.lock"
PIDS_DIR = "pids"
CHILD_MODULE = "barometer_local.child"


class StateFolderBusyError(RuntimeError):
    """Another live process owns this state folder."""


class StateLock:
    """An exclusive, non-blocking flock on `<state_dir>/owner.lock`, holding the owner's pid."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown (still starting)"
            os.close(fd)
            raise StateFolderBusyError(
                f"the state folder {self.path.parent} is in use by another Barometer process (pid {owner}); "
                f"stop it first (Ctrl-C in its terminal, or `kill {owner}`), or set BAROMETER_HOME to "
                "another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def owner_pid(state_dir: Path) -> int | None:
    """The pid of the live process owning the folder, or None when nobody holds its lock."""
    probe = StateLock(state_dir)
    try:
        probe.acquire()
    except StateFolderBusyError:
        text = (state_dir / LOCK_FILE).read_text().strip()
        return int(text) if text.isdigit() else -1
    probe.release()
    return None


# -- children ----------------------------------------------------------------------------------
def child_command(role: str, state_dir: Path, argv: list[str], exec_: bool = False) -> list[str]:
    """The command line that runs `argv` (`-m module args...`, or a program with exec_) as a supervised
    child of this process. The state folder is part of it, so a leftover is recognised as ours."""
    wrapper = [sys.executable, "-m", CHILD_MODULE, "--parent", str(os.getpid()), "--role", role,
               "--state-dir", str(state_dir.resolve())]
    return wrapper + (["--exec"] if exec_ else []) + ["--", *argv]


def _pid_file(state_dir: Path, role: str) -> Path:
    return state_dir / PIDS_DIR / f"{role}.json"


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def record_child(state_dir: Path, role: str, pid: int, command: list[str]) -> None:
    path = _pid_file(state_dir, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "command": command}))


def forget_child(state_dir: Path, role: str, pid: int) -> None:
    path = _pid_file(state_dir, role)
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def _is_recorded_child(pid: int, command: list[str]) -> bool:
    """Alive and running the recorded command. After an exec (Dagster) the command line is the
    program's own: then the supervised arguments after `--` must match."""
    current = _cmdline(pid)
    if current is None:
        return False
    if current == command:
        return True
    tail = command[command.index("--") + 1:] if "--" in command else []
    return bool(tail) and current[-len(tail):] == tail and len(current) >= len(tail)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped by its parent) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _signal_group(pid: int, sig: int) -> None:
    # Each child leads a session of its own: its group holds what it started (Dagster's servers).
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_leftovers(state_dir: Path, progress: Callable[[str], None] = print, grace_s: float = 10.0) -> list[int]:
    """Stop the children a dead owner of this folder left running; returns their pids."""
    stopped = []
    folder = state_dir / PIDS_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            entry = json.loads(path.read_text())
            pid, command = int(entry["pid"]), list(entry["command"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if pid != os.getpid() and _alive(pid) and _is_recorded_child(pid, command):
            progress(f"stopping a leftover {path.stem} (pid {pid}) of a previous run on this state folder")
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                _signal_group(pid, signal.SIGKILL)
            stopped.append(pid)
        path.unlink(missing_ok=True)
    return stopped
