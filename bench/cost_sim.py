"""A week of one key through the hot path, counting what DynamoDB would bill (issue 9's cost model).

Two designs over the same events:
- new: one consumer over the pure core (barometer/core/keystate.py, windows.py): classify, look up the
  records that need it, write the NEW records' MetricsTable items (with `seq`), apply, save the
  LatestTable item once per key and batch; departures read back from MetricsTable through a
  DepartureCache whose source here is an in-memory MetricsTable that knows each item's size.
- old: the first design (bench/first_design.py, frozen): the validator writes MetricsTable, the aggregator
  applies each INSERT, snapshots (minute buckets; a window edge that cuts a minute is fetched) and
  rewrites the whole LatestTable item (packed buckets, `recent`, closes).

Each key gets one record per batch (a batch of 500 spans 0.5 s of 1,000 keys at 1 event/s, or one poll
of every key at 1 event/min); a duplicate rides in the same batch as the next fresh event. Figures are
averages over the eighth simulated day (every window, 7d included, full and moving). The old design
is simulated with apply only for the first seven days (what its state holds does not depend on when
snapshots ran: prune only drops minutes no window needs) and in full for the eighth.
"""
from __future__ import annotations

import inspect
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from barometer.config import Window
from barometer.core import keystate
from barometer.core.events import Event
from barometer.core.itemsize import item_size, number_size
from barometer.core.records import metrics_item
from barometer.core.timeutil import local_day
from barometer.core.windows import DepartureCache
from bench import first_design as old_state

T0_US = int(datetime(2026, 3, 2, 14, 30, tzinfo=UTC).timestamp()) * 1_000_000  # a Monday, market hours
DAY_US = 86_400_000_000
KINESIS_SEQ = 49590338271490256608559692538361571095921575989136588898  # 56 digits, as Kinesis gives them
INGESTED_AT = "2026-03-02T14:30:00.123456Z"
UPDATED_AT = "2026-03-02T14:30:00.123456Z"
DUPLICATE_LAG = 10  # a duplicate repeats one of the key's last this many events (a replayed stretch)
SAMPLE_US = 600_000_000  # event time between two sizings of the LatestTable item (it changes slowly)


@dataclass(frozen=True)
class Case:
    interval_s: int  # seconds between two events of the key
    windows: tuple[Window, ...]
    duplicates: float = 0.0  # share of records that repeat an earlier event of the key
    days: int = 8  # simulated days; the last one is measured
    kind: str = "quote"
    key: str = "AAPL"
    timezone: str = "America/New_York"


@dataclass
class Tally:
    """What the measured day cost, per record delivered (duplicates included)."""

    records: int = 0
    metrics_writes: int = 0  # MetricsTable items written
    metrics_write_units: int = 0
    latest_writes: int = 0  # LatestTable puts (one per key and batch)
    latest_sizes: list[int] = field(default_factory=list)  # sampled item sizes
    lookups: int = 0  # items read by BatchGetItem (consistent: 1 unit per item <= 4 KB)
    queries: int = 0  # MetricsTable Queries (departures, or the old design's edge fetches)
    query_units: int = 0  # consistent read units of those Queries
    query_items: int = 0
    metrics_sizes: list[int] = field(default_factory=list)

    def per_record(self) -> dict:
        n = max(self.records, 1)
        latest = sum(self.latest_sizes) / len(self.latest_sizes) if self.latest_sizes else 0.0
        latest_units = (sum(math.ceil(s / 1024) for s in self.latest_sizes) / len(self.latest_sizes)
                        if self.latest_sizes else 0.0)
        return {
            "records": self.records,
            "metrics_item_bytes": round(sum(self.metrics_sizes) / max(len(self.metrics_sizes), 1), 1),
            "metrics_writes": self.metrics_writes / n,
            "metrics_write_units": self.metrics_write_units / n,
            "latest_item_bytes": round(latest, 1),
            "latest_item_bytes_max": max(self.latest_sizes, default=0),
            "latest_write_units_per_put": latest_units,
            "latest_puts": self.latest_writes / n,
            "lookups": self.lookups / n,
            "queries": self.queries / n,
            "query_read_units": self.query_units / n,
            "query_items": self.query_items / n,
        }


def read_units(total_bytes: int) -> int:
    """Consistent read units of one Query: its items' sizes summed, rounded up to 4 KB (at least one)."""
    return max(1, math.ceil(total_bytes / 4096))


