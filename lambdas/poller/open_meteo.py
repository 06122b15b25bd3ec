"""Open-Meteo current weather: `GET https://api.open-meteo.com/v1/forecast` (no key needed).

Requested with `current=temperature_2m,relative_humidity_2m,precipitation,wind_speed_10m,
surface_pressure&wind_speed_unit=ms&timezone=GMT`. The answer we rely on
(https://open-meteo.com/en/docs):

    {"latitude": 47.6, "longitude": -122.3, "utc_offset_seconds": 0, "timezone": "GMT", ...,
     "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C",
                       "relative_humidity_2m": "%", "precipitation": "mm",
                       "wind_speed_10m": "m/s", "surface_pressure": "hPa"},
     "current": {"time": "2026-11-24T15:00", "interval": 900, "temperature_2m": 8.1, ...}}

`current.time` is a local time WITHOUT zone in the requested timezone (GMT here), to minute
precision, on a 15-minute grid; `utc_offset_seconds` gives its offset. Units are checked against
`current_units` rather than assumed. Errors answer 400 (or 429 for the rate limit) with
`{"error": true, "reason": "..."}`.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from barometer.config import CityRef
from lambdas.poller.events import weather_event
from lambdas.poller.http_get import Transport, TransportError, get_with_retries, json_object, urllib_transport
from lambdas.poller.ports import ProviderError

SOURCE = "open-meteo"
BASE_URL = "https://api.open-meteo.com/v1"
# Open-Meteo variable -> (contract field, unit we request, required)
VARIABLES = {
    "temperature_2m": ("temp_c", "°C", True),
    "relative_humidity_2m": ("humidity_pct", "%", False),
    "precipitation": ("precip_mm", "mm", False),
    "wind_speed_10m": ("wind_mps", "m/s", False),
    "surface_pressure": ("pressure_hpa", "hPa", False),
}
BOUNDS = {"humidity_pct": (0.0, 100.0), "precip_mm": (0.0, math.inf), "wind_mps": (0.0, math.inf)}


class OpenMeteoError(ProviderError):
    """Open-Meteo gave no usable observation for a city."""


def check_status(city: str, status: int, body: bytes) -> None:
    if status == 200:
        return
    try:
        reason = json.loads(body).get("reason")
    except (ValueError, AttributeError):
        reason = None
    detail = str(reason)[:200] if reason else body[:120].decode("utf-8", "replace")
    if status == 429:
        raise OpenMeteoError(f"open-meteo rate limit reached for {city} (HTTP 429: {detail})")
    raise OpenMeteoError(f"open-meteo answered HTTP {status} for {city}: {detail}")


def _mapping(payload: dict, name: str, city: str) -> dict:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise OpenMeteoError(f"open-meteo weather for {city}: field {name!r} must be an object, got {value!r}")
    return value


def _time(current: dict, offset_s: int, city: str) -> datetime:
    text = current.get("time")
    try:
        local = datetime.strptime(text, "%Y-%m-%dT%H:%M") if isinstance(text, str) else None
    except ValueError:
        local = None
    if local is None:
        raise OpenMeteoError(f"open-meteo weather for {city}: field 'current.time' must look like "
                             f"2026-11-24T15:00, got {text!r}")
    return local.replace(tzinfo=timezone(timedelta(seconds=offset_s))).astimezone(UTC)


def parse_current(city: str, body: bytes) -> dict[str, Any]:
    """The weather event for one 200 response body."""
    payload = json_object(body, OpenMeteoError, f"open-meteo weather for {city}")
    current = _mapping(payload, "current", city)
    units = _mapping(payload, "current_units", city)
    offset = payload.get("utc_offset_seconds", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) >= 86400:
        raise OpenMeteoError(f"open-meteo weather for {city}: field 'utc_offset_seconds' must be whole "
                             f"seconds, got {offset!r}")
    ts = _time(current, offset, city)
    values: dict[str, float] = {}
    for variable, (contract_field, unit, required) in VARIABLES.items():
        value = current.get(variable)
        if value is None:
            if required:
                raise OpenMeteoError(f"open-meteo weather for {city}: field 'current.{variable}' is missing")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise OpenMeteoError(f"open-meteo weather for {city}: field 'current.{variable}' must be a "
                                 f"finite number, got {value!r}")
        if units.get(variable) != unit:
            raise OpenMeteoError(f"open-meteo weather for {city}: field 'current_units.{variable}' must be "
                                 f"{unit!r}, got {units.get(variable)!r}")
        low, high = BOUNDS.get(contract_field, (-math.inf, math.inf))
        if not low <= value <= high:
            raise OpenMeteoError(f"open-meteo weather for {city}: field 'current.{variable}' is out of range "
                                 f"({value!r})")
        values[contract_field] = float(value)
    return weather_event(city, ts, source=SOURCE, stamp=int(ts.timestamp()), **values)


class OpenMeteoWeather:
    name = SOURCE

    def __init__(self, *, transport: Transport = urllib_transport, base_url: str = BASE_URL,
                 timeout_s: float = 5.0, max_attempts: int = 3, sleep: Callable[[float], None] = time.sleep):
        self._transport = transport
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._sleep = sleep

    def url(self, city: CityRef) -> str:
        return (f"{self._base_url}/forecast?latitude={city.lat:.4f}&longitude={city.lon:.4f}"
                f"&current={','.join(VARIABLES)}&wind_speed_unit=ms&timezone=GMT")

    def observe(self, city: CityRef, now: datetime) -> dict[str, Any]:
        try:
            response = get_with_retries(self._transport, self.url(city), timeout_s=self._timeout_s,
                                        max_attempts=self._max_attempts, sleep=self._sleep)
        except TransportError as exc:
            raise OpenMeteoError(f"open-meteo weather for {city.name}: {exc}") from None
        check_status(city.name, response.status, response.body)
        return parse_current(city.name, response.body)
