"""Unattended operation: every asset is kept current by something that starts by itself, freshness is
checked on its own (and names the day it expects, since the partitions end tomorrow), and FinOps alerts
are read from their queue like the other alert topics."""
from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import boto3
import dagster as dg
import pytest

from barometer.catalogue import FINOPS_TOPIC
from barometer_local.emulator import REGION
from platform_assets.definitions import build_definitions, defs
from platform_assets.freshness import CHECK_PARTITION, CHECK_RECENT, expected_day
from platform_assets.resources import BarometerResource


def test_every_schedule_and_sensor_starts_running_except_the_local_poll():
    # Given the code location as a fresh deployment loads it
    repository = defs.get_repository_def()
    # Then everything that keeps assets current starts by itself
    stopped = {s.name for s in repository.schedule_defs if s.default_status != dg.DefaultScheduleStatus.RUNNING}
    assert stopped == {"poll_every_minute"}  # EventBridge polls on AWS; locally BAROMETER_POLL_SCHEDULE=running
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in repository.sensor_defs)


def test_every_asset_is_in_a_scheduled_job():
    # Given the jobs the schedules start
    repository = defs.get_repository_def()
    scheduled: set[dg.AssetKey] = set()
    for schedule in repository.schedule_defs:
        if schedule.default_status == dg.DefaultScheduleStatus.RUNNING:
            job = repository.get_job(schedule.job_name)
            scheduled |= set(job.asset_layer.selected_asset_keys)
    # Then every asset (the observable feeds included) is refreshed by one of them
    every_asset = {spec.key for spec in defs.resolve_all_asset_specs()}
    assert every_asset - scheduled == set()


@pytest.mark.parametrize(("now", "day"), [
    (datetime(2026, 11, 24, 1, 59, tzinfo=UTC), "2026-11-22"),  # before today's deadline: the one before
    (datetime(2026, 11, 24, 2, 0, tzinfo=UTC), "2026-11-23"),
    (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), "2026-11-23"),
])
def test_the_expected_partition_is_the_day_before_the_latest_deadline(now, day):
    assert expected_day(now, time(2, 0))[0] == day


def _run_freshness(instance) -> dict[str, tuple[bool, str]]:
    result = defs.resolve_job_def("check_freshness").execute_in_process(instance=instance, raise_on_error=False)
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": (e.passed, e.severity.value)
            for e in result.get_asset_check_evaluations()}


def test_freshness_checks_run_on_their_own_and_see_a_missing_day():
    with dg.instance_for_test() as instance:
        # Given nothing materialized: every freshness check fails, as an ERROR
        first = _run_freshness(instance)
        assert f"lake/quotes:{CHECK_PARTITION}" in first and f"dashboards/web_extracts:{CHECK_RECENT}" in first
        assert all(not passed and severity == "ERROR" for passed, severity in first.values())
        # When the expected day of lake/quotes and the extracts are materialized
        day, _ = expected_day(datetime.now(UTC), time(2, 0))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["lake", "quotes"], partition=day))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["dashboards", "web_extracts"]))
        # A later day does not stand in for the expected one
        later = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["lake", "weather"], partition=later))
        second = _run_freshness(instance)
    # Then exactly those pass
    assert second[f"lake/quotes:{CHECK_PARTITION}"][0] is True
    assert second[f"dashboards/web_extracts:{CHECK_RECENT}"][0] is True
    assert second[f"lake/weather:{CHECK_PARTITION}"][0] is False
    assert second[f"analytics/daily_ohlc:{CHECK_PARTITION}"][0] is False


@pytest.mark.emulator
def test_a_finops_alert_becomes_a_run_that_keeps_it_in_the_lake(emulator, provisioned, barometer):
    from platform_helpers import new_bucket

    from platform_assets.finops import finops_alert_sensor

    sns = boto3.client("sns", endpoint_url=emulator.url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=emulator.url, region_name=REGION)
    url = sqs.get_queue_url(QueueName=FINOPS_TOPIC.sensor_queue)["QueueUrl"]
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    # Given a budget alert (AWS Budgets publishes plain text)
    sns.publish(TopicArn=provisioned.topic_arns["FinOpsAlerts"], Subject="AWS Budgets: barometer-monthly",
                Message="You have exceeded 80% of your budget")
    # When the FinOps sensor ticks
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"barometer": barometer}, definitions=defs)
        result = finops_alert_sensor.evaluate_tick(context)
        (request,) = result.run_requests
        assert request.run_key.startswith("finops:")
        assert request.tags["barometer/finops_subject"] == "AWS Budgets: barometer-monthly"
        # And the run it asks for runs
        bucket = new_bucket(emulator)
        resource = BarometerResource(environment="local", endpoint=emulator.url, region=REGION,
                                     name_overrides={"ProcessedBucket": bucket})
        run = build_definitions({"barometer": resource}).resolve_job_def("finops_alert").execute_in_process(
            run_config=request.run_config, instance=instance)
    # Then the alert is kept in the lake as it came
    uri = run.output_for_node("record_finops_alert")
    key = uri.split(f"s3://{bucket}/", 1)[1]
    assert key.startswith("ops/finops-alerts/dt=")
    record = json.loads(boto3.client("s3", endpoint_url=emulator.url, region_name=REGION)
                        .get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["message"] == {"text": "You have exceeded 80% of your budget"}
    assert record["subject"] == "AWS Budgets: barometer-monthly"
