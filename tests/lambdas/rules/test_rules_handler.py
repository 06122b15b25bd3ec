"""The rules engine's orchestration with in-memory ports (lambdas.rules.handler)."""
from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from rules_fakes import batch, fake_ports, sequence_number

from barometer.core.records import alert_item
from lambdas.rules.adapters import AlertsLake, AlertsTable, AlertTopics
from lambdas.rules.handler import default_ports, lambda_handler

DROP_KEY = ("market#AAPL", "2026-11-24#market_drop")


def test_a_drop_below_the_previous_close_is_stored_written_to_the_lake_and_published():
    # Given AAPL's latest state carrying a price 11.6% below the previous close, and MSFT's without a drop
    ports, alerts, topics, lake = fake_ports()
    # When the rules engine runs
    response = lambda_handler(batch(0, 1), None, ports=ports)
    # Then one market alert is stored, written to the lake, published, and marked published
    assert response == {"batchItemFailures": []}
    assert [(a.kind, a.key, a.rule, a.value, a.reference_price) for a in topics.published] == [
        ("market", "AAPL", "market_drop", 168.0, 190.0)]
    assert [r["alert_id"] for r in lake.rows] == [topics.published[0].alert_id]
    assert list(alerts.items) == [DROP_KEY]
    assert alerts.items[DROP_KEY]["published"] is True and alerts.items[DROP_KEY]["message_id"] == "message-1"


def test_one_alert_per_key_rule_and_day_the_second_conditional_put_loses():
    # Given two AAPL drops on the same local day in one batch
    ports, alerts, topics, lake = fake_ports()
    # When the rules engine runs
    response = lambda_handler(batch(0, 2), None, ports=ports)
    # Then both tried to store the alert, the second lost, and the alert went out once (the first drop's)
    assert response == {"batchItemFailures": []}
    assert alerts.puts == [DROP_KEY, DROP_KEY]
    assert [(a.event_id, a.value) for a in topics.published] == [("q-aapl-drop-1", 168.0)]
    assert len(lake.rows) == 1


def test_weather_thresholds_raise_weather_alerts():
    ports, alerts, topics, _ = fake_ports()
    assert lambda_handler(batch(3), None, ports=ports) == {"batchItemFailures": []}
    assert [(a.kind, a.key, a.rule, a.metric, a.value) for a in topics.published] == [
        ("weather", "Seattle", "heavy_rain", "precip_mm", 32.5)]
    assert list(alerts.items) == [("weather#Seattle", "2026-11-24#heavy_rain")]


def test_a_publish_failure_reports_the_record_and_the_retry_publishes_the_stored_alert():
    # Given SNS failing once
    ports, alerts, topics, _ = fake_ports()
    topics.failures = 1
    event = batch(0, 1)
    # When the rules engine runs, the AAPL record is reported; its alert is stored but not published
    assert lambda_handler(event, None, ports=ports) == {
        "batchItemFailures": [{"itemIdentifier": sequence_number(event, 0)}]}
    assert alerts.items[DROP_KEY]["published"] is False and topics.published == []
    # When Lambda retries the batch
    assert lambda_handler(event, None, ports=ports) == {"batchItemFailures": []}
    # Then the conditional put loses, the stored alert is found unpublished, and it is published once
    assert alerts.puts == [DROP_KEY, DROP_KEY]
    assert [a.alert_id for a in topics.published] == [alerts.items[DROP_KEY]["alert_id"]]
    assert alerts.items[DROP_KEY]["published"] is True


def test_an_alert_stored_by_a_crashed_attempt_is_published_as_stored():
    # Given the alert stored by an earlier attempt that crashed before publishing it (the second drop's)
    ports, alerts, topics, lake = fake_ports()
    lambda_handler(batch(2, 1), None, ports=ports)
    stored = alerts.items[DROP_KEY]
    alerts.items[DROP_KEY] = {**stored, "published": False}
    topics.published.clear()
    lake.rows.clear()
    # When the first drop of that day is evaluated (a retry from an earlier stream position)
    assert lambda_handler(batch(0, 1), None, ports=ports) == {"batchItemFailures": []}
    # Then the stored alert is the one published, not a new one built from this event
    assert [(a.alert_id, a.event_id, a.value) for a in topics.published] == [
        (stored["alert_id"], "q-aapl-drop-2", 167.0)]
    assert [r["event_id"] for r in lake.rows] == ["q-aapl-drop-2"]


def test_a_published_alert_is_not_published_again():
    ports, _, topics, lake = fake_ports()
    event = batch(0, 1)
    lambda_handler(event, None, ports=ports)
    assert lambda_handler(event, None, ports=ports) == {"batchItemFailures": []}
    assert len(topics.published) == 1 and len(lake.rows) == 1


def test_a_lake_failure_reports_the_record_before_anything_is_published():
    ports, alerts, topics, lake = fake_ports()
    lake.failures = 1
    event = batch(0, 1)
    assert lambda_handler(event, None, ports=ports) == {
        "batchItemFailures": [{"itemIdentifier": sequence_number(event, 0)}]}
    assert topics.published == [] and alerts.items[DROP_KEY]["published"] is False


def test_an_alert_store_failure_on_every_record_fails_the_whole_batch():
    ports, alerts, topics, _ = fake_ports()
    alerts.failures = 2
    with pytest.raises(BatchProcessingError, match="All records failed processing. 2 individual errors"):
        lambda_handler(batch(0, 3), None, ports=ports)
    assert topics.published == []


def test_the_stored_item_is_the_alert_item_of_the_core():
    ports, alerts, topics, _ = fake_ports()
    lambda_handler(batch(0, 1), None, ports=ports)
    assert {k: v for k, v in alerts.items[DROP_KEY].items() if k not in ("published", "message_id")} == {
        k: v for k, v in alert_item(topics.published[0]).items() if k != "published"}


def test_the_default_ports_are_the_aws_adapters():
    ports = default_ports()
    assert (type(ports.alerts), type(ports.topics), type(ports.lake)) == (AlertsTable, AlertTopics, AlertsLake)
