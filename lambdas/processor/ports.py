"""The processor's ports: what it reads and writes, as Protocols (AWS adapters in tables.py, sinks.py and
alerting.py; in-memory fakes in tests/lambdas/processor/processor_fakes.py)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from barometer.core.rules import Alert
from barometer.core.windows import Entry
from lambdas.processor.capacity import CapacityMeter
from lambdas.processor.outcomes import Rejection
from lambdas.processor.warm import KeyCache, PublishedAlerts


class Lake(Protocol):
    """The processed lake (one delivery stream per table); returns the positions not taken, with the error."""

    def put(self, table: str, records: Sequence[dict[str, Any]]) -> dict[int, BaseException]: ...


class Quarantine(Protocol):
    def put(self, rejections: Sequence[Rejection]) -> dict[int, BaseException]: ...


class MetricsTable(Protocol):
    """One item per event. Reads raise StoreError; `fetch` is barometer.core.windows.DepartureSource."""

    def write(self, items: Sequence[dict[str, Any]]) -> dict[int, BaseException]: ...
    def stored_seqs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]: ...
    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None
              ) -> Sequence[Entry]: ...


class LatestTable(Protocol):
    """Key states. `load` raises StoreError; `save` StateConflictError when the version moved, else StoreError."""

    def load(self, pks: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def save(self, item: dict[str, Any], expected_version: int) -> None: ...


class AlertStore(Protocol):
    def store(self, item: dict[str, Any]) -> bool: ...  # False when the key, rule and day has one already
    def stored(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def mark_published(self, pk: str, sk: str, message_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, alert: Alert) -> str: ...  # the message id


class AlertsLake(Protocol):
    def put(self, record: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Ports:
    lake: Lake
    quarantine: Quarantine
    metrics_table: MetricsTable
    latest: LatestTable
    alerts: AlertStore
    topics: Publisher
    alerts_lake: AlertsLake
    meter: CapacityMeter = field(default_factory=CapacityMeter)  # the adapters' DynamoDB units
    keys: KeyCache = field(default_factory=KeyCache)  # warm: key states and their departure caches
    published: PublishedAlerts = field(default_factory=PublishedAlerts)  # warm: alerts known published
