"""Aggregator: MetricsTable INSERTs -> LatestTable (latest value, exact rolling averages, previous close).

Records of one key are applied in stream order to that key's state, which is written back with an
optimistic lock; the state remembers the last stream position it applied, so a retried batch is a
no-op for every key already written.
"""
from __future__ import annotations

from datetime import datetime, timezone
from collections import OrderedDict
from typing import Any, Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from lambdas.aggregator import store
from barometer.core.records import event_from_metrics_item
from barometer.core.state import KeyState, state_from_item, state_to_item
from barometer.core.timeutil import format_public
from lambdas.shared.batch import BufferedBatchProcessor
from barometer.ddb import from_item
from barometer.settings import get_settings

logger = Logger(service="aggregator")
metrics = Metrics(namespace="Barometer", service="aggregator")
MAX_CONFLICT_RETRIES = 3


class Change:
    __slots__ = ("pk", "kind", "key", "seq", "item")

    def __init__(self, record: DynamoDBRecord):
        image = from_item(record.raw_event["dynamodb"].get("NewImage")) or {}
        self.item = image if record.raw_event.get("eventName") == "INSERT" else None
        self.pk = image.get("pk", "")
        self.kind, self.key = image.get("kind"), image.get("key")
        self.seq = int(record.raw_event["dynamodb"]["SequenceNumber"])


def process_record(record: DynamoDBRecord) -> Change:
    return Change(record)


# Warm-container cache of key states: a stream shard's keys come back batch after batch, and the
# optimistic lock on the write catches a state someone else changed meanwhile (then it is re-read).
_STATES: OrderedDict[str, KeyState] = OrderedDict()
MAX_CACHED_STATES = 5000


def _state_for(pk: str, kind: str, key: str, fresh: bool) -> KeyState:
    state = None if fresh else _STATES.get(pk)
    if state is None:
        state = state_from_item(store.load_state_item(pk), kind, key)
    return state


def _remember(pk: str, state: KeyState) -> None:
    _STATES[pk] = state
    _STATES.move_to_end(pk)
    while len(_STATES) > MAX_CACHED_STATES:
        _STATES.popitem(last=False)


def _apply_key(changes: list[Change]) -> None:
    first = changes[0]
    try:
        _apply_key_once(changes)
    except BaseException:
        _STATES.pop(first.pk, None)  # the cached state may hold changes that were never written
        raise


def _apply_key_once(changes: list[Change]) -> None:
    settings = get_settings()
    first = changes[0]
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        state = _state_for(first.pk, first.kind, first.key, fresh=attempt > 0)
        _STATES.pop(first.pk, None)
        expected_version = state.version
        recent = []
        for change in changes:
            event = event_from_metrics_item(change.item)
            applied = state.apply(event, change.item["local_day"], seq=change.seq)
            if applied is not None:
                recent.append(applied.as_recent())
        if not recent:
            _remember(first.pk, state)
            return  # every record was applied by an earlier delivery
        snapshot = state.snapshot(settings.windows, settings.max_window_s,
                                  lambda lo, hi: store.values_between(first.pk, lo, hi))
        item = state_to_item(state, snapshot, recent, format_public(datetime.now(timezone.utc)))
        try:
            store.save_state_item(item, expected_version)
            state.version = expected_version + 1
            _remember(first.pk, state)
            return
        except store.StateConflictError:
            if attempt == MAX_CONFLICT_RETRIES:
                raise
            logger.warning("state changed concurrently; re-reading", extra={"pk": first.pk})


def flush(changes: Sequence[Change]) -> dict[int, BaseException]:
    by_key: dict[str, list[int]] = {}
    for i, change in enumerate(changes):
        if change.item is not None and change.kind and change.key:
            by_key.setdefault(change.pk, []).append(i)
    failed: dict[int, BaseException] = {}
    for positions in by_key.values():
        try:
            _apply_key(sorted((changes[i] for i in positions), key=lambda c: c.seq))
        except (store.StoreError, store.StateConflictError) as exc:
            logger.error("could not update latest state", extra={"pk": changes[positions[0]].pk, "error": str(exc)})
            failed.update({i: exc for i in positions})
    metrics.add_metric("EventsAggregated", MetricUnit.Count, sum(len(p) for p in by_key.values()))
    if failed:
        metrics.add_metric("AggregationFailures", MetricUnit.Count, len(failed))
    return failed


processor = BufferedBatchProcessor(EventType.DynamoDBStreams, flush)


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)
