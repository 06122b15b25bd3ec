"""The parsed form of `barometer.yaml`: every section, into frozen dataclasses.

Pure: it takes the already-loaded mapping (YAML locally, JSON from an environment variable on
Lambda) so the same validation runs everywhere, the CDK synthesis included. Every error names the
configuration key by its path (`weather_rules[1].op: ...`). Unknown keys are refused at every level,
because a misspelt key silently taking its default is the costliest kind of configuration mistake.
"""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from barometer.core.vocabulary import WEATHER_METRIC_SPECS, WEATHER_METRICS

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9.\-]{1,10}$")
RULE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
RULE_OPS = (">=", ">", "<=", "<", "==")
MARKET_DROP_RULE = "market_drop"
# The provider names `poller:` accepts; lambdas/poller/providers.py builds one adapter per name.
SIMULATOR = "simulator"
FINNHUB = "finnhub"
OPEN_METEO = "open-meteo"
MARKET_PROVIDERS = (SIMULATOR, FINNHUB)
WEATHER_PROVIDERS = (SIMULATOR, OPEN_METEO)

TOP_LEVEL_KEYS = ("symbols", "cities", "rolling_windows", "market_drop_pct", "weather_rules",
                  "default_symbol_timezone", "max_future_skew", "poller", "orchestration")
SYMBOL_KEYS = ("symbol", "timezone", "name")
CITY_KEYS = ("name", "lat", "lon", "timezone")
WEATHER_RULE_KEYS = ("name", "metric", "op", "threshold")
POLLER_KEYS = ("market", "weather", "seed", "drop_chance", "timeout_s", "max_attempts")
ORCHESTRATION_KEYS = ("quote_max_age", "weather_max_age")


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


@dataclass(frozen=True, slots=True)
class PollerSettings:
    """`poller:` — which providers the scheduled poll uses, and how it calls them."""
    market: str = SIMULATOR
    weather: str = SIMULATOR
    seed: int = 42
    drop_chance: float = 0.0
    timeout_s: float = 5.0
    max_attempts: int = 3


@dataclass(frozen=True, slots=True)
class OrchestrationSettings:
    """`orchestration:` — the Dagster freshness checks' limits on the newest event per key."""
    quote_max_age_s: int = 15 * 60
    weather_max_age_s: int = 2 * 3600

    def max_age_s(self, kind: str) -> int:
        """The limit for an event kind, 'quote' or 'weather'."""
        return {"quote": self.quote_max_age_s, "weather": self.weather_max_age_s}[kind]


@dataclass(frozen=True)
class Settings:
    symbols: Mapping[str, SymbolRef]
    cities: Mapping[str, CityRef]
    windows: tuple[Window, ...]
    market_drop_pct: float = 10.0
    weather_rules: tuple[WeatherRule, ...] = ()
    default_symbol_timezone: str = "America/New_York"
    max_future_skew_s: int = 3600
    poller: PollerSettings = field(default_factory=PollerSettings)
    orchestration: OrchestrationSettings = field(default_factory=OrchestrationSettings)

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


def _integer(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _bounded(value: Any, key: str, low: float, high: float) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not low <= value <= high):
        raise ConfigError(f"{key}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _list(raw: Mapping[str, Any], key: str) -> list:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list")
    return value


def _refuse_unknown(item: Mapping[str, Any], known: tuple[str, ...], parent: str | None) -> None:
    for name in item:  # in the order written: the first stranger is the one the reader sees
        if name not in known:
            path = f"{parent}.{name}" if parent else str(name)
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(known)})"
            raise ConfigError(f"{path}: unknown key{hint}")


def _mapping(item: Any, key: str, known: tuple[str, ...], example: str = "") -> Mapping[str, Any]:
    """`item` as a mapping whose keys are all in `known`; an error names the first other key."""
    if not isinstance(item, Mapping):
        raise ConfigError(f"{key}: expected a mapping{' such as ' + example if example else ''}")
    _refuse_unknown(item, known, key)
    return item


def _parse_symbols(raw: Mapping[str, Any], default_tz: str) -> dict[str, SymbolRef]:
    symbols: dict[str, SymbolRef] = {}
    for i, item in enumerate(_list(raw, "symbols")):
        key = f"symbols[{i}]"
        item = _mapping(item, key, SYMBOL_KEYS)
        symbol = item.get("symbol")
        if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
            raise ConfigError(f"{key}.symbol: expected 1-10 characters of A-Z 0-9 . -, got {symbol!r}")
        if symbol in symbols:
            raise ConfigError(f"{key}.symbol: {symbol} is listed twice")
        tz = _timezone(item.get("timezone", default_tz), f"{key}.timezone")
        name = item.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 128):
            raise ConfigError(f"{key}.name: expected a display name of 1-128 characters, got {name!r}")
        symbols[symbol] = SymbolRef(symbol, tz, name)
    return symbols


