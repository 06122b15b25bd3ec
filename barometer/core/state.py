"""The aggregate of one symbol or city: what LatestTable holds, and how an event changes it.

`KeyState.apply` is idempotent per stream position: it ignores a record whose sequence number is not
beyond `applied_seq`, so a retried batch changes nothing. The state carries the last price of each
recent local day (`closes`), from which the previous close of any day is read: the last price of the
most recent earlier local day with prices (the previous trading day for markets).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any, Sequence

from barometer.config import Window
from barometer.core.events import Event
from barometer.core.rolling import BoundaryFetch, MinuteBuckets
from barometer.core.timeutil import format_fixed, format_public
from barometer.lake import item_pk

CLOSES_KEPT = 10  # local days of closing prices kept (enough to bridge long market holidays)


@dataclass(frozen=True, slots=True)
class Applied:
    """An event as the aggregator applied it, with the reference values its rules need."""

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
    from barometer.core.timeutil import parse_rfc3339

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
