"""In-memory stand-ins for the aggregator's ports (LatestTable with its optimistic lock, MetricsTable)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from lambdas.aggregator.handler import Ports
from lambdas.aggregator.store import StateConflictError, StoreError

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def sequence_numbers(event: dict) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]


class FakeLatestStates:
    """Same contract as store.LatestTable: a put conditional on the version read."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.loads: list[str] = []
        self.saves: list[dict] = []
        self.concurrent_writes: dict[str, int] = {}  # pk -> how many saves another writer gets in first
        self.failures: dict[str, int] = {}  # pk -> how many saves fail with StoreError

    def load(self, pk: str) -> dict | None:
        self.loads.append(pk)
        return copy.deepcopy(self.items.get(pk))

    def save(self, item: dict, expected_version: int) -> None:
        pk = item["pk"]
        if self.failures.get(pk):
            self.failures[pk] -= 1
            raise StoreError(f"PutItem {pk}: InternalServerError")
        if self.concurrent_writes.get(pk):
            self.concurrent_writes[pk] -= 1
            other = copy.deepcopy(self.items.get(pk) or {"pk": pk})
            other["version"] = other.get("version", 0) + 1
            self.items[pk] = other
        if self.items.get(pk, {}).get("version", 0) != expected_version:
            raise StateConflictError(pk)
        self.items[pk] = copy.deepcopy(item)
        self.saves.append(copy.deepcopy(item))


class FakeHistory:
    def __init__(self) -> None:
        self.queries: list[tuple[str, int, int]] = []

    def values_between(self, pk: str, lo_us: int, hi_us: int) -> list[float]:
        self.queries.append((pk, lo_us, hi_us))
        return []


def fake_ports(latest: FakeLatestStates | None = None) -> tuple[Ports, FakeLatestStates]:
    latest = latest or FakeLatestStates()
    return Ports(latest=latest, history=FakeHistory()), latest
