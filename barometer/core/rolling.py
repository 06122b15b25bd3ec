"""Exact rolling averages over a run of points.

The rolling average for window W at event time t is the mean of the key's values with timestamps
in (t - W, t]. `rolling_series` computes it as of each point of a time-ordered run (with enough
look-back before the first one asked for); the read API uses it, so late arrivals are reflected.
The key's latest averages (LatestTable) are kept by running sums instead: barometer/core/windows.py.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from barometer.config import Window


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
