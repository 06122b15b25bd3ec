"""RFC 3339 parsing and the fixed-width UTC form used in sort keys."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# RFC 3339 date-time: a full date, a time, and a zone (Z or an offset). Nothing else.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class TimestampError(ValueError):
    pass


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a zone into an aware UTC datetime (microsecond precision)."""
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
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond:06d}Z")


def format_public(value: datetime) -> str:
    """UTC RFC 3339 for humans and APIs: fraction only when there is one."""
    v = value.astimezone(UTC) if value.tzinfo is not UTC else value
    base = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        return f"{base}.{v.microsecond:06d}".rstrip("0") + "Z"
    return base + "Z"


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
