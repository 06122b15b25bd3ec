"""The notifier against the real emulator (AlertsTable, Secrets Manager, NOTIFY_DLQ over HTTP) and a
real local webhook receiver."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest
from notifier_fakes import load_event, sns_event

from barometer.catalogue import ALERTS_TABLE, NOTIFY_DLQ, SLACK_WEBHOOK_SECRET
from barometer.core.notifications import slack_payload
from barometer.core.timeutil import parse_rfc3339
from barometer.lake import alert_ts_key
from barometer.secrets import slack_webhook_placeholder
from barometer_local.webhook import WebhookReceiver
from lambdas.notifier import slack
from lambdas.notifier.dead_letters import DeadLetters, queue_url
from lambdas.notifier.errors import NotifierError
from lambdas.notifier.handler import Ports, lambda_handler
from lambdas.notifier.ledger import LEASE_S, Claim, DeliveryLedger, Lease
from lambdas.notifier.slack import SlackWebhook, webhook_url

pytestmark = pytest.mark.emulator


def aws(emulator, service: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1")


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    with WebhookReceiver(tmp_path_factory.mktemp("state")) as running:
        yield running


@pytest.fixture(scope="module")
def names(emulator, receiver):
    """Resources of this module, under unique names (the emulator is shared by the whole session)."""
    suffix = uuid.uuid4().hex[:8]
    names = {"table": f"{ALERTS_TABLE.local_name}-{suffix}", "secret": f"{SLACK_WEBHOOK_SECRET.local_name}-{suffix}",
             "dlq": f"{NOTIFY_DLQ.local_name}-{suffix}"}
    aws(emulator, "dynamodb").create_table(
        TableName=names["table"], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": ALERTS_TABLE.pk, "AttributeType": "S"},
                              {"AttributeName": ALERTS_TABLE.sk, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": ALERTS_TABLE.pk, "KeyType": "HASH"},
                   {"AttributeName": ALERTS_TABLE.sk, "KeyType": "RANGE"}],
    )
    aws(emulator, "secretsmanager").create_secret(Name=names["secret"], SecretString=json.dumps({"url": receiver.url}))
    aws(emulator, "sqs").create_queue(QueueName=names["dlq"])
    return names


@pytest.fixture
def env(emulator_env, names, monkeypatch, receiver):
    monkeypatch.setenv(ALERTS_TABLE.env_var, names["table"])
    monkeypatch.setenv(SLACK_WEBHOOK_SECRET.env_var, names["secret"])
    monkeypatch.setenv(NOTIFY_DLQ.env_var, names["dlq"])
    slack.forget_webhook_url()
    queue_url.cache_clear()
    yield names
    slack.forget_webhook_url()
    queue_url.cache_clear()


def unique_alert(name: str = "market_alert.json") -> dict:
    """A contract alert on its own key, so tests sharing the table do not see each other."""
    alert = load_event(name)
    return {**alert, "alert_id": uuid.uuid4().hex, "key": f"{alert['key']}-{uuid.uuid4().hex[:6]}"}


def item_of(emulator, table: str, alert: dict) -> dict:
    key = {"pk": f"{alert['kind']}#{alert['key']}", "sk": f"{alert['local_day']}#{alert['rule']}"}
    resource = boto3.resource("dynamodb", endpoint_url=emulator.url, region_name="us-east-1")
    return resource.Table(table).get_item(Key=key, ConsistentRead=True).get("Item")


def store_like_the_rules_engine(emulator, table: str, alert: dict) -> None:
    client = aws(emulator, "dynamodb")
    item = {"pk": {"S": f"{alert['kind']}#{alert['key']}"}, "sk": {"S": f"{alert['local_day']}#{alert['rule']}"},
            "alert_id": {"S": alert["alert_id"]}, "kind": {"S": alert["kind"]}, "key": {"S": alert["key"]},
            "rule": {"S": alert["rule"]}, "value": {"N": str(alert["value"])}, "published": {"BOOL": True}}
    client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")


def posts_for(receiver: WebhookReceiver, alert: dict) -> list[dict]:
    return [p for p in receiver.posts() if alert["alert_id"] in json.dumps(p["body"])]


def test_an_alert_is_posted_to_the_webhook_and_delivery_recorded_without_clobbering(env, emulator, receiver):
    # Given an alert stored by the rules engine and its SNS event
    alert = unique_alert()
    store_like_the_rules_engine(emulator, env["table"], alert)
    # When the notifier handles the event (default ports: secret, table, queue in the emulator)
    outcome = lambda_handler(sns_event(alert), None)
    # Then the webhook got the Slack payload once
    assert outcome == {"delivered": 1, "duplicate": 0, "dead_lettered": 0, "undelivered": 0}
    [post] = posts_for(receiver, alert)
    assert post["body"] == slack_payload(alert)
    assert post["headers"]["content-type"].startswith("application/json")
    # And the item records the delivery and keeps what the rules engine wrote
    item = item_of(emulator, env["table"], alert)
    assert item["delivered"]["slack"].endswith("Z") and item["published"] is True
    assert item["alert_id"] == alert["alert_id"] and "slack_lease" not in item and "slack_lease_until" not in item


def test_the_same_sns_message_twice_posts_once(env, emulator, receiver):
    alert = unique_alert("weather_alert.json")
    store_like_the_rules_engine(emulator, env["table"], alert)
    event = sns_event(alert)
    assert lambda_handler(event, None)["delivered"] == 1
    first = item_of(emulator, env["table"], alert)["delivered"]["slack"]
    assert lambda_handler(event, None) == {"delivered": 0, "duplicate": 1, "dead_lettered": 0, "undelivered": 0}
    assert len(posts_for(receiver, alert)) == 1
    assert item_of(emulator, env["table"], alert)["delivered"]["slack"] == first


def test_a_missing_alert_item_is_still_posted_and_created_from_the_message(env, emulator, receiver):
    alert = unique_alert()
    assert lambda_handler(sns_event(alert), None)["delivered"] == 1
    item = item_of(emulator, env["table"], alert)
    assert item["delivered"]["slack"].endswith("Z")
    assert {k: item[k] for k in ("alert_id", "kind", "key", "rule", "local_day", "ts")} == {
        k: alert[k] for k in ("alert_id", "kind", "key", "rule", "local_day", "ts")}
    assert float(item["change_pct"]) == alert["change_pct"]
    # with the rules engine's by-time key (fixed-width ts), so it sorts among the others
    assert item["ts_key"] == alert_ts_key(parse_rfc3339(alert["ts"]), alert["key"], alert["rule"])
    assert len(posts_for(receiver, alert)) == 1


def test_webhook_500s_fail_the_invocation_until_a_retry_succeeds(env, emulator, receiver):
    # Given a webhook that answers 500 twice
    alert = unique_alert()
    store_like_the_rules_engine(emulator, env["table"], alert)
    receiver.fail_next(2, status=500)
    event = sns_event(alert)
    # Then the first two invocations fail (Lambda retries them) and nothing is recorded as delivered
    for _ in range(2):
        with pytest.raises(NotifierError, match="Slack webhook answered 500"):
            lambda_handler(event, None)
        assert "slack" not in item_of(emulator, env["table"], alert).get("delivered", {})
    # And the third delivers exactly one post
    assert lambda_handler(event, None)["delivered"] == 1
    assert len(posts_for(receiver, alert)) == 1


def test_a_webhook_timeout_is_recorded_as_unknown_outcome_reported_and_never_reposted(env, emulator, receiver):
    # Given a webhook that shows the post but answers after the notifier's timeout
    alert = unique_alert()
    store_like_the_rules_engine(emulator, env["table"], alert)
    receiver.delay_answers(1.0)
    ports = Ports(slack=SlackWebhook(timeout_s=0.3), ledger=DeliveryLedger(), dead_letters=DeadLetters())
    try:
        # When the notifier runs, and runs again (SNS or Lambda delivering the message again)
        first = lambda_handler(sns_event(alert), None, ports=ports)
        second = lambda_handler(sns_event(alert), None, ports=ports)
    finally:
        receiver.delay_answers(0.0)
    # Then it did not raise (no retry), the webhook saw exactly one post
    assert first["undelivered"] == 1 and second["duplicate"] == 1
    assert len(posts_for(receiver, alert)) == 1
    # ... the ledger says "unknown outcome" with the reason, and NOTIFY_DLQ has one report of it
    undelivered = item_of(emulator, env["table"], alert)["undelivered"]["slack"]
    assert undelivered["state"] == "unknown outcome" and "no answer within 0.3s" in undelivered["reason"]
    assert "slack_lease" not in item_of(emulator, env["table"], alert)
    reports = [b for b in drain_dlq(emulator, env["dlq"]) if b["reason"] == "unknown outcome"]
    assert [json.loads(b["record"]["Sns"]["Message"])["alert_id"] for b in reports] == [alert["alert_id"]]


def test_an_attempt_that_recorded_no_outcome_is_settled_unknown_not_reposted(env, emulator, receiver):
    # Given an attempt recorded (the lease taken) by an invocation that then crashed
    alert = unique_alert()
    clock = [1_000_000.0]
    ledger = DeliveryLedger(clock=lambda: clock[0])
    assert ledger.acquire(alert).claim is Claim.ACQUIRED
    ports = Ports(slack=SlackWebhook(), ledger=ledger, dead_letters=DeadLetters())
    # When the message comes again while the lease is live, then after it expired
    with pytest.raises(NotifierError, match="being delivered by another invocation"):
        lambda_handler(sns_event(alert), None, ports=ports)
    clock[0] += LEASE_S + 1
    assert lambda_handler(sns_event(alert), None, ports=ports)["undelivered"] == 1
    # Then nothing was posted, and the ledger says unknown outcome (the crashed attempt may have posted)
    assert posts_for(receiver, alert) == []
    assert ledger.undelivered(alert)["state"] == "unknown outcome"
    assert ledger.acquire(alert).claim is Claim.SETTLED
    reports = [b for b in drain_dlq(emulator, env["dlq"]) if b["reason"] == "unknown outcome"]
    assert [json.loads(b["record"]["Sns"]["Message"])["alert_id"] for b in reports] == [alert["alert_id"]]


def test_the_first_deploy_placeholder_is_recorded_undeliverable_not_retried(env, emulator, receiver):
    # Given the Slack secret as the first deploy creates it
    name = f"{env['secret']}-placeholder-{uuid.uuid4().hex[:6]}"
    aws(emulator, "secretsmanager").create_secret(Name=name, SecretString=slack_webhook_placeholder())
    alert = unique_alert()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SLACK_WEBHOOK_SECRET.env_var, name)
        slack.forget_webhook_url()
        # When an alert comes
        outcome = lambda_handler(sns_event(alert), None)
    slack.forget_webhook_url()
    # Then the invocation succeeds (no retry, nothing in the DLQ for it), nothing is posted, and the ledger
    # says why Slack did not get it
    assert outcome["undelivered"] == 1
    assert posts_for(receiver, alert) == []
    entry = item_of(emulator, env["table"], alert)["undelivered"]["slack"]
    assert (entry["state"], entry["reason"]) == ("undeliverable", "slack webhook not configured")


def drain_dlq(emulator, queue: str) -> list[dict]:
    sqs = aws(emulator, "sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_malformed_message_goes_to_the_notify_dlq_with_its_reason(env, emulator, receiver):
    # Given an SNS event with a non-JSON message and one without an alert_id
    sqs = aws(emulator, "sqs")
    url = sqs.get_queue_url(QueueName=env["dlq"])["QueueUrl"]
    before = len(receiver.posts())
    # When the notifier handles it, it does not raise
    assert lambda_handler(load_event("sns_malformed.json"), None)["dead_lettered"] == 2
    # Then both records are in NOTIFY_DLQ with their reason, and nothing was posted
    bodies = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        bodies += [json.loads(m["Body"]) for m in messages]
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) >= 2:
            break
    assert sorted(b["errors"][0]["field"] for b in bodies) == ["Sns.Message", "alert_id"]
    assert all(b["reason"] == "malformed alert message" and b["source"] == "notifier" for b in bodies)
    assert any(b["record"]["Sns"]["Message"] == "not json {" for b in bodies)
    assert len(receiver.posts()) == before


def test_the_lease_blocks_a_concurrent_delivery_and_is_never_taken_over(env):
    # Given a lease taken by one invocation
    alert = unique_alert()
    clock = [1_000_000.0]
    ledger = DeliveryLedger(clock=lambda: clock[0])
    first = ledger.acquire(alert)
    assert first.claim is Claim.ACQUIRED
    # Then another invocation is told to retry; once the lease expired, it is abandoned, not taken over
    assert ledger.acquire(alert).claim is Claim.BUSY
    clock[0] += LEASE_S + 1
    assert ledger.acquire(alert) == Lease(Claim.ABANDONED, first.token)
    # And once the holder records the delivery, everyone is told it is done
    ledger.record_delivered(alert, first)
    assert ledger.acquire(alert).claim is Claim.DELIVERED
    assert ledger.delivered_at(alert).endswith("Z")


def test_delivery_is_recorded_even_if_the_delivered_map_vanished(env, emulator):
    # Given a lease taken, then the item's `delivered` map removed by someone else
    alert = unique_alert()
    ledger = DeliveryLedger()
    lease = ledger.acquire(alert)
    aws(emulator, "dynamodb").update_item(
        TableName=env["table"], Key={"pk": {"S": f"market#{alert['key']}"}, "sk": {"S": "2026-11-24#market_drop"}},
        UpdateExpression="REMOVE delivered")
    # When the delivery is recorded, it still lands
    ledger.record_delivered(alert, lease)
    assert ledger.delivered_at(alert).endswith("Z")


def test_the_webhook_url_is_cached_briefly_then_reread(env, emulator, receiver):
    # Given the URL read once
    assert webhook_url(now=100.0) == receiver.url
    # When the secret is rotated
    aws(emulator, "secretsmanager").put_secret_value(SecretId=env["secret"],
                                                     SecretString=json.dumps({"url": "https://hooks.example/new"}))
    try:
        # Then the cached URL is used within the TTL, the new one after it
        assert webhook_url(now=100.0 + slack.SECRET_TTL_S - 1) == receiver.url
        assert webhook_url(now=100.0 + slack.SECRET_TTL_S + 1) == "https://hooks.example/new"
    finally:
        aws(emulator, "secretsmanager").put_secret_value(SecretId=env["secret"],
                                                         SecretString=json.dumps({"url": receiver.url}))


@pytest.mark.parametrize("secret", ['{"url": "ftp://x"}', "not json", '{"link": "https://x"}'])
def test_a_bad_secret_is_a_notifier_error_that_does_not_leak_it(env, emulator, secret):
    name = f"{env['secret']}-bad-{uuid.uuid4().hex[:6]}"
    aws(emulator, "secretsmanager").create_secret(Name=name, SecretString=secret)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SLACK_WEBHOOK_SECRET.env_var, name)
        with pytest.raises(NotifierError, match=f"secret {name}") as caught:
            webhook_url(now=0.0)
    assert "https://x" not in str(caught.value)


def test_a_missing_secret_is_a_notifier_error(env):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SLACK_WEBHOOK_SECRET.env_var, "barometer/no-such-secret")
        with pytest.raises(NotifierError, match="ResourceNotFoundException"):
            webhook_url(now=0.0)
