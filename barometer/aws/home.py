"""The state folder: `$BAROMETER_HOME`, else `.barometer/` at the repository root.

The local runtime keeps its state there and writes `platform.json` (the running emulator's URL) into
it; Dagster reads that file to find the emulator.
"""
from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "BAROMETER_HOME"
REPO_ROOT = Path(__file__).resolve().parents[2]
PLATFORM_FILE = "platform.json"


def state_dir() -> Path:
    """The folder, not created (readers must not leave an empty `.barometer/` behind)."""
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".barometer")


def platform_file() -> Path:
    return state_dir() / PLATFORM_FILE
