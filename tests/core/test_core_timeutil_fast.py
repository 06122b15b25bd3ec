"""The hot path's fast forms of timeutil (issue 9) agree with the general ones they stand in for."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barometer.core import timeutil
from barometer.core.timeutil import (
    TimestampError,
    format_fixed,
    format_public,
    from_epoch_us,
    local_day,
    local_day_of_epoch_us,
    parse_rfc3339,
)

HOUR_US = 3_600_000_000
ZONES = ("America/New_York", "Europe/London", "Europe/Berlin", "America/Los_Angeles", "Asia/Kathmandu",
         "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "UTC")
instants_us = st.integers(min_value=0, max_value=253_402_300_799_999_999 - 2 * HOUR_US)


def _general(text: str):
    try:
        return timeutil._parse_general(text)
    except TimestampError as exc:
        return str(exc)


def _fast(text: str):
    try:
        return parse_rfc3339(text)
    except TimestampError as exc:
        return str(exc)


def test_no_zone_changes_its_offset_twice_within_an_hour():
    # Given every zone of the tzdata zoneinfo reads, with its transitions (the pure-Python reader shows them)
    zoneinfo_py = pytest.importorskip("zoneinfo._zoneinfo")
    import zoneinfo
    # When the transitions are compared pairwise
    close = []
    for name in sorted(zoneinfo.available_timezones()):
        transitions = zoneinfo_py.ZoneInfo.no_cache(name)._trans_utc
        close += [(name, a) for a, b in pairwise(transitions) if b - a <= 3600]
    # Then none follows another within an hour: local_day_of_epoch_us's per-hour cache is exact
    assert close == []


@given(instants_us, st.sampled_from(ZONES))
def test_the_cached_local_day_is_the_local_day_of_the_instant(us, zone_name):
    # Given an instant and a zone
    def outcome(ask):
        try:
            return ask()
        except OverflowError:  # a local day past 9999-12-31
            return OverflowError
    # When its local day is asked through the per-hour cache, twice
    first = outcome(lambda: local_day_of_epoch_us(us, zone_name))
    again = outcome(lambda: local_day_of_epoch_us(us, zone_name))
    # Then both are the instant's local day
    assert first == again == outcome(lambda: local_day(from_epoch_us(us), zone_name))


@pytest.mark.parametrize("zone_name", ZONES)
def test_the_cached_local_day_is_exact_around_every_offset_change_of_two_years(zone_name):
    # Given every quarter hour (and the microsecond either side) of 2025 and 2026
    start = (datetime(2025, 1, 1, tzinfo=UTC) - timeutil.EPOCH) // timedelta(microseconds=1)
    for k in range(2 * 365 * 24 * 4):
        for us in (start + k * 900_000_000 - 1, start + k * 900_000_000):
            # Then the cached local day is the instant's
            assert local_day_of_epoch_us(us, zone_name) == local_day(from_epoch_us(us), zone_name)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
       st.sampled_from(["seconds", "milliseconds", "microseconds", "auto"]),
       st.sampled_from(["T", "t", " "]), st.booleans())
def test_the_common_form_parses_as_the_general_parse_does(naive, offset_min, timespec, sep, zulu):
    # Given a timestamp in one of the forms RFC 3339 allows
    text = naive.replace(tzinfo=timezone(timedelta(minutes=offset_min))).isoformat(sep=sep, timespec=timespec)
    if zulu and offset_min == 0:
        text = text[:-6] + "Z"
    # When it is parsed
    # Then the result (or the error) is the general parse's, a UTC datetime
    parsed = _fast(text)
    assert parsed == _general(text)
    if isinstance(parsed, datetime):
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", [
    "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z",
    "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+23:60", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.1Z",
    "2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00", "20260101T000000Z", "2026-01-01T00:00:00Z\n",
    "\u0662\u0660\u0662\u0666-01-01T00:00:00Z", "2026-01-01t00:00:00z", "",
])
def test_edge_forms_parse_or_fail_as_the_general_parse_does(text):
    assert _fast(text) == _general(text)


@given(st.integers(min_value=-62_135_596_800_000_000 + HOUR_US, max_value=253_402_300_799_999_999),
       st.integers(min_value=-23, max_value=23))
def test_the_fixed_and_public_forms_are_the_field_by_field_ones(us, offset_h):
    # Given an instant, in UTC or at an offset
    value = from_epoch_us(us)
    try:
        shifted = value.astimezone(timezone(timedelta(hours=offset_h)))
    except OverflowError:
        shifted = value
    for v in (value, shifted):
        u = v.astimezone(UTC)
        base = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        # Then the fixed form always has six fraction digits, the public one only the significant ones
        assert format_fixed(v) == f"{base}.{u.microsecond:06d}Z"
        public = f"{base}.{u.microsecond:06d}".rstrip("0") + "Z" if u.microsecond else base + "Z"
        assert format_public(v) == public
