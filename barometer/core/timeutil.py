"""RFC 3339 parsing and the fixed-width UTC form used in sort keys."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# RFC 3339 date-time: a full date, a time, and a zone (Z or an offset). Nothing else. Digits are ASCII only:
# \d and int() would take other Unicode digits (e.g. Arabic-Indic), which RFC 3339 does not allow.
_RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

# The usual forms (upper-case T and Z, an in-range hour and offset, at most 6 fraction digits): for these
# datetime.fromisoformat gives what the general parse below does, or raises and the general parse speaks.
_COMMON = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_common, _fromisoformat = _COMMON.fullmatch, datetime.fromisoformat


class TimestampError(ValueError):
    pass


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a zone into an aware UTC datetime (microsecond precision)."""
    if _common(text) is not None:
        try:
            value = _fromisoformat(text)
            return value if value.tzinfo is UTC else value.astimezone(UTC)
        except (ValueError, OverflowError):  # Feb 30, second 60, out of range: worded below
            pass
    return _parse_general(text)


def _parse_general(text: str) -> datetime:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise TimestampError("must be an RFC 3339 timestamp with a zone, e.g. 2026-11-24T15:04:05Z")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micros = int((frac[1:] + "000000")[:6]) if frac else 0
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise TimestampError(f"has an invalid zone offset {zone}")
        tz = UTC if hours == minutes == 0 else timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
    except ValueError as exc:  # month 13, Feb 30, second 60, ...
        raise TimestampError(f"is not a valid date-time ({exc})") from None
    if tz is UTC:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 and the like fall outside datetime's range in UTC
        raise TimestampError("is out of the supported range") from None


def format_fixed(value: datetime) -> str:
    """UTC, fixed width with microseconds: string order is time order (sort keys)."""
    v = value.astimezone(UTC) if value.tzinfo is not UTC else value
    # isoformat() (no arguments: the fastest form) ends in "+00:00" and has the fraction when there is one
    if v.microsecond:
        return v.isoformat()[:-6] + "Z"
    return v.isoformat()[:-6] + ".000000Z"


def format_public(value: datetime) -> str:
    """UTC RFC 3339 for humans and APIs: fraction only when there is one."""
    v = value.astimezone(UTC) if value.tzinfo is not UTC else value
    if v.microsecond:
        return v.isoformat()[:-6].rstrip("0") + "Z"  # isoformat() has six fraction digits, or none
    return v.isoformat()[:-6] + "Z"


def to_epoch_us(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(value: datetime, tz_name: str) -> str:
    return value.astimezone(zone(tz_name)).date().isoformat()


_HOUR_US = 3_600_000_000
_days_by_hour: dict[tuple[str, int], str | None] = {}


def local_day_of_epoch_us(epoch_us: int, tz_name: str) -> str:
    """local_day of the instant epoch_us, cached per zone and UTC hour. A UTC hour whose first and last
    microsecond have the same offset and local day is one local day throughout: no zone has two offset
    changes within an hour (tests/core/test_core_timeutil_fast.py checks tzdata). Other hours: not cached."""
    key = (tz_name, epoch_us // _HOUR_US)
    day = _days_by_hour.get(key)
    if day is not None:
        return day
    if key not in _days_by_hour:
        if len(_days_by_hour) >= 4096:
            _days_by_hour.clear()
        tz = zone(tz_name)
        start = key[1] * _HOUR_US
        try:
            first = from_epoch_us(start).astimezone(tz)
            last = from_epoch_us(start + _HOUR_US - 1).astimezone(tz)
        except (OverflowError, ValueError):  # an hour at the ends of datetime's range
            first = last = None
        same = first is not None and first.utcoffset() == last.utcoffset() and first.date() == last.date()
        day = _days_by_hour[key] = first.date().isoformat() if same else None
        if day is not None:
            return day
    return local_day(from_epoch_us(epoch_us), tz_name)
