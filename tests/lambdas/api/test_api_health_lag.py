"""The health report's stream lag is as of now (0 once the consumers have drained), with statuses and thresholds."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from barometer import catalogue
from lambdas.api.health import DLQ_DEPTH, STREAM_LAG_MS, checks, lag_as_of, overall, pipeline_health

NOW = datetime(2026, 11, 30, 15, 30, 20, tzinfo=UTC)


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def test_an_idle_drained_stream_has_no_lag_whatever_the_last_batch_took():
    # Given the processor's last batch, 20 minutes ago, took 21 s, and the consumers now read nothing new
    processed = [(ago(minutes=20), 21_000.0)]
    stream_age = [(ago(seconds=50), 0.0), (ago(seconds=10), 0.0)]
    incoming = [(ago(minutes=20), 12.0)]
    # Then the lag now is zero
    assert lag_as_of(NOW, stream_age, processed, incoming) == 0.0
    # And with no consumer report at all and nothing arrived since the last batch, it is zero too
    assert lag_as_of(NOW, [], processed, incoming) == 0.0
    assert lag_as_of(NOW, [], [], []) == 0.0


def test_a_backlog_shows_the_age_of_its_oldest_record_now():
    # Given the consumers report records 45 s old in their newest read
    stream_age = [(ago(seconds=70), 30_000.0), (ago(seconds=10), 45_000.0)]
    assert lag_as_of(NOW, stream_age, [(ago(minutes=1), 44_000.0)], []) == 45_000.0
    # And a report older than the freshness limit says nothing about now
    assert lag_as_of(NOW, [(ago(minutes=5), 45_000.0)], [(ago(minutes=5), 1.0)], []) == 0.0


def test_records_that_arrived_after_the_last_batch_with_no_reader_have_waited_since_they_came():
    # Given nobody reads the stream (the runner stopped) and records came in 7 minutes ago, after the last batch
    incoming = [(ago(minutes=30), 5.0), (ago(minutes=7), 3.0), (ago(minutes=6), 0.0)]
    lag = lag_as_of(NOW, [], [(ago(minutes=30), 900.0)], incoming)
    # Then the lag counts from their minute
    assert lag == 7 * 60_000.0


def test_every_figure_has_a_status_with_its_thresholds():
    report = {"stream_lag_ms": 12_000.0, "dlq_depth": {"events": 0, "notify": None, "stream_failures": 250},
              "handler_errors": {"processor": 0, "api": 3}}
    found = {c["name"]: c for c in checks(report)}
    assert found["stream_lag_ms"] == {"name": "stream_lag_ms", "label": "Stream lag", "value": 12_000.0, "unit": "ms",
                                      "warn_at": STREAM_LAG_MS[0], "fail_at": STREAM_LAG_MS[1], "status": "warn"}
    assert [found[f"dlq_depth.{n}"]["status"] for n in ("events", "notify", "stream_failures")] == [
        "ok", "unknown", "fail"]
    assert found["dlq_depth.events"]["warn_at"] == DLQ_DEPTH[0]
    assert found["handler_errors.api"]["status"] == "warn" and found["handler_errors.processor"]["status"] == "ok"
    assert overall(list(found.values())) == "fail"
    assert overall([found["dlq_depth.events"], found["dlq_depth.notify"]]) == "unknown"
    assert overall([found["dlq_depth.events"]]) == "ok"


@pytest.mark.emulator
def test_the_report_reads_the_lag_now_from_cloudwatch(emulator_env, monkeypatch):
    from barometer.aws import client

    # Given a stream whose processor reported a 21 s iterator age a quarter of an hour ago
    stream, function = f"events-{uuid.uuid4().hex[:8]}", catalogue.PROCESSOR_FUNCTION.local_name
    monkeypatch.setenv(catalogue.EVENTS_STREAM.env_var, stream)
    now = datetime.now(UTC).replace(microsecond=0)
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
        "MetricName": "IteratorAge", "Dimensions": [{"Name": "FunctionName", "Value": function}],
        "Timestamp": now - timedelta(minutes=15), "Value": 21_000.0, "Unit": "Milliseconds"}])
    # When its consumers have read it to the end since
    cloudwatch.put_metric_data(Namespace="AWS/Kinesis", MetricData=[{
        "MetricName": "GetRecords.IteratorAgeMilliseconds", "Dimensions": [{"Name": "StreamName", "Value": stream}],
        "Timestamp": now - timedelta(seconds=s), "Value": 0.0, "Unit": "Milliseconds"} for s in (40, 20, 5)])
    report = pipeline_health(now)
    # Then the report's lag is zero, with its status and thresholds
    assert report["stream_lag_ms"] == 0.0
    (lag,) = [c for c in report["checks"] if c["name"] == "stream_lag_ms"]
    assert lag["status"] == "ok" and (lag["warn_at"], lag["fail_at"]) == STREAM_LAG_MS
    # And when the newest read finds records 75 s old, the lag is that and the status fails
    cloudwatch.put_metric_data(Namespace="AWS/Kinesis", MetricData=[{
        "MetricName": "GetRecords.IteratorAgeMilliseconds", "Dimensions": [{"Name": "StreamName", "Value": stream}],
        "Timestamp": now, "Value": 75_000.0, "Unit": "Milliseconds"}])
    report = pipeline_health(now + timedelta(seconds=1))
    assert report["stream_lag_ms"] == 75_000.0 and report["status"] == "fail"
