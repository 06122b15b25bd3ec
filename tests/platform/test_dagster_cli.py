"""The dg CLI as CI and operators run it: the whole graph for one day in one in-process run, and a range
of days as one run per backfill, finding the local platform through platform.json and the names through
the catalogue's variables."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sample_lake import expected_daily_ohlc, make_events, write_lake

from barometer.catalogue import ALERTS_TABLE, LATEST_TABLE, METRICS_TABLE, PROCESSED_BUCKET, RAW_BUCKET
from barometer_local.emulator import REGION
from barometer_sql import LakeLocation, run_query

pytestmark = pytest.mark.emulator
REPO = Path(__file__).resolve().parents[2]
DG = str(Path(sys.executable).parent / "dg")
DAY = "2026-11-24"


@pytest.fixture(scope="module")
def cli_env(emulator, provisioned, tmp_path_factory):
    """A platform.json naming the session emulator, and lake/table names of this test's own."""
    from platform_helpers import create_table_like, new_bucket

    home = tmp_path_factory.mktemp("barometer-home")
    (home / "platform.json").write_text(json.dumps({"aws_endpoint": emulator.url, "region": REGION}))
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    suffix = uuid.uuid4().hex[:8]
    names = {spec.env_var: create_table_like(emulator, spec, f"t-cli-{spec.logical_id}-{suffix}")
             for spec in (METRICS_TABLE, LATEST_TABLE, ALERTS_TABLE)}
    names[PROCESSED_BUCKET.env_var] = new_bucket(emulator)
    names[RAW_BUCKET.env_var] = new_bucket(emulator, "raw")
    env = {k: v for k, v in os.environ.items() if k not in ("BAROMETER_AWS_ENDPOINT", "AWS_ENDPOINT_URL")}
    env.update(names, BAROMETER_HOME=str(home), DAGSTER_HOME=str(dagster_home), BAROMETER_ENV="local")
    return env, LakeLocation(names[PROCESSED_BUCKET.env_var], emulator.url, REGION)


def dg(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([DG, *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def run_starts(output: str) -> int:
    return output.count("RUN_START")


def test_the_whole_graph_materializes_for_one_day(cli_env):
    env, location = cli_env
    lake = make_events()
    write_lake(location.filesystem(), location.processed_bucket, lake)
    # When every asset is materialized for one day, as CI does
    done = dg(env, "launch", "--assets", "*", "--partition", DAY)
    # Then one run succeeded and the rollup of that day is in the lake
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "RUN_SUCCESS" in output and run_starts(output) == 1
    rows = run_query("SELECT symbol, day, trades FROM daily_ohlc ORDER BY symbol", s3_endpoint=location.s3_endpoint,
                     processed_bucket=location.processed_bucket).rows
    expected = expected_daily_ohlc(lake)
    assert rows == tuple((s, d, expected[(s, d)]["trades"]) for s, d in sorted(expected) if d == DAY)


def test_a_range_of_days_is_one_run(cli_env):
    env, location = cli_env
    lake = make_events()
    write_lake(location.filesystem(), location.processed_bucket, lake)
    expected = expected_daily_ohlc(lake)
    days = sorted({d for _, d in expected})
    # When the lake and the rollups are backfilled over every day of the sample, as one range
    done = dg(env, "launch", "--assets", "group:lake or group:analytics",
              "--partition-range", f"{days[0]}...{days[-1]}")
    # Then it was one run, and every day's rollup matches plain Python
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert run_starts(output) == 1 and "RUN_SUCCESS" in output
    rows = run_query("SELECT symbol, day, trades FROM daily_ohlc ORDER BY symbol, day", s3_endpoint=location.s3_endpoint,
                     processed_bucket=location.processed_bucket).rows
    assert rows == tuple((s, d, expected[(s, d)]["trades"]) for s, d in sorted(expected))
