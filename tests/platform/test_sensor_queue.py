"""The sensor-queue protocol's pure parts: reading SQS bodies and the cursor."""
from __future__ import annotations

import json

from platform_assets.sensor_queue import CURSOR_KEYS_KEPT, SensorCursor, parse_body


def envelope(message: str, message_id: str = "sns-1", subject: str = "[Barometer] x") -> str:
    return json.dumps({"Type": "Notification", "MessageId": message_id, "TopicArn": "arn:t", "Subject": subject,
                       "Message": message})


def test_an_alert_in_an_sns_envelope_is_keyed_by_its_alert_id():
    parsed = parse_body(envelope(json.dumps({"alert_id": "a-1", "kind": "market"})), "sqs-1")
    assert (parsed.key, parsed.message["kind"], parsed.subject, parsed.error) == ("a-1", "market", "[Barometer] x", None)


def test_a_raw_delivery_is_read_as_the_alert_itself():
    parsed = parse_body(json.dumps({"alert_id": "a-2", "kind": "weather"}), "sqs-2")
    assert (parsed.key, parsed.subject) == ("a-2", None)


def test_plain_text_messages_are_keyed_by_the_sns_message_id():
    parsed = parse_body(envelope("ALARM: disk full", message_id="sns-9"), "sqs-3")
    assert (parsed.key, parsed.message, parsed.error) == ("sns-9", {"text": "ALARM: disk full"}, None)


def test_unreadable_bodies_are_errors_keyed_by_the_sqs_message_id():
    assert parse_body("not json", "sqs-4").error == "body is not JSON"
    assert parse_body("[1, 2]", "sqs-5").error == "body is not a JSON object"
    assert parse_body(envelope("[1]"), "sqs-6").error == "Message is not a JSON object"
    assert parse_body("not json", "sqs-4").key == "sqs-4"


def test_the_cursor_keeps_keys_once_in_order_and_bounded():
    cursor = SensorCursor().with_keys(["a", "b", "a"]).with_keys(["b", "c"])
    assert cursor.keys == ("a", "b", "c")
    assert SensorCursor.parse(cursor.to_json()) == cursor
    big = SensorCursor().with_keys(str(i) for i in range(CURSOR_KEYS_KEPT + 10))
    assert len(big.keys) == CURSOR_KEYS_KEPT and big.keys[-1] == str(CURSOR_KEYS_KEPT + 9)


def test_an_unreadable_cursor_starts_over():
    assert SensorCursor.parse("{oops") == SensorCursor()
    assert SensorCursor.parse(json.dumps({"keys": "x"})) == SensorCursor()
    assert SensorCursor.parse(None) == SensorCursor()
