"""The validator's orchestration with in-memory sinks (lambdas.validator.handler)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from validator_fakes import fake_ports, load_event, payload, sequence_numbers

from barometer.core.events import event_local_day, parse_event
from barometer.core.records import metrics_item
from barometer.core.timeutil import format_public
from barometer.settings import get_settings
from lambdas.validator.handler import default_ports, lambda_handler
from lambdas.validator.sinks import LakeSink, MetricsSink, QuarantineSink

ARRIVAL = format_public(datetime(2026, 11, 24, 15, 4, 6, 500000, tzinfo=UTC))


def expected_item(event: dict, index: int) -> dict:
    parsed = parse_event(payload(event, index), get_settings())
    return metrics_item(parsed, event_local_day(parsed, get_settings()), ARRIVAL)


def test_valid_events_are_stored_and_invalid_ones_quarantined_with_their_reason():
    # Given a batch of a valid quote, a valid weather event, an invalid quote and a record that is not JSON
    ports, lake, table, quarantine, _ = fake_ports()
    event = load_event("kinesis_mixed.json")
    seqs = sequence_numbers(event)
    # When the validator runs
    response = lambda_handler(event, None, ports=ports)
    # Then nothing is reported: each valid event is in its lake table and in MetricsTable ...
    assert response == {"batchItemFailures": []}
    assert {t: [r["event_id"] for r in rows] for t, rows in lake.rows.items()} == {
        "quotes": ["q-aapl-1"], "weather": ["w-sea-1"]}
    assert list(table.items.values()) == [expected_item(event, 0), expected_item(event, 1)]
    # ... and both bad records are quarantined at their stream position, with the reason and the data as received
    assert [(r.sequence_number, r.reason) for r in quarantine.rejections] == [
        (seqs[2], "invalid event"), (seqs[3], "not valid JSON")]
    assert [e.field for e in quarantine.rejections[0].errors] == ["price"]
    assert quarantine.rejections[1].record == "not json {"
    assert {(r.shard_id, r.arrival) for r in quarantine.rejections} == {("shardId-000000000000", ARRIVAL)}


def test_the_lake_is_written_before_metrics_table():
    # Given a batch of valid events
    ports, _, _, _, calls = fake_ports()
    # When the validator runs
    lambda_handler(load_event("kinesis_valid.json"), None, ports=ports)
    # Then every lake write comes before the MetricsTable write (the table only holds what the lake has)
    assert [sink for sink, _ in calls] == ["lake", "lake", "metrics", "quarantine"]
    assert calls[2] == ("metrics", ["q-aapl-1", "w-sea-1"])


def test_a_lake_failure_keeps_the_record_out_of_metrics_table_and_reports_it():
    # Given a lake that does not take the quote
    ports, _, table, _, _ = fake_ports(lake_fails={"q-aapl-1"})
    event = load_event("kinesis_valid.json")
    # When the validator runs
    response = lambda_handler(event, None, ports=ports)
    # Then the quote never reaches MetricsTable, and it is reported so that Lambda retries it
    assert [i["event_id"] for i in table.items.values()] == ["w-sea-1"]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_numbers(event)[0]}]}


def test_a_metrics_table_failure_is_reported_and_its_retry_rewrites_the_same_item():
    ports, _, table, _, _ = fake_ports(metrics_fails={"w-sea-1"})
    event = load_event("kinesis_valid.json")
    response = lambda_handler(event, None, ports=ports)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_numbers(event)[1]}]}
    table.failing.clear()
    assert lambda_handler(event, None, ports=ports) == {"batchItemFailures": []}
    assert list(table.items.values()) == [expected_item(event, 0), expected_item(event, 1)]


def test_a_quarantine_failure_is_reported():
    # Given a quarantine that cannot store the record that is not JSON
    event = load_event("kinesis_mixed.json")
    seqs = sequence_numbers(event)
    ports, _, table, quarantine, _ = fake_ports(quarantine_fails={seqs[3]})
    # When the validator runs
    response = lambda_handler(event, None, ports=ports)
    # Then that record is reported, and the others are done
    assert response == {"batchItemFailures": [{"itemIdentifier": seqs[3]}]}
    assert [r.sequence_number for r in quarantine.rejections] == [seqs[2]]
    assert len(table.items) == 2


def test_a_batch_whose_every_write_fails_fails_as_a_whole():
    ports, _, table, _, _ = fake_ports(lake_fails={"q-aapl-1", "w-sea-1"})
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        lambda_handler(load_event("kinesis_valid.json"), None, ports=ports)
    assert table.items == {}


def test_the_default_ports_are_the_aws_sinks():
    ports = default_ports()
    assert (type(ports.lake), type(ports.metrics_table), type(ports.quarantine)) == (
        LakeSink, MetricsSink, QuarantineSink)
    assert default_ports() is ports
