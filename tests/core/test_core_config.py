"""barometer.yaml parsing: defaults, and errors that name the configuration key."""
from __future__ import annotations

import copy

import pytest
import yaml
from core_builders import load_json

from barometer.config import ConfigError, Window, parse_duration, parse_settings
from barometer.settings import DEFAULT_CONFIG_PATH

BASE = load_json("fixtures/config.json")


def with_change(path: list, value) -> dict:
    raw = copy.deepcopy(BASE)
    target = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return raw


def test_the_repository_configuration_is_valid():
    settings = parse_settings(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text()))
    assert settings.symbols and settings.cities and settings.windows


def test_an_empty_configuration_takes_the_documented_defaults():
    settings = parse_settings({})
    assert settings.windows == (Window("5m", 300), Window("1h", 3600), Window("24h", 86400))
    assert settings.market_drop_pct == 10.0
    assert settings.symbol_timezone("ANY") == "America/New_York"
    assert settings.max_future_skew_s == 3600
    assert settings.weather_rules == ()


def test_window_names_are_kept_as_written():
    settings = parse_settings(with_change(["rolling_windows"], ["90s", "15m", "2h", "7d"]))
    assert [(w.name, w.seconds) for w in settings.windows] == [("90s", 90), ("15m", 900), ("2h", 7200),
                                                               ("7d", 604800)]
    assert settings.max_window_s == 604800


def test_symbols_without_a_timezone_take_the_default():
    settings = parse_settings({"default_symbol_timezone": "Europe/Paris", "symbols": [{"symbol": "AIR"}]})
    assert settings.symbol_timezone("AIR") == "Europe/Paris"
    assert settings.timezone_for("quote", "UNLISTED") == "Europe/Paris"


@pytest.mark.parametrize("text, seconds", [("5m", 300), ("1h", 3600), ("24h", 86400), ("30s", 30), ("2d", 172800),
                                           (" 5 m ", 300)])
def test_durations_in_s_m_h_d(text, seconds):
    assert parse_duration(text, "k") == seconds


@pytest.mark.parametrize("path, value, key", [
    (["rolling_windows"], ["5m", "5x"], "rolling_windows[1]"),
    (["rolling_windows"], ["0m"], "rolling_windows[0]"),
    (["rolling_windows"], ["-5m"], "rolling_windows[0]"),
    (["rolling_windows"], [5], "rolling_windows[0]"),
    (["rolling_windows"], ["1.5h"], "rolling_windows[0]"),
    (["rolling_windows"], ["5m", "5m"], "rolling_windows[1]"),
    (["rolling_windows"], [], "rolling_windows"),
    (["rolling_windows"], "5m", "rolling_windows"),
    (["max_future_skew"], "soon", "max_future_skew"),
    (["symbols", 0, "timezone"], "Mars/Olympus_Mons", "symbols[0].timezone"),
    (["symbols", 1, "timezone"], "", "symbols[1].timezone"),
    (["symbols", 1, "symbol"], "AAPL", "symbols[1].symbol"),
    (["symbols", 0, "symbol"], "aapl", "symbols[0].symbol"),
    (["symbols", 0, "symbol"], "TOOLONGSYMBOL", "symbols[0].symbol"),
    (["symbols"], {"AAPL": "America/New_York"}, "symbols"),
    (["symbols", 0], "AAPL", "symbols[0]"),
    (["cities", 0, "timezone"], "America/Seatle", "cities[0].timezone"),
    (["cities", 1, "name"], "Seattle", "cities[1].name"),
    (["cities", 0, "lat"], 91, "cities[0].lat"),
    (["cities", 0, "lon"], -180.5, "cities[0].lon"),
    (["cities", 0, "lat"], "north", "cities[0].lat"),
    (["cities", 0, "name"], "", "cities[0].name"),
    (["market_drop_pct"], 0, "market_drop_pct"),
    (["market_drop_pct"], 100, "market_drop_pct"),
    (["market_drop_pct"], "10", "market_drop_pct"),
    (["market_drop_pct"], float("nan"), "market_drop_pct"),
    (["default_symbol_timezone"], "EST5EDT_nonsense", "default_symbol_timezone"),
    (["weather_rules", 0, "op"], "=>", "weather_rules[0].op"),
    (["weather_rules", 1, "op"], "!=", "weather_rules[1].op"),
    (["weather_rules", 0, "metric"], "snow_cm", "weather_rules[0].metric"),
    (["weather_rules", 2, "threshold"], "hot", "weather_rules[2].threshold"),
    (["weather_rules", 3, "name"], "Storm Wind", "weather_rules[3].name"),
    (["weather_rules", 3, "name"], "market_drop", "weather_rules[3].name"),
    (["weather_rules", 1, "name"], "heavy_rain", "weather_rules[1].name"),
])
def test_each_error_names_its_key(path, value, key):
    # Given the test configuration with one bad value
    raw = with_change(path, value)
    # When it is parsed, Then the error starts with the key it is about
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert str(caught.value).startswith(f"{key}:"), str(caught.value)


def test_a_configuration_that_is_not_a_mapping_is_refused():
    with pytest.raises(ConfigError, match="configuration"):
        parse_settings(["symbols"])


def test_a_window_listed_twice_with_different_spacing_is_a_duplicate():
    # " 5m" and "5m" both become the window named "5m": the rolling averages, keyed by name, would collide.
    with pytest.raises(ConfigError, match=r"^rolling_windows\[1\]:"):
        parse_settings(with_change(["rolling_windows"], ["5m", " 5m"]))
