"""In-memory stand-ins for the rules engine's ports (AlertsTable, SNS topics, the alerts lake table)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from lambdas.rules.adapters import AlertStoreError, PublishError
from lambdas.rules.handler import Ports
from lambdas.shared.errors import SinkError

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def batch(*indexes: int) -> dict:
    """Some of latest_updates.json's records: 0 AAPL drop, 1 MSFT (no alert), 2 AAPL drop again, 3 Seattle rain."""
    records = load_event("latest_updates.json")["Records"]
    return {"Records": [records[i] for i in indexes]}


def sequence_number(event: dict, index: int) -> str:
    return event["Records"][index]["dynamodb"]["SequenceNumber"]


class FakeAlertStore:
    """Same contract as adapters.AlertsTable: the first put of a key, rule and day wins."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}
        self.puts: list[tuple[str, str]] = []
        self.failures = 0

    def store(self, item: dict) -> bool:
        if self.failures:
            self.failures -= 1
            raise AlertStoreError(f"PutItem {item['pk']} {item['sk']}: InternalServerError")
        key = (item["pk"], item["sk"])
        self.puts.append(key)
        if key in self.items:
            return False
        self.items[key] = copy.deepcopy(item)
        return True

    def stored(self, pk: str, sk: str) -> dict | None:
        return copy.deepcopy(self.items.get((pk, sk)))

    def mark_published(self, pk: str, sk: str, message_id: str) -> None:
        self.items[(pk, sk)].update(published=True, message_id=message_id)


class FakeTopics:
    def __init__(self) -> None:
        self.published: list = []
        self.failures = 0

    def publish(self, alert) -> str:
        if self.failures:
            self.failures -= 1
            raise PublishError(f"Publish {alert.alert_id}: InternalError")
        self.published.append(alert)
        return f"message-{len(self.published)}"


class FakeLake:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.failures = 0

    def put(self, record: dict) -> None:
        if self.failures:
            self.failures -= 1
            raise SinkError("PutRecordBatch on the alerts stream failed: ServiceUnavailableException")
        self.rows.append(record)


def fake_ports() -> tuple[Ports, FakeAlertStore, FakeTopics, FakeLake]:
    alerts, topics, lake = FakeAlertStore(), FakeTopics(), FakeLake()
    return Ports(alerts=alerts, topics=topics, lake=lake), alerts, topics, lake
