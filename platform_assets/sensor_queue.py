"""Reading an alert topic's SQS queue from a Dagster sensor without ever losing a message.

A sensor evaluation may be a preview, or may fail before Dagster commits its cursor, so it never
deletes what it has just turned into run requests. It records their keys in the cursor it returns,
and releases the messages (visibility 0). A later evaluation, given the committed cursor, deletes
the messages whose keys the cursor holds: by then their runs have been requested. Evaluating twice
with the same cursor yields the same run requests; a message delivered twice yields one (keys
repeat, and run keys make Dagster skip a run it already launched).

The queue's body is the SNS envelope (or, with raw delivery, the alert itself); a message's key is
its `alert_id`, else the SNS MessageId, else the SQS MessageId. No Dagster here.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CURSOR_KEYS_KEPT = 5000
RECEIVE_BATCH = 10  # SQS maximum per receive
# Enough to come back if this evaluation dies before releasing them; short, so retries are quick.
IN_FLIGHT_VISIBILITY_S = 30


@dataclass(frozen=True)
class QueueMessage:
    key: str
    message: dict[str, Any] | None  # the alert (or ops) message; None when unreadable
    subject: str | None
    error: str | None  # why the message could not be read
    receipt_handle: str = ""


def parse_body(body: str, sqs_message_id: str) -> QueueMessage:
    """The message inside an SQS body (SNS envelope or raw); never raises."""
    try:
        outer = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        return QueueMessage(sqs_message_id, None, None, "body is not JSON")
    if not isinstance(outer, dict):
        return QueueMessage(sqs_message_id, None, None, "body is not a JSON object")
    subject = None
    key = sqs_message_id
    inner: Any = outer
    if outer.get("Type") == "Notification" and "Message" in outer:
        subject = outer.get("Subject")
        key = str(outer.get("MessageId") or sqs_message_id)
        try:
            inner = json.loads(outer["Message"])
        except (json.JSONDecodeError, TypeError):
            # CloudWatch alarms and plain publishes carry text: still a message, keyed by the SNS id.
            return QueueMessage(key, {"text": outer["Message"]}, subject, None)
    if not isinstance(inner, dict):
        return QueueMessage(key, None, subject, "Message is not a JSON object")
    alert_id = inner.get("alert_id")
    if isinstance(alert_id, str) and alert_id:
        key = alert_id
    return QueueMessage(key, inner, subject, None)


@dataclass(frozen=True)
class SensorCursor:
    """The keys of messages already turned into run requests, oldest first (bounded)."""

    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> SensorCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            keys = data["keys"] if isinstance(data, dict) else None
        except (json.JSONDecodeError, KeyError):
            keys = None
        if not isinstance(keys, list):
            return cls()  # an unreadable cursor: start over; run keys still prevent duplicate runs
        return cls(tuple(str(k) for k in keys))

    def with_keys(self, keys: Iterable[str]) -> SensorCursor:
        known = set(self.keys)
        added = [k for k in dict.fromkeys(keys) if k not in known]
        return SensorCursor((self.keys + tuple(added))[-CURSOR_KEYS_KEPT:])

    def to_json(self) -> str:
        return json.dumps({"keys": list(self.keys)}, separators=(",", ":"))


def _batches(items: list, size: int = RECEIVE_BATCH):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def read_queue(sqs: Any, queue_url: str, cursor: SensorCursor, max_messages: int = 100) -> list[QueueMessage]:
    """Messages not yet in the committed cursor, one per key; deletes the ones the cursor holds."""
    committed = set(cursor.keys)
    received: list[QueueMessage] = []
    while len(received) < max_messages:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=RECEIVE_BATCH, WaitTimeSeconds=0,
                                       VisibilityTimeout=IN_FLIGHT_VISIBILITY_S)
        batch = response.get("Messages", [])
        if not batch:
            break
        for raw in batch:
            parsed = parse_body(raw.get("Body", ""), raw["MessageId"])
            received.append(QueueMessage(parsed.key, parsed.message, parsed.subject, parsed.error,
                                         raw["ReceiptHandle"]))
    done = [m for m in received if m.key in committed]
    pending = [m for m in received if m.key not in committed]
    for batch in _batches(done):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(batch)])
    for batch in _batches(pending):
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0} for i, m in enumerate(batch)])
    unique: dict[str, QueueMessage] = {}
    for message in pending:
        unique.setdefault(message.key, message)
    return list(unique.values())
