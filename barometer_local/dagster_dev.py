"""Runs `dagster dev` beside the local platform (`barometer up --dagster`, which `make up` uses).

`dagster dev` started from a script ignores SIGTERM unless the child's SIGINT/SIGTERM handlers are
reset to their defaults (docs/traps.md), so the child gets fresh handlers and its own process
group, and is stopped by signalling that group.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from barometer_local.paths import HOME_ENV, REPO_ROOT
from barometer_local.supervise import child_command, forget_child, record_child


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def prepare_home(state_dir: Path) -> Path:
    home = state_dir / "dagster"
    (home / ".nux").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # hides the UI's first-run modal
    return home


def start(state_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    home = prepare_home(state_dir)
    dagster = Path(sys.executable).with_name("dagster")
    # BAROMETER_HOME: Dagster finds the platform's platform.json in the same folder.
    env = {**os.environ, "DAGSTER_HOME": str(home), HOME_ENV: str(state_dir)}
    # Exec'ed by the child wrapper: it dies (SIGTERM, then stops its own servers) with `barometer up`.
    command = child_command("dagster", state_dir, [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
                                                   "-h", "127.0.0.1", "-p", str(port)], exec_=True)
    # The child writes to its own copy of the log's descriptor: this one can close once it has started.
    # preexec_fn: start() runs on the CLI's main thread and the function only resets two signal dispositions
    # (an ignored SIGINT/SIGTERM would survive exec), so the fork-with-threads hazard does not arise.
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=_reset_signals)  # noqa: PLW1509
    record_child(state_dir, "dagster", process.pid, command)
    return process


def stop(process: subprocess.Popen, state_dir: Path | None = None) -> None:
    if state_dir is not None:
        forget_child(state_dir, "dagster", process.pid)
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
