"""Builders and hypothesis strategies shared by the domain-core tests (imported by name: no conftest imports)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from barometer.config import Settings, parse_settings
from barometer.core.currencies import ISO_4217

HERE = Path(__file__).resolve().parent


def load_json(relative: str) -> Any:
    return json.loads((HERE / relative).read_text(encoding="utf-8"))


def make_settings() -> Settings:
    return parse_settings(load_json("fixtures/config.json"))


def rfc3339(value: datetime, offset_minutes: int = 0) -> str:
    """`value` written in the zone `offset_minutes` east of UTC ('Z' for UTC)."""
    local = value.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = local.isoformat()
    return text.replace("+00:00", "Z") if offset_minutes == 0 else text


def epoch_us(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> int:
    delta = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def utc_from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


# -- strategies ----------------------------------------------------------------------------------
instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
# Whole-minute zone offsets strictly inside RFC 3339's range (+-23:59).
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
symbols = st.from_regex(r"[A-Z0-9.\-]{1,10}", fullmatch=True)
# Valid numbers are ones DynamoDB stores (barometer/core/numbers.py): no magnitude below 1e-130 but 0.
prices = st.floats(min_value=1e-130, max_value=1e9, allow_nan=False, allow_infinity=False)
sources = st.from_regex(r"[A-Za-z0-9 ._:/\-]{1,64}", fullmatch=True)
event_ids = st.from_regex(r"[A-Za-z0-9._:\-]{1,128}", fullmatch=True)


def _finite(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False).map(
        lambda v: 0.0 if abs(v) < 1e-130 else v)


@st.composite
def valid_quotes(draw) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "quote", "symbol": draw(symbols), "price": draw(prices),
                             "ts": rfc3339(draw(instants), draw(offsets))}
    if draw(st.booleans()):
        event["volume"] = draw(st.integers(min_value=0, max_value=10**15))
    if draw(st.booleans()):
        event["currency"] = draw(st.sampled_from(sorted(ISO_4217)))
    if draw(st.booleans()):
        event["source"] = draw(sources)
    if draw(st.booleans()):
        event["event_id"] = draw(event_ids)
    return event


@st.composite
def valid_weather(draw, cities=("Seattle", "New York", "London")) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "weather", "city": draw(st.sampled_from(cities)),
                             "ts": rfc3339(draw(instants), draw(offsets))}
    if draw(st.booleans()):
        event["temp_c"] = draw(_finite(-100.0, 70.0))
    else:
        event["temp_f"] = draw(_finite(-148.0, 158.0))
    optional = {
        "humidity_pct": _finite(0.0, 100.0),
        "pressure_hpa": _finite(300.0, 1100.0),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    unit = draw(st.sampled_from(["none", "metric", "alternative"]))
    if unit == "metric":
        event["wind_mps"] = draw(_finite(0.0, 150.0))
    elif unit == "alternative":
        event["wind_kmh"] = draw(_finite(0.0, 540.0))
    unit = draw(st.sampled_from(["none", "metric", "alternative"]))
    if unit == "metric":
        event["precip_mm"] = draw(_finite(0.0, 2000.0))
    elif unit == "alternative":
        event["precip_in"] = draw(_finite(0.0, 78.0))
    if draw(st.booleans()):
        event["source"] = draw(sources)
    if draw(st.booleans()):
        event["event_id"] = draw(event_ids)
    return event


valid_events = st.one_of(valid_quotes(), valid_weather())

# Values whose sums are exact in binary floating point (quarters): brute force and the code under test
# then agree to the last bit, so the comparisons can be exact.
exact_values = st.integers(min_value=-4000, max_value=400_000).map(lambda k: k / 4)
positive_exact_values = st.integers(min_value=1, max_value=400_000).map(lambda k: k / 4)
