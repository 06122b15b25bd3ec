"""A fake MetricsTable, a consumer loop as the hot path runs it, and the brute-force reference."""
from __future__ import annotations

import base64
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from core_builders import utc_from_us

from barometer import ddb
from barometer.config import Window
from barometer.core.events import Event
from barometer.core.keystate import (
    CLOSES_KEPT,
    Applied,
    KeyState,
    Verdict,
    classify_batch,
    close_tiebreak,
    from_item,
    resolve_lookup,
    to_item,
)
from barometer.core.timeutil import local_day
from barometer.core.windows import DepartureCache

WINDOWS = (Window("5m", 300), Window("1h", 3600), Window("24h", 86400), Window("7d", 7 * 86400))
TZ = "America/New_York"


def quote(us: int, price: float, event_id: str, key: str = "AAPL", source: str | None = None) -> Event:
    return Event("quote", key, utc_from_us(us), event_id, price, {"price": price, "currency": "USD"}, source)


def day_of(event: Event) -> str:
    return local_day(event.ts, TZ)


class FakeMetrics:
    """MetricsTable of one key: items (epoch_us, event_id) -> (value, seq), and a DepartureSource over them."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, str]] = []
        self.items: dict[tuple[int, str], tuple[float, int]] = {}
        self.calls: list[tuple[int, int, int, str | None]] = []

    def put(self, event: Event, seq: int) -> None:
        key = (event.epoch_us, event.event_id)
        if key not in self.items:
            if not self.keys or self.keys[-1] < key:
                self.keys.append(key)
            else:
                self.keys.insert(bisect_left(self.keys, key), key)
        self.items[key] = (event.value, seq)

    def stored_seq(self, event: Event) -> int | None:
        found = self.items.get((event.epoch_us, event.event_id))
        return None if found is None else found[1]

    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None
              ) -> Sequence[tuple[int, str, float, int]]:
        self.calls.append((after_us, upto_us, limit, after_id))
        start = (after_us, after_id) if after_id is not None else (after_us, "\uffff")
        lo = bisect_right(self.keys, start)
        hi = bisect_right(self.keys, (upto_us, "\uffff"))
        out = []
        for key in self.keys[lo:min(hi, lo + limit)]:
            value, seq = self.items[key]
            out.append((key[0], key[1], value, seq))
        return out


class Consumer:
    """One key's hot path: classify a batch, look up, write the NEW items, apply, save; crash on demand."""

    def __init__(self, kind: str = "quote", key: str = "AAPL", windows: Sequence[Window] = WINDOWS, limit: int = 40,
                 metrics: FakeMetrics | None = None):
        self.kind, self.key, self.windows, self.limit = kind, key, windows, limit
        self.metrics = metrics or FakeMetrics()
        self.state = KeyState(kind, key, windows)
        self.cache = DepartureCache(self.metrics, self.state.pk, limit=limit)
        self.saved: dict | None = None

    def run(self, batch: list[tuple[Event, int]], crash_after: int | None = None,
            on_applied=None) -> list[Applied]:
        state = self.state
        verdicts = classify_batch(state, batch)
        for i, (event, seq) in enumerate(batch):  # one BatchGetItem before any write
            if verdicts[i] is Verdict.NEEDS_LOOKUP:
                verdicts[i] = resolve_lookup(seq, self.metrics.stored_seq(event))
        for (event, seq), verdict in zip(batch, verdicts):
            if verdict is Verdict.NEW:
                self.metrics.put(event, seq)
        applied = []
        for n, ((event, seq), verdict) in enumerate(zip(batch, verdicts)):
            if crash_after is not None and n == crash_after:
                self.crash()
                return applied
            if verdict is Verdict.NEW:
                applied.append(state.apply(event, day_of(event), seq, self.cache))
                if on_applied is not None:
                    on_applied(event, seq, applied[-1])
            elif verdict is Verdict.DUPLICATE:
                state.skip(seq)
        if crash_after == len(batch):  # everything applied, then lost before the save
            self.crash()
            return applied
        self.saved = stored(to_item(state, "2026-03-20T00:00:00Z"))
        state.version += 1
        return applied

    def crash(self) -> None:
        """The warm state and caches are lost; the next attempt starts from the last saved item."""
        self.state = from_item(self.saved, self.kind, self.key, self.windows)
        self.cache = DepartureCache(self.metrics, self.state.pk, limit=self.limit)


def stored(item: dict) -> dict:
    """Through DynamoDB's JSON wire form and back, as the adapters will do."""
    wire = json.loads(json.dumps(ddb.to_item(item), default=lambda b: base64.b64encode(b).decode()))
    return ddb.from_item(wire)


class Reference:
    """Brute force: the distinct events applied so far (the first delivery of each (ts, event_id) counts)."""

    def __init__(self, windows: Sequence[Window] = WINDOWS):
        self.windows = windows
        self.events: dict[tuple[int, str], Event] = {}
        self.max_seq = -1

    def deliver(self, event: Event, seq: int) -> bool:
        if seq <= self.max_seq:
            return False  # a redelivered position
        self.max_seq = seq
        key = (event.epoch_us, event.event_id)
        if key in self.events:
            return False
        self.events[key] = event
        return True

    def latest(self) -> Event:
        return self.events[max(self.events)]

    def window(self, window: Window) -> list[float]:
        t = max(self.events)[0]
        return [e.value for (us, _), e in self.events.items() if t - window.seconds * 1_000_000 < us <= t]

    def closes(self) -> dict[str, tuple[tuple[int, str], float]]:
        out: dict[str, tuple[tuple[int, str], float]] = {}
        for (us, event_id), e in self.events.items():
            day, rank = day_of(e), (us, close_tiebreak(event_id))
            if day not in out or rank >= out[day][0]:
                out[day] = (rank, e.value)
        return out

    def previous_close(self, day: str) -> tuple[str, float] | None:
        """As of now, for `day`, among the CLOSES_KEPT most recent days with prices."""
        closes = self.closes()
        kept = sorted(closes)[-CLOSES_KEPT:]
        earlier = [d for d in kept if d < day]
        return (earlier[-1], closes[earlier[-1]][1]) if earlier else None


def close_enough(actual: float | None, values: list[float]) -> bool:
    if not values:
        return actual is None
    expected = math.fsum(values) / len(values)
    scale = max(abs(v) for v in values)
    return actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9 * scale)
