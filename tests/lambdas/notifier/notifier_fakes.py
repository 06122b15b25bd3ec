"""In-memory stand-ins for the notifier's ports (Slack, AlertsTable ledger, NOTIFY_DLQ)."""
from __future__ import annotations

import json
from pathlib import Path

from lambdas.notifier.errors import NotifierError, OutcomeUnknownError, WebhookNotConfiguredError
from lambdas.notifier.handler import Ports
from lambdas.notifier.ledger import Claim, Lease

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def sns_event(*alerts: dict | str, subject: str = "[Barometer] test") -> dict:
    """A Lambda SNS event whose records carry these messages (dicts are JSON-encoded)."""
    template = load_event("sns_market_alert.json")["Records"][0]
    records = []
    for i, alert in enumerate(alerts):
        message = alert if isinstance(alert, str) else json.dumps(alert)
        records.append({**template, "Sns": {**template["Sns"], "MessageId": f"msg-{i}", "Subject": subject,
                                            "Message": message}})
    return {"Records": records}


class FakeWebhook:
    """Posts are kept; `failures` answer 500 (not shown), `timeouts` are shown but never answered,
    `not_configured` is the first-deploy placeholder secret."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.failures = 0
        self.timeouts = 0
        self.not_configured = False

    def post(self, payload: dict) -> None:
        if self.not_configured:
            raise WebhookNotConfiguredError("slack webhook not configured: secret x still holds the placeholder")
        if self.failures:
            self.failures -= 1
            raise NotifierError("Slack webhook answered 500: internal_error")
        self.posts.append(payload)
        if self.timeouts:
            self.timeouts -= 1
            raise OutcomeUnknownError("Slack webhook: the post was sent but no answer within 5s")


class FakeLedger:
    """Same semantics as DeliveryLedger: a lease (the attempt), then delivered-at or undelivered per alert key
    (one channel). `expire(alert)` makes a held lease outlive LEASE_S."""

    def __init__(self) -> None:
        self.delivered: dict[tuple, str] = {}
        self.undelivered: dict[tuple, dict] = {}
        self.leases: dict[tuple, str] = {}
        self.expired: set[tuple] = set()
        self.released: list[tuple] = []

    def expire(self, alert: dict) -> None:
        self.expired.add(self.key(alert))

    def record_undelivered(self, alert: dict, lease: Lease, state: str, reason: str) -> bool:
        key = self.key(alert)
        if self.leases.get(key) != lease.token:
            return False
        del self.leases[key]
        self.undelivered[key] = {"state": state, "reason": reason}
        return True

    @staticmethod
    def key(alert: dict) -> tuple:
        return (f"{alert['kind']}#{alert['key']}", f"{alert['local_day']}#{alert['rule']}")

    def acquire(self, alert: dict) -> Lease:
        key = self.key(alert)
        if key in self.delivered:
            return Lease(Claim.DELIVERED)
        if key in self.undelivered:
            return Lease(Claim.SETTLED)
        if key in self.leases:
            return Lease(Claim.ABANDONED, self.leases[key]) if key in self.expired else Lease(Claim.BUSY)
        self.leases[key] = f"token-{len(self.leases) + len(self.released)}"
        return Lease(Claim.ACQUIRED, self.leases[key])

    def record_delivered(self, alert: dict, lease: Lease) -> None:
        key = self.key(alert)
        self.delivered.setdefault(key, "2026-11-24T15:04:07.000000Z")
        self.leases.pop(key, None)

    def release(self, alert: dict, lease: Lease) -> None:
        key = self.key(alert)
        if self.leases.get(key) == lease.token:
            del self.leases[key]
            self.released.append(key)


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, reason: str, errors: list[dict], record) -> None:
        self.sent.append({"reason": reason, "errors": errors, "record": record})


def fake_ports() -> tuple[Ports, FakeWebhook, FakeLedger, FakeDeadLetters]:
    webhook, ledger, dead = FakeWebhook(), FakeLedger(), FakeDeadLetters()
    return Ports(slack=webhook, ledger=ledger, dead_letters=dead), webhook, ledger, dead
