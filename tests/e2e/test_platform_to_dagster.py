"""Sample data replayed through the running local platform (API -> Kinesis -> Lambdas -> lake), then
every Dagster asset materialized with `dg launch` (the dg project, as CI and operators run it), the feeds
and the deployment observed; the daily OHLC rollup must equal an independent computation over the same
events, and the deployment's observation must show what the platform's parts did.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from barometer import catalogue as r
from barometer_local.client import ApiClient
from barometer_local.emulator import free_port
from barometer_local.platform import LocalPlatform, PlatformOptions

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")


def sample_events(day_start: datetime) -> list[dict]:
    """Two hours of quotes for three symbols and weather for two cities, on one New York day."""
    rng = random.Random(11)
    events = []
    for symbol in ("AAPL", "MSFT", "SAP"):
        price = 100.0 + rng.random() * 100
        for minute in range(120):
            price = round(price * (1 + rng.uniform(-0.01, 0.01)), 4)
            events.append({"kind": "quote", "symbol": symbol, "price": price, "volume": rng.randrange(1, 500),
                           "ts": (day_start + timedelta(minutes=minute)).isoformat()})
    for city in ("Seattle", "London"):
        for minute in range(0, 120, 10):
            events.append({"kind": "weather", "city": city, "temp_c": round(rng.uniform(0, 15), 2),
                           "precip_mm": round(rng.uniform(0, 2), 2), "wind_mps": round(rng.uniform(0, 9), 2),
                           "ts": (day_start + timedelta(minutes=minute)).isoformat()})
    return events


def expected_ohlc(events: list[dict], tz_of) -> dict[tuple[str, str], tuple]:
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in events:
        if e["kind"] == "quote":
            ts = datetime.fromisoformat(e["ts"])
            by_key[(e["symbol"], ts.astimezone(ZoneInfo(tz_of(e["symbol"]))).date().isoformat())].append(e)
    out = {}
    for key, rows in by_key.items():
        rows.sort(key=lambda e: e["ts"])
        prices = [e["price"] for e in rows]
        out[key] = (prices[0], max(prices), min(prices), prices[-1], sum(e["volume"] for e in rows), len(rows))
    return out


def test_sample_data_through_the_platform_materializes_every_asset(tmp_path, monkeypatch):
    # Given the local platform running, fed through its authenticated API
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    day_start = datetime.combine((datetime.now(UTC) - timedelta(days=2)).date(),
                                 datetime.min.time(), NY) + timedelta(hours=10)
    events = sample_events(day_start.astimezone(UTC))
    with LocalPlatform(tmp_path, PlatformOptions(api_port=free_port(), flush_seconds=0.5)) as platform:
        platform.start(progress=lambda m: None)
        platform.wait_ready()
        api = ApiClient(platform.api_url, platform.token())
        for start in range(0, len(events), 500):
            status, body = api.post_events(events[start:start + 500])
            assert status == 200 and not body["failed"], body
        from barometer_sql import run_query

        def in_lake():
            rows = run_query("SELECT count(*) AS n FROM quotes", s3_endpoint=platform.emulator.url,
                             processed_bucket=r.PROCESSED_BUCKET.local_name).records()
            return rows[0]["n"] == sum(e["kind"] == "quote" for e in events)

        api.wait_for(in_lake, timeout_s=180, interval_s=2, what="every quote in the processed zone")

        # When every asset is materialized for that day, and the feeds and the deployment observed, with dg
        dagster_home = tmp_path / "dagster"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "BAROMETER_HOME": str(tmp_path)}
        dg_cli = str(Path(sys.executable).with_name("dg"))
        day = day_start.date().isoformat()

        def launch(*args: str) -> None:
            done = subprocess.run([dg_cli, "launch", *args], check=False, cwd=REPO, env=env, capture_output=True,
                                  text=True, timeout=600)
            output = done.stdout + done.stderr
            assert done.returncode == 0 and "RUN_SUCCESS" in output, output[-3000:]

        # Then each run succeeds
        launch("--assets", "*", "--partition", day)
        launch("--job", "observe_feeds")
        launch("--job", "observe_deployment")
        # and the deployment's observation shows the processor's invocations (the local runtime's CloudWatch
        # metrics) and the items it wrote
        import dagster as dg

        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            def observed(name: str) -> dict:
                [record] = instance.fetch_observations(dg.AssetKey(["deployment", name]), limit=1).records
                return {k: v.value for k, v in record.asset_observation.metadata.items()}

            processor, table, stream = (observed(name) for name in ("processor_function", "metrics_table",
                                                                    "events_stream"))
        assert processor["invocations"] > 0 and processor["errors"] == 0
        # (the local runner reports the stream's GetRecords.IteratorAgeMilliseconds as Kinesis does)
        assert stream["status"] == "ACTIVE" and stream["iterator_age_ms_max"] is not None
        assert table["status"] == "ACTIVE" and table["item_count"] >= len(events)
        # and the daily OHLC rollup in the lake equals an independent computation over the same events
        from barometer.settings import get_settings

        settings = get_settings()
        rows = run_query(f"SELECT * FROM daily_ohlc WHERE day = '{day}'", s3_endpoint=platform.emulator.url,
                         processed_bucket=r.PROCESSED_BUCKET.local_name).records()
        got = {(row["symbol"], row["day"]): (row["open"], row["high"], row["low"], row["close"], row["volume"],
                                              row["trades"]) for row in rows}
        wanted = {k: v for k, v in expected_ohlc(events, settings.symbol_timezone).items() if k[1] == day}
        assert wanted and got == wanted
