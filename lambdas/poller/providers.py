"""The provider registry: one market or weather adapter per name the configuration accepts
(`poller.market`, `poller.weather`, validated with the rest of barometer.yaml), built on first use.

Adapters are imported inside the factories so that the handler module imports fast and a poll
only loads the adapters it uses.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from barometer.config import FINNHUB, MARKET_PROVIDERS, OPEN_METEO, SIMULATOR, WEATHER_PROVIDERS

if TYPE_CHECKING:
    from barometer.config import PollerSettings, Settings
    from lambdas.poller.ports import MarketProvider, WeatherProvider


def build_market(name: str, config: PollerSettings, settings: Settings) -> MarketProvider:
    if name == SIMULATOR:
        from lambdas.poller.simulator import SimulatedMarket

        return SimulatedMarket(config.seed, drop_chance=config.drop_chance,
                               drop_threshold_pct=settings.market_drop_pct)
    if name == FINNHUB:
        from lambdas.poller.finnhub import FinnhubMarket
        from lambdas.poller.provider_keys import provider_key

        return FinnhubMarket(lambda: provider_key(FINNHUB), timeout_s=config.timeout_s,
                             max_attempts=config.max_attempts)
    raise ValueError(f"unknown market provider {name!r} (known: {', '.join(MARKET_PROVIDERS)})")


def build_weather(name: str, config: PollerSettings, settings: Settings) -> WeatherProvider:
    if name == SIMULATOR:
        from lambdas.poller.simulator import SimulatedWeather

        return SimulatedWeather(config.seed)
    if name == OPEN_METEO:
        from lambdas.poller.open_meteo import OpenMeteoWeather

        return OpenMeteoWeather(timeout_s=config.timeout_s, max_attempts=config.max_attempts)
    raise ValueError(f"unknown weather provider {name!r} (known: {', '.join(WEATHER_PROVIDERS)})")