def _parse_cities(raw: Mapping[str, Any]) -> dict[str, CityRef]:
    cities: dict[str, CityRef] = {}
    for i, item in enumerate(_list(raw, "cities")):
        key = f"cities[{i}]"
        item = _mapping(item, key, CITY_KEYS)
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
    # The key state keeps every window in one LatestTable item that must stay within 2 KB (issue 9):
    # keystate.py sized it for this many windows with names this long. Imported here, not at the top:
    # keystate imports this module.
    from barometer.core.keystate import MAX_WINDOW_NAME_CHARS, MAX_WINDOWS

    if len(names) > MAX_WINDOWS:
        raise ConfigError(f"rolling_windows: at most {MAX_WINDOWS} windows (the key state must fit one "
                          f"LatestTable item), got {len(names)}")
    windows = []
    for i, name in enumerate(names):
        seconds = parse_duration(name, f"rolling_windows[{i}]")
        name = str(name).strip()
        if len(name) > MAX_WINDOW_NAME_CHARS:
            raise ConfigError(f"rolling_windows[{i}]: {name!r} is longer than {MAX_WINDOW_NAME_CHARS} characters")
        if any(w.name == name for w in windows):
            raise ConfigError(f"rolling_windows[{i}]: {name} is listed twice")
        windows.append(Window(name, seconds))
    return tuple(windows)


def _parse_weather_rules(raw: Mapping[str, Any]) -> tuple[WeatherRule, ...]:
    rules: list[WeatherRule] = []
    for i, item in enumerate(_list(raw, "weather_rules")):
        key = f"weather_rules[{i}]"
        item = _mapping(item, key, WEATHER_RULE_KEYS)
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
        threshold = _number(item.get("threshold"), f"{key}.threshold")
        # Events outside a metric's plausible range are refused, so a threshold outside it never fires.
        spec = next(m for m in WEATHER_METRIC_SPECS if m.name == metric)
        if not spec.low <= threshold <= spec.high:
            raise ConfigError(f"{key}.threshold: {threshold:g} is outside {metric}'s range {spec.low:g} to "
                              f"{spec.high:g} {spec.unit}: the rule could never fire")
        rules.append(WeatherRule(name, metric, op, threshold))
    return tuple(rules)


def _parse_poller(raw: Mapping[str, Any]) -> PollerSettings:
    section = raw.get("poller")
    if section is None:
        return PollerSettings()
    section = _mapping(section, "poller", POLLER_KEYS, "{market: simulator, weather: simulator}")
    return PollerSettings(
        market=_choice(section.get("market", SIMULATOR), "poller.market", MARKET_PROVIDERS),
        weather=_choice(section.get("weather", SIMULATOR), "poller.weather", WEATHER_PROVIDERS),
        seed=_integer(section.get("seed", 42), "poller.seed", 0, 2**63 - 1),
        drop_chance=_bounded(section.get("drop_chance", 0.0), "poller.drop_chance", 0.0, 1.0),
        timeout_s=_bounded(section.get("timeout_s", 5.0), "poller.timeout_s", 0.1, 30.0),
        max_attempts=_integer(section.get("max_attempts", 3), "poller.max_attempts", 1, 5),
    )


def _parse_orchestration(raw: Mapping[str, Any]) -> OrchestrationSettings:
    section = raw.get("orchestration")
    if section is None:
        return OrchestrationSettings()
    section = _mapping(section, "orchestration", ORCHESTRATION_KEYS,
                       "{quote_max_age: 15m, weather_max_age: 2h}")

    def age(key: str, default: str) -> int:
        return parse_duration(section.get(key, default), f"orchestration.{key}")

    return OrchestrationSettings(quote_max_age_s=age("quote_max_age", "15m"),
                                 weather_max_age_s=age("weather_max_age", "2h"))


def parse_settings(raw: Mapping[str, Any] | None) -> Settings:
    """Validate a loaded configuration mapping and return `Settings`."""
    raw = raw if raw is not None else {}
    if not isinstance(raw, Mapping):
        raise ConfigError("configuration: expected a mapping")
    _refuse_unknown(raw, TOP_LEVEL_KEYS, None)
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
        poller=_parse_poller(raw),
        orchestration=_parse_orchestration(raw),
    )
