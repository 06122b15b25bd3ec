"""Notifier: SNS alert messages (MarketAlerts, WeatherAlerts) -> Slack, recorded in AlertsTable.

Email needs no code: SNS delivers the message's `email` entry to the topics' email subscriptions.
Per record: a malformed message goes to NOTIFY_DLQ with its reason (never retried, never crashes);
an alert is posted to Slack at most once (lambdas/notifier/ledger.py records the attempt first): one
already delivered or settled is skipped; a post sent without an answer (timeout) is recorded as
"unknown outcome" and sent to NOTIFY_DLQ, never re-posted; a webhook still holding the first-deploy
placeholder records the alert undeliverable ("slack webhook not configured"); a post that certainly
failed raises NotifierError at the end of the batch so that Lambda retries the invocation (then sends
it to the on-failure destination).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from barometer.core.notifications import AlertMessageError, parse_alert_message, slack_payload
from barometer.secrets import SLACK_NOT_CONFIGURED_REASON
from lambdas.notifier.dead_letters import DeadLetters
from lambdas.notifier.errors import NotifierError, OutcomeUnknownError, WebhookNotConfiguredError
from lambdas.notifier.ledger import UNDELIVERABLE, UNKNOWN_OUTCOME, Claim, DeliveryLedger, Lease

logger = Logger(service="barometer-notifier")

DELIVERED, DUPLICATE, DEAD_LETTERED, UNDELIVERED = "delivered", "duplicate", "dead_lettered", "undelivered"


class Webhook(Protocol):
    def post(self, payload: dict) -> None: ...


class Ledger(Protocol):
    def acquire(self, alert: dict) -> Lease: ...
    def record_delivered(self, alert: dict, lease: Lease) -> None: ...
    def release(self, alert: dict, lease: Lease) -> None: ...
    def record_undelivered(self, alert: dict, lease: Lease, state: str, reason: str) -> bool: ...


class DeadLetterQueue(Protocol):
    def send(self, reason: str, errors: list[dict], record: Any) -> None: ...


@dataclass(frozen=True)
class Ports:
    slack: Webhook
    ledger: Ledger
    dead_letters: DeadLetterQueue


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    from barometer.settings import get_settings
    from lambdas.notifier.slack import SlackWebhook

    get_settings()  # checked at cold start like every function's: one configuration, one verdict

    return Ports(slack=SlackWebhook(), ledger=DeliveryLedger("slack"), dead_letters=DeadLetters())


def alert_from_record(record: Any) -> dict:
    """The alert of one SNS record (`Records[].Sns.Message`); AlertMessageError names what is wrong."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict):
        raise AlertMessageError("Sns", "the record has no SNS notification")
    message = sns.get("Message")
    if not isinstance(message, str):
        raise AlertMessageError("Sns.Message", f"expected a JSON string, got {type(message).__name__}")
    try:
        decoded = json.loads(message)
    except json.JSONDecodeError as exc:
        raise AlertMessageError("Sns.Message", f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    # A publisher that forgot MessageStructure=json sends the whole per-protocol map: use its default.
    if isinstance(decoded, dict) and "alert_id" not in decoded and isinstance(decoded.get("default"), str):
        return parse_alert_message(decoded["default"])
    return parse_alert_message(decoded)


def process_record(record: Any, ports: Ports) -> str:
    """Deliver one SNS record to Slack at most once. Returns delivered | duplicate | dead_lettered | undelivered."""
    try:
        alert = alert_from_record(record)
    except AlertMessageError as exc:
        logger.warning("malformed alert message sent to the dead-letter queue", extra={"reason": str(exc)})
        ports.dead_letters.send("malformed alert message", [{"field": exc.field, "message": str(exc)}], record)
        return DEAD_LETTERED
    ids = {"alert_id": alert["alert_id"], "kind": alert["kind"], "key": alert["key"], "rule": alert["rule"]}
    lease = ports.ledger.acquire(alert)
    if lease.claim is Claim.DELIVERED:
        logger.info("alert already delivered to Slack; skipped", extra=ids)
        return DUPLICATE
    if lease.claim is Claim.SETTLED:
        logger.info("alert's Slack outcome already recorded (not delivered); not posted again", extra=ids)
        return DUPLICATE
    if lease.claim is Claim.BUSY:
        raise NotifierError(f"alert {alert['alert_id']} is being delivered by another invocation")
    if lease.claim is Claim.ABANDONED:
        reason = "an earlier attempt recorded no outcome (it crashed or timed out); it may have been posted"
        return _unknown_outcome(record, alert, lease, reason, ports, ids)
    try:
        ports.slack.post(slack_payload(alert))
    except WebhookNotConfiguredError as exc:
        ports.ledger.record_undelivered(alert, lease, UNDELIVERABLE, SLACK_NOT_CONFIGURED_REASON)
        logger.error("Slack webhook not configured: alert recorded undeliverable to Slack (email is unaffected)",
                     extra={**ids, "error": str(exc)})
        return UNDELIVERED
    except OutcomeUnknownError as exc:
        return _unknown_outcome(record, alert, lease, str(exc), ports, ids)
    except NotifierError:
        ports.ledger.release(alert, lease)
        raise
    ports.ledger.record_delivered(alert, lease)
    logger.info("alert delivered to Slack", extra=ids)
    return DELIVERED


def _unknown_outcome(record: Any, alert: dict, lease: Lease, reason: str, ports: Ports, ids: dict) -> str:
    """Settle the attempt as "unknown outcome" (never posted again) and report it in NOTIFY_DLQ, once: only the
    invocation whose lease it settles reports it."""
    if ports.ledger.record_undelivered(alert, lease, UNKNOWN_OUTCOME, reason):
        logger.warning("Slack post outcome unknown: recorded, reported, not posted again",
                       extra={**ids, "reason": reason})
        ports.dead_letters.send(UNKNOWN_OUTCOME, [{"field": "slack", "message": reason}], record)
    return UNDELIVERED


def lambda_handler(event: Any, context: Any = None, ports: Ports | None = None) -> dict:
    ports = ports or default_ports()
    outcomes = {DELIVERED: 0, DUPLICATE: 0, DEAD_LETTERED: 0, UNDELIVERED: 0}
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.warning("event without Records sent to the dead-letter queue")
        ports.dead_letters.send("not an SNS event", [{"field": "Records", "message": "expected a list"}], event)
        outcomes[DEAD_LETTERED] += 1
        return outcomes
    failures: list[str] = []
    for record in records:
        try:
            outcomes[process_record(record, ports)] += 1
        except NotifierError as exc:
            logger.error("alert not delivered; the invocation will be retried", extra={"error": str(exc)})
            failures.append(str(exc))
    if failures:
        raise NotifierError(f"{len(failures)} of {len(records)} alerts not delivered: {'; '.join(failures)}")
    return outcomes
