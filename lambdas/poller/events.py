"""Builds events in the contract's shape with deterministic ids.

The id is `{source}:{kind}:{key}:{stamp}` where the stamp is the provider's own time of the
observation (epoch seconds). Polling an unchanged observation again therefore yields the same id,
which the pipeline treats as a duplicate.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from barometer.core.timeutil import format_public as rfc3339

EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")


def event_id(source: str, kind: str, key: str, stamp: int) -> str:
    """Deterministic id; keys with characters outside the id alphabet ("New York") are escaped and
    suffixed with a short hash so two keys never share an id."""
    safe = _UNSAFE.sub("-", key)
    if safe != key:
        safe = f"{safe}-{hashlib.blake2b(key.encode(), digest_size=4).hexdigest()}"
    candidate = f"{source}:{kind}:{safe}:{stamp}"
    if len(candidate) > 128:
        candidate = f"{source}:{kind}:{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}:{stamp}"
    return candidate


def quote_event(symbol: str, price: float, ts: datetime, *, source: str, stamp: int,
                volume: int | None = None, currency: str = "USD") -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "quote", "symbol": symbol, "price": price, "ts": rfc3339(ts)}
    if volume is not None:
        event["volume"] = volume
    event.update(currency=currency, source=source, event_id=event_id(source, "quote", symbol, stamp))
    return event


def weather_event(city: str, ts: datetime, *, source: str, stamp: int, temp_c: float,
                  humidity_pct: float | None = None, wind_mps: float | None = None,
                  precip_mm: float | None = None, pressure_hpa: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "weather", "city": city, "ts": rfc3339(ts), "temp_c": temp_c}
    optional = {"humidity_pct": humidity_pct, "wind_mps": wind_mps, "precip_mm": precip_mm,
                "pressure_hpa": pressure_hpa}
    event.update({name: value for name, value in optional.items() if value is not None})
    event.update(source=source, event_id=event_id(source, "weather", city, stamp))
    return event


def partition_key(event: dict[str, Any]) -> str:
    return event["symbol"] if event["kind"] == "quote" else event["city"]


def encode(event: dict[str, Any]) -> bytes:
    """Compact JSON; allow_nan=False keeps NaN/Infinity off the stream (ValueError instead)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
