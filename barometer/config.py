"""The parsed form of `barometer.yaml`: symbols, cities, rolling windows and alert rules.

Pure: it takes the already-loaded mapping (YAML locally, JSON from an environment variable on
Lambda) so the same validation runs everywhere. Every error names the configuration key.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9.\-]{1,10}$")
RULE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
WEATHER_METRICS = ("temp_c", "humidity_pct", "wind_mps", "precip_mm", "pressure_hpa")
RULE_OPS = (">=", ">", "<=", "<", "==")
MARKET_DROP_RULE = "market_drop"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


@dataclass(frozen=True, slots=True)
class Window:
    name: str  # as written in the configuration, e.g. "24h"; the API keys rolling averages by it
    seconds: int


@dataclass(frozen=True, slots=True)
class SymbolRef:
    symbol: str
    timezone: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CityRef:
    name: str
    lat: float
    lon: float
    timezone: str


@dataclass(frozen=True, slots=True)
class WeatherRule:
    name: str
    metric: str
    op: str
    threshold: float


@dataclass(frozen=True)
class Settings:
    symbols: Mapping[str, SymbolRef]
    cities: Mapping[str, CityRef]
    windows: tuple[Window, ...]
    market_drop_pct: float = 10.0
    weather_rules: tuple[WeatherRule, ...] = ()
    default_symbol_timezone: str = "America/New_York"
    max_future_skew_s: int = 3600
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def max_window_s(self) -> int:
        return max(w.seconds for w in self.windows)

    def symbol_timezone(self, symbol: str) -> str:
        ref = self.symbols.get(symbol)
        return ref.timezone if ref else self.default_symbol_timezone

    def timezone_for(self, kind: str, key: str) -> str:
        if kind == "quote":
            return self.symbol_timezone(key)
        return self.cities[key].timezone


def parse_duration(text: Any, key: str) -> int:
    """'5m' -> 300. Units s, m, h, d."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"{key}: expected a positive duration such as '5m', '1h' or '24h', got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _timezone(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected an IANA timezone name such as 'America/New_York'")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: unknown timezone {value!r}") from None
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def _list(raw: Mapping[str, Any], key: str) -> list:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list")
    return value


def _mapping(item: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{key}: expected a mapping")
    return item


def _parse_symbols(raw: Mapping[str, Any], default_tz: str) -> dict[str, SymbolRef]:
    symbols: dict[str, SymbolRef] = {}
    for i, item in enumerate(_list(raw, "symbols")):
        key = f"symbols[{i}]"
        item = _mapping(item, key)
        symbol = item.get("symbol")
        if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
            raise ConfigError(f"{key}.symbol: expected 1-10 characters of A-Z 0-9 . -, got {symbol!r}")
        if symbol in symbols:
            raise ConfigError(f"{key}.symbol: {symbol} is listed twice")
        tz = _timezone(item.get("timezone", default_tz), f"{key}.timezone")
        name = item.get("name")
        symbols[symbol] = SymbolRef(symbol, tz, str(name) if name is not None else None)
    return symbols


def _parse_cities(raw: Mapping[str, Any]) -> dict[str, CityRef]:
    cities: dict[str, CityRef] = {}
    for i, item in enumerate(_list(raw, "cities")):
        key = f"cities[{i}]"
        item = _mapping(item, key)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise ConfigError(f"{key}.name: expected a city name of 1-64 characters")
        if name in cities:
            raise ConfigError(f"{key}.name: {name} is listed twice")
        lat = _number(item.get("lat"), f"{key}.lat")
        lon = _number(item.get("lon"), f"{key}.lon")
        if not -90 <= lat <= 90:
            raise ConfigError(f"{key}.lat: must be between -90 and 90")
        if not -180 <= lon <= 180:
            raise ConfigError(f"{key}.lon: must be between -180 and 180")
        cities[name] = CityRef(name, lat, lon, _timezone(item.get("timezone"), f"{key}.timezone"))
    return cities


def _parse_windows(raw: Mapping[str, Any]) -> tuple[Window, ...]:
    names = raw.get("rolling_windows", ["5m", "1h", "24h"])
    if not isinstance(names, list) or not names:
        raise ConfigError("rolling_windows: expected a non-empty list such as [5m, 1h, 24h]")
    windows = []
    for i, name in enumerate(names):
        seconds = parse_duration(name, f"rolling_windows[{i}]")
        name = str(name).strip()
        if any(w.name == name for w in windows):
            raise ConfigError(f"rolling_windows[{i}]: {name} is listed twice")
        windows.append(Window(name, seconds))
    return tuple(windows)


def _parse_weather_rules(raw: Mapping[str, Any]) -> tuple[WeatherRule, ...]:
    rules: list[WeatherRule] = []
    for i, item in enumerate(_list(raw, "weather_rules")):
        key = f"weather_rules[{i}]"
        item = _mapping(item, key)
        name = item.get("name")
        if not isinstance(name, str) or not RULE_NAME_PATTERN.fullmatch(name) or name == MARKET_DROP_RULE:
            raise ConfigError(f"{key}.name: expected a lower_snake_case name (not {MARKET_DROP_RULE!r})")
        if any(r.name == name for r in rules):
            raise ConfigError(f"{key}.name: {name} is listed twice")
        metric = item.get("metric")
        if metric not in WEATHER_METRICS:
            raise ConfigError(f"{key}.metric: expected one of {', '.join(WEATHER_METRICS)}, got {metric!r}")
        op = item.get("op")
        if op not in RULE_OPS:
            raise ConfigError(f"{key}.op: expected one of {' '.join(RULE_OPS)}, got {op!r}")
        rules.append(WeatherRule(name, metric, op, _number(item.get("threshold"), f"{key}.threshold")))
    return tuple(rules)


def parse_settings(raw: Mapping[str, Any] | None) -> Settings:
    """Validate a loaded configuration mapping and return `Settings`."""
    raw = _mapping(raw if raw is not None else {}, "configuration")
    default_tz = _timezone(raw.get("default_symbol_timezone", "America/New_York"), "default_symbol_timezone")
    drop = _number(raw.get("market_drop_pct", 10), "market_drop_pct")
    if not 0 < drop < 100:
        raise ConfigError("market_drop_pct: must be between 0 and 100 (exclusive)")
    return Settings(
        symbols=_parse_symbols(raw, default_tz),
        cities=_parse_cities(raw),
        windows=_parse_windows(raw),
        market_drop_pct=drop,
        weather_rules=_parse_weather_rules(raw),
        default_symbol_timezone=default_tz,
        max_future_skew_s=parse_duration(raw.get("max_future_skew", "1h"), "max_future_skew"),
        raw=dict(raw),
    )
