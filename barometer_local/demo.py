"""`barometer demo`: the whole data path on the embedded default, each step verifying its own result.

Runs a platform in its own state folder (`.barometer/demo`) so it never disturbs a running one.
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from barometer import catalogue as r
from barometer_local.client import ApiClient
from barometer_local.paths import HOME_ENV, state_dir


class StepFailed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


@dataclass
class Demo:
    api: ApiClient
    platform: Any
    now: datetime
    expected: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(f"    {text}", flush=True)


def demo_events(now: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Quotes for two symbols over yesterday and today (New York days), weather for two cities."""
    ny = ZoneInfo("America/New_York")
    today_start = datetime.combine(now.astimezone(ny).date(), datetime.min.time(), ny)
    yesterday = [today_start - timedelta(hours=h) for h in (9, 7, 5)]  # yesterday 15:00, 17:00, 19:00 NY
    recent = [now - timedelta(minutes=m) for m in (6, 4, 2)]
    if recent[0] < today_start:  # just after midnight in New York: keep "today" inside today
        recent = [today_start + timedelta(seconds=s) for s in (10, 20, 30)]

    def ts(value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    events = [
        {"kind": "quote", "symbol": "AAPL", "price": p, "ts": ts(t), "volume": 1000 + i, "source": "demo"}
        for i, (t, p) in enumerate(zip(yesterday, (198.0, 199.5, 200.0)))
    ] + [
        {"kind": "quote", "symbol": "MSFT", "price": p, "ts": ts(t), "volume": 500, "source": "demo"}
        for t, p in zip(yesterday + recent, (410.0, 412.0, 415.0, 414.0, 413.5, 416.0))
    ] + [
        {"kind": "quote", "symbol": "AAPL", "price": p, "ts": ts(t), "source": "demo"}
        for t, p in zip(recent, (196.0, 178.0, 176.5))  # 178.0 is 11% below yesterday's close 200.0
    ] + [
        {"kind": "weather", "city": "Seattle", "ts": ts(recent[0]), "temp_c": 8.5, "precip_mm": 12.0, "wind_mps": 6.0},
        {"kind": "weather", "city": "Seattle", "ts": ts(recent[1]), "temp_c": 8.0, "precip_mm": 31.5, "wind_mps": 9.0},
        {"kind": "weather", "city": "London", "ts": ts(recent[2]), "temp_f": 50.0, "humidity_pct": 80},
    ]
    expected = {"quotes": 12, "weather": 3, "aapl_latest": 176.5, "aapl_previous_close": 200.0}
    return events, expected


def step_ingest(d: Demo) -> None:
    events, expected = demo_events(d.now)
    status, body = d.api.request("POST", "/v1/events", {"events": events[:1]}, token=None)
    check(status == 401, f"an unauthenticated POST answered {status}, expected 401")
    d.say("without a token: 401, as expected")
    bad = {"kind": "quote", "symbol": "AAPL", "price": -5, "ts": "yesterday"}
    status, body = d.api.post_events(events + [bad])
    check(status == 200, f"POST /v1/events answered {status}: {body}")
    check(body["accepted"] == len(events), f"accepted {body['accepted']} of {len(events)} valid events")
    check(len(body["failed"]) == 1 and body["failed"][0]["index"] == len(events),
          f"the invalid event was not reported: {body['failed']}")
    d.say(f"accepted {body['accepted']} events; rejected 1 with: {body['failed'][0]['error']}")
    # A producer that bypasses the API and writes garbage straight to the stream: quarantined downstream.
    put = d.platform.target().client("kinesis").put_record(
        StreamName=r.EVENTS_STREAM.local_name, Data=b'{"kind": "quote", "symbol": "AAPL", "price": "NaN?"',
        PartitionKey="AAPL")
    check(bool(put.get("SequenceNumber")), f"the malformed record was not put on the stream: {put}")
    d.say("a misbehaving producer put 1 malformed record directly on the stream")
    d.expected = expected


def step_flow(d: Demo) -> None:
    expected = d.expected

    def settled():
        status, latest = d.api.latest("quote", "AAPL")
        return status == 200 and latest.get("value") == expected["aapl_latest"] and latest

    latest = d.api.wait_for(settled, timeout_s=90, what="AAPL's latest price in LatestTable")
    check(latest.get("previous_close") == expected["aapl_previous_close"],
          f"AAPL previous close is {latest.get('previous_close')}, expected {expected['aapl_previous_close']}")
    d.say(f"AAPL latest {latest['value']} at {latest['ts']}, previous close {latest['previous_close']} "
          f"({latest['change_pct']:+.2f}%), rolling {json.dumps(latest['rolling'])}")
    # Weather keys may sit on another shard than AAPL: processed in a later pass of the runner.
    def seattle_settled():
        status, latest = d.api.latest("weather", "Seattle")
        return status == 200 and latest.get("value") == 8.0 and latest

    seattle = d.api.wait_for(seattle_settled, timeout_s=60, what="Seattle's latest reading in LatestTable")
    d.say(f"Seattle latest {seattle['value']} °C, rolling {json.dumps(seattle['rolling'])}")


def step_storage(d: Demo) -> None:
    expected = d.expected
    aws = d.platform.target()
    ddb, s3 = aws.client("dynamodb"), aws.client("s3")

    def counts():
        metrics = ddb.scan(TableName=r.METRICS_TABLE.local_name, Select="COUNT")["Count"]
        return metrics == expected["quotes"] + expected["weather"] and metrics

    metrics = d.api.wait_for(counts, timeout_s=60, what="every valid event in MetricsTable")
    latest = ddb.scan(TableName=r.LATEST_TABLE.local_name, Select="COUNT")["Count"]
    check(latest == 4, f"LatestTable has {latest} items, expected 4 (AAPL, MSFT, Seattle, London)")
    d.say(f"MetricsTable: {metrics} events; LatestTable: {latest} symbols and cities")

    def raw_lines():
        lines = []
        for o in s3.list_objects_v2(Bucket=r.RAW_BUCKET.local_name, Prefix=r.RAW_PREFIX).get("Contents", []):
            body = s3.get_object(Bucket=r.RAW_BUCKET.local_name, Key=o["Key"])["Body"].read()
            lines += gzip.decompress(body).splitlines()
        return len(lines) == expected["quotes"] + expected["weather"] + 1 and lines

    lines = d.api.wait_for(raw_lines, timeout_s=60, what="every accepted record in the raw zone")
    d.say(f"raw zone: {len(lines)} records as received (gzip JSON lines), e.g. {lines[0][:80].decode()}...")

    def parquet():
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=r.PROCESSED_BUCKET.local_name,
                                                     Prefix=r.PROCESSED_PREFIX).get("Contents", [])]
        return any("/quotes/" in k for k in keys) and any("/weather/" in k for k in keys) and keys

    keys = d.api.wait_for(parquet, timeout_s=60, what="Parquet partitions in the processed zone")
    d.say(f"processed zone: {len(keys)} Parquet objects, e.g. {keys[0]}")
    quarantine = s3.list_objects_v2(Bucket=r.RAW_BUCKET.local_name, Prefix=r.QUARANTINE_PREFIX).get("Contents", [])
    check(len(quarantine) == 1, f"{len(quarantine)} quarantined records, expected 1")
    reason = json.loads(s3.get_object(Bucket=r.RAW_BUCKET.local_name, Key=quarantine[0]["Key"])["Body"].read())
    d.say(f"quarantine: 1 record, reason: {reason['reason']} ({reason['errors'][0]['message'][:60]})")


