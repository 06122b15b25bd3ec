"""The FIRST design's key state (before issue 9), frozen: kept only so that the cost model
(bench/cost_sim.py, bench/cost_model.py) can recompute its figures for the first design beside hot path v2.

Nothing in production uses it: the processor keeps its state with barometer/core/keystate.py and
windows.py. This is barometer/core/state.py (KeyState with packed minute buckets, the LatestTable item
of the validator -> aggregator -> rules chain) and the `MinuteBuckets` of barometer/core/rolling.py as
they were when the chain was retired; do not change it, or the first design's figures change with it.

How it worked: values were summed per minute with ceiling bucketing, bucket m holding (m - 60s, m]; a
window's lower edge then cut at most one bucket, and only when that bucket's own events straddled the
edge were its events fetched (a short MetricsTable query) to stay exact. `KeyState.apply` was idempotent
per stream position (the MetricsTable stream's sequence numbers); the aggregator rewrote the whole item
(packed buckets, `recent`, closes) once per key per invocation.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from barometer.config import Window
from barometer.core.events import Event
from barometer.core.timeutil import format_fixed, format_public, parse_rfc3339
from barometer.lake import item_pk

MINUTE_US = 60_000_000
# Fetches the values of one key with lo < epoch_us <= hi (the straddled bucket's part in a window).
BoundaryFetch = Callable[[int, int], Sequence[float]]


def bucket_of(epoch_us: int) -> int:
    """Ceiling minute, in epoch seconds: an event at 10:00:00 is in bucket 10:00, at 10:00:01 in 10:01."""
    return -(-epoch_us // MINUTE_US) * 60


class _WindowSum:
    """Sum and count of the buckets strictly after `edge` (the bucket a window's lower edge cuts)."""

    __slots__ = ("seconds", "edge", "total", "count")

    def __init__(self, seconds: int, edge: int, total: float, count: int):
        self.seconds, self.edge, self.total, self.count = seconds, edge, total, count


class MinuteBuckets:
    """Per-minute [sum, count, min_us, max_us] of one key, pruned to what the largest window needs.

    Each window's sum over its whole minutes is kept running (added to as values arrive, reduced as
    the window moves on), so a snapshot costs the minutes the window moved past, not the whole day.
    """

    __slots__ = ("buckets", "_sums", "_oldest")

    def __init__(self, buckets: dict[int, list] | None = None):
        self.buckets: dict[int, list] = buckets if buckets is not None else {}
        self._sums: list[_WindowSum] | None = None
        self._oldest = min(self.buckets) if self.buckets else None  # the earliest minute held

    def add(self, epoch_us: int, value: float) -> None:
        minute = bucket_of(epoch_us)
        b = self.buckets.get(minute)
        if b is None:
            self.buckets[minute] = [value, 1, epoch_us, epoch_us]
            if self._oldest is None or minute < self._oldest:
                self._oldest = minute
        else:
            b[0] += value
            b[1] += 1
            if epoch_us < b[2]:
                b[2] = epoch_us
            if epoch_us > b[3]:
                b[3] = epoch_us
        if self._sums:
            for w in self._sums:
                if minute > w.edge:
                    w.total += value
                    w.count += 1

    def prune(self, latest_us: int, max_window_s: int) -> None:
        lower = latest_us - max_window_s * 1_000_000
        if self._oldest is None or self._oldest * 1_000_000 > lower:
            return  # nothing old enough: skip the walk over a day of minutes
        for minute in [m for m in self.buckets if m * 1_000_000 <= lower]:
            b = self.buckets.pop(minute)
            for w in self._sums or ():
                if minute > w.edge:
                    w.total -= b[0]
                    w.count -= b[1]
        self._oldest = min(self.buckets) if self.buckets else None

    def _advance(self, latest_us: int, windows: Sequence[Window]) -> None:
        edges = [bucket_of(latest_us - w.seconds * 1_000_000) for w in windows]
        current = self._sums
        if (current is None or [w.seconds for w in current] != [w.seconds for w in windows]
                or any(e < w.edge for e, w in zip(edges, current))):
            self._sums = [_WindowSum(w.seconds, e, sum(b[0] for m, b in self.buckets.items() if m > e),
                                     sum(b[1] for m, b in self.buckets.items() if m > e))
                          for w, e in zip(windows, edges)]
            return
        for w, edge in zip(current, edges):
            if edge == w.edge:
                continue
            steps = (edge - w.edge) // 60
            if steps <= len(self.buckets):
                leaving = (self.buckets.get(m) for m in range(w.edge + 60, edge + 1, 60))
                leaving = [b for b in leaving if b is not None]
            else:
                leaving = [b for m, b in self.buckets.items() if w.edge < m <= edge]
            for b in leaving:
                w.total -= b[0]
                w.count -= b[1]
            w.edge = edge
            if w.count == 0:
                w.total = 0.0  # an empty window: drop whatever rounding the running sum gathered

    def averages(self, latest_us: int, windows: Iterable[Window], fetch: BoundaryFetch | None
                 ) -> tuple[dict[str, float | None], dict[str, int]]:
        """Exact averages and counts for each window as of `latest_us` (the newest event)."""
        windows = list(windows)
        self._advance(latest_us, windows)
        averages: dict[str, float | None] = {}
        counts: dict[str, int] = {}
        for w, running in zip(windows, self._sums):
            lower = latest_us - w.seconds * 1_000_000
            total, count = running.total, running.count
            edge_bucket = self.buckets.get(running.edge)  # the only bucket the lower edge can cut
            if edge_bucket is not None and edge_bucket[3] > lower:
                s, c, lo_us, _ = edge_bucket
                if lo_us > lower:
                    total += s
                    count += c
                else:
                    if fetch is None:
                        raise ValueError("a straddled minute needs a boundary fetch to stay exact")
                    part = fetch(lower, running.edge * 1_000_000)
                    total += sum(part)
                    count += len(part)
            averages[w.name] = total / count if count else None
            counts[w.name] = count
        return averages, counts


CLOSES_KEPT = 10  # local days of closing prices kept (enough to bridge long market holidays)


@dataclass(frozen=True, slots=True)
class Applied:
    """An event as the first design's aggregator applied it, with the reference values its rules need."""

    event: Event
    local_day: str
    previous_close: float | None
    previous_close_day: str | None

    @property
    def change_pct(self) -> float | None:
        if self.previous_close is None:
            return None
        return round((self.event.value - self.previous_close) / self.previous_close * 100.0, 6)

    def as_recent(self) -> dict[str, Any]:
        out = {"ts": format_fixed(self.event.ts), "event_id": self.event.event_id, "value": self.event.value,
               "local_day": self.local_day, "fields": self.event.fields}
        if self.previous_close is not None:
            out["previous_close"] = self.previous_close
            out["previous_close_day"] = self.previous_close_day
        return out


class KeyState:
    __slots__ = ("kind", "key", "latest", "latest_day", "buckets", "closes", "applied_seq", "events", "version")

    def __init__(self, kind: str, key: str):
        self.kind = kind
        self.key = key
        self.latest: Event | None = None
        self.latest_day: str | None = None
        self.buckets = MinuteBuckets()
        self.closes: dict[str, list] = {}  # local day -> [epoch_us, price, event_id]
        self.applied_seq = -1
        self.events = 0
        self.version = 0

    def previous_close(self, day: str) -> tuple[str, float] | None:
        earlier = [d for d in self.closes if d < day]
        if not earlier:
            return None
        prev_day = max(earlier)
        return prev_day, self.closes[prev_day][1]

    def apply(self, event: Event, local_day: str, seq: int | None = None) -> Applied | None:
        """Fold one event in; None when this stream position was already applied."""
        if seq is not None:
            if seq <= self.applied_seq:
                return None
            self.applied_seq = seq
        self.events += 1
        self.buckets.add(event.epoch_us, event.value)
        latest = self.latest
        if latest is None or (event.epoch_us, event.event_id) > (latest.epoch_us, latest.event_id):
            self.latest = event
            self.latest_day = local_day
        if self.kind == "quote":
            close = self.closes.get(local_day)
            if close is None or (event.epoch_us, event.event_id) >= (close[0], close[2]):
                self.closes[local_day] = [event.epoch_us, event.value, event.event_id]
                if len(self.closes) > CLOSES_KEPT:
                    del self.closes[min(self.closes)]
            previous = self.previous_close(local_day)
            return Applied(event, local_day, previous[1] if previous else None, previous[0] if previous else None)
        return Applied(event, local_day, None, None)

    def snapshot(self, windows: Sequence[Window], max_window_s: int, fetch: BoundaryFetch | None) -> dict[str, Any]:
        """The public latest state; prunes buckets no window needs any more."""
        latest = self.latest
        if latest is None:
            return {"kind": self.kind, "key": self.key, "events": self.events}
        self.buckets.prune(latest.epoch_us, max_window_s)
        rolling, counts = self.buckets.averages(latest.epoch_us, windows, fetch)
        out: dict[str, Any] = {
            "kind": self.kind, "key": self.key, "value": latest.value, "ts": format_public(latest.ts),
            "event_id": latest.event_id, "local_day": self.latest_day, "fields": latest.fields,
            "rolling": rolling, "rolling_counts": counts, "events": self.events,
        }
        if self.kind == "quote" and self.latest_day is not None:
            previous = self.previous_close(self.latest_day)
            if previous is not None:
                out["previous_close_day"], out["previous_close"] = previous
                out["change_pct"] = round((latest.value - previous[1]) / previous[1] * 100.0, 6)
        return out


def pack_buckets(buckets: MinuteBuckets) -> bytes:
    """One compressed binary attribute: a day of minute buckets as a DynamoDB map is ~70 KB of typed
    values that every read, write and stream record would carry; packed it is a few KB."""
    rows = [[m, b[0], b[1], b[2], b[3]] for m, b in sorted(buckets.buckets.items())]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def unpack_buckets(value: Any) -> MinuteBuckets:
    if not value:
        return MinuteBuckets()
    if isinstance(value, dict):  # the readable map form
        return MinuteBuckets({int(m): [float(b[0]), int(b[1]), int(b[2]), int(b[3])] for m, b in value.items()})
    rows = json.loads(zlib.decompress(bytes(value)))
    return MinuteBuckets({int(r[0]): [float(r[1]), int(r[2]), int(r[3]), int(r[4])] for r in rows})


def state_to_item(state: KeyState, snapshot: dict[str, Any], recent: list[dict[str, Any]], updated_at: str
                  ) -> dict[str, Any]:
    """The LatestTable item (plain Python values; the adapter converts numbers for DynamoDB)."""
    item = {"pk": item_pk(state.kind, state.key), **snapshot, "updated_at": updated_at, "recent": recent,
            "buckets": pack_buckets(state.buckets),
            "closes": {d: list(c) for d, c in state.closes.items()},
            "applied_seq": str(state.applied_seq), "version": state.version + 1}
    if state.latest is not None and state.latest.source is not None:
        item["source"] = state.latest.source
    return item


def state_from_item(item: dict[str, Any] | None, kind: str, key: str) -> KeyState:
    """Rebuild the state from a LatestTable item (numbers already plain int/float)."""
    state = KeyState(kind, key)
    if not item:
        return state
    if item.get("ts") is not None:
        state.latest = Event(kind, key, parse_rfc3339(item["ts"]), item["event_id"], float(item["value"]),
                             dict(item.get("fields") or {}), item.get("source"))
        state.latest_day = item.get("local_day")
    state.buckets = unpack_buckets(item.get("buckets"))
    state.closes = {d: [int(c[0]), float(c[1]), str(c[2])] for d, c in (item.get("closes") or {}).items()}
    state.applied_seq = int(item.get("applied_seq", -1))
    state.events = int(item.get("events", 0))
    state.version = int(item.get("version", 0))
    return state
