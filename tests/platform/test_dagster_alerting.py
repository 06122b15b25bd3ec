"""Failure alerting through the emulator's real OpsAlerts topic: a failed run and a check that starts
failing each publish one OpsAlert (read back from the topic's SQS sensor queue), and the ops_alerts
sensor does not turn Dagster's own alerts into DR runs."""
from __future__ import annotations

import json

import boto3
import dagster as dg
import pytest

from barometer.catalogue import OPS_TOPIC
from barometer_local.emulator import REGION
from platform_assets.alerting import (
    SOURCE,
    CheckCursor,
    CheckOutcome,
    check_failure_alert,
    newly_failing,
    run_failure_alert,
    subject_line,
)
from platform_assets.definitions import defs
from platform_assets.dr.sensors import ops_alert_sensor

pytestmark = pytest.mark.emulator


@pytest.fixture
def ops_queue(emulator, provisioned):
    sqs = boto3.client("sqs", endpoint_url=emulator.url, region_name=REGION)
    url = sqs.get_queue_url(QueueName=OPS_TOPIC.sensor_queue)["QueueUrl"]

    def drain() -> list[dict]:
        bodies = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            bodies += [json.loads(m["Body"]) for m in batch]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return bodies

    drain()
    return drain


@dg.op
def breaks():
    raise RuntimeError("the lake bucket is gone")


@dg.job
def fragile():
    breaks()


def test_a_failed_run_publishes_one_ops_alert_that_the_dr_sensor_leaves_alone(barometer, ops_queue):
    with dg.instance_for_test() as instance:
        # Given a run that failed
        result = fragile.execute_in_process(instance=instance, raise_on_error=False, tags={"dagster/partition": "2026-11-24"})
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        # When the run-failure sensor sees it
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failures_to_ops_alerts", dagster_event=failure, dagster_instance=instance,
            dagster_run=result.dagster_run, resources={"barometer": barometer}).for_run_failure()
        run_failure_alert(context)
        # Then OpsAlerts carries one message naming the job, the run, the partition and the error
        (envelope,) = ops_queue()
        assert envelope["Subject"] == "[Barometer] Dagster run failed: fragile"
        message = json.loads(envelope["Message"])
        assert message["source"] == SOURCE and message["kind"] == "run_failure"
        assert message["job"] == "fragile" and message["run_id"] == result.run_id
        assert message["partition"] == "2026-11-24" and "breaks" in message["error"]
        # And the DR sensor, which reads the same queue, starts no run for it
        sqs = boto3.client("sqs", endpoint_url=barometer.endpoint, region_name=REGION)
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=OPS_TOPIC.sensor_queue)["QueueUrl"],
                         MessageBody=json.dumps(envelope))
        tick = ops_alert_sensor.evaluate_tick(dg.build_sensor_context(
            instance=instance, resources={"barometer": barometer}, definitions=defs))
        assert tick.run_requests == []


def test_a_check_alerts_once_when_it_starts_failing(barometer, ops_queue):
    with dg.instance_for_test() as instance:
        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"barometer": barometer},
                                              definitions=defs)
            return check_failure_alert.evaluate_tick(context)

        # Given the freshness checks failed (nothing was ever materialized)
        defs.resolve_job_def("check_freshness").execute_in_process(instance=instance, raise_on_error=False)
        # When the sensor ticks
        first = tick(None)
        # Then each failing ERROR check is one OpsAlert
        published = [json.loads(e["Message"]) for e in ops_queue()]
        checks = {m["check"] for m in published}
        assert "lake/quotes:yesterday_materialized" in checks and "dashboards/web_extracts:materialized_recently" in checks
        assert len(published) == len(checks) and all(m["kind"] == "check_failure" for m in published)
        # When the same checks fail again: no new alert
        defs.resolve_job_def("check_freshness").execute_in_process(instance=instance, raise_on_error=False)
        second = tick(first.cursor)
        assert ops_queue() == []
        assert CheckCursor.parse(second.cursor).failing == checks
        # And a tick with nothing new to read says so
        assert tick(second.cursor).skip_message == "no check evaluated since the last tick"


def test_a_check_that_passes_again_alerts_again_when_it_next_fails():
    cursor = CheckCursor()

    def outcome(passed: bool, severity: str = "ERROR") -> CheckOutcome:
        return CheckOutcome("lake/quotes:no_duplicate_ids", passed, severity, "r", {}, None)

    assert newly_failing(cursor, [outcome(False), outcome(False)]) == [outcome(False)]
    assert newly_failing(cursor, [outcome(True), outcome(False)]) == [outcome(False)]
    assert newly_failing(cursor, [outcome(False, "WARN")]) == [] and cursor.failing == set()


def test_subjects_are_what_sns_accepts():
    assert subject_line("[Barometer] check failed:\n lake/quotes — déjà") == "[Barometer] check failed: lake/quotes ? d?j?"
    long = subject_line("x" * 300)
    assert len(long) == 99 and long.endswith("...")
