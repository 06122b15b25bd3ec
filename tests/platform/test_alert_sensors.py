"""The alert sensors against the emulator's real SNS topics and SQS sensor queues: previews lose
nothing, duplicates make one run, acknowledged messages leave the queue only after a committed cursor."""
from __future__ import annotations

import json

import boto3
import dagster as dg
import pytest

from barometer.catalogue import MARKET_TOPIC, OPS_TOPIC, WEATHER_TOPIC
from barometer_local.emulator import REGION
from platform_assets.analytics.sensors import market_alert_sensor, weather_alert_sensor
from platform_assets.definitions import defs
from platform_assets.dr.sensors import ops_alert_sensor

pytestmark = pytest.mark.emulator


def market_alert(alert_id: str = "a1", day: str = "2026-11-24") -> dict:
    return {"alert_id": alert_id, "kind": "market", "key": "AAPL", "rule": "market_drop",
            "ts": f"{day}T15:04:05Z", "value": 168.0, "reference_price": 190.0, "change_pct": -11.58,
            "threshold": 10.0, "local_day": day, "event_id": "e1", "summary": "AAPL dropped"}


@pytest.fixture
def sns(emulator):
    return boto3.client("sns", endpoint_url=emulator.url, region_name=REGION)


@pytest.fixture
def sqs(emulator):
    return boto3.client("sqs", endpoint_url=emulator.url, region_name=REGION)


@pytest.fixture
def empty_queues(sqs, provisioned):
    """The sensor queues, drained (the emulator is shared by the whole test session)."""
    urls = {t.logical_id: sqs.get_queue_url(QueueName=t.sensor_queue)["QueueUrl"]
            for t in (MARKET_TOPIC, WEATHER_TOPIC, OPS_TOPIC)}
    for url in urls.values():  # receive and delete (PurgeQueue is allowed once a minute)
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    return urls


def publish(sns, provisioned, topic, message: dict | str, subject: str = "[Barometer] test") -> None:
    """As the rules engine publishes: MessageStructure=json with per-protocol bodies."""
    body = message if isinstance(message, str) else json.dumps(message)
    sns.publish(TopicArn=provisioned.topic_arns[topic.logical_id], Subject=subject, MessageStructure="json",
                Message=json.dumps({"default": body, "sqs": body, "email": "text"}))


def queued(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def evaluate(sensor, barometer, cursor: str | None):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"barometer": barometer},
                                          definitions=defs)
        return sensor.evaluate_tick(context)


def test_an_alert_requests_one_run_of_its_day_and_previews_lose_nothing(sns, sqs, barometer, provisioned,
                                                                         empty_queues):
    # Given one market alert, delivered twice (at-least-once publishing)
    publish(sns, provisioned, MARKET_TOPIC, market_alert("alert-1"))
    publish(sns, provisioned, MARKET_TOPIC, market_alert("alert-1"))
    url = empty_queues["MarketAlerts"]
    # When the sensor is previewed twice from the same cursor
    first = evaluate(market_alert_sensor, barometer, None)
    second = evaluate(market_alert_sensor, barometer, None)
    # Then each preview asks for the same single run, and no message has left the queue
    for result in (first, second):
        (request,) = result.run_requests
        assert request.run_key == "alert:alert-1" and request.partition_key == "2026-11-24"
        assert {k.to_user_string() for k in request.asset_selection} == {
            "analytics/daily_ohlc", "analytics/alert_summary", "analytics/alert_incidents"}
        assert request.tags["barometer/alert_id"] == "alert-1"
    assert first.cursor == second.cursor
    assert queued(sqs, url) == 2
    # When the tick after the committed one runs
    third = evaluate(market_alert_sensor, barometer, first.cursor)
    # Then nothing new is asked for and both copies are acknowledged
    assert third.run_requests == [] and third.skip_message
    assert queued(sqs, url) == 0


def test_a_new_alert_after_a_committed_one_gets_its_own_run(sns, sqs, barometer, provisioned, empty_queues):
    publish(sns, provisioned, WEATHER_TOPIC, {**market_alert("w-1"), "kind": "weather", "key": "London",
                                              "rule": "heavy_rain", "local_day": "2026-11-23"})
    committed = evaluate(weather_alert_sensor, barometer, None).cursor
    publish(sns, provisioned, WEATHER_TOPIC, {**market_alert("w-2"), "kind": "weather", "key": "Seattle",
                                              "rule": "heavy_rain", "local_day": "2026-11-24"})
    result = evaluate(weather_alert_sensor, barometer, committed)
    (request,) = result.run_requests
    assert request.run_key == "alert:w-2" and request.partition_key == "2026-11-24"
    assert {k.to_user_string() for k in request.asset_selection} >= {"analytics/daily_weather"}
    # w-1 was acknowledged by this tick; w-2 waits for the next committed cursor
    assert queued(sqs, empty_queues["WeatherAlerts"]) == 1
    evaluate(weather_alert_sensor, barometer, result.cursor)
    assert queued(sqs, empty_queues["WeatherAlerts"]) == 0


def test_unreadable_alerts_start_no_run_and_are_acknowledged(sns, sqs, barometer, provisioned, empty_queues):
    publish(sns, provisioned, MARKET_TOPIC, "not json")
    publish(sns, provisioned, MARKET_TOPIC, {**market_alert("bad-day"), "local_day": "24/11/2026"})
    result = evaluate(market_alert_sensor, barometer, None)
    assert result.run_requests == []
    evaluate(market_alert_sensor, barometer, result.cursor)
    assert queued(sqs, empty_queues["MarketAlerts"]) == 0


def test_an_ops_alert_runs_the_dr_checks(sns, sqs, barometer, provisioned, empty_queues):
    # CloudWatch alarms publish plain text, not JSON
    sns.publish(TopicArn=provisioned.topic_arns["OpsAlerts"], Subject="ALARM: stream iterator age",
                Message='{"AlarmName": "barometer-iterator-age", "NewStateValue": "ALARM"}')
    result = evaluate(ops_alert_sensor, barometer, None)
    (request,) = result.run_requests
    assert request.job_name in (None, "dr_checks") and request.run_key.startswith("ops:")
    assert request.tags["barometer/ops_subject"] == "ALARM: stream iterator age"


def test_without_a_platform_the_sensor_skips(monkeypatch, tmp_path):
    from platform_assets.resources import BarometerResource

    monkeypatch.delenv("BAROMETER_AWS_ENDPOINT", raising=False)
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    result = evaluate(market_alert_sensor, BarometerResource(environment="local"), None)
    assert result.run_requests == [] and "barometer up" in result.skip_message


def test_a_queue_given_by_url_is_used_as_is(sqs, provisioned):
    from platform_assets.alert_sensors import queue_url

    url = sqs.get_queue_url(QueueName=MARKET_TOPIC.sensor_queue)["QueueUrl"]
    assert queue_url(sqs, MARKET_TOPIC.sensor_queue) == url
    assert queue_url(sqs, "https://sqs.eu-west-1.amazonaws.com/111122223333/q") == \
        "https://sqs.eu-west-1.amazonaws.com/111122223333/q"