def step_query(d: Demo) -> None:
    from barometer_sql import run_query

    expected = d.expected
    sql = ("SELECT symbol, count(*) AS quotes, min(price) AS low, max(price) AS high "
           "FROM quotes GROUP BY symbol ORDER BY symbol")

    def result():
        rows = run_query(sql, s3_endpoint=d.platform.emulator.url, processed_bucket=r.PROCESSED_BUCKET.local_name).records()
        return sum(row["quotes"] for row in rows) == expected["quotes"] and rows

    rows = d.api.wait_for(result, timeout_s=60, what="the lake query to see every quote")
    d.say(f"barometer query \"{sql}\"")
    for row in rows:
        d.say(f"  {row['symbol']:6} quotes={row['quotes']} low={row['low']} high={row['high']}")


def step_alerts(d: Demo) -> None:
    def market_alerts():
        status, body = d.api.get("/v1/alerts", kind="market")
        return status == 200 and body["alerts"] and body["alerts"]

    d.api.wait_for(market_alerts, timeout_s=60, what="the market alert")
    time.sleep(1.0)  # give a wrongly doubled alert the chance to show up before counting
    status, body = d.api.get("/v1/alerts", kind="market")
    check(len(body["alerts"]) == 1, f"{len(body['alerts'])} market alerts, expected exactly 1")
    alert = body["alerts"][0]
    check(alert["key"] == "AAPL" and alert["change_pct"] <= -10, f"unexpected alert {alert}")
    d.say(f"MarketAlert: {alert['summary']}")
    # The same drop sent again, and a second breach on the same day, change nothing.
    events, _ = demo_events(d.now)
    status, _ = d.api.post_events([e for e in events if e.get("symbol") == "AAPL"][-2:])
    check(status == 200, "re-sending the drop failed")
    platform_webhook = d.platform.webhook
    posts = d.api.wait_for(lambda: [p for p in platform_webhook.posts() if "AAPL" in json.dumps(p["body"])],
                           timeout_s=60, what="the Slack post for the AAPL alert")
    d.say(f"Slack webhook received: {posts[0]['body']['text'][:100]}")
    mailbox_dir = d.platform.state_dir / "mail"
    mails = d.api.wait_for(lambda: sorted(mailbox_dir.glob("*.eml")), timeout_s=60, what="the alert emails")
    subjects = [line for m in mails for line in m.read_text().splitlines() if line.startswith("Subject:")]
    d.say(f"email path: {len(mails)} message(s) in {mailbox_dir}: {'; '.join(subjects)}")
    status, weather = d.api.get("/v1/alerts", kind="weather")
    check(status == 200 and [a["rule"] for a in weather["alerts"]] == ["heavy_rain"],
          f"weather alerts: {weather}")
    d.say(f"WeatherAlert: {weather['alerts'][0]['summary']}")
    time.sleep(3.0)
    status, body = d.api.get("/v1/alerts", kind="market")
    check(len(body["alerts"]) == 1, f"after re-sending the drop there are {len(body['alerts'])} market alerts")
    aapl_posts = [p for p in platform_webhook.posts() if "AAPL" in json.dumps(p["body"])]
    check(len(aapl_posts) == 1, f"{len(aapl_posts)} Slack posts for AAPL, expected exactly 1")
    d.say("re-sent the drop: still exactly one alert and one notification")


