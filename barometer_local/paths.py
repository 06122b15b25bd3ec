"""Where the local platform keeps its state: `.barometer/` in the repository, or $BAROMETER_HOME."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME_ENV = "BAROMETER_HOME"


def state_dir() -> Path:
    path = Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".barometer")
    path.mkdir(parents=True, exist_ok=True)
    return path


def platform_file() -> Path:
    return state_dir() / "platform.json"


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
