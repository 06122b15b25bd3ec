"""Runs one child of the local platform so that it dies with its parent.

`python -m barometer_local.child --parent PID --role NAME --state-dir DIR -- -m module args...`
(or `--exec -- program args...`). Before running the child it asks Linux for SIGTERM when the
parent dies (PR_SET_PDEATHSIG; kept across exec) and exits at once if the parent is already gone
(the parent may die between fork and prctl). A Python child also gets a watchdog thread that notices
a new parent pid and sends itself SIGTERM, then exits hard if that did not stop it: the child's
own SIGTERM handling (the runner's final flush, the emulator's snapshot) runs first.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import runpy
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5
HARD_EXIT_AFTER_S = 600.0  # the emulator's final snapshot runs on SIGTERM (docs/local.md: minutes at 1M events)


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Linux only; returns False where prctl is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(HARD_EXIT_AFTER_S)
    os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="barometer-child", description=__doc__.splitlines()[0])
    parser.add_argument("--parent", type=int, required=True, help="pid of the process this child dies with")
    parser.add_argument("--role", required=True, help="emulator, runner or dagster (for logs and pid files)")
    parser.add_argument("--state-dir", required=True, help="the state folder (identifies leftovers)")
    parser.add_argument("--exec", dest="exec_", action="store_true", help="exec a program instead of -m module")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- -m module args..., or -- program args...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("nothing to run after --")
    set_parent_death_signal()
    if os.getppid() != args.parent:
        print(f"[{args.role}] parent {args.parent} is gone; not starting", file=sys.stderr)
        return 1
    if args.exec_:
        os.execv(command[0], command)
    if command[0] != "-m" or len(command) < 2:
        parser.error("expected -- -m module [args...]")
    threading.Thread(target=_watch, args=(args.parent,), name="parent-watch", daemon=True).start()
    sys.argv = [command[1], *command[2:]]
    runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
