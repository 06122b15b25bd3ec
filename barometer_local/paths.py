"""Where the local platform keeps its state: `.barometer/` in the repository, or $BAROMETER_HOME
(resolved by barometer.aws.home, which Dagster reads too)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from barometer.aws import home
from barometer.aws.home import HOME_ENV, REPO_ROOT  # noqa: F401  (the CLI, demo and tests name them from here)


def state_dir() -> Path:
    """The state folder, created if missing (the runtime is about to write into it)."""
    path = home.state_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def platform_file() -> Path:
    return state_dir() / home.PLATFORM_FILE


def write_json_atomic(path: Path, data: Any, durable: bool = True) -> None:
    """Write-then-rename, so a reader (or a crashed writer) never sees half a file.

    durable=False skips fsync: still safe against a killed process, not against power loss.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


class PlatformNotRunningError(RuntimeError):
    """No running local platform was found (start one with `barometer up`)."""


def read_platform() -> dict[str, Any]:
    info = read_json(platform_file())
    if not info:
        raise PlatformNotRunningError(
            f"no local platform is running (no {platform_file()}); start one with `barometer up`")
    return info
