"""The event contract: validation with field-level errors, normalisation, idempotency keys.

`parse_event` turns one decoded JSON object into an `Event` or raises `ValidationError` listing every
bad field. Normalisation makes equal events equal: timestamps become UTC, alternative units
(`temp_f`, `wind_kmh`, `precip_in`) become the contract's metric ones, and a missing `event_id` is
derived from the normalised content, so a re-sent event is the same event.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timedelta
from typing import Any

from barometer.config import SYMBOL_PATTERN, Settings
from barometer.core.currencies import ISO_4217
from barometer.core.errors import FieldError, ValidationError
from barometer.core.numbers import MAX_MAGNITUDE, MIN_MAGNITUDE
from barometer.core.timeutil import EPOCH as _MIN_TS
from barometer.core.timeutil import (
    TimestampError,
    format_fixed,
    format_public,
    local_day_of_epoch_us,
    parse_rfc3339,
)
from barometer.core.vocabulary import (
    KEY_FIELD,
    KIND_FIELDS,
    KINDS,
    QUOTE,
    VALUE_FIELD,
    WEATHER,
    WEATHER_METRIC_SPECS,
)
from barometer.lake import item_pk, metrics_sk

EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9 ._:/\-]{1,64}$")
_event_id_ok = EVENT_ID_PATTERN.fullmatch
_ENVELOPE = ("kind", "ts", "source", "event_id")
# The alternative units a weather event may send instead of the contract's, and their conversion.
ALTERNATIVE_UNITS = {
    "temp_c": ("temp_f", lambda f: (f - 32.0) * 5.0 / 9.0),
    "wind_mps": ("wind_kmh", lambda k: k / 3.6),
    "precip_mm": ("precip_in", lambda i: i * 25.4),
}
QUOTE_FIELDS = frozenset({*_ENVELOPE, KEY_FIELD[QUOTE], *KIND_FIELDS[QUOTE]})
WEATHER_FIELDS = frozenset({*_ENVELOPE, KEY_FIELD[WEATHER], *KIND_FIELDS[WEATHER],
                            *(name for name, _ in ALTERNATIVE_UNITS.values())})
# Physical bounds, as the weather metrics' in the vocabulary: beyond them a value is a typo. Every number
# must also be one DynamoDB stores (barometer/core/numbers.py): 0 or a magnitude in 1e-130..1e126.
MIN_PRICE = MIN_MAGNITUDE
MAX_PRICE = 1e9
MAX_VOLUME = 10**15
WEATHER_BOUNDS = {m.name: (m.low, m.high) for m in WEATHER_METRIC_SPECS}
_WEATHER_SPECS = tuple((m.name, m.low, m.high) for m in WEATHER_METRIC_SPECS)
_ALTERNATIVE_NAMES = tuple(name for name, _ in ALTERNATIVE_UNITS.values())
_ONE_US = timedelta(microseconds=1)
_TINY = MIN_MAGNITUDE
# Strings already found valid (symbols, sources): a set lookup instead of a regex per event; bounded.
_VALID_CACHE_MAX = 4096
_valid_symbols: set[str] = set()
_valid_sources: set[str] = set()
_sorted_field_names: dict[tuple, tuple] = {}  # a fields dict's key order -> sorted (derive_event_id)
_future_limit: tuple = (None, None, None)  # (now, max_future_skew_s, limit) of the last call, swapped whole


class NonFinite:
    """Stands for a NaN/Infinity literal in the JSON text, so validation can name the field."""

    __slots__ = ("literal",)

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def decode_json(text: str | bytes) -> Any:
    """json.loads that keeps NaN/Infinity literals as `NonFinite` instead of floats."""
    return json.loads(text, parse_constant=NonFinite)


class Event:
    """A validated, normalised event. `fields` holds the contract fields other than the envelope."""

    __slots__ = ("epoch_us", "event_id", "fields", "key", "kind", "pk", "source", "ts", "value")

    def __init__(self, kind: str, key: str, ts: datetime, event_id: str, value: float,
                 fields: dict[str, Any], source: str | None):
        self.kind = kind
        self.key = key
        self.ts = ts
        self.epoch_us = (ts - _MIN_TS) // _ONE_US  # exact: timedelta // timedelta is integer arithmetic
        self.event_id = event_id
        self.value = value
        self.fields = fields
        self.source = source
        self.pk = item_pk(kind, key)  # once: the hot path groups and stores by it

    @property
    def sk(self) -> str:
        return metrics_sk(self.ts, self.event_id)

    def __repr__(self) -> str:
        return f"Event({self.kind} {self.key} {format_public(self.ts)} {self.value} id={self.event_id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.kind, self.key, self.event_id))

    def as_dict(self) -> dict[str, Any]:
        """The normalised event in the contract's shape (public timestamps)."""
        out: dict[str, Any] = {"kind": self.kind, KEY_FIELD[self.kind]: self.key,
                               "ts": format_public(self.ts), **self.fields, "event_id": self.event_id}
        if self.source is not None:
            out["source"] = self.source
        return out


