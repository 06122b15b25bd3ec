"""Event building: deterministic ids within the contract's alphabet, compact JSON."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.poller.events import (
    EVENT_ID_PATTERN,
    encode,
    event_id,
    partition_key,
    quote_event,
    weather_event,
)

TS = datetime(2026, 11, 24, 15, 4, tzinfo=UTC)


@given(source=st.sampled_from(["simulator", "finnhub", "open-meteo"]), key=st.text(min_size=1, max_size=64),
       stamp=st.integers(0, 2**40))
def test_ids_always_match_the_contract_pattern(source, key, stamp):
    assert EVENT_ID_PATTERN.match(event_id(source, "weather", key, stamp))


@given(a=st.text(min_size=1, max_size=64), b=st.text(min_size=1, max_size=64))
def test_different_keys_never_share_an_id(a, b):
    if a != b:
        assert event_id("simulator", "weather", a, 1) != event_id("simulator", "weather", b, 1)


def test_readable_keys_stay_readable():
    assert event_id("finnhub", "quote", "BRK.B", 1732309200) == "finnhub:quote:BRK.B:1732309200"
    assert event_id("simulator", "weather", "New York", 60).startswith("simulator:weather:New-York-")
    assert event_id("simulator", "weather", "New York", 60) != event_id("simulator", "weather", "New-York", 60)


def test_quote_and_weather_shapes():
    assert quote_event("AAPL", 190.5, TS, source="simulator", stamp=1, volume=10) == {
        "kind": "quote", "symbol": "AAPL", "price": 190.5, "ts": "2026-11-24T15:04:00Z", "volume": 10,
        "currency": "USD", "source": "simulator", "event_id": "simulator:quote:AAPL:1"}
    event = weather_event("London", TS, source="simulator", stamp=1, temp_c=3.5, precip_mm=0.0)
    assert event == {"kind": "weather", "city": "London", "ts": "2026-11-24T15:04:00Z", "temp_c": 3.5,
                     "precip_mm": 0.0, "source": "simulator", "event_id": "simulator:weather:London:1"}
    assert partition_key(event) == "London"


def test_encoding_is_compact_json_and_refuses_nan():
    event = weather_event("São Paulo", TS, source="simulator", stamp=1, temp_c=21.0)
    data = encode(event)
    assert b" " not in data.replace("São Paulo".encode(), b"") and json.loads(data) == event
    with pytest.raises(ValueError):
        encode({**event, "temp_c": float("nan")})
