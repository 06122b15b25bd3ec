"""The `poller:` section of barometer.yaml."""
from __future__ import annotations

import pytest

from barometer.config import ConfigError
from lambdas.poller.config import PollerConfig, parse_poller_config
from barometer.settings import DEFAULT_CONFIG_PATH, load_raw_config


def test_an_absent_section_means_the_simulator_defaults():
    assert parse_poller_config({}) == PollerConfig("simulator", "simulator", 42, 0.0, 5.0, 3)


def test_every_key_is_read():
    raw = {"poller": {"market": "finnhub", "weather": "open-meteo", "seed": 7, "drop_chance": 0.25,
                      "timeout_s": 2.5, "max_attempts": 5}}
    assert parse_poller_config(raw) == PollerConfig("finnhub", "open-meteo", 7, 0.25, 2.5, 5)


def test_the_repository_configuration_parses(monkeypatch):
    monkeypatch.delenv("BAROMETER_CONFIG_JSON", raising=False)
    monkeypatch.setenv("BAROMETER_CONFIG", str(DEFAULT_CONFIG_PATH))
    assert parse_poller_config(load_raw_config()).market == "simulator"


@pytest.mark.parametrize("section, message", [
    ([1], r"^poller: expected a mapping"),
    ({"market": "bloomberg"}, r"^poller\.market: expected one of simulator, finnhub, got 'bloomberg'"),
    ({"weather": "finnhub"}, r"^poller\.weather: expected one of simulator, open-meteo"),
    ({"seed": -1}, r"^poller\.seed: expected a whole number"),
    ({"seed": "42"}, r"^poller\.seed: expected a whole number"),
    ({"drop_chance": 1.5}, r"^poller\.drop_chance: expected a number from 0 to 1, got 1.5"),
    ({"drop_chance": True}, r"^poller\.drop_chance: expected a number"),
    ({"drop_chance": float("nan")}, r"^poller\.drop_chance: expected a number"),
    ({"timeout_s": 0}, r"^poller\.timeout_s: expected a number from 0.1 to 30"),
    ({"max_attempts": 0}, r"^poller\.max_attempts: expected a whole number from 1 to 5"),
    ({"max_attempt": 2}, r"^poller\.max_attempt: unknown key"),
])
def test_bad_values_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_poller_config({"poller": section})
