"""Aggregator: MetricsTable INSERTs -> LatestTable (latest value, exact rolling averages, previous close).

Records of one key are applied in stream order to that key's state, which is written back with an
optimistic lock; the state remembers the last stream position it applied, so a retried batch is a
no-op for every key already written.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from barometer.core.records import event_from_metrics_item
from barometer.core.state import KeyState, state_from_item, state_to_item
from barometer.core.timeutil import format_public
from barometer.ddb import from_item
from barometer.settings import get_settings
from lambdas.aggregator.store import StateConflictError, StoreError
from lambdas.shared.batch import BufferedBatchProcessor

logger = Logger(service="aggregator")
metrics = Metrics(namespace="Barometer", service="aggregator")
MAX_CONFLICT_RETRIES = 3
MAX_CACHED_STATES = 5000


class LatestStates(Protocol):
    def load(self, pk: str) -> dict[str, Any] | None: ...
    def save(self, item: dict[str, Any], expected_version: int) -> None: ...  # StateConflictError when stale


class History(Protocol):
    def values_between(self, pk: str, lo_us: int, hi_us: int) -> list[float]: ...


class StateCache:
    """Warm-container cache of key states: a stream shard's keys come back batch after batch, and the
    optimistic lock on the write catches a state someone else changed meanwhile (then it is re-read)."""

    def __init__(self, limit: int = MAX_CACHED_STATES):
        self._states: OrderedDict[str, KeyState] = OrderedDict()
        self._limit = limit

    def __contains__(self, pk: str) -> bool:
        return pk in self._states

    def take(self, pk: str) -> KeyState | None:
        """Out of the cache while it is worked on: a state changed but never written must not stay."""
        return self._states.pop(pk, None)

    def remember(self, pk: str, state: KeyState) -> None:
        self._states[pk] = state
        self._states.move_to_end(pk)
        while len(self._states) > self._limit:
            self._states.popitem(last=False)


@dataclass(frozen=True)
class Ports:
    latest: LatestStates
    history: History
    states: StateCache = field(default_factory=StateCache)


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    from lambdas.aggregator.store import LatestTable, MetricsHistory

    return Ports(latest=LatestTable(), history=MetricsHistory())


class Change:
    __slots__ = ("item", "key", "kind", "pk", "seq")

    def __init__(self, record: DynamoDBRecord):
        image = from_item(record.raw_event["dynamodb"].get("NewImage")) or {}
        self.item = image if record.raw_event.get("eventName") == "INSERT" else None
        self.pk = image.get("pk", "")
        self.kind, self.key = image.get("kind"), image.get("key")
        self.seq = int(record.raw_event["dynamodb"]["SequenceNumber"])


def process_record(record: DynamoDBRecord) -> Change:
    return Change(record)


def _apply_key(changes: list[Change], ports: Ports) -> None:
    settings = get_settings()
    first = changes[0]
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        state = None if attempt > 0 else ports.states.take(first.pk)
        if state is None:
            state = state_from_item(ports.latest.load(first.pk), first.kind, first.key)
        expected_version = state.version
        recent = []
        for change in changes:
            event = event_from_metrics_item(change.item)
            applied = state.apply(event, change.item["local_day"], seq=change.seq)
            if applied is not None:
                recent.append(applied.as_recent())
        if not recent:
            ports.states.remember(first.pk, state)
            return  # every record was applied by an earlier delivery
        snapshot = state.snapshot(settings.windows, settings.max_window_s,
                                  lambda lo, hi: ports.history.values_between(first.pk, lo, hi))
        item = state_to_item(state, snapshot, recent, format_public(datetime.now(UTC)))
        try:
            ports.latest.save(item, expected_version)
            state.version = expected_version + 1
            ports.states.remember(first.pk, state)
            return
        except StateConflictError:
            if attempt == MAX_CONFLICT_RETRIES:
                raise
            logger.warning("state changed concurrently; re-reading", extra={"pk": first.pk})


def flush(changes: Sequence[Change], ports: Ports) -> dict[int, BaseException]:
    by_key: dict[str, list[int]] = {}
    for i, change in enumerate(changes):
        if change.item is not None and change.kind and change.key:
            by_key.setdefault(change.pk, []).append(i)
    failed: dict[int, BaseException] = {}
    for positions in by_key.values():
        try:
            _apply_key(sorted((changes[i] for i in positions), key=lambda c: c.seq), ports)
        except (StoreError, StateConflictError) as exc:
            logger.error("could not update latest state", extra={"pk": changes[positions[0]].pk, "error": str(exc)})
            failed.update({i: exc for i in positions})
    metrics.add_metric("EventsAggregated", MetricUnit.Count, sum(len(p) for p in by_key.values()))
    if failed:
        metrics.add_metric("AggregationFailures", MetricUnit.Count, len(failed))
    return failed


def processor_for(ports: Ports) -> BufferedBatchProcessor:
    return BufferedBatchProcessor(EventType.DynamoDBStreams, lambda changes: flush(changes, ports))


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any, ports: Ports | None = None) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record,
                                    processor=processor_for(ports or default_ports()), context=context)
