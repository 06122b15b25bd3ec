"""Nothing lost, nothing doubled: 50,000+ events with duplicates and out-of-order arrivals, the stream
runner SIGKILLed part-way and restarted; exact counts in MetricsTable, LatestTable, the lake, and
exactly one alert per key, rule and local day.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from barometer import catalogue as r
from barometer_local.emulator import Emulator
from barometer_local.paths import read_json
from barometer_local.provision import provision
from barometer_local.runner import local_environment
from barometer_local.webhook import WebhookReceiver
from lambdas.shared.stream import StreamRecord, put_records

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

DAY1 = datetime(2026, 11, 16, 14, 30, tzinfo=UTC)  # Monday 09:30 New York
DAY2 = DAY1 + timedelta(days=1)
MINUTES_PER_DAY = 390  # one quote a minute through a trading session
DROPPING = {"DRP1", "DRP2", "DRP3"}  # fall 12% below the day-1 close on day 2


def _symbols() -> list[str]:
    return ["AAPL", "MSFT", "AMZN", "SAP"] + [f"SYM{i:02d}" for i in range(60)] + sorted(DROPPING)


def generate(seed: int = 7) -> tuple[list[list[dict]], dict]:
    """Events in put order: day 1 then day 2 per key, shuffled within bounded windows, with re-sends."""
    rng = random.Random(seed)
    unique: list[dict] = []
    for symbol in _symbols():
        close = 100.0 + rng.random() * 50
        for day_start in (DAY1, DAY2):
            for minute in range(MINUTES_PER_DAY):
                if day_start is DAY2 and symbol in DROPPING and minute >= 200:
                    price = round(close * 0.88, 4)  # 12% below the previous close
                else:
                    price = round(close * (1 + rng.uniform(-0.02, 0.02)), 4)
                unique.append({"kind": "quote", "symbol": symbol, "price": price, "volume": rng.randrange(1, 10_000),
                               "ts": (day_start + timedelta(minutes=minute, seconds=rng.randrange(60))).isoformat()})
            if day_start is DAY1:
                close = unique[-1]["price"]  # the last price of day 1 (ts order = minute order here)
    for city, heavy in (("Seattle", True), ("London", False)):
        for hour in range(48):
            precip = 31.0 if heavy and hour in (20, 21) else round(rng.uniform(0, 3), 2)
            unique.append({"kind": "weather", "city": city, "temp_c": round(rng.uniform(2, 12), 2),
                           "precip_mm": precip, "ts": (DAY1 + timedelta(hours=hour)).isoformat()})
    # Day 1 entirely before day 2 for every key (the previous close must be known when day 2 arrives),
    # but within a day: out of order (shuffled in windows of 40) and with 5% re-sent duplicates.
    batches = []
    for day in (DAY1.date(), DAY2.date(), (DAY2 + timedelta(days=1)).date()):
        day_events = [e for e in unique if datetime.fromisoformat(e["ts"]).date() == day]
        for start in range(0, len(day_events), 40):
            window = day_events[start:start + 40]
            rng.shuffle(window)
            day_events[start:start + 40] = window
        # re-sent duplicates land anywhere later in the day's stream, never before their original
        positioned = [(float(i), e) for i, e in enumerate(day_events)]
        for i in rng.sample(range(len(day_events)), len(day_events) // 20):
            positioned.append((rng.uniform(i + 0.5, len(day_events)), day_events[i]))
        batches.append([e for _, e in sorted(positioned, key=lambda p: p[0])])
    expected = {
        "unique": len(unique),
        "put": sum(len(b) for b in batches),
        "per_key": Counter(e.get("symbol") or e.get("city") for e in unique),
        "market_alerts": {(s, DAY2.date().isoformat()) for s in DROPPING},
        "weather_alerts": {("Seattle", "heavy_rain")},
    }
    return batches, expected


def _count(ddb, table: str) -> int:
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _start_runner(endpoint: str, state: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "barometer_local.runner", "--endpoint", endpoint,
                             "--state-dir", str(state), "--flush-seconds", "1"],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait(predicate, timeout_s: float, what: str, quiet_file: Path | None = None):
    """Poll `predicate` until truthy. With `quiet_file` (the runner's status), look only once the
    runner has gone quiet: full scans of 50k items load the emulator the pipeline is running on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if quiet_file is None or _runner_quiet(quiet_file):
            value = predicate()
            if value:
                return value
        time.sleep(2.0)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _runner_quiet(status_file: Path, settle_s: float = 4.0) -> bool:
    """Nothing buffered and no consumer's count moving for `settle_s`."""
    def snapshot():
        consumers = (read_json(status_file, {}) or {}).get("consumers", {})
        return {k: (v.get("processed"), v.get("buffered", 0)) for k, v in consumers.items()}

    before = snapshot()
    if not before or any(buffered for _, buffered in before.values()):
        return False
    time.sleep(settle_s)
    return snapshot() == before


def test_replay_with_duplicates_and_a_killed_runner_is_exact(tmp_path, monkeypatch):
    # Given a fresh emulator, provisioned as `barometer up` does, and a Slack receiver
    batches, expected = generate()
    assert expected["unique"] >= 50_000
    with Emulator.start() as emulator, WebhookReceiver(tmp_path) as webhook:
        for key, value in local_environment(emulator.url).items():
            monkeypatch.setenv(key, value)
        from barometer import aws

        aws.reset_clients()
        target = emulator.target()
        provision(target, webhook.url)
        ddb, s3 = target.client("dynamodb"), target.client("s3")

        # When every event (with its duplicates) is on the stream, and the runner is killed mid-way
        for batch in batches:
            records = [StreamRecord(json.dumps(e).encode(), e.get("symbol") or e.get("city")) for e in batch]
            assert put_records(records) == {}
        runner = _start_runner(emulator.url, tmp_path, tmp_path / "runner.log")
        status_file = tmp_path / "runner-status.json"

        def processor_progress():
            status = read_json(status_file, {}) or {}
            return status.get("consumers", {}).get(r.PROCESSOR_FUNCTION.local_name, {}).get("processed", 0)

        _wait(lambda: processor_progress() >= 15_000, 180, "the runner to get part-way")
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        killed_at = _count(ddb, r.METRICS_TABLE.local_name)
        assert 0 < killed_at < expected["unique"], "the kill must land mid-stream for this test to mean anything"
        runner = _start_runner(emulator.url, tmp_path, tmp_path / "runner.log")
        try:
            # Then MetricsTable holds every unique event exactly once
            _wait(lambda: _count(ddb, r.METRICS_TABLE.local_name) == expected["unique"], 300,
                  f"{expected['unique']} events in MetricsTable", quiet_file=status_file)
            # and every key's state applied each of its events exactly once
            def applied():
                items = [i for page in ddb.get_paginator("scan").paginate(
                    TableName=r.LATEST_TABLE.local_name, ProjectionExpression="#k, events",
                    ExpressionAttributeNames={"#k": "key"}) for i in page["Items"]]
                counts = {i["key"]["S"]: int(i["events"]["N"]) for i in items}
                return counts == dict(expected["per_key"]) and counts

            _wait(applied, 180, "LatestTable to apply every event exactly once", quiet_file=status_file)
            # and exactly one alert per key, rule and local day
            def alerts():
                items = ddb.scan(TableName=r.ALERTS_TABLE.local_name)["Items"]
                found = {(i["key"]["S"], i["local_day"]["S"] if i["kind"]["S"] == "market" else i["rule"]["S"], i["kind"]["S"])
                         for i in items}
                wanted = {(k, d, "market") for k, d in expected["market_alerts"]} | {
                    (k, rule, "weather") for k, rule in expected["weather_alerts"]}
                return len(items) == len(wanted) and found == wanted and items

            alert_items = _wait(alerts, 120, "exactly the expected alerts", quiet_file=status_file)
            assert all(i["published"]["BOOL"] for i in alert_items)
            # and each alert reached Slack exactly once (the notifier is idempotent on alert_id)
            alert_ids = {i["alert_id"]["S"] for i in alert_items}

            def posted():
                per_alert = Counter(a for p in webhook.posts() for a in alert_ids if a in json.dumps(p["body"]))
                return set(per_alert) == alert_ids and per_alert

            per_alert = _wait(posted, 120, "a Slack post for every alert", quiet_file=status_file)
            assert set(per_alert.values()) == {1} and len(webhook.posts()) == len(alert_ids)

            # and the lake holds every record as received (raw) and every valid event once per id (processed)
            from barometer_sql import run_query

            def lake_counts():
                result = run_query("SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM quotes",
                                   s3_endpoint=emulator.url, processed_bucket=r.PROCESSED_BUCKET.local_name)
                weather = run_query("SELECT count(*) AS n FROM weather", s3_endpoint=emulator.url,
                                    processed_bucket=r.PROCESSED_BUCKET.local_name)
                quotes = result.records()[0]
                total = quotes["n"] + weather.records()[0]["n"]
                return total == expected["unique"] and quotes["n"] == quotes["ids"] and total

            _wait(lake_counts, 120, "every valid event in the processed zone", quiet_file=status_file)

            def raw_lines():
                lines = 0
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=r.RAW_BUCKET.local_name,
                                                                         Prefix=r.RAW_PREFIX):
                    for obj in page.get("Contents", []):
                        body = s3.get_object(Bucket=r.RAW_BUCKET.local_name, Key=obj["Key"])["Body"].read()
                        lines += len(gzip.decompress(body).splitlines())
                return lines == expected["put"] and lines

            _wait(raw_lines, 120, f"{expected['put']} records in the raw zone", quiet_file=status_file)
            # Nothing was given up on along the way.
            sqs = target.client("sqs")
            for queue in (r.STREAM_FAILURES_DLQ, r.EVENTS_DLQ):
                url = sqs.get_queue_url(QueueName=queue.local_name)["QueueUrl"]
                depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0", queue.local_name
        finally:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=30)
