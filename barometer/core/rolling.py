"""Exact rolling averages.

The rolling average for window W at event time t is the mean of the key's values with timestamps
in (t - W, t]. Two exact implementations share that definition:

- `rolling_series`: for a time-ordered run of points (with enough look-back before the first one
  asked for), the averages as of each point. The read API uses it, so late arrivals are reflected.
- `MinuteBuckets`: compact state for the latest value (LatestTable). Values are summed per minute
  with ceiling bucketing, bucket m holding (m - 60s, m]; a window's lower edge then cuts at most one
  bucket, and only when that bucket's own events straddle the edge are its events fetched
  (a short MetricsTable query) to stay exact. For events on whole minutes nothing is ever fetched.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Callable, Iterable, Sequence

from barometer.config import Window

MINUTE_US = 60_000_000
# Fetches the values of one key with lo < epoch_us <= hi (the straddled bucket's part in a window).
BoundaryFetch = Callable[[int, int], Sequence[float]]


def bucket_of(epoch_us: int) -> int:
    """Ceiling minute, in epoch seconds: an event at 10:00:00 is in bucket 10:00, at 10:00:01 in 10:01."""
    return -(-epoch_us // MINUTE_US) * 60


def rolling_series(
    times_us: Sequence[int], values: Sequence[float], windows: Sequence[Window], start: int = 0
) -> list[dict[str, float]]:
    """Averages as of each point from index `start` on; points must be sorted by time."""
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    out: list[dict[str, float]] = []
    for i in range(start, len(times_us)):
        t = times_us[i]
        hi = bisect_right(times_us, t)  # every point at the same instant belongs to the window
        averages = {}
        for w in windows:
            lo = bisect_right(times_us, t - w.seconds * 1_000_000)
            averages[w.name] = (prefix[hi] - prefix[lo]) / (hi - lo)
        out.append(averages)
    return out


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
