"""The poller's side of the `poller:` section (parsed with the rest of barometer.yaml in barometer/config.py,
tested in tests/core/test_core_config.py): the registry builds every provider the configuration accepts,
and the handler polls with `Settings.poller`."""
from __future__ import annotations

import pytest
from poller_fakes import TEST_CONFIG

from barometer.config import MARKET_PROVIDERS, WEATHER_PROVIDERS, PollerSettings, parse_settings
from lambdas.poller.handler import handle, metrics
from lambdas.poller.providers import build_market, build_weather


@pytest.fixture(autouse=True)
def _fresh_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.mark.parametrize("name", MARKET_PROVIDERS)
def test_every_market_provider_the_configuration_accepts_is_built(name, settings):
    # Given a configured market provider name, When the registry builds it, Then the adapter has that name
    assert build_market(name, PollerSettings(market=name), settings).name == name


@pytest.mark.parametrize("name", WEATHER_PROVIDERS)
def test_every_weather_provider_the_configuration_accepts_is_built(name, settings):
    assert build_weather(name, PollerSettings(weather=name), settings).name == name


def test_the_handler_polls_with_the_poller_section_of_the_settings():
    # Given a configuration whose poller section differs from every default
    section = {"market": "simulator", "weather": "simulator", "seed": 99, "drop_chance": 0.5, "timeout_s": 2,
               "max_attempts": 1}
    settings = parse_settings({**TEST_CONFIG, "poller": section})
    seen = []

    def providers(request, config, settings):
        seen.append(config)
        return None, None

    # When a poll is handled
    handle({"time": "2026-11-24T15:04:05Z"}, put=lambda events: {}, settings=settings, providers=providers)
    # Then the providers are built from that section
    assert seen == [PollerSettings("simulator", "simulator", 99, 0.5, 2.0, 1)]
