"""Local stand-ins for SNS deliveries that moto does not make: email, and SNS -> Lambda.

On AWS, SNS emails the `email` entry of an alert to the topics' email subscriptions and invokes the
notifier Lambda asynchronously (two retries, then its on-failure destination). moto does neither, so
the local runtime subscribes SQS queues to the alert topics (non-raw delivery: each body is an SNS
envelope) and:

- `Mailbox(state_dir, queue_url).drain()` writes every envelope as an RFC 5322 file
  `<state_dir>/mail/<alert_id>.eml` (Subject from the envelope, body = `alert_text` of the alert, the
  same text the processor publishes as the `email` entry), deleting a message only once its file is
  written; one file per alert, so a re-delivered alert changes nothing. `messages()` lists them.
- `NotifierPump(queue_url, handler, failure_queue_url).pump()` turns each envelope into the Lambda SNS
  event (`sns_lambda_event`), calls the handler, deletes the message on success, makes it visible
  again after a short backoff on failure, and after `max_attempts` sends a Lambda-style on-failure
  record to the failure queue (NOTIFY_DLQ).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from barometer.core.notifications import AlertMessageError, alert_subject, alert_text, parse_alert_message

MAIL_FROM = "Barometer Alerts <no-reply@sns.barometer.local>"
MAIL_TO = "alerts@barometer.local"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
# RFC 5322 allows 998 characters a line: long header values (topic ARNs) stay on one line, unfolded.
EMAIL_POLICY = default_policy.clone(max_line_length=998)


class EnvelopeError(ValueError):
    """An SQS body is not an SNS notification envelope."""


def parse_envelope(body: str | dict) -> dict:
    """The SNS envelope of an SQS message body (subscription without raw message delivery)."""
    try:
        envelope = json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"body: not JSON ({exc.msg})") from None
    if not isinstance(envelope, dict) or envelope.get("Type") != "Notification":
        raise EnvelopeError("body: not an SNS notification envelope (Type != Notification)")
    if not isinstance(envelope.get("Message"), str):
        raise EnvelopeError("Message: expected a string")
    return envelope


def sns_lambda_event(body: str | dict, subscription_arn: str | None = None) -> dict:
    """The event Lambda receives from SNS, built from an SNS envelope (an SQS message body)."""
    envelope = parse_envelope(body)
    topic = envelope.get("TopicArn", "")
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn or f"{topic}:local-notifier",
        "Sns": {
            "Type": "Notification",
            "MessageId": envelope.get("MessageId", ""),
            "TopicArn": topic,
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope.get("Timestamp", ""),
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", envelope.get("SigningCertUrl", "")),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", envelope.get("UnsubscribeUrl", "")),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }]}


def _sqs():
    from barometer.aws import client

    return client("sqs")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text).strip()


@dataclass(frozen=True)
class MailMessage:
    path: Path
    subject: str
    to: str
    date: str
    alert_id: str | None
    body: str


class Mailbox:
    """Writes SNS envelopes from `queue_url` as .eml files under `<state_dir>/mail/`."""

    def __init__(self, state_dir: str | Path, queue_url: str, sqs: Any = None, to: str = MAIL_TO):
        self.directory = Path(state_dir) / "mail"
        self.queue_url = queue_url
        self._sqs = sqs
        self.to = to

    @property
    def sqs(self):
        return self._sqs or _sqs()

    def drain(self, wait_s: int = 0, max_rounds: int = 100) -> list[Path]:
        """Receive until the queue is empty; returns the files written (or already there) this time."""
        self.directory.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for _ in range(max_rounds):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                written.append(self._deliver(message["Body"], message.get("MessageId", "")))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            wait_s = 0
        return written

    def _deliver(self, body: str, sqs_message_id: str) -> Path:
        try:
            envelope = parse_envelope(body)
        except EnvelopeError as exc:
            # Not an SNS email either; kept for inspection so the queue does not redeliver it forever.
            path = self.directory / "rejected" / f"{_SAFE_NAME.sub('_', sqs_message_id) or 'unknown'}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, json.dumps({"reason": str(exc), "body": body}, ensure_ascii=False).encode())
            return path
        email, name = self.render(envelope)
        path = self.directory / f"{name}.eml"
        if not path.exists():  # one file per alert: a re-delivered alert leaves the first one as is
            _write_atomically(path, email.as_bytes())
        return path

    def render(self, envelope: dict) -> tuple[EmailMessage, str]:
        """The email SNS would send for this envelope, and its file name (the alert id)."""
        try:
            alert = parse_alert_message(envelope["Message"])
        except AlertMessageError:
            alert = None
        email = EmailMessage(policy=EMAIL_POLICY)
        subject = envelope.get("Subject") or (alert_subject(alert) if alert else "AWS Notification Message")
        email["Subject"] = _one_line(subject)
        email["From"] = MAIL_FROM
        email["To"] = self.to
        email["Date"] = format_datetime(_envelope_time(envelope.get("Timestamp")))
        message_id = _SAFE_NAME.sub("_", str(envelope.get("MessageId") or "unknown"))
        email["Message-ID"] = f"<{message_id}@sns.barometer.local>"
        if envelope.get("TopicArn"):
            email["X-SNS-Topic-Arn"] = _one_line(str(envelope["TopicArn"]))
        if alert:
            email["X-Barometer-Alert-Id"] = _one_line(alert["alert_id"])
            email.set_content(alert_text(alert), cte="8bit")  # readable in a text editor
            name = _SAFE_NAME.sub("_", alert["alert_id"])
        else:
            email.set_content(envelope["Message"], cte="8bit")  # what SNS emails: the message as published
            name = f"message-{message_id}"
        return email, name

    def messages(self) -> list[MailMessage]:
        """The delivered emails, oldest first."""
        from email import message_from_bytes

        found = []
        for path in self.directory.glob("*.eml"):
            email = message_from_bytes(path.read_bytes(), policy=EMAIL_POLICY)
            found.append(MailMessage(
                path=path, subject=str(email["Subject"]), to=str(email["To"]), date=str(email["Date"]),
                alert_id=str(email["X-Barometer-Alert-Id"]) if email["X-Barometer-Alert-Id"] else None,
                body=email.get_content(),
            ))
        return sorted(found, key=lambda m: (_sortable_date(m.date), m.path.name))


def _envelope_time(timestamp: Any) -> datetime:
    if isinstance(timestamp, str):
        try:
            moment = datetime.fromisoformat(timestamp)
            if moment.tzinfo:
                return moment
        except ValueError:
            pass
    return datetime.now(UTC)


def _sortable_date(date: str) -> float:
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return 0.0


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename it, so a crash never leaves half an email."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class PumpResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0  # sent to the failure queue after max_attempts


class NotifierPump:
    """SNS -> Lambda asynchronous invocation, locally: from an SQS queue subscribed to the alert topics.

    Like Lambda's async invocation: `max_attempts` = 1 + 2 retries; a failed attempt is retried after
    `retry_delays_s`; when attempts are exhausted an on-failure record (`requestPayload`, `responsePayload`,
    `condition: RetriesExhausted`) goes to `failure_queue_url` and the message is deleted.
    """

    def __init__(self, queue_url: str, handler: Callable[[dict, Any], Any], failure_queue_url: str,
                 function_name: str = "barometer-notifier", max_attempts: int = 3,
                 retry_delays_s: tuple[int, ...] = (1, 2), sqs: Any = None):
        self.queue_url = queue_url
        self.handler = handler
        self.failure_queue_url = failure_queue_url
        self.function_name = function_name
        self.max_attempts = max_attempts
        self.retry_delays_s = retry_delays_s
        self._sqs = sqs

    @property
    def sqs(self):
        return self._sqs or _sqs()

    def pump(self, wait_s: int = 0, max_rounds: int = 100) -> PumpResult:
        """Handle what the queue holds now; returns counts."""
        result = PumpResult()
        for _ in range(max_rounds):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                AttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._invoke(message, result)
            wait_s = 0
        return result

    def _invoke(self, message: dict, result: PumpResult) -> None:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            event = sns_lambda_event(message["Body"])
        except EnvelopeError as exc:
            event = {"Records": [], "body": message["Body"]}
            error: Exception = exc
            attempt = self.max_attempts  # a body that is not an envelope will never become one
        else:
            try:
                self.handler(event, None)
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                result.delivered += 1
                return
            except Exception as exc:  # noqa: BLE001 - any handler error is a failed invocation, as on Lambda
                error = exc
        if attempt < self.max_attempts:
            delay = self.retry_delays_s[min(attempt - 1, len(self.retry_delays_s) - 1)]
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                               VisibilityTimeout=delay)
            result.retried += 1
            return
        self.sqs.send_message(QueueUrl=self.failure_queue_url,
                              MessageBody=json.dumps(self._failure_record(event, error, attempt)))
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        result.failed += 1

    def _failure_record(self, event: dict, error: Exception, attempts: int) -> dict:
        """The shape of a Lambda asynchronous-invocation on-failure destination record."""
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "requestContext": {"requestId": f"local-{time.time_ns()}", "condition": "RetriesExhausted",
                               "functionArn": f"arn:aws:lambda:local:000000000000:function:{self.function_name}",
                               "approximateInvokeCount": attempts},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
        }
