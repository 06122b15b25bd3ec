"""The code asset carries the time-zone database: the Lambda runtime has none.

A subprocess sees nothing but the asset (no site-packages, an empty zoneinfo search path, as on Lambda)
and does what every handler does at its first invocation: parse the configuration, whose symbols and
cities name their time zones, and resolve a zone the way the processor does for local days.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from barometer.catalogue import FUNCTIONS
from barometer.settings import load_raw_config
from infra_cdk.constructs.code_asset import (
    PackagingError,
    distribution_files,
    lambda_source_dir,
    locked_version,
)

pytestmark = pytest.mark.infra

PROBE = """
import json, sys, zoneinfo
assert zoneinfo.TZPATH == (), zoneinfo.TZPATH  # no system database to fall back on
assert not [p for p in sys.path if "site-packages" in p], sys.path
from barometer.config import parse_settings
from barometer.core.timeutil import zone
settings = parse_settings(json.loads(sys.stdin.read()))
from datetime import datetime, timezone
winter = datetime(2026, 1, 15, 12, tzinfo=timezone.utc).astimezone(zone("America/New_York"))
print(json.dumps({"offset_h": winter.utcoffset().total_seconds() / 3600,
                  "zones": sorted({s.timezone for s in settings.symbols.values()}
                                  | {c.timezone for c in settings.cities.values()})}))
"""


def _probe(asset: Path) -> subprocess.CompletedProcess:
    # -S: no site module, so no site-packages; PYTHONTZPATH empty: no system zoneinfo directories
    return subprocess.run(
        [sys.executable, "-S", "-s", "-c", PROBE], input=json.dumps(load_raw_config()), capture_output=True,
        text=True, timeout=60, check=False, cwd=asset,
        env={"PYTHONPATH": str(asset), "PYTHONTZPATH": "", "PATH": "/usr/bin"})


@pytest.fixture(scope="module")
def asset() -> Path:
    return Path(lambda_source_dir(tuple(f.handler for f in FUNCTIONS)))


def test_the_asset_resolves_time_zones_without_a_system_database(asset):
    # When the configuration is parsed and a zone resolved with only the asset on the path
    result = _probe(asset)
    # Then New York is 5 hours behind UTC in January, and every configured zone resolved
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["offset_h"] == -5.0
    assert "America/New_York" in answer["zones"]


def test_without_tzdata_the_same_probe_fails(asset, tmp_path):
    # Given the asset without the tzdata package (the control: the probe can fail)
    bare = tmp_path / "bare"
    shutil.copytree(asset, bare, ignore=shutil.ignore_patterns("tzdata"))
    result = _probe(bare)
    # Then the configuration's time zones are unknown
    assert result.returncode != 0
    assert "America/New_York" in result.stderr


def test_the_shipped_tzdata_is_the_locked_version(tmp_path):
    assert distribution_files("tzdata")  # installed at uv.lock's version, else PackagingError
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\n[[package]]\nname = "tzdata"\nversion = "1999.1"\n', encoding="utf-8")
    assert locked_version("tzdata", lock) == "1999.1"
    lock.write_text('version = 1\n', encoding="utf-8")
    with pytest.raises(PackagingError, match="not pinned"):
        locked_version("tzdata", lock)
