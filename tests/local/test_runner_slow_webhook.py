"""A slow webhook never delays the data path, and each alert is posted once (issue 10).

The local runner with a Slack receiver that shows each post but holds its answer: while the notifier
waits on it, a new event still goes through the processor to LatestTable (deterministic: the post is
held until the test sees the event there, whatever the machine's load; the single-threaded runner never
got there). The post then ends without an answer, as a timed-out one does: the alert was posted exactly
once, its outcome is recorded as unknown, and it is not retried. (The notifier's own timeout against a
receiver answering later than it: tests/lambdas/notifier/test_notifier_emulator.py.)
"""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from barometer import aws
from barometer import catalogue as r
from barometer.aws import AwsTarget
from barometer.ddb import from_item
from barometer_local.emulator import Emulator
from barometer_local.provision import provision
from barometer_local.runner import Runner, RunnerOptions, local_environment
from barometer_local.webhook import WebhookReceiver

pytestmark = pytest.mark.emulator
NOTIFIER_TIMEOUT_S = 60.0  # the hold below ends first
SYMBOL = "SLOWHK"


def wait_for(predicate, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def platform(tmp_path, monkeypatch):
    """An emulator of its own, provisioned, and a runner running forever on a thread."""
    from lambdas.notifier import handler as notifier
    from lambdas.notifier import slack

    with Emulator.start() as emulator, WebhookReceiver(tmp_path / "webhook") as receiver:
        for key, value in local_environment(emulator.url).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv(slack.TIMEOUT_ENV, str(NOTIFIER_TIMEOUT_S))
        aws.reset_clients()
        notifier.default_ports.cache_clear()  # built with the timeout above
        slack.forget_webhook_url()
        target = AwsTarget.emulator(emulator.url)
        provision(target, receiver.url)
        runner = Runner(target, tmp_path / "state", RunnerOptions(flush_seconds=0.5))
        thread = threading.Thread(target=runner.run_forever, name="runner", daemon=True)
        thread.start()
        try:
            yield target, runner, receiver
        finally:
            runner.stop()
            thread.join(30)
            notifier.default_ports.cache_clear()
            slack.forget_webhook_url()
            aws.reset_clients()


def put(target: AwsTarget, price: float, ts: datetime, event_id: str) -> None:
    data = {"kind": "quote", "symbol": SYMBOL, "price": price, "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event_id": event_id}
    target.client("kinesis").put_record(StreamName=r.EVENTS_STREAM.local_name, Data=json.dumps(data).encode(),
                                        PartitionKey=SYMBOL)


def latest(target: AwsTarget) -> dict:
    item = target.client("dynamodb").get_item(TableName=r.LATEST_TABLE.local_name,
                                              Key={"pk": {"S": f"quote#{SYMBOL}"}}, ConsistentRead=True).get("Item")
    return from_item(item) or {}


def alert_items(target: AwsTarget) -> list[dict]:
    response = target.client("dynamodb").query(
        TableName=r.ALERTS_TABLE.local_name, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"market#{SYMBOL}"}}, ConsistentRead=True)
    return [from_item(i) for i in response["Items"]]


def test_a_slow_webhook_neither_stalls_the_stream_nor_gets_a_second_post(platform):
    target, runner, receiver = platform
    receiver.hold_answers()
    now = datetime.now(UTC).replace(microsecond=0)
    # given a close one day and a 20% drop the next: a market alert, which the notifier posts to a Slack
    # that shows it at once and holds its answer
    put(target, 100.0, now - timedelta(days=2), "slow-close")
    put(target, 80.0, now - timedelta(days=1), "slow-drop")
    wait_for(lambda: receiver.held() == 1, "the alert's post to be held")
    assert len(posts_for(receiver)) == 1
    # when a new event comes while the notifier waits for the answer
    put(target, 81.0, now - timedelta(days=1) + timedelta(minutes=1), "slow-next")
    # then it reaches LatestTable with the post still held (the notifier still waiting, nothing recorded)
    wait_for(lambda: latest(target).get("event_id") == "slow-next", "the new event in LatestTable")
    assert receiver.held() == 1 and not alert_items(target)[0].get("undelivered")
    # and when the post ends without an answer, its outcome is recorded unknown and it is never posted again
    receiver.release_answers(drop=True)
    alert = wait_for(lambda: next((a for a in alert_items(target) if a.get("undelivered")), None),
                     "the notifier to record the outcome")
    assert alert["undelivered"]["slack"]["state"] == "unknown outcome"
    # (a failed invocation would stay in the queue, invisible until the pump's retry)
    wait_for(lambda: runner.notifier.sqs.get_queue_attributes(
        QueueUrl=runner.notifier.queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                            "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"},
        "the notifier's queue to be empty")
    assert len(posts_for(receiver)) == 1


def posts_for(receiver: WebhookReceiver) -> list[dict]:
    return [p for p in receiver.posts() if SYMBOL in json.dumps(p["body"])]
