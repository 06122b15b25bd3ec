"""Exact rolling averages (docs/contracts.md "Semantics"): the mean of the values with timestamps in (t - W, t]."""
from __future__ import annotations

import pytest
from core_builders import epoch_us, exact_values
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from barometer.config import Window
from barometer.core.rolling import MINUTE_US, MinuteBuckets, bucket_of, rolling_series

T0 = epoch_us(2026, 3, 8, 6, 0)  # any origin; whole minute
SPAN_US = 3 * 3600 * 1_000_000
WINDOWS = (Window("30s", 30), Window("90s", 90), Window("5m", 300), Window("1h", 3600), Window("150m", 9000))

# Timestamps of every grain: whole minutes, whole seconds, microseconds; drawn in any order.
offsets_us = st.one_of(
    st.integers(0, SPAN_US // MINUTE_US).map(lambda m: m * MINUTE_US),
    st.integers(0, SPAN_US // 1_000_000).map(lambda s: s * 1_000_000),
    st.integers(0, SPAN_US),
)
points_strategy = st.lists(st.tuples(offsets_us.map(lambda o: T0 + o), exact_values), min_size=1, max_size=60)
# Many points near one minute's edges: the straddled-bucket path in every example.
edge_points = st.lists(
    st.tuples(st.integers(-MINUTE_US - 5, MINUTE_US + 5).map(lambda o: T0 + 10 * MINUTE_US + o), exact_values),
    min_size=1, max_size=30)
windows_strategy = st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=5, unique=True)


def brute_force(points: list[tuple[int, float]], t: int, window: Window) -> tuple[float | None, int]:
    inside = [v for ts, v in points if t - window.seconds * 1_000_000 < ts <= t]
    return (sum(inside) / len(inside) if inside else None), len(inside)


def fetch_from(points: list[tuple[int, float]], calls: list | None = None):
    def fetch(lo: int, hi: int) -> list[float]:
        if calls is not None:
            calls.append((lo, hi))
        return [v for ts, v in points if lo < ts <= hi]
    return fetch


def buckets_of(points: list[tuple[int, float]]) -> MinuteBuckets:
    buckets = MinuteBuckets()
    for ts, value in points:
        buckets.add(ts, value)
    return buckets


# -- examples ------------------------------------------------------------------------------------
def test_the_window_excludes_its_lower_edge_and_includes_the_event():
    # Given values at 10:00:00, 10:00:00.000001 and 10:05:00
    points = [(T0, 1.0), (T0 + 1, 2.0), (T0 + 5 * MINUTE_US, 6.0)]
    five = Window("5m", 300)
    # When the 5-minute average is taken as of 10:05:00
    averages, counts = buckets_of(points).averages(T0 + 5 * MINUTE_US, [five], fetch_from(points))
    # Then 10:00:00 is out, the microsecond after it is in
    assert averages == {"5m": 4.0} and counts == {"5m": 2}
    assert rolling_series([p[0] for p in points], [p[1] for p in points], [five])[-1] == {"5m": 4.0}


def test_every_value_at_the_same_instant_is_in_the_window():
    # Given three values at one instant and an older one
    points = [(T0, 10.0), (T0 + MINUTE_US, 1.0), (T0 + MINUTE_US, 2.0), (T0 + MINUTE_US, 6.0)]
    one = Window("1m", 60)
    # Then each of the three sees all three (the window is (t - W, t], not "up to this row")
    series = rolling_series([p[0] for p in points], [p[1] for p in points], [one])
    assert series == [{"1m": 10.0}, {"1m": 3.0}, {"1m": 3.0}, {"1m": 3.0}]
    averages, counts = buckets_of(points).averages(T0 + MINUTE_US, [one], None)
    assert averages == {"1m": 3.0} and counts == {"1m": 3}


def test_whole_minute_events_never_need_the_boundary_fetch():
    points = [(T0 + m * MINUTE_US, float(m)) for m in range(0, 120, 7)]
    latest = max(p[0] for p in points)
    averages, _ = buckets_of(points).averages(latest, WINDOWS, None)  # None: a fetch would raise
    for window in WINDOWS:
        assert averages[window.name] == brute_force(points, latest, window)[0]


def test_a_straddled_minute_without_a_fetch_is_refused_rather_than_guessed():
    points = [(T0 + 10 * 1_000_000, 1.0), (T0 + 50 * 1_000_000, 2.0), (T0 + 5 * MINUTE_US + 30 * 1_000_000, 3.0)]
    with pytest.raises(ValueError):
        buckets_of(points).averages(points[-1][0], [Window("5m", 300)], None)


def test_buckets_are_ceiling_minutes():
    assert bucket_of(T0) == T0 // 1_000_000
    assert bucket_of(T0 + 1) == T0 // 1_000_000 + 60
    assert bucket_of(T0 + MINUTE_US) == T0 // 1_000_000 + 60


# -- properties ----------------------------------------------------------------------------------
@hsettings(max_examples=300, deadline=None)
@given(points=st.one_of(points_strategy, edge_points), windows=windows_strategy)
def test_minute_buckets_equal_brute_force_for_any_timestamps(points, windows):
    # Given values at arbitrary timestamps, added in arbitrary order
    latest = max(ts for ts, _ in points)
    calls: list = []
    # When the averages are taken as of the newest one, with a fetch built from the raw points
    averages, counts = buckets_of(points).averages(latest, windows, fetch_from(points, calls))
    # Then each window's average and count are exactly the brute-force mean over (t - W, t]
    for window in windows:
        expected, count = brute_force(points, latest, window)
        assert counts[window.name] == count
        assert averages[window.name] == expected
    # and a fetch only ever asks for part of one minute
    assert all(0 <= hi - lo <= MINUTE_US for lo, hi in calls)


@hsettings(max_examples=200, deadline=None)
@given(points=points_strategy, windows=windows_strategy)
def test_pruning_to_the_largest_window_keeps_the_averages_exact(points, windows):
    latest = max(ts for ts, _ in points)
    buckets = buckets_of(points)
    buckets.prune(latest, max(w.seconds for w in windows))
    averages, _ = buckets.averages(latest, windows, fetch_from(points))
    for window in windows:
        assert averages[window.name] == brute_force(points, latest, window)[0]


@hsettings(max_examples=150, deadline=None)
@given(points=st.lists(st.tuples(st.integers(0, SPAN_US // MINUTE_US).map(lambda m: T0 + m * MINUTE_US),
                                 exact_values), min_size=1, max_size=60),
       windows=windows_strategy)
def test_whole_minute_points_are_exact_without_any_fetch(points, windows):
    latest = max(ts for ts, _ in points)
    averages, _ = buckets_of(points).averages(latest, windows, None)
    for window in windows:
        assert averages[window.name] == brute_force(points, latest, window)[0]


@hsettings(max_examples=300, deadline=None)
@given(points=st.one_of(points_strategy, edge_points), windows=windows_strategy, data=st.data())
def test_rolling_series_equals_brute_force_at_every_point(points, windows, data):
    # Given time-ordered points (ties in any order) and a look-back prefix
    ordered = sorted(points, key=lambda p: p[0])
    start = data.draw(st.integers(0, len(ordered) - 1))
    # When the series is computed from `start` on
    series = rolling_series([p[0] for p in ordered], [p[1] for p in ordered], windows, start=start)
    # Then every point's averages are the brute-force means over (t - W, t] of all points
    assert len(series) == len(ordered) - start
    for (t, _), averages in zip(ordered[start:], series):
        assert averages == {w.name: brute_force(ordered, t, w)[0] for w in windows}


@hsettings(max_examples=100, deadline=None)
@given(points=points_strategy, windows=windows_strategy)
def test_arbitrary_float_values_stay_within_rounding_of_brute_force(points, windows):
    # Same property with values that do not sum exactly: equal up to floating-point rounding.
    points = [(ts, v * 1.000123 + 0.1) for ts, v in points]
    latest = max(ts for ts, _ in points)
    averages, _ = buckets_of(points).averages(latest, windows, fetch_from(points))
    for window in windows:
        assert averages[window.name] == pytest.approx(brute_force(points, latest, window)[0], rel=1e-9, abs=1e-9)