class SizedMetrics:
    """One key's MetricsTable in memory, with each item's DynamoDB size; a DepartureSource over it that
    counts Queries, items and read units (the new design) and the old design's edge fetch."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, str]] = []
        self.items: dict[tuple[int, str], tuple[float, int, int]] = {}  # -> (value, seq, size)
        self.tally: Tally | None = None  # counting only while set (the measured day)

    def put(self, event: Event, seq: int, size: int) -> bool:
        """False when the item existed (an overwrite)."""
        key = (event.epoch_us, event.event_id)
        existed = key in self.items
        if not existed:
            if not self.keys or self.keys[-1] < key:
                self.keys.append(key)
            else:
                self.keys.insert(bisect_left(self.keys, key), key)
        self.items[key] = (event.value, seq, size)
        return not existed

    def stored_seq(self, event: Event) -> int | None:
        found = self.items.get((event.epoch_us, event.event_id))
        return None if found is None else found[1]

    def _count(self, keys: Sequence[tuple[int, str]]) -> None:
        tally = self.tally
        if tally is not None:
            tally.queries += 1
            tally.query_items += len(keys)
            tally.query_units += read_units(sum(self.items[k][2] for k in keys))

    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None):
        start = (after_us, after_id) if after_id is not None else (after_us, "\uffff")
        lo = bisect_right(self.keys, start)
        hi = min(bisect_right(self.keys, (upto_us, "\uffff")), lo + limit)
        keys = self.keys[lo:hi]
        self._count(keys)
        return [(k[0], k[1], self.items[k][0], self.items[k][1]) for k in keys]

    def values_between(self, lo_us: int, hi_us: int) -> list[float]:
        """The old aggregator's boundary fetch: values with lo < ts <= hi (one Query, paged here as one)."""
        keys = self.keys[bisect_right(self.keys, (lo_us, "\uffff")):bisect_right(self.keys, (hi_us, "\uffff"))]
        self._count(keys)
        return [self.items[k][0] for k in keys]


