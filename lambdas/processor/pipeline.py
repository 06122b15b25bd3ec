"""One batch of accepted events, key by key: state, classification, writes (lake first), apply, alerts, save.

The batch's accepted records are grouped by key, each key's records in sequence-number order, and go
through these steps together (one call per step for the whole batch where DynamoDB allows it):
1. states: from the warm cache, else one BatchGetItem on LatestTable for every key missing;
2. `classify_batch` per key; the NEEDS_LOOKUP records' MetricsTable items read in one BatchGetItem
   (their stored `seq` decides: barometer.core.keystate.resolve_lookup);
3. the NEW records to the processed lake, then to MetricsTable (with their `seq`): what reaches the
   table is already in the lake. DUPLICATE and ALREADY_APPLIED records are written nowhere;
4. NEW records applied (rolling windows, previous close), DUPLICATE ones skipped; the rules evaluated
   on every applied event; keys concurrently (their departure Queries overlap);
5. alerts raised BEFORE the state is saved: if the save is lost, the retry evaluates the same events
   again and AlertsTable's conditional put keeps one alert per key, rule and day;
6. each changed key's state saved once (PutItem conditional on its version), keys concurrently. A
   version conflict drops the key's warm state and redoes it from step 1; any other failure fails
   exactly that key: all its records are reported, so Lambda delivers them again.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from barometer.core.events import Event
from barometer.core.keystate import KeyState, Verdict, classify_batch, from_item, resolve_lookup, to_item
from barometer.core.records import lake_record, lake_table, metrics_item
from barometer.core.rules import Alert, evaluate
from barometer.core.windows import DepartureCache, DepartureError
from barometer.settings import get_settings
from lambdas.processor.alerts import EXISTED, PUBLISHED, raise_alert
from lambdas.processor.errors import (
    AlertStoreError,
    PublishError,
    SinkError,
    StateConflictError,
    StoreError,
    UnstorableError,
)
from lambdas.processor.outcomes import Accepted, Rejection
from lambdas.processor.pool import run_all
from lambdas.processor.ports import Ports

logger = Logger(service="processor", child=True)

MAX_STATE_ATTEMPTS = 4  # a key's first attempt and three more after version conflicts
DEPARTURE_CHUNK = 40  # MetricsTable items per departure Query (~40 small items: a few read units)

_NEW, _DUPLICATE, _LOOKUP = Verdict.NEW, Verdict.DUPLICATE, Verdict.NEEDS_LOOKUP


@dataclass
class BatchReport:
    """What the batch did, for the metrics (DynamoDB units come from the ports' meter)."""

    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    alerts_raised: int = 0
    conflicts: int = 0
    failed: int = 0


class KeyBatch:
    """One key's records of the batch (positions in the flushed outcomes, in sequence-number order)."""

    __slots__ = ("alerts", "departures", "key", "kind", "pk", "records", "start_seq", "state", "verdicts")

    def __init__(self, event: Event):
        self.pk, self.kind, self.key = event.pk, event.kind, event.key
        self.records: list[tuple[int, Accepted]] = []
        self.state: KeyState | None = None
        self.departures: DepartureCache | None = None
        self.verdicts: list[Verdict] = []
        self.start_seq = -1
        self.alerts: list[Alert] = []


class _Batch:
    def __init__(self, ports: Ports, updated_at: str):
        self.ports, self.updated_at = ports, updated_at
        self.failed: dict[int, BaseException] = {}
        self.written: set[int] = set()  # positions whose lake and MetricsTable writes are done
        self.refused: list[tuple[int, Rejection]] = []  # accepted records DynamoDB refused to store
        self.report = BatchReport()

    def fail(self, kb: KeyBatch, exc: BaseException) -> None:
        """Every record of the key is reported; its warm state is not kept (it was taken out of the cache)."""
        logger.error("key not processed; its records are reported", extra={"pk": kb.pk, "error": str(exc)})
        self.failed.update({position: exc for position, _ in kb.records})
        kb.state = kb.departures = None


def flush(outcomes: Sequence[Accepted | Rejection], ports: Ports, updated_at: str
          ) -> tuple[dict[int, BaseException], BatchReport]:
    """Positions whose records failed (with the error), and what the batch did."""
    batch = _Batch(ports, updated_at)
    keys: dict[str, KeyBatch] = {}
    rejected: list[tuple[int, Rejection]] = []
    for position, outcome in enumerate(outcomes):
        if isinstance(outcome, Accepted):
            kb = keys.get(outcome.event.pk)
            if kb is None:
                kb = keys[outcome.event.pk] = KeyBatch(outcome.event)
            kb.records.append((position, outcome))
        else:
            rejected.append((position, outcome))
    for kb in keys.values():
        kb.records.sort(key=lambda r: r[1].seq)
    batch.report.valid = sum(len(kb.records) for kb in keys.values())
    batch.report.quarantined = len(rejected)

    pending = list(keys.values())
    for attempt in range(MAX_STATE_ATTEMPTS):
        pending = _load(pending, batch)
        pending = _classify(pending, batch)
        pending = _write(pending, batch)
        pending = _apply(pending, batch)
        pending = _raise_alerts(pending, batch)
        pending = _save(pending, batch)  # the keys whose version moved under them
        if not pending:
            break
        batch.report.conflicts += len(pending)
        logger.warning("key states changed concurrently; reading them again",
                       extra={"pks": [kb.pk for kb in pending], "attempt": attempt + 1})
    for kb in pending:
        batch.fail(kb, StateConflictError(f"{kb.pk}: the state changed under each of {MAX_STATE_ATTEMPTS} attempts"))

    if batch.refused:
        rejected.extend(batch.refused)
        batch.report.valid -= len(batch.refused)
        batch.report.quarantined += len(batch.refused)
    if rejected:
        errors = ports.quarantine.put([r for _, r in rejected])
        batch.failed.update({rejected[p][0]: e for p, e in errors.items()})
    for _, r in rejected:
        logger.info("quarantined", extra={"reason": r.reason, "errors": [str(e) for e in r.errors],
                                          "sequence_number": r.sequence_number})
    batch.report.failed = len(batch.failed)
    return batch.failed, batch.report


# -- 1. key states ------------------------------------------------------------------------------------
def _load(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    ports = batch.ports
    missing = []
    for kb in keys:
        cached = ports.keys.take(kb.pk)
        if cached is None:
            missing.append(kb)
        else:
            kb.state, kb.departures = cached
    if not missing:
        return keys
    try:
        items = ports.latest.load([kb.pk for kb in missing])
    except StoreError as exc:
        for kb in missing:
            batch.fail(kb, exc)
        return [kb for kb in keys if kb.state is not None]
    windows = get_settings().windows
    for kb in missing:
        kb.state = from_item(items.get(kb.pk), kb.kind, kb.key, windows)
        kb.departures = DepartureCache(ports.metrics_table, kb.pk, limit=DEPARTURE_CHUNK)
    return keys


# -- 2. what each record is ---------------------------------------------------------------------------
def _classify(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    lookups: list[tuple[KeyBatch, int]] = []
    for kb in keys:
        kb.start_seq = kb.state.applied_seq
        kb.verdicts = classify_batch(kb.state, [(r.event, r.seq) for _, r in kb.records])
        lookups.extend((kb, i) for i, verdict in enumerate(kb.verdicts) if verdict is _LOOKUP)
    if not lookups:
        return keys
    try:
        stored = batch.ports.metrics_table.stored_seqs([(kb.pk, kb.records[i][1].event.sk) for kb, i in lookups])
    except StoreError as exc:
        for kb in {id(kb): kb for kb, _ in lookups}.values():
            batch.fail(kb, exc)
        return [kb for kb in keys if kb.state is not None]
    for kb, i in lookups:
        record = kb.records[i][1]
        kb.verdicts[i] = resolve_lookup(record.seq, stored.get((kb.pk, record.event.sk)))
    return keys


# -- 3. writes, lake first ----------------------------------------------------------------------------
def _write(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    fresh = [(kb, position, record) for kb in keys
             for (position, record), verdict in zip(kb.records, kb.verdicts)
             if verdict is _NEW and position not in batch.written]
    if not fresh:
        return keys
    by_table: dict[str, list[tuple[KeyBatch, int, Accepted]]] = {}
    for entry in fresh:
        by_table.setdefault(lake_table(entry[2].event), []).append(entry)
    for table, rows in by_table.items():
        errors = batch.ports.lake.put(table, [lake_record(r.event, r.local_day, r.ingested_at) for _, _, r in rows])
        _fail_writes(rows, errors, batch)
    writable = [entry for entry in fresh if entry[0].state is not None]
    errors = batch.ports.metrics_table.write([metrics_item(r.event, r.local_day, r.ingested_at, r.seq)
                                              for _, _, r in writable])
    refused = {p: exc for p, exc in errors.items() if isinstance(exc, UnstorableError)}
    _fail_writes(writable, {p: exc for p, exc in errors.items() if p not in refused}, batch)
    for p, exc in refused.items():
        kb, position, record = writable[p]
        if kb.state is not None:  # else the whole key is reported, this record with it
            _set_aside(kb, position, record, exc, batch)
    batch.written.update(position for kb, position, _ in writable if kb.state is not None)
    return [kb for kb in keys if kb.state is not None]


def _set_aside(kb: KeyBatch, position: int, record: Accepted, exc: UnstorableError, batch: _Batch) -> None:
    """A record DynamoDB refuses to store (no retry can change that) is quarantined with the reason and
    leaves its key's batch: the key's other records go on without it."""
    logger.error("event refused by DynamoDB; quarantined", extra={"pk": kb.pk, "seq": record.seq, "error": str(exc)})
    i = next(i for i, (p, _) in enumerate(kb.records) if p == position)
    del kb.records[i], kb.verdicts[i]
    batch.refused.append((position, record.unstorable(str(exc))))


def _fail_writes(rows: list[tuple[KeyBatch, int, Accepted]], errors: dict[int, BaseException], batch: _Batch) -> None:
    for p, exc in errors.items():
        kb = rows[p][0]
        if kb.state is not None:  # a record not written cannot be applied, nor any later one of its key
            batch.fail(kb, exc)


# -- 4. apply, and the rules --------------------------------------------------------------------------
def _apply(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    """Keys in the pool: a key's departure Queries wait ~5 ms each, and keys share nothing. A key's state,
    departure cache and records are its own (the warm caches are only touched before and after, in this
    thread); the metrics table port is a stateless adapter over a thread-safe client and a locked meter;
    settings and the rules are read only. Failures are recorded here, in this thread."""
    settings = get_settings()

    def apply(kb: KeyBatch) -> BaseException | None:
        state, departures, alerts = kb.state, kb.departures, []
        try:
            for (_, record), verdict in zip(kb.records, kb.verdicts):
                if verdict is _NEW:
                    event = record.event
                    applied = state.apply(event, record.local_day, record.seq, departures)
                    alerts.extend(evaluate(event.kind, event.key, event.ts, event.value, event.fields, event.event_id,
                                           applied.local_day, applied.previous_close, settings))
                elif verdict is _DUPLICATE:
                    state.skip(record.seq)
        except (StoreError, DepartureError) as exc:
            return exc
        kb.alerts = alerts
        return None

    for kb, exc in zip(keys, run_all(apply, keys)):
        if exc is not None:
            batch.fail(kb, exc)
    return [kb for kb in keys if kb.state is not None]


# -- 5. alerts ----------------------------------------------------------------------------------------
def _raise_alerts(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    published = batch.ports.published
    for kb in keys:
        tried: set[tuple[str, str]] = set()
        for alert in kb.alerts:
            ident = (alert.pk, alert.sk)
            if ident in tried or ident in published:
                continue  # one alert per key, rule and day: the first breach of the batch decides
            tried.add(ident)
            try:
                outcome = raise_alert(alert, batch.ports)
            except (AlertStoreError, PublishError, SinkError) as exc:
                batch.fail(kb, exc)
                break
            if outcome == PUBLISHED:
                batch.report.alerts_raised += 1
                logger.info("alert raised", extra={"alert_id": alert.alert_id, "kind": alert.kind, "key": alert.key,
                                                   "rule": alert.rule, "local_day": alert.local_day})
            if outcome in (PUBLISHED, EXISTED):
                published.add(ident)
    return [kb for kb in keys if kb.state is not None]


# -- 6. save ------------------------------------------------------------------------------------------
def _save(keys: list[KeyBatch], batch: _Batch) -> list[KeyBatch]:
    """Save the changed states; returns the keys whose version moved (to be read and redone)."""
    ports = batch.ports
    changed = []
    for kb in keys:
        if kb.state.applied_seq == kb.start_seq:  # every record applied by an earlier delivery
            _done(kb, batch)
        else:
            changed.append(kb)

    def save(kb: KeyBatch) -> BaseException | None:
        try:
            ports.latest.save(to_item(kb.state, batch.updated_at), kb.state.version)
        except (StateConflictError, StoreError) as exc:
            return exc
        return None

    conflicts = []
    for kb, exc in zip(changed, run_all(save, changed)):
        if exc is None:
            kb.state.version += 1
            _done(kb, batch)
        elif isinstance(exc, StateConflictError):
            kb.state = kb.departures = None  # stale: read again
            conflicts.append(kb)
        else:
            batch.fail(kb, exc)
    return conflicts


def _done(kb: KeyBatch, batch: _Batch) -> None:
    batch.ports.keys.remember(kb.state, kb.departures)
    batch.report.duplicates += sum(1 for verdict in kb.verdicts if verdict is _DUPLICATE)
