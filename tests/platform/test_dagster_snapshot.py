"""The graph as reviewed: the code location's assets, checks, jobs, schedules (with their default status)
and sensors equal tests/platform/definitions_snapshot.json. After a deliberate change, regenerate it with
`.venv/bin/python -m platform_assets.snapshot > tests/platform/definitions_snapshot.json` and commit both."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

from platform_assets.definitions import defs
from platform_assets.snapshot import render, snapshot

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def test_the_definitions_match_the_reviewed_snapshot():
    current = render(snapshot(defs))
    stored = SNAPSHOT.read_text()
    diff = "".join(difflib.unified_diff(stored.splitlines(True), current.splitlines(True),
                                        "definitions_snapshot.json", "the code location"))
    assert current == stored, f"the graph changed; review and regenerate (see this module's docstring):\n{diff}"


def test_the_snapshot_shows_what_keeps_the_platform_current():
    data = json.loads(SNAPSHOT.read_text())
    assert data["schedules"]["daily_rollups"] == {"job": "alert_response", "cron": "15 12 * * *",
                                                  "timezone": "UTC", "default_status": "RUNNING"}
    assert data["assets"]["lake/quotes"]["backfill"] == "single_run"
    assert data["sensors"]["finops_alerts"]["jobs"] == ["finops_alert"]
