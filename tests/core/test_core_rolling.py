"""Exact rolling averages (docs/contracts.md "Semantics"): the mean of the values with timestamps in (t - W, t].

`rolling_series` is what the read API serves a key's history with; the latest averages are kept by
running sums (tests/core/test_core_keystate.py)."""
from __future__ import annotations

from core_builders import epoch_us, exact_values
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from barometer.config import Window
from barometer.core.rolling import rolling_series

MINUTE_US = 60_000_000
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
# Many points within a microsecond-grain minute's edges: windows whose lower edge falls between them.
edge_points = st.lists(
    st.tuples(st.integers(-MINUTE_US - 5, MINUTE_US + 5).map(lambda o: T0 + 10 * MINUTE_US + o), exact_values),
    min_size=1, max_size=30)
windows_strategy = st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=5, unique=True)


def brute_force(points: list[tuple[int, float]], t: int, window: Window) -> float | None:
    inside = [v for ts, v in points if t - window.seconds * 1_000_000 < ts <= t]
    return sum(inside) / len(inside) if inside else None


def series(points: list[tuple[int, float]], windows, start: int = 0) -> list[dict[str, float]]:
    return rolling_series([p[0] for p in points], [p[1] for p in points], windows, start=start)


# -- examples ------------------------------------------------------------------------------------
def test_the_window_excludes_its_lower_edge_and_includes_the_event():
    # Given values at 10:00:00, 10:00:00.000001 and 10:05:00
    points = [(T0, 1.0), (T0 + 1, 2.0), (T0 + 5 * MINUTE_US, 6.0)]
    # When the 5-minute averages are taken
    averages = series(points, [Window("5m", 300)])
    # Then as of 10:05:00, 10:00:00 is out and the microsecond after it is in
    assert averages == [{"5m": 1.0}, {"5m": 1.5}, {"5m": 4.0}]


def test_every_value_at_the_same_instant_is_in_the_window():
    # Given three values at one instant and an older one
    points = [(T0, 10.0), (T0 + MINUTE_US, 1.0), (T0 + MINUTE_US, 2.0), (T0 + MINUTE_US, 6.0)]
    # Then each of the three sees all three (the window is (t - W, t], not "up to this row")
    assert series(points, [Window("1m", 60)]) == [{"1m": 10.0}, {"1m": 3.0}, {"1m": 3.0}, {"1m": 3.0}]


def test_start_skips_the_look_back_points_but_counts_them_in_the_windows():
    points = [(T0, 4.0), (T0 + MINUTE_US, 8.0), (T0 + 2 * MINUTE_US, 12.0)]
    assert series(points, [Window("5m", 300)], start=2) == [{"5m": 8.0}]


# -- properties ----------------------------------------------------------------------------------
@hsettings(max_examples=300, deadline=None)
@given(points=st.one_of(points_strategy, edge_points), windows=windows_strategy, data=st.data())
def test_rolling_series_equals_brute_force_at_every_point(points, windows, data):
    # Given time-ordered points (ties in any order) and a look-back prefix
    ordered = sorted(points, key=lambda p: p[0])
    start = data.draw(st.integers(0, len(ordered) - 1))
    # When the series is computed from `start` on
    averages = series(ordered, windows, start=start)
    # Then every point's averages are the brute-force means over (t - W, t] of all points
    assert len(averages) == len(ordered) - start
    for (t, _), point_averages in zip(ordered[start:], averages):
        assert point_averages == {w.name: brute_force(ordered, t, w) for w in windows}
