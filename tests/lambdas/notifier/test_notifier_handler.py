"""The notifier's per-record logic with in-memory ports (lambdas.notifier.handler)."""
from __future__ import annotations

import json

import pytest
from notifier_fakes import fake_ports, load_event, sns_event

from barometer.core.notifications import slack_payload
from lambdas.notifier.errors import NotifierError
from lambdas.notifier.handler import alert_from_record, lambda_handler


@pytest.fixture
def market() -> dict:
    return json.loads(load_event("sns_market_alert.json")["Records"][0]["Sns"]["Message"])


def test_an_sns_alert_is_posted_to_slack_and_recorded():
    # Given the SNS event Lambda receives for a market alert
    ports, webhook, ledger, dead = fake_ports()
    event = load_event("sns_market_alert.json")
    alert = json.loads(event["Records"][0]["Sns"]["Message"])
    # When the notifier runs
    outcome = lambda_handler(event, None, ports=ports)
    # Then Slack got the alert's payload once, and its delivery is recorded
    assert outcome == {"delivered": 1, "duplicate": 0, "dead_lettered": 0, "undelivered": 0}
    assert webhook.posts == [slack_payload(alert)]
    assert ("market#AAPL", "2026-11-24#market_drop") in ledger.delivered
    assert ledger.leases == {} and dead.sent == []


def test_the_same_message_delivered_twice_posts_once():
    ports, webhook, _, _ = fake_ports()
    event = load_event("sns_market_alert.json")
    lambda_handler(event, None, ports=ports)
    second = lambda_handler(event, None, ports=ports)
    assert second == {"delivered": 0, "duplicate": 1, "dead_lettered": 0, "undelivered": 0}
    assert len(webhook.posts) == 1


def test_a_webhook_failure_raises_releases_the_lease_and_the_retry_delivers():
    # Given a webhook that fails once
    ports, webhook, ledger, _ = fake_ports()
    webhook.failures = 1
    event = load_event("sns_market_alert.json")
    # When the notifier runs, the invocation fails (so Lambda retries it) ...
    with pytest.raises(NotifierError, match="1 of 1 alerts not delivered: Slack webhook answered 500"):
        lambda_handler(event, None, ports=ports)
    assert ledger.released and ledger.leases == {} and ledger.delivered == {}
    # ... and the retry delivers
    assert lambda_handler(event, None, ports=ports)["delivered"] == 1
    assert len(webhook.posts) == 1


def test_one_failing_record_does_not_stop_the_others_and_they_are_not_reposted(market):
    # Given two alerts in one event, the first of which fails to post
    ports, webhook, _, _ = fake_ports()
    webhook.failures = 1
    other = {**market, "alert_id": "other", "key": "MSFT"}
    event = sns_event(market, other)
    with pytest.raises(NotifierError):
        lambda_handler(event, None, ports=ports)
    assert [p["blocks"][0]["text"]["text"].split()[0] for p in webhook.posts] == ["MSFT"]
    # When the invocation is retried, only the failed alert is posted
    assert lambda_handler(event, None, ports=ports) == {"delivered": 1, "duplicate": 1, "dead_lettered": 0, "undelivered": 0}
    assert len(webhook.posts) == 2


def test_an_alert_leased_by_another_invocation_is_retried_not_skipped(market):
    ports, webhook, ledger, _ = fake_ports()
    ledger.acquire(market)  # another invocation is posting it right now
    with pytest.raises(NotifierError, match="being delivered by another invocation"):
        lambda_handler(sns_event(market), None, ports=ports)
    assert webhook.posts == []


def test_malformed_messages_go_to_the_dead_letter_queue_without_crashing():
    # Given one record that is not JSON and one without an alert_id
    ports, webhook, _, dead = fake_ports()
    event = load_event("sns_malformed.json")
    # When the notifier runs, it does not raise (a retry would not help)
    assert lambda_handler(event, None, ports=ports) == {"delivered": 0, "duplicate": 0, "dead_lettered": 2, "undelivered": 0}
    # Then both are dead-lettered with a reason naming the field, and with the record as received
    assert webhook.posts == []
    assert [d["errors"][0]["field"] for d in dead.sent] == ["Sns.Message", "alert_id"]
    assert all(d["reason"] == "malformed alert message" for d in dead.sent)
    assert dead.sent[0]["record"] == event["Records"][0]


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, None, [1, 2]])
def test_an_event_that_is_not_an_sns_event_is_dead_lettered(event):
    ports, webhook, _, dead = fake_ports()
    assert lambda_handler(event, None, ports=ports)["dead_lettered"] == 1
    assert dead.sent[0]["errors"] == [{"field": "Records", "message": "expected a list"}]
    assert webhook.posts == []


@pytest.mark.parametrize(("record", "field"), [
    ({}, "Sns"),
    ({"Sns": {"Message": None}}, "Sns.Message"),
    ({"Sns": {"Message": "[]"}}, "message"),
    ({"Sns": {"Message": '{"kind": "market"}'}}, "alert_id"),
])
def test_records_without_a_usable_message_are_dead_lettered_naming_the_field(record, field):
    ports, _, _, dead = fake_ports()
    assert lambda_handler({"Records": [record]}, None, ports=ports)["dead_lettered"] == 1
    assert dead.sent[0]["errors"][0]["field"] == field


def test_a_per_protocol_message_map_is_read_through_its_default_entry(market):
    # Given a publisher that sent the MessageStructure map itself as the message
    record = sns_event(json.dumps({"default": json.dumps(market), "email": "plain text"}))["Records"][0]
    # Then the alert is the default entry
    assert alert_from_record(record) == market


def test_weather_alerts_are_delivered_too():
    ports, webhook, ledger, _ = fake_ports()
    weather = load_event("weather_alert.json")
    assert lambda_handler(sns_event(weather), None, ports=ports)["delivered"] == 1
    assert webhook.posts[0]["blocks"][0]["text"]["text"] == "Seattle heavy_rain: precip_mm 32.5mm >= 30mm"
    assert ("weather#Seattle", "2026-11-24#heavy_rain") in ledger.delivered
