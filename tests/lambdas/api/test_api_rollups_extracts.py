"""GET /v1/rollups on AWS reads Dagster's extract from the lake with boto3 (no pyarrow in the Lambda)."""
from __future__ import annotations

import json

import boto3
import pytest

from barometer import catalogue as r

pytestmark = pytest.mark.emulator


@pytest.fixture
def lake(emulator_env, monkeypatch):
    monkeypatch.setenv(r.PROCESSED_BUCKET.env_var, "extracts-test-bucket")
    s3 = boto3.client("s3", endpoint_url=emulator_env.url, region_name="us-east-1")
    s3.create_bucket(Bucket="extracts-test-bucket")
    yield s3
    for obj in s3.list_objects_v2(Bucket="extracts-test-bucket").get("Contents", []):
        s3.delete_object(Bucket="extracts-test-bucket", Key=obj["Key"])
    s3.delete_bucket(Bucket="extracts-test-bucket")


def test_rows_come_from_the_extract_filtered_by_key_and_days(lake):
    # Given the extract the web_extracts asset writes
    rows = [{"symbol": s, "day": d, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10, "trades": 3}
            for s in ("AAPL", "MSFT") for d in ("2026-11-20", "2026-11-21", "2026-11-22")]
    lake.put_object(Bucket="extracts-test-bucket", Key="extracts/daily_ohlc.json",
                    Body=json.dumps({"name": "daily_ohlc", "rows": rows}).encode())
    from lambdas.api.rollups import ExtractRollups, read_rollup

    # When one symbol's rows for two days are asked for
    got = read_rollup(ExtractRollups(), "daily_ohlc", "MSFT", "2026-11-21", "2026-11-22")
    # Then exactly those come back, in day order
    assert [(r["symbol"], r["day"]) for r in got] == [("MSFT", "2026-11-21"), ("MSFT", "2026-11-22")]


def test_a_rollup_not_materialized_yet_has_no_rows(lake):
    from lambdas.api.rollups import ExtractRollups, read_rollup

    assert read_rollup(ExtractRollups(), "daily_weather", None, "2026-11-01", "2026-11-22") == []