def _number(obj: dict, name: str, errors: list[FieldError], *, required: bool) -> float | None:
    if name not in obj or obj[name] is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    value = obj[name]
    if isinstance(value, NonFinite):
        errors.append(FieldError(name, f"must be a finite number (got {value.literal})"))
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.append(FieldError(name, f"must be a number (got {type(value).__name__})"))
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer literal with hundreds of digits
        errors.append(FieldError(name, "is too large"))
        return None
    if not math.isfinite(value):
        errors.append(FieldError(name, "must be a finite number"))
        return None
    if value != 0.0 and not MIN_MAGNITUDE <= abs(value) < MAX_MAGNITUDE:
        if abs(value) < MIN_MAGNITUDE:
            errors.append(FieldError(name, f"is too close to zero to be stored (got {value:g}): send 0 or a "
                                           f"magnitude of at least {MIN_MAGNITUDE:g}"))
        else:
            errors.append(FieldError(name, f"is too large to be stored (got {value:g})"))
        return None
    return value


def _string(obj: dict, name: str, errors: list[FieldError], pattern: re.Pattern, hint: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, f"must be a string (got {type(value).__name__})"))
        return None
    if not pattern.fullmatch(value):
        errors.append(FieldError(name, hint))
        return None
    return value


def _timestamp(obj: dict, errors: list[FieldError], settings: Settings, now: datetime | None) -> datetime | None:
    value = obj.get("ts")
    if value is None:
        errors.append(FieldError("ts", "is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError("ts", f"must be an RFC 3339 string (got {type(value).__name__})"))
        return None
    try:
        ts = parse_rfc3339(value)
    except TimestampError as exc:
        errors.append(FieldError("ts", str(exc)))
        return None
    if ts < _MIN_TS:
        errors.append(FieldError("ts", "must not be before 1970-01-01"))
        return None
    if now is not None:
        global _future_limit
        skew = settings.max_future_skew_s
        cached_now, cached_skew, limit = _future_limit
        if cached_now is not now or cached_skew != skew:
            limit = now + timedelta(seconds=skew)
            _future_limit = (now, skew, limit)
        if ts > limit:
            errors.append(FieldError("ts", f"is more than {settings.max_future_skew_s}s in the future"))
            return None
    return ts


def _bounded(value: float | None, name: str, low: float, high: float, errors: list[FieldError]) -> float | None:
    if value is not None and not low <= value <= high:
        errors.append(FieldError(name, f"must be between {low:g} and {high:g} (got {value:g})"))
        return None
    return value


def _unknown_fields(obj: dict, allowed: frozenset, errors: list[FieldError]) -> None:
    for name in obj:
        if name not in allowed:
            shown = name if isinstance(name, str) and len(name) <= 40 else f"{str(name)[:40]}…"
            errors.append(FieldError(shown, "is not a field of this kind of event"))


def _parse_quote(obj: dict, errors: list[FieldError]) -> tuple[str | None, float | None, dict]:
    symbol = obj.get("symbol")
    if symbol is None:
        errors.append(FieldError("symbol", "is required"))
    elif type(symbol) is not str or symbol not in _valid_symbols:
        if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
            errors.append(FieldError("symbol", "must be 1-10 characters of A-Z 0-9 . -"))
            symbol = None
        elif type(symbol) is str:
            _remember(_valid_symbols, symbol)
    price = obj.get("price")
    if type(price) is not float or not MIN_PRICE <= price <= MAX_PRICE:  # a float in range: _number's result
        price = _number(obj, "price", errors, required=True)
        if price is not None and not MIN_PRICE <= price <= MAX_PRICE:
            errors.append(FieldError("price", f"must be between {MIN_PRICE:g} and {MAX_PRICE:g} (got {price:g})"))
            price = None
    fields: dict[str, Any] = {"price": price}
    volume = obj.get("volume")
    if type(volume) is int and 0 <= volume <= MAX_VOLUME:
        fields["volume"] = volume
    elif volume is not None:
        if isinstance(volume, bool) or not isinstance(volume, int):
            if isinstance(volume, float) and math.isfinite(volume) and volume.is_integer():
                volume = int(volume)
            else:
                errors.append(FieldError("volume", "must be a whole number"))
                volume = None
        if volume is not None and not 0 <= volume <= MAX_VOLUME:
            errors.append(FieldError("volume", f"must be between 0 and {MAX_VOLUME}"))
            volume = None
        if volume is not None:
            fields["volume"] = volume
    currency = obj.get("currency", "USD")
    if not isinstance(currency, str) or currency not in ISO_4217:
        errors.append(FieldError("currency", "must be an ISO 4217 code such as USD or EUR"))
    fields["currency"] = currency
    return symbol, price, fields


def _first_of(obj: dict, errors: list[FieldError], primary: str, alternative: str, convert) -> float | None:
    """The metric field, or its alternative unit converted; bounds are checked in the unit sent."""
    if primary in obj and alternative in obj:
        errors.append(FieldError(alternative, f"send either {primary} or {alternative}, not both"))
        return None
    if alternative not in obj:
        return _number(obj, primary, errors, required=False)
    value = _number(obj, alternative, errors, required=False)
    if value is None:
        return None
    low, high = WEATHER_BOUNDS[primary]
    converted = round(convert(value), 6)
    if not low <= converted <= high:
        errors.append(FieldError(alternative, f"is out of range ({primary} {converted:g} not in {low:g}..{high:g})"))
        return None
    return converted


def _remember(cache: set[str], value: str) -> None:
    if len(cache) >= _VALID_CACHE_MAX:
        cache.clear()
    cache.add(value)


def _weather_fields_fast(obj: dict) -> dict[str, Any] | None:
    """The fields when every metric sent is a float within its bounds in the contract's unit and temp_c is
    there (what the general path makes of them), else None: the general path decides and words errors."""
    fields: dict[str, Any] = {}
    for name, low, high in _WEATHER_SPECS:
        value = obj.get(name)
        if value is None:
            continue
        if type(value) is not float or not low <= value <= high or (-_TINY < value < _TINY and value != 0.0):
            return None
        fields[name] = value
    if "temp_c" not in fields:
        return None
    for name in _ALTERNATIVE_NAMES:
        if name in obj:
            return None
    return fields


def _parse_weather(obj: dict, errors: list[FieldError], settings: Settings) -> tuple[str | None, float | None, dict]:
    city = obj.get("city")
    if city is None:
        errors.append(FieldError("city", "is required"))
    elif not isinstance(city, str) or city not in settings.cities:
        known = ", ".join(sorted(settings.cities)[:10])
        errors.append(FieldError("city", f"must be a configured city ({known})"))
        city = None
    value_field = VALUE_FIELD[WEATHER]
    fast = _weather_fields_fast(obj)
    if fast is not None:
        return city, fast[value_field], fast
    if obj.get(value_field) is None and obj.get(ALTERNATIVE_UNITS[value_field][0]) is None:
        errors.append(FieldError(value_field, "is required"))
    fields: dict[str, Any] = {}
    for name in KIND_FIELDS[WEATHER]:
        if name in ALTERNATIVE_UNITS:
            fields[name] = _first_of(obj, errors, name, *ALTERNATIVE_UNITS[name])
        else:
            fields[name] = _number(obj, name, errors, required=False)
    for name, (low, high) in WEATHER_BOUNDS.items():
        fields[name] = _bounded(fields[name], name, low, high, errors)
    fields = {k: v for k, v in fields.items() if v is not None}
    return city, fields.get(value_field), fields


def derive_event_id(kind: str, key: str, ts: datetime, fields: dict[str, Any], source: str | None) -> str:
    """Content hash of the normalised event: the same observation always gets the same id."""
    order = tuple(fields)
    names = _sorted_field_names.get(order)
    if names is None:
        names = tuple(sorted(fields))
        if len(_sorted_field_names) < 256:
            _sorted_field_names[order] = names
    canonical = "|".join((kind, key, format_fixed(ts), source or "",
                          ",".join([f"{k}={fields[k]!r}" for k in names])))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def parse_event(obj: Any, settings: Settings, now: datetime | None = None) -> Event:
    """Validate and normalise one event. `now` bounds future timestamps (None: no bound)."""
    if not isinstance(obj, dict):
        raise ValidationError.single("event", f"must be a JSON object (got {_json_type(obj)})")
    errors: list[FieldError] = []
    kind = obj.get("kind")
    if kind not in KINDS:
        shown = kind if isinstance(kind, str) and len(kind) <= 20 else type(kind).__name__
        raise ValidationError.single("kind", f"must be {' or '.join(map(repr, KINDS))} (got {shown!r})")
    if kind == QUOTE:
        if not QUOTE_FIELDS.issuperset(obj):
            _unknown_fields(obj, QUOTE_FIELDS, errors)
        key, value, fields = _parse_quote(obj, errors)
    else:
        if not WEATHER_FIELDS.issuperset(obj):
            _unknown_fields(obj, WEATHER_FIELDS, errors)
        key, value, fields = _parse_weather(obj, errors, settings)
    ts = _timestamp(obj, errors, settings, now)
    source = obj.get("source")
    if type(source) is not str or source not in _valid_sources:
        source = _string(obj, "source", errors, SOURCE_PATTERN,
                         "must be 1-64 characters of letters, digits, space . _ : / -")
        if type(source) is str:
            _remember(_valid_sources, source)
    event_id = obj.get("event_id")
    if event_id is not None and (type(event_id) is not str or _event_id_ok(event_id) is None):
        event_id = _string(obj, "event_id", errors, EVENT_ID_PATTERN,
                           "must be 1-128 characters of letters, digits . _ : -")
    if errors:
        raise ValidationError(errors)
    assert key is not None and value is not None and ts is not None
    if event_id is None:
        event_id = derive_event_id(kind, key, ts, fields, source)
    return Event(kind, key, ts, event_id, value, fields, source)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float, NonFinite)) else type(value).__name__


def event_local_day(event: Event, settings: Settings) -> str:
    return local_day_of_epoch_us(event.epoch_us, settings.timezone_for(event.kind, event.key))

