"""NOTIFY_DLQ: alert messages the notifier cannot use, kept with the reason for someone to look at."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from barometer.aws import client, resource_name
from barometer.catalogue import NOTIFY_DLQ
from lambdas.notifier.errors import NotifierError

SOURCE = "notifier"
_MAX_BODY_CHARS = 200_000  # SQS takes 256 KiB; keep room for the envelope


@lru_cache(maxsize=8)
def queue_url(name: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    except (ClientError, BotoCoreError) as exc:
        raise NotifierError(f"queue {name}: cannot resolve its URL ({exc})") from exc


def dead_letter_body(reason: str, errors: list[dict], record: Any) -> str:
    """`{"reason", "errors": [{"field","message"}], "record", "source", "arrival"}` (like the quarantine)."""
    body = {"reason": reason, "errors": errors, "record": record, "source": SOURCE,
            "arrival": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    text = json.dumps(body, default=str)
    if len(text) > _MAX_BODY_CHARS:
        body["record"] = json.dumps(record, default=str)[:_MAX_BODY_CHARS // 2] + "...(truncated)"
        text = json.dumps(body, default=str)
    return text


class DeadLetters:
    def __init__(self, queue_name: str | None = None):
        self._queue_name = queue_name

    def send(self, reason: str, errors: list[dict], record: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._queue_name or resource_name(NOTIFY_DLQ.env_var)
        try:
            client("sqs").send_message(
                QueueUrl=queue_url(name), MessageBody=dead_letter_body(reason, errors, record),
                MessageAttributes={"source": {"DataType": "String", "StringValue": SOURCE}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise NotifierError(f"queue {name}: cannot send the dead letter ({exc})") from exc
