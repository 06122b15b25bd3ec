"""The local runner reports the stream's iterator age as Kinesis does on AWS: the oldest unprocessed record's age, 0 once drained."""
from __future__ import annotations

import time

from barometer import catalogue as r
from barometer_local.mapping import ShardMapping
from barometer_local.runner import Runner
from barometer_local.sources import DynamoShardReader, KinesisShardReader


class RecordingSink:
    def __init__(self) -> None:
        self.data: list[tuple[str, dict]] = []

    def add(self, namespace: str, datum: dict) -> None:
        self.data.append((namespace, datum))


def runner_with(mappings) -> Runner:
    runner = Runner.__new__(Runner)  # only the parts the report reads: no emulator needed
    runner.metrics, runner.mappings = RecordingSink(), mappings
    return runner


def mapping_of(reader, buffer: list[dict]) -> ShardMapping:
    mapping = ShardMapping.__new__(ShardMapping)  # only what the report reads: its reader and buffer
    mapping.reader, mapping.buffer = reader, buffer
    return mapping


def kinesis_mapping(*ages_s: float) -> ShardMapping:
    now = time.time()
    return mapping_of(KinesisShardReader.__new__(KinesisShardReader),
                      [{"kinesis": {"approximateArrivalTimestamp": now - age}} for age in ages_s])


def test_records_waiting_in_a_shard_make_the_age_of_the_oldest():
    # Given two shards with records read but not processed yet (30 s and 12 s old), and a DynamoDB stream's backlog
    dynamo = mapping_of(DynamoShardReader.__new__(DynamoShardReader),
                        [{"dynamodb": {"ApproximateCreationDateTime": time.time() - 600}}])
    runner = runner_with([("processor", kinesis_mapping(30, 5)), ("processor", kinesis_mapping(12)),
                          ("notifier", dynamo)])
    # When the runner reports
    runner._report_stream_age()
    # Then the events stream's age is the oldest record's, in milliseconds (the DynamoDB stream is not the events stream)
    ((namespace, datum),) = runner.metrics.data
    assert namespace == "AWS/Kinesis" and datum["MetricName"] == "GetRecords.IteratorAgeMilliseconds"
    assert datum["Dimensions"] == [{"Name": "StreamName", "Value": r.EVENTS_STREAM.local_name}]
    assert 30_000 <= datum["Value"] < 32_000 and datum["Unit"] == "Milliseconds"


def test_a_drained_stream_reports_zero():
    runner = runner_with([("processor", kinesis_mapping()), ("processor", kinesis_mapping())])
    runner._report_stream_age()
    assert [datum["Value"] for _, datum in runner.metrics.data] == [0.0]


def test_an_idle_stream_repeats_its_zero_only_now_and_then():
    # Given a drained stream reported once
    runner = runner_with([("processor", kinesis_mapping())])
    runner._report_stream_age()
    # When it stays drained, the next reports within the idle period add nothing
    runner._report_stream_age()
    assert len(runner.metrics.data) == 1
    # And when records wait, every report counts, and the first zero after them too
    runner.mappings = [("processor", kinesis_mapping(3))]
    runner._report_stream_age()
    runner._report_stream_age()
    runner.mappings = [("processor", kinesis_mapping())]
    runner._report_stream_age()
    assert [datum["Value"] > 0 for _, datum in runner.metrics.data] == [False, True, True, False]
