"""Local SNS deliveries: email as .eml files (Mailbox) and SNS -> notifier Lambda (NotifierPump)."""
from __future__ import annotations

import json
import time
import uuid
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import boto3
import pytest

from barometer.catalogue import ALERTS_TABLE, MARKET_TOPIC, NOTIFY_DLQ, SLACK_WEBHOOK_SECRET, WEATHER_TOPIC
from barometer.core.notifications import alert_subject, alert_text, slack_payload
from barometer_local import mailbox as mailbox_module
from barometer_local.mailbox import EnvelopeError, Mailbox, NotifierPump, parse_envelope, sns_lambda_event
from barometer_local.webhook import WebhookReceiver
from lambdas.notifier import slack
from lambdas.notifier.dead_letters import queue_url as dlq_url_cache
from lambdas.notifier.handler import lambda_handler

EVENTS = Path(__file__).parents[1] / "lambdas" / "notifier" / "events"


def contract_alert(name: str) -> dict:
    alert = json.loads((EVENTS / name).read_text())
    return {**alert, "alert_id": uuid.uuid4().hex}


def aws(emulator, service: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1")


def publish_like_the_rules_engine(sns, topic_arn: str, alert: dict) -> None:
    """MessageStructure=json as in docs/contracts.md ("Alert message")."""
    as_json = json.dumps(alert)
    sns.publish(
        TopicArn=topic_arn, MessageStructure="json", Subject=alert_subject(alert),
        Message=json.dumps({"default": as_json, "sqs": as_json, "lambda": as_json, "email": alert_text(alert)}),
        MessageAttributes={k: {"DataType": "String", "StringValue": alert[k]} for k in ("kind", "key", "rule")},
    )


def subscribed_queue(emulator, topic_arns: list[str], name: str, visibility_s: int = 30) -> str:
    sqs, sns = aws(emulator, "sqs"), aws(emulator, "sns")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility_s)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for topic in topic_arns:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)  # not raw: bodies are SNS envelopes
    return url


@pytest.fixture(scope="module")
def topics(emulator):
    sns = aws(emulator, "sns")
    suffix = uuid.uuid4().hex[:8]
    return {spec.logical_id: sns.create_topic(Name=f"{spec.local_name}-{suffix}")["TopicArn"]
            for spec in (MARKET_TOPIC, WEATHER_TOPIC)}


def envelope_for(alert: dict, subject: str | None = None) -> dict:
    return {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": subject or alert_subject(alert), "Message": json.dumps(alert),
            "Timestamp": "2026-11-24T15:04:06.123Z", "SignatureVersion": "1", "Signature": "s",
            "SigningCertURL": "https://cert", "UnsubscribeURL": "https://unsub",
            "MessageAttributes": {"kind": {"Type": "String", "Value": alert["kind"]}}}


# --- pure parts ------------------------------------------------------------------------------------

def test_render_gives_the_email_sns_would_send(tmp_path):
    alert = contract_alert("market_alert.json")
    email, name = Mailbox(tmp_path, "unused").render(envelope_for(alert))
    assert name == alert["alert_id"]
    assert email["Subject"] == "[Barometer] AAPL down 11.58% vs previous close 190.00"
    assert email["Date"] == "Tue, 24 Nov 2026 15:04:06 +0000"
    assert email["X-Barometer-Alert-Id"] == alert["alert_id"]
    assert email.get_content() == alert_text(alert)


def test_a_message_that_is_not_an_alert_is_emailed_as_published(tmp_path):
    envelope = {**envelope_for(contract_alert("market_alert.json")), "Message": "free text", "Subject": None}
    email, name = Mailbox(tmp_path, "unused").render(envelope)
    assert name == "message-m-1" and email.get_content() == "free text\n"
    assert email["Subject"] == "AWS Notification Message"


def test_sns_lambda_event_has_the_lambda_sns_shape():
    alert = contract_alert("weather_alert.json")
    event = sns_lambda_event(json.dumps(envelope_for(alert)))
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["Sns"]["Message"] == json.dumps(alert)
    assert record["Sns"]["SigningCertUrl"] == "https://cert" and record["Sns"]["UnsubscribeUrl"] == "https://unsub"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "weather"}}


@pytest.mark.parametrize("body", ["not json", "[]", '{"Type": "SubscriptionConfirmation"}',
                                  '{"Type": "Notification", "Message": 3}'])
def test_bodies_that_are_not_sns_envelopes_are_refused(body):
    with pytest.raises(EnvelopeError):
        parse_envelope(body)


