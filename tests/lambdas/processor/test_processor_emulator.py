"""The processor end to end against the emulator over HTTP: its real adapters (DynamoDB BatchGetItem,
BatchWriteItem, Query and conditional PutItem; Firehose; S3 and SQS quarantine; SNS), batch after batch,
in a warm container and in new ones."""
from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from processor_fakes import (
    FIRST_SEQ,
    LambdaContext,
    TallyMeter,
    kinesis_event,
    load_event,
    quote,
    sequence_numbers,
)

from barometer import catalogue as r
from barometer.core.timeutil import format_public
from barometer.ddb import from_item
from barometer.settings import get_settings
from lambdas.processor.alerting import AlertsLake, AlertsTable, AlertTopics
from lambdas.processor.capacity import CapacityMeter
from lambdas.processor.handler import lambda_handler
from lambdas.processor.ports import Ports
from lambdas.processor.sinks import LakeSink, QuarantineSink, _queue_url
from lambdas.processor.tables import DynamoLatestTable, DynamoMetricsTable

pytestmark = pytest.mark.emulator
CONTEXT = LambdaContext()
START = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def aws(emulator, service: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1")


def container(meter: CapacityMeter) -> Ports:
    """A new Lambda container: the AWS adapters, cold caches."""
    return Ports(lake=LakeSink(), quarantine=QuarantineSink(), metrics_table=DynamoMetricsTable(meter),
                 latest=DynamoLatestTable(meter), alerts=AlertsTable(meter), topics=AlertTopics(),
                 alerts_lake=AlertsLake(), meter=meter)


def latest_item(emulator, resources, pk: str) -> dict:
    item = aws(emulator, "dynamodb").get_item(TableName=resources[r.LATEST_TABLE.env_var], Key={"pk": {"S": pk}},
                                              ConsistentRead=True).get("Item")
    return from_item(item)


def metrics_items(emulator, resources, pk: str) -> list[dict]:
    response = aws(emulator, "dynamodb").query(
        TableName=resources[r.METRICS_TABLE.env_var], KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True)
    return [from_item(i) for i in response["Items"]]


def lake_rows(emulator, bucket: str, table: str) -> list[dict]:
    s3 = aws(emulator, "s3")
    rows = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"{table}/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
        rows.extend(json.loads(line) for line in body.splitlines() if line)
    return rows


def test_batches_through_the_real_adapters(emulator, env):
    resources, lake_bucket = env
    meter = TallyMeter()  # units from item sizes, as the emulator's default ports count them
    warm = container(meter)
    # Given the market-drop batch and an invalid record
    first = load_event("kinesis_market_drop.json")
    first["Records"].append(kinesis_event(["not json {"], seqs=[int(sequence_numbers(first)[-1]) + 1])["Records"][0])
    # When the processor runs
    assert lambda_handler(first, CONTEXT, ports=warm) == {"batchItemFailures": []}
    # Then MetricsTable holds each event with its seq, LatestTable each key's state, the lake every event
    seqs = sequence_numbers(first)
    aapl_items = metrics_items(emulator, resources, "quote#AAPL")
    assert [(i["event_id"], i["seq"]) for i in aapl_items] == [
        ("q-aapl-mon-1", seqs[0]), ("q-aapl-mon-close", seqs[1]), ("q-aapl-drop-1", seqs[3]),
        ("q-aapl-drop-2", seqs[5])]
    aapl = latest_item(emulator, resources, "quote#AAPL")
    assert (aapl["value"], aapl["events"], aapl["version"], aapl["applied_seq"]) == (167.0, 4, 1, seqs[5])
    assert (aapl["previous_close"], aapl["previous_close_day"]) == (190.0, "2026-11-23")
    assert sorted(r["event_id"] for r in lake_rows(emulator, lake_bucket, "quotes")) == sorted(
        ["q-aapl-mon-1", "q-aapl-mon-close", "q-msft-mon-1", "q-aapl-drop-1", "q-msft-tue-1", "q-aapl-drop-2"])
    # ... one market alert, stored, published and in the lake; the invalid record quarantined with its reason
    alert = from_item(aws(emulator, "dynamodb").get_item(
        TableName=resources[r.ALERTS_TABLE.env_var],
        Key={"pk": {"S": "market#AAPL"}, "sk": {"S": "2026-11-24#market_drop"}})["Item"])
    assert (alert["published"], alert["event_id"]) == (True, "q-aapl-drop-1") and alert["message_id"]
    assert sorted(row["rule"] for row in lake_rows(emulator, lake_bucket, "alerts")) == ["heavy_rain", "market_drop"]
    dlq = aws(emulator, "sqs").get_queue_url(QueueName=resources[r.EVENTS_DLQ.env_var])["QueueUrl"]
    message = json.loads(aws(emulator, "sqs").receive_message(QueueUrl=dlq)["Messages"][0]["Body"])
    assert (message["reason"], message["sequence_number"]) == ("not valid JSON", seqs[-1])
    # ... and the units counted: one write unit per MetricsTable item, per state and per alert write
    read, write = meter.totals()
    assert read == 3 and write == 7 + 3 + 2 * 2  # 3 keys read; 7 items, 3 states, 2 alerts stored and marked


def test_windows_departures_late_and_duplicate_events_across_containers(emulator, env):
    resources, _ = env
    meter = CapacityMeter(estimate=True)
    pk = "quote#ZZTEST"
    # Given a symbol's quotes every 50 s for an hour and a half, in three batches, each to a new container
    # (a cold state read from LatestTable, the departures read back from MetricsTable by Query)
    quotes = [quote("ZZTEST", 100.0 + i, format_public(START + timedelta(seconds=50 * i)), f"z-{i}")
              for i in range(108)]
    truth: dict[str, float] = {}
    for n, part in enumerate((quotes[:40], quotes[40:80], quotes[80:])):
        event = kinesis_event(part, first_seq=FIRST_SEQ + 1000 * n)
        assert lambda_handler(event, CONTEXT, ports=container(meter)) == {"batchItemFailures": []}
        truth.update({p["event_id"]: p["price"] for p in part})
    # When a late quote, a re-sent one (another price) and a new one come, in a warm container, twice
    extra = [quote("ZZTEST", 500.0, format_public(START + timedelta(seconds=50 * 100 + 7)), "z-late"),
             quote("ZZTEST", 999.0, format_public(START + timedelta(seconds=50 * 101)), "z-101"),
             quote("ZZTEST", 300.0, format_public(START + timedelta(seconds=50 * 108)), "z-108")]
    warm = container(meter)
    event = kinesis_event(extra, first_seq=FIRST_SEQ + 5000)
    assert lambda_handler(event, CONTEXT, ports=warm) == {"batchItemFailures": []}
    saved = latest_item(emulator, resources, pk)
    assert lambda_handler(event, CONTEXT, ports=warm) == {"batchItemFailures": []}
    # Then the duplicate is written nowhere, the redelivery changed nothing, and every window is exact
    assert latest_item(emulator, resources, pk) == saved
    items = {i["event_id"]: i for i in metrics_items(emulator, resources, pk)}
    assert items["z-101"]["value"] == 201.0 and items["z-101"]["seq"] == str(FIRST_SEQ + 2000 + 21)
    truth.update({"z-late": 500.0, "z-108": 300.0})
    stamps = {p["event_id"]: START + timedelta(seconds=50 * int(p["event_id"][2:])) for p in quotes}
    stamps.update({"z-late": START + timedelta(seconds=5007), "z-108": START + timedelta(seconds=5400)})
    latest = max(stamps.values())
    for window in get_settings().windows:
        inside = [truth[e] for e, t in stamps.items() if latest - timedelta(seconds=window.seconds) < t <= latest]
        assert saved["rolling_counts"][window.name] == len(inside), window.name
        assert math.isclose(saved["rolling"][window.name], math.fsum(inside) / len(inside), rel_tol=1e-12)
    assert (saved["events"], saved["version"]) == (110, 4)


def test_an_unreachable_dlq_fails_only_the_quarantined_records(emulator, env, monkeypatch):
    resources, _ = env
    # Given an events DLQ that cannot be found (deleted, or not yet created on a first deploy)
    monkeypatch.setenv(r.EVENTS_DLQ.env_var, f"missing-{uuid.uuid4().hex[:8]}")
    _queue_url.cache_clear()
    batch = kinesis_event(["not json {", quote("AAPL", 190.0, format_public(START + timedelta(hours=1)), "q-dlq-1")],
                          seqs=[FIRST_SEQ + 900, FIRST_SEQ + 901])
    # When the processor runs
    response = lambda_handler(batch, CONTEXT, ports=container(TallyMeter()))
    # Then only the invalid record is reported (retried), and the valid one beside it went through
    assert response == {"batchItemFailures": [{"itemIdentifier": str(FIRST_SEQ + 900)}]}
    assert [i["event_id"] for i in metrics_items(emulator, resources, "quote#AAPL") if i["event_id"] == "q-dlq-1"]