def format_health(health: dict[str, Any]) -> str:
    dlq = health.get("dlq_depth", {})
    reasons = ", ".join(f"{x['reason']}={x['count']}" for x in health.get("quarantine_reasons", []))
    errors = health.get("handler_errors", {})
    lines = [
        f"pipeline health (last {health.get('window', '24h')}, as of {health.get('as_of', '?')})",
        f"  events in          {health.get('events_in_total')}",
        f"  processed          {health.get('processed_total')}",
        f"  quarantined        {health.get('quarantined_total')}" + (f"  (by field: {reasons})" if reasons else ""),
        (f"  DLQ depth          events={dlq.get('events')} stream_failures={dlq.get('stream_failures')} "
         f"notify={dlq.get('notify')}"),
        f"  stream lag         {health.get('stream_lag_ms')} ms",
        f"  handler errors     {', '.join(f'{k}={v}' for k, v in errors.items())}",
        f"  alerts sent        {health.get('alerts_sent')}",
    ]
    return "\n".join(lines)


def step_health(d: Demo) -> None:
    expected = d.expected
    valid = expected["quotes"] + expected["weather"]

    def settled():
        status, health = d.api.get("/v1/health")
        return (status == 200 and health["processed_total"] >= valid and health["quarantined_total"] == 1
                and health["events_in_total"] >= valid + 1 and health) or None

    health = d.api.wait_for(settled, timeout_s=60, what="the health counters to catch up")
    check(health["dlq_depth"]["events"] == 1, f"events DLQ depth {health['dlq_depth']}, expected 1")
    check(health["alerts_sent"] == 2, f"{health['alerts_sent']} alerts sent, expected 2 (market + weather)")
    for line in format_health(health).splitlines():
        d.say(line)


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("inject stock and weather events into the authenticated HTTP API", step_ingest),
    ("events flow API -> Kinesis -> processor -> MetricsTable and LatestTable", step_flow),
    ("stored in DynamoDB and the S3 lake (raw gzip JSON, processed Parquet, quarantine)", step_storage),
    ("an analytics query over the lake (DuckDB; the same SQL runs on Athena)", step_query),
    ("a >=10% drop raises exactly one MarketAlert, delivered to Slack and email", step_alerts),
    ("pipeline health", step_health),
]


def run_demo(keep_running: bool = False) -> int:
    from barometer_local.emulator import free_port
    from barometer_local.platform import LocalPlatform, PlatformOptions
    from barometer_local.state import ResetError, reset

    home = Path(os.environ.get("BAROMETER_DEMO_HOME") or state_dir() / "demo")
    os.environ[HOME_ENV] = str(home)
    print(f"Barometer demo (state in {home}, emptied first: the demo verifies counts from zero)", flush=True)
    try:
        reset(home)
    except ResetError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    platform = LocalPlatform(home, PlatformOptions(api_port=free_port(), flush_seconds=1.0))
    failed = None
    try:
        platform.start(progress=lambda m: print(f"  . {m}", flush=True))
        platform.wait_ready()
        print(f"  . platform ready: API {platform.api_url}", flush=True)
        demo = Demo(ApiClient(platform.api_url, platform.token()), platform, datetime.now(UTC))
        for number, (title, step) in enumerate(STEPS, start=1):
            print(f"\n[{number}/{len(STEPS)}] {title}", flush=True)
            started = time.monotonic()
            try:
                step(demo)
            except (StepFailed, TimeoutError) as exc:
                print(f"  FAILED: {exc}", flush=True)
                failed = title
                break
            print(f"  ok ({time.monotonic() - started:.1f}s)", flush=True)
        if keep_running and not failed:
            print(f"\nThe platform keeps running at {platform.api_url} (Ctrl-C to stop).", flush=True)
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    finally:
        platform.stop()
    if failed:
        print(f"\ndemo FAILED at: {failed}  (logs in {home / 'logs'})")
        return 1
    print("\ndemo passed: every step verified its result")
    return 0
