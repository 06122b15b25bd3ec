"""The local stand-in for EventBridge Scheduler: the poll job runs the poller's handler in-process
against the emulator, and its events land on the events stream."""
from __future__ import annotations

import json
import os
import uuid

import boto3
import dagster as dg
import pytest

from barometer_local.emulator import REGION
from barometer.catalogue import EVENTS_STREAM
from barometer.settings import get_settings
from platform_assets.definitions import build_definitions
from platform_assets.resources import BarometerResource

pytestmark = pytest.mark.emulator


def stream_records(kinesis, stream: str) -> list[dict]:
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        records += [json.loads(r["Data"]) for r in response["Records"]]
    return records


def test_a_poll_puts_one_event_per_symbol_and_city_on_the_stream(emulator, provisioned):
    # Given an events stream of this test's own
    kinesis = boto3.client("kinesis", endpoint_url=emulator.url, region_name=REGION)
    stream = f"t-events-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    barometer = BarometerResource(environment="local", endpoint=emulator.url, region=REGION,
                                  name_overrides={EVENTS_STREAM.logical_id: stream})
    before = dict(os.environ)
    # When the poll job runs for one minute (the simulator providers: no network)
    job = build_definitions({"barometer": barometer}).resolve_job_def("poll_feeds")
    result = job.execute_in_process(run_config={"ops": {"poll_providers": {"config": {
        "event": {"time": "2026-11-24T15:00:00Z"}}}}})
    # Then every configured symbol and city has its event on the stream, and the process env is as before
    assert result.success
    summary = result.output_for_node("poll_providers")
    settings = get_settings()
    assert summary["put"] == len(settings.symbols) + len(settings.cities) and summary["failed"] == []
    events = stream_records(kinesis, stream)
    assert {e.get("symbol") or e.get("city") for e in events} == set(settings.symbols) | set(settings.cities)
    assert dict(os.environ) == before


def test_the_poll_schedule_is_off_unless_asked_for():
    from platform_assets.ingestion.poll import poll_schedule

    assert poll_schedule.cron_schedule == "* * * * *"
    assert poll_schedule.default_status == dg.DefaultScheduleStatus.STOPPED
