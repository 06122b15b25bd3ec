"""The Dagster CLI as CI and operators run it: the whole graph for one day in one in-process run,
finding the local platform through platform.json and the names through the catalogue's variables."""
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

from barometer_local.emulator import REGION
from barometer_sql import LakeLocation, run_query
from barometer.catalogue import ALERTS_TABLE, LATEST_TABLE, METRICS_TABLE, PROCESSED_BUCKET, RAW_BUCKET

pytestmark = pytest.mark.emulator
REPO = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")
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


def dagster(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([DAGSTER, *args, "-m", "platform_assets.definitions", "-a", "defs"], check=False, cwd=REPO,
                          env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_whole_graph_materializes_for_one_day(cli_env):
    env, location = cli_env
    lake = make_events()
    write_lake(location.filesystem(), location.processed_bucket, lake)
    # When every asset is materialized for one day, as CI does
    done = dagster(env, "asset", "materialize", "--select", "*", "--partition", DAY)
    # Then the run succeeded and the rollup of that day is in the lake
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    rows = run_query("SELECT symbol, day, trades FROM daily_ohlc ORDER BY symbol", s3_endpoint=location.s3_endpoint,
                     processed_bucket=location.processed_bucket).rows
    expected = expected_daily_ohlc(lake)
    assert rows == tuple((s, d, expected[(s, d)]["trades"]) for s, d in sorted(expected) if d == DAY)
