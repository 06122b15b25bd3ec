"""One poll: which symbols and cities, from which providers, as of which minute; and the polling.

Pure orchestration over the ports: a failing provider call becomes a `failure` entry for that
symbol or city, never an exception that stops the others.
"""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from barometer.config import (
    MARKET_PROVIDERS,
    SYMBOL_PATTERN,
    WEATHER_PROVIDERS,
    CityRef,
    PollerSettings,
    Settings,
    SymbolRef,
)
from barometer.core.timeutil import TimestampError, parse_rfc3339
from lambdas.poller.ports import MarketProvider, ProviderError, WeatherProvider

SERVICE = "barometer-poller"
MAX_WORKERS = 8  # provider calls are I/O bound; Finnhub's free tier allows 30 calls/s anyway


class PollRequestError(ValueError):
    """The invoking event asks for something impossible; the message names the field."""


@dataclass(frozen=True)
class PollRequest:
    time: datetime
    market: str
    weather: str
    symbols: tuple[SymbolRef, ...]
    cities: tuple[CityRef, ...]


@dataclass
class PollOutcome:
    events: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


def request_from_options(source: str, *, time: str | None = None, market: str | None = None,
                         weather: str | None = None, symbols: str | None = None,
                         cities: str | None = None) -> dict[str, Any]:
    """The invoking event `parse_request` reads, from command-line options (names comma-separated; an
    option left out is left to the configuration)."""
    request: dict[str, Any] = {"source": source}
    if time:
        request["time"] = time
    providers = {k: v for k, v in (("market", market), ("weather", weather)) if v}
    if providers:
        request["providers"] = providers
    for key, text in (("symbols", symbols), ("cities", cities)):
        if text is not None:
            request[key] = [n.strip() for n in text.split(",") if n.strip()]
    return request


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PollRequestError(f"time: expected an RFC 3339 string, got {type(value).__name__}")
    try:
        return parse_rfc3339(value)
    except TimestampError as exc:
        raise PollRequestError(f"time: {exc} (got {value[:40]!r})") from None


def _names(event: Mapping[str, Any], key: str) -> list[str] | None:
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PollRequestError(f"{key}: expected a list of names")
    return value


def _symbols(event: Mapping[str, Any], settings: Settings) -> tuple[SymbolRef, ...]:
    names = _names(event, "symbols")
    if names is None:
        return tuple(settings.symbols.values())
    refs = []
    for i, name in enumerate(names):
        if not SYMBOL_PATTERN.match(name):
            raise PollRequestError(f"symbols[{i}]: expected 1-10 characters of A-Z 0-9 . -, got {name[:20]!r}")
        # An unconfigured symbol is polled on the default exchange timezone (on-demand polls).
        refs.append(settings.symbols.get(name) or SymbolRef(name, settings.default_symbol_timezone))
    return tuple(refs)


def _cities(event: Mapping[str, Any], settings: Settings) -> tuple[CityRef, ...]:
    names = _names(event, "cities")
    if names is None:
        return tuple(settings.cities.values())
    refs = []
    for i, name in enumerate(names):
        if name not in settings.cities:
            raise PollRequestError(f"cities[{i}]: {name[:64]!r} is not a configured city")
        refs.append(settings.cities[name])
    return tuple(refs)


def _providers(event: Mapping[str, Any], config: PollerSettings) -> tuple[str, str]:
    override = event.get("providers") or {}
    if not isinstance(override, Mapping):
        raise PollRequestError("providers: expected an object such as {\"market\": \"simulator\"}")
    unknown = sorted(str(k) for k in override if k not in ("market", "weather"))
    if unknown:
        raise PollRequestError(f"providers.{unknown[0]}: unknown key (known: market, weather)")
    market = override.get("market", config.market)
    weather = override.get("weather", config.weather)
    if market not in MARKET_PROVIDERS:
        raise PollRequestError(f"providers.market: expected one of {', '.join(MARKET_PROVIDERS)}, got {market!r}")
    if weather not in WEATHER_PROVIDERS:
        raise PollRequestError(f"providers.weather: expected one of {', '.join(WEATHER_PROVIDERS)}, "
                               f"got {weather!r}")
    return market, weather


def parse_request(event: Any, settings: Settings, config: PollerSettings, now: datetime) -> PollRequest:
    """The poll asked for by a scheduler event (EventBridge, the local scheduler, Dagster).

    Every key is optional: `time` (RFC 3339; default now), `providers` ({market, weather}),
    `symbols` and `cities` (lists of names; default: all configured; [] polls none).
    """
    if event is None:
        event = {}
    if not isinstance(event, Mapping):
        raise PollRequestError("event: expected a JSON object")
    when = _parse_time(event["time"]) if event.get("time") is not None else now.astimezone(UTC)
    market, weather = _providers(event, config)
    return PollRequest(when, market, weather, _symbols(event, settings), _cities(event, settings))


def _call(kind: str, key: str, provider: str, fn, *args) -> tuple[dict | None, dict | None]:
    try:
        return fn(*args), None
    except ProviderError as exc:
        return None, {"kind": kind, "key": key, "provider": provider, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a bug in one adapter must not cost the others their poll
        from aws_lambda_powertools import Logger

        Logger(service=SERVICE, child=True).exception("provider %s crashed for %s %s", provider, kind, key)
        return None, {"kind": kind, "key": key, "provider": provider, "error": f"{type(exc).__name__}: {exc}"}


def poll(request: PollRequest, market: MarketProvider | None, weather: WeatherProvider | None,
         timeout_s: float | None = None) -> PollOutcome:
    """Poll every symbol and city of the request concurrently; results keep the request's order.

    `timeout_s` bounds the whole poll: calls still running then are reported as failures (their
    threads finish on their own, bounded by the HTTP timeouts).
    """
    jobs: list[tuple[str, str, str, Any, Any]] = []
    if market is not None:
        jobs += [("quote", s.symbol, market.name, market.quote, s) for s in request.symbols]
    if weather is not None:
        jobs += [("weather", c.name, weather.name, weather.observe, c) for c in request.cities]
    outcome = PollOutcome()
    if not jobs:
        return outcome
    pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs)), thread_name_prefix="poll")
    try:
        futures = [pool.submit(_call, kind, key, name, fn, ref, request.time) for kind, key, name, fn, ref in jobs]
        wait(futures, timeout=timeout_s)
        for (kind, key, name, _, _), future in zip(jobs, futures):
            if not future.done():
                outcome.failures.append({"kind": kind, "key": key, "provider": name,
                                         "error": f"no answer within the poll's {timeout_s:g}s budget"})
                continue
            event, failure = future.result()
            if event is not None:
                outcome.events.append(event)
            else:
                outcome.failures.append(failure)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return outcome