def events(case: Case, seed: int = 7):
    """(event, seq, is_duplicate) in stream order: a simulator-like feed (whole-interval stamps, prices
    moving by cents, the poller's deterministic ids), with `case.duplicates` of repeats."""
    rng = random.Random(seed)
    price, seq, recent = 180.0, KINESIS_SEQ, []
    step = case.interval_s * 1_000_000
    for i in range(case.days * DAY_US // step):
        us = T0_US + i * step
        price = round(max(1.0, price * (1 + rng.gauss(0, 0.0004))), 2)
        seq += 1
        event = Event(case.kind, case.key, _utc(us), f"simulator:quote:{case.key}:{us // 1_000_000}", price,
                      {"price": price, "volume": rng.randrange(100, 50_000), "currency": "USD"}, "simulator")
        yield event, seq, False
        recent.append(event)
        del recent[:-DUPLICATE_LAG]
        if case.duplicates and rng.random() < case.duplicates / (1 - case.duplicates):
            seq += 1
            yield rng.choice(recent), seq, True


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def batches(case: Case):
    """One batch per fresh event; a duplicate joins the batch of the event that follows it."""
    batch = []
    for event, seq, duplicate in events(case):
        batch.append((event, seq))
        if not duplicate:
            yield batch
            batch = []
    if batch:
        yield batch


def _with_seq() -> bool:
    return "seq" in inspect.signature(metrics_item).parameters


def new_metrics_item(event: Event, day: str, seq: int) -> dict:
    """The new design's MetricsTable item: the record's item plus the Kinesis sequence number that wrote
    it, as a string (56 digits do not fit a DynamoDB number)."""
    if _WITH_SEQ:
        return metrics_item(event, day, INGESTED_AT, seq=seq)  # type: ignore[call-arg]
    return {**metrics_item(event, day, INGESTED_AT), "seq": str(seq)}


_WITH_SEQ = _with_seq()


class MetricsSizer:
    """Sizes of MetricsTable items, computed once per shape: within one feed every attribute but the
    price, volume, event id and sequence number has a fixed length (fixed-width timestamps, one key,
    one local-day format), so items of one shape have one size (exact, and ~20x faster)."""

    def __init__(self, build):
        self.build = build
        self.sizes: dict[tuple, int] = {}
        self.numbers: dict[tuple, int] = {}

    def __call__(self, event: Event, day: str, seq: int) -> int:
        numbers = self.numbers
        shape = [len(event.event_id), len(day), len(str(seq))]
        for v in (event.value, *event.fields.values()):
            if isinstance(v, str):
                shape.append(len(v))
            else:
                n = numbers.get((v, type(v)))
                if n is None:
                    n = numbers[(v, type(v))] = number_size(v)
                shape.append(n)
        shape = tuple(shape)
        size = self.sizes.get(shape)
        if size is None:
            size = self.sizes[shape] = item_size(self.build(event, day, seq))
        return size


class Days:
    """Local days by quarter hour (every time zone's offset is a whole number of quarter hours)."""

    def __init__(self, timezone: str):
        self.timezone = timezone
        self.days: dict[int, str] = {}

    def __call__(self, event: Event) -> str:
        slot = event.epoch_us // 900_000_000
        day = self.days.get(slot)
        if day is None:
            day = self.days[slot] = local_day(event.ts, self.timezone)
        return day


class NewKey:
    """One key through the new consumer (classify, look up, write, apply, save)."""

    def __init__(self, case: Case):
        self.case = case
        self.metrics = SizedMetrics()
        self.state = keystate.KeyState(case.kind, case.key, case.windows)
        self.cache = DepartureCache(self.metrics, self.state.pk)
        self.tally = Tally()
        self.next_sample = 0
        self.day, self.size = Days(case.timezone), MetricsSizer(new_metrics_item)

    def run(self, batch: list[tuple[Event, int]], measured: bool) -> None:
        state, metrics, tally = self.state, self.metrics, self.tally
        metrics.tally = tally if measured else None
        verdicts = keystate.classify_batch(state, batch)
        for i, (event, seq) in enumerate(batch):
            if verdicts[i] is keystate.Verdict.NEEDS_LOOKUP:
                verdicts[i] = keystate.resolve_lookup(seq, metrics.stored_seq(event))
                if measured:
                    tally.lookups += 1
        days = {}
        for (event, seq), verdict in zip(batch, verdicts):
            if verdict is keystate.Verdict.NEW:
                day = days[seq] = self.day(event)
                size = self.size(event, day, seq)
                metrics.put(event, seq, size)
                if measured:
                    tally.metrics_writes += 1
                    tally.metrics_write_units += math.ceil(size / 1024)
                    tally.metrics_sizes.append(size)
        changed = False
        for (event, seq), verdict in zip(batch, verdicts):
            if verdict is keystate.Verdict.NEW:
                state.apply(event, days[seq], seq, self.cache)
                changed = True
            elif verdict is keystate.Verdict.DUPLICATE:
                state.skip(seq)
                changed = True
        if measured:
            tally.records += len(batch)
        if changed:
            if measured:
                tally.latest_writes += 1
                if batch[-1][0].epoch_us >= self.next_sample:
                    self.next_sample = batch[-1][0].epoch_us + SAMPLE_US
                    tally.latest_sizes.append(item_size(keystate.to_item(state, UPDATED_AT)))
            state.version += 1


class OldKey:
    """One key through the first design (validator, aggregator on the MetricsTable stream)."""

    def __init__(self, case: Case):
        self.case = case
        self.metrics = SizedMetrics()
        self.state = old_state.KeyState(case.kind, case.key)
        self.tally = Tally()
        self.max_window_s = max(w.seconds for w in case.windows)
        self.next_sample = 0
        self.last_item: dict | None = None
        self.day = Days(case.timezone)
        self.size = MetricsSizer(lambda event, day, seq: metrics_item(event, day, INGESTED_AT))

    def run(self, batch: list[tuple[Event, int]], measured: bool) -> None:
        state, metrics, tally = self.state, self.metrics, self.tally
        metrics.tally = tally if measured else None
        recent = []
        for event, seq in batch:
            day = self.day(event)
            size = self.size(event, day, seq)
            inserted = metrics.put(event, seq, size)  # an overwrite streams MODIFY: filtered out
            if measured:
                tally.records += 1
                tally.metrics_writes += 1
                tally.metrics_write_units += math.ceil(size / 1024)
                tally.metrics_sizes.append(size)
            if inserted:
                applied = state.apply(event, day, seq=seq)
                if applied is not None:
                    recent.append(applied)
        if not recent or not measured:
            return  # before the measured day only the state matters (see the module's docstring)
        snapshot = state.snapshot(self.case.windows, self.max_window_s, metrics.values_between)
        tally.latest_writes += 1
        if batch[-1][0].epoch_us >= self.next_sample:
            self.next_sample = batch[-1][0].epoch_us + SAMPLE_US
            item = old_state.state_to_item(state, snapshot, [a.as_recent() for a in recent], UPDATED_AT)
            tally.latest_sizes.append(item_size(item))
            self.last_item = item
        state.version += 1


def simulate(case: Case, design: str) -> dict:
    """Run the case through one design; per-record figures of the last simulated day."""
    key = NewKey(case) if design == "new" else OldKey(case)
    measure_from = T0_US + (case.days - 1) * DAY_US
    for batch in batches(case):
        key.run(batch, batch[-1][0].epoch_us >= measure_from)
    out = key.tally.per_record()
    out["design"] = design
    if design == "new":
        out["departure_fetches"] = key.cache.fetches
    out["_key"] = key
    return out