# --- against the emulator ----------------------------------------------------------------------

@pytest.mark.emulator
def test_alerts_published_to_both_topics_arrive_as_eml_files_once_each(emulator_env, topics, tmp_path):
    # Given a mail queue subscribed to both alert topics
    emulator = emulator_env
    url = subscribed_queue(emulator, list(topics.values()), f"mail-{uuid.uuid4().hex[:8]}")
    market, weather = contract_alert("market_alert.json"), contract_alert("weather_alert.json")
    sns = aws(emulator, "sns")
    # When the processor publishes a market alert twice (at-least-once) and a weather alert
    publish_like_the_rules_engine(sns, topics["MarketAlerts"], market)
    publish_like_the_rules_engine(sns, topics["MarketAlerts"], market)
    publish_like_the_rules_engine(sns, topics["WeatherAlerts"], weather)
    box = Mailbox(tmp_path, url)
    written = box.drain(wait_s=1)
    # Then there is one RFC 5322 file per alert, with the subject and the email text
    assert len(written) == 3
    assert sorted(p.name for p in (tmp_path / "mail").glob("*.eml")) == sorted(
        [f"{market['alert_id']}.eml", f"{weather['alert_id']}.eml"])
    raw = (tmp_path / "mail" / f"{market['alert_id']}.eml").read_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["Subject"] == alert_subject(market) and parsed.get_content() == alert_text(market)
    assert parsed["X-SNS-Topic-Arn"] == topics["MarketAlerts"]
    listed = box.messages()
    assert {m.alert_id for m in listed} == {market["alert_id"], weather["alert_id"]}
    assert all(m.subject.startswith("[Barometer] ") for m in listed)
    # And the queue is drained
    assert aws(emulator, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


@pytest.mark.emulator
def test_a_message_is_deleted_only_after_its_file_is_written(emulator_env, topics, tmp_path, monkeypatch):
    # Given a mail queue with a one-second visibility timeout and an alert on it
    emulator = emulator_env
    url = subscribed_queue(emulator, [topics["MarketAlerts"]], f"mail-{uuid.uuid4().hex[:8]}", visibility_s=1)
    alert = contract_alert("market_alert.json")
    publish_like_the_rules_engine(aws(emulator, "sns"), topics["MarketAlerts"], alert)
    box = Mailbox(tmp_path, url)

    # When writing the file fails (disk full, crash)
    def failing_write(path, text):
        raise OSError("no space left on device")

    monkeypatch.setattr(mailbox_module, "_write_atomically", failing_write)
    with pytest.raises(OSError):
        box.drain(wait_s=1)
    assert list((tmp_path / "mail").glob("*.eml")) == []
    # Then the message is still in the queue, and a later drain delivers it
    monkeypatch.undo()
    time.sleep(1.2)
    box.drain(wait_s=1)
    assert [m.alert_id for m in box.messages()] == [alert["alert_id"]]


@pytest.mark.emulator
def test_a_body_that_is_not_an_envelope_is_set_aside_not_redelivered(emulator_env, tmp_path):
    sqs = aws(emulator_env, "sqs")
    url = sqs.create_queue(QueueName=f"mail-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="garbage")
    [path] = Mailbox(tmp_path, url).drain()
    assert path.parent.name == "rejected" and json.loads(path.read_text())["body"] == "garbage"
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


@pytest.fixture
def notifier_env(emulator_env, monkeypatch, tmp_path):
    """AlertsTable, Slack secret, NOTIFY_DLQ and a webhook receiver, for the real notifier handler."""
    emulator, suffix = emulator_env, uuid.uuid4().hex[:8]
    table, secret, dlq = (f"{ALERTS_TABLE.local_name}-{suffix}", f"{SLACK_WEBHOOK_SECRET.local_name}-{suffix}",
                          f"{NOTIFY_DLQ.local_name}-{suffix}")
    aws(emulator, "dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": ALERTS_TABLE.pk, "AttributeType": "S"},
                              {"AttributeName": ALERTS_TABLE.sk, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": ALERTS_TABLE.pk, "KeyType": "HASH"},
                   {"AttributeName": ALERTS_TABLE.sk, "KeyType": "RANGE"}])
    dlq_url = aws(emulator, "sqs").create_queue(QueueName=dlq)["QueueUrl"]
    with WebhookReceiver(tmp_path) as receiver:
        aws(emulator, "secretsmanager").create_secret(Name=secret, SecretString=json.dumps({"url": receiver.url}))
        monkeypatch.setenv(ALERTS_TABLE.env_var, table)
        monkeypatch.setenv(SLACK_WEBHOOK_SECRET.env_var, secret)
        monkeypatch.setenv(NOTIFY_DLQ.env_var, dlq)
        slack.forget_webhook_url()
        dlq_url_cache.cache_clear()
        yield {"receiver": receiver, "dlq_url": dlq_url}
        slack.forget_webhook_url()
        dlq_url_cache.cache_clear()


@pytest.mark.emulator
def test_the_pump_delivers_published_alerts_to_the_notifier_once(emulator_env, topics, notifier_env):
    # Given the notifier's queue subscribed to both topics, and an alert published twice
    emulator, receiver = emulator_env, notifier_env["receiver"]
    url = subscribed_queue(emulator, list(topics.values()), f"notify-{uuid.uuid4().hex[:8]}")
    alert = contract_alert("weather_alert.json")
    sns = aws(emulator, "sns")
    publish_like_the_rules_engine(sns, topics["WeatherAlerts"], alert)
    publish_like_the_rules_engine(sns, topics["WeatherAlerts"], alert)
    # When the pump hands the envelopes to the real notifier handler
    result = NotifierPump(url, lambda_handler, notifier_env["dlq_url"]).pump(wait_s=1)
    # Then both invocations succeed and the webhook got exactly one post
    assert (result.delivered, result.retried, result.failed) == (2, 0, 0)
    assert [p["body"] for p in receiver.posts()] == [slack_payload(alert)]


@pytest.mark.emulator
def test_the_pump_retries_then_sends_a_lambda_style_failure_record(emulator_env, topics, notifier_env):
    # Given a webhook that keeps failing
    emulator, receiver = emulator_env, notifier_env["receiver"]
    url = subscribed_queue(emulator, [topics["MarketAlerts"]], f"notify-{uuid.uuid4().hex[:8]}")
    alert = contract_alert("market_alert.json")
    publish_like_the_rules_engine(aws(emulator, "sns"), topics["MarketAlerts"], alert)
    receiver.fail_next(3, status=500)
    pump = NotifierPump(url, lambda_handler, notifier_env["dlq_url"], retry_delays_s=(0, 0))
    # When the pump runs until the queue is empty (three attempts)
    totals = [pump.pump(wait_s=1)] + [pump.pump(wait_s=0) for _ in range(2)]
    # Then it retried twice and sent the invocation to the failure queue with the error
    assert sum(t.retried for t in totals) == 2 and sum(t.failed for t in totals) == 1
    sqs = aws(emulator, "sqs")
    [message] = sqs.receive_message(QueueUrl=notifier_env["dlq_url"], WaitTimeSeconds=1)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "NotifierError"
    assert "Slack webhook answered 500" in record["responsePayload"]["errorMessage"]
    assert json.loads(record["requestPayload"]["Records"][0]["Sns"]["Message"]) == alert
    assert receiver.posts() == []


@pytest.mark.emulator
def test_every_topic_reaches_the_local_mailbox_as_the_cdk_email_subscription_does(tmp_path):
    from barometer.catalogue import OPS_TOPIC, TOPICS
    from barometer_local.emulator import Emulator
    from barometer_local.provision import EMAIL_QUEUE, provision

    # Given a provisioned emulator of its own
    with Emulator.start() as emulator:
        provisioned = provision(emulator.target(), "http://127.0.0.1:9/unused")
        sns = emulator.target().client("sns")
        # When Dagster publishes a run failure to OpsAlerts, and something to every other topic
        sns.publish(TopicArn=provisioned.topic_arns[OPS_TOPIC.logical_id], Subject="Dagster run failed",
                    Message="run 1234 of daily_rollups failed")
        for topic in TOPICS:
            if topic is not OPS_TOPIC:
                sns.publish(TopicArn=provisioned.topic_arns[topic.logical_id], Message=f"to {topic.local_name}")
        box = Mailbox(tmp_path, provisioned.queue_urls[EMAIL_QUEUE], sqs=emulator.target().client("sqs"))
        box.drain(wait_s=1)
        # Then each arrives as an email, the ops alert with its subject and text as published
        mails = {m.subject: m for m in box.messages()}
        assert len(box.messages()) == len(TOPICS)
        assert "Dagster run failed" in mails and "run 1234 of daily_rollups failed" in mails["Dagster run failed"].body
