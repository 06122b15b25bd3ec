"""barometer.yaml parsing: every section, its defaults, unknown keys refused, and errors that name the key."""
from __future__ import annotations

import copy
import re

import pytest
import yaml
from core_builders import load_json

from barometer.catalogue import CONFIG_JSON_ENV
from barometer.config import (
    CITY_KEYS,
    ORCHESTRATION_KEYS,
    POLLER_KEYS,
    SYMBOL_KEYS,
    TOP_LEVEL_KEYS,
    WEATHER_RULE_KEYS,
    ConfigError,
    OrchestrationSettings,
    PollerSettings,
    Window,
    parse_duration,
    parse_settings,
)
from barometer.settings import DEFAULT_CONFIG_PATH, REPO_ROOT, check_config_file, check_configured, describe

BASE = load_json("fixtures/config.json")


def with_change(path: list, value) -> dict:
    raw = copy.deepcopy(BASE)
    target = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return raw


def test_the_repository_configuration_is_valid_and_shows_every_section():
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    settings = parse_settings(raw)
    assert settings.symbols and settings.cities and settings.windows
    # barometer.yaml is the commented example of the format: it writes every top-level key out
    assert sorted(raw) == sorted(TOP_LEVEL_KEYS)
    assert sorted(raw["poller"]) == sorted(POLLER_KEYS) and sorted(raw["orchestration"]) == sorted(ORCHESTRATION_KEYS)


def test_the_readme_documents_every_key():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for key in TOP_LEVEL_KEYS + SYMBOL_KEYS + CITY_KEYS + WEATHER_RULE_KEYS + POLLER_KEYS + ORCHESTRATION_KEYS:
        assert re.search(rf"[`{{ ]{re.escape(key)}[`,:}} ]", section), key


def test_an_empty_configuration_takes_the_documented_defaults():
    settings = parse_settings({})
    assert settings.windows == (Window("5m", 300), Window("1h", 3600), Window("24h", 86400))
    assert settings.market_drop_pct == 10.0
    assert settings.symbol_timezone("ANY") == "America/New_York"
    assert settings.max_future_skew_s == 3600
    assert settings.weather_rules == ()
    assert settings.poller == PollerSettings("simulator", "simulator", 42, 0.0, 5.0, 3)
    assert settings.orchestration == OrchestrationSettings(quote_max_age_s=15 * 60, weather_max_age_s=2 * 3600)


def test_empty_poller_and_orchestration_sections_take_the_defaults():
    # `poller:` with nothing under it loads as None from YAML
    settings = parse_settings({"poller": None, "orchestration": None})
    assert settings.poller == PollerSettings() and settings.orchestration == OrchestrationSettings()


def test_every_poller_key_is_read():
    settings = parse_settings({"poller": {"market": "finnhub", "weather": "open-meteo", "seed": 7, "drop_chance": 0.25,
                                          "timeout_s": 2.5, "max_attempts": 5}})
    assert settings.poller == PollerSettings("finnhub", "open-meteo", 7, 0.25, 2.5, 5)


@pytest.mark.parametrize("section, seed, drop_chance, timeout_s, max_attempts", [
    ({"seed": 0, "drop_chance": 0, "timeout_s": 0.1, "max_attempts": 1}, 0, 0.0, 0.1, 1),
    ({"seed": 2**63 - 1, "drop_chance": 1, "timeout_s": 30, "max_attempts": 5}, 2**63 - 1, 1.0, 30.0, 5),
])
def test_poller_bounds_are_inclusive(section, seed, drop_chance, timeout_s, max_attempts):
    poller = parse_settings({"poller": section}).poller
    assert (poller.seed, poller.drop_chance, poller.timeout_s, poller.max_attempts) == (
        seed, drop_chance, timeout_s, max_attempts)


def test_every_orchestration_key_is_read():
    settings = parse_settings({"orchestration": {"quote_max_age": "30m", "weather_max_age": "1d"}})
    assert settings.orchestration == OrchestrationSettings(quote_max_age_s=1800, weather_max_age_s=86400)
    assert settings.orchestration.max_age_s("quote") == 1800
    assert settings.orchestration.max_age_s("weather") == 86400


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
    (["weather_rules", 0, "threshold"], 5000, "weather_rules[0].threshold"),
    (["weather_rules", 1, "threshold"], -273, "weather_rules[1].threshold"),
    (["symbols", 0, "name"], ["Apple"], "symbols[0].name"),
    (["symbols", 0, "name"], " ", "symbols[0].name"),
    (["weather_rules", 3, "name"], "Storm Wind", "weather_rules[3].name"),
    (["weather_rules", 3, "name"], "market_drop", "weather_rules[3].name"),
    (["weather_rules", 1, "name"], "heavy_rain", "weather_rules[1].name"),
    (["poller"], [1], "poller"),
    (["poller"], {"market": "bloomberg"}, "poller.market"),
    (["poller"], {"weather": "finnhub"}, "poller.weather"),
    (["poller"], {"seed": -1}, "poller.seed"),
    (["poller"], {"seed": "42"}, "poller.seed"),
    (["poller"], {"seed": 2**63}, "poller.seed"),
    (["poller"], {"drop_chance": 1.5}, "poller.drop_chance"),
    (["poller"], {"drop_chance": True}, "poller.drop_chance"),
    (["poller"], {"drop_chance": float("nan")}, "poller.drop_chance"),
    (["poller"], {"timeout_s": 0}, "poller.timeout_s"),
    (["poller"], {"timeout_s": 31}, "poller.timeout_s"),
    (["poller"], {"max_attempts": 0}, "poller.max_attempts"),
    (["poller"], {"max_attempts": 6}, "poller.max_attempts"),
    (["poller"], {"max_attempts": 2.0}, "poller.max_attempts"),
    (["orchestration"], "15m", "orchestration"),
    (["orchestration"], {"quote_max_age": "soon"}, "orchestration.quote_max_age"),
    (["orchestration"], {"weather_max_age": 7200}, "orchestration.weather_max_age"),
    (["orchestration"], {"weather_max_age": "0h"}, "orchestration.weather_max_age"),
])
def test_each_error_names_its_key(path, value, key):
    # Given the test configuration with one bad value
    raw = with_change(path, value)
    # When it is parsed, Then the error starts with the key it is about
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert str(caught.value).startswith(f"{key}:"), str(caught.value)


@pytest.mark.parametrize("section, message", [
    ({"market": "bloomberg"}, r"^poller\.market: expected one of simulator, finnhub, got 'bloomberg'$"),
    ({"weather": "finnhub"}, r"^poller\.weather: expected one of simulator, open-meteo, got 'finnhub'$"),
    ({"drop_chance": 1.5}, r"^poller\.drop_chance: expected a number from 0 to 1, got 1\.5$"),
    ({"timeout_s": 0}, r"^poller\.timeout_s: expected a number from 0\.1 to 30, got 0$"),
    ({"max_attempts": 0}, r"^poller\.max_attempts: expected a whole number from 1 to 5, got 0$"),
    ([1], r"^poller: expected a mapping such as \{market: simulator, weather: simulator\}$"),
])
def test_poller_errors_keep_their_wording(section, message):
    # The messages as docs/providers.md quotes them
    with pytest.raises(ConfigError, match=message):
        parse_settings({"poller": section})


@pytest.mark.parametrize("path, value, message", [
    # misspelt: the nearest known key is suggested
    ([], {"market_drop_percent": 5}, "market_drop_percent: unknown key; did you mean market_drop_pct?"),
    ([], {"rolling_window": ["5m"]}, "rolling_window: unknown key; did you mean rolling_windows?"),
    (["symbols", 1], {"timezon": "Europe/Berlin"}, "symbols[1].timezon: unknown key; did you mean timezone?"),
    (["cities", 2], {"lng": 0}, "cities[2].lng: unknown key; did you mean lon?"),
    (["weather_rules", 0], {"treshold": 3}, "weather_rules[0].treshold: unknown key; did you mean threshold?"),
    (["poller"], {"max_attempt": 2}, "poller.max_attempt: unknown key; did you mean max_attempts?"),
    (["orchestration"], {"quote_max_ages": "1h"},
     "orchestration.quote_max_ages: unknown key; did you mean quote_max_age?"),
    # nothing close: the known keys are listed
    ([], {"colour": "red"}, f"colour: unknown key (known: {', '.join(TOP_LEVEL_KEYS)})"),
    (["symbols", 0], {"exchange": "XNAS"}, "symbols[0].exchange: unknown key (known: symbol, timezone, name)"),
    (["orchestration"], {"alerts": 1},
     "orchestration.alerts: unknown key (known: quote_max_age, weather_max_age)"),
    ([], {7: "seven"}, f"7: unknown key (known: {', '.join(TOP_LEVEL_KEYS)})"),
])
def test_unknown_keys_are_refused_at_every_level(path, value, message):
    # Given the test configuration with one more key at `path`
    raw = copy.deepcopy(BASE)
    raw.setdefault("poller", {})
    raw.setdefault("orchestration", {})
    target = raw
    for step in path:
        target = target[step]
    target.update(value)
    # When it is parsed, Then the error names the key by its path (and a likely intended one)
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert str(caught.value) == message


def test_the_first_unknown_key_as_written_is_the_one_named():
    with pytest.raises(ConfigError, match="^zebra: "):
        parse_settings({"zebra": 1, "aardvark": 2})


def test_a_configuration_that_is_not_a_mapping_is_refused():
    with pytest.raises(ConfigError, match="configuration"):
        parse_settings(["symbols"])


def test_a_window_listed_twice_with_different_spacing_is_a_duplicate():
    # " 5m" and "5m" both become the window named "5m": the rolling averages, keyed by name, would collide.
    with pytest.raises(ConfigError, match=r"^rolling_windows\[1\]:"):
        parse_settings(with_change(["rolling_windows"], ["5m", " 5m"]))


def test_as_many_windows_as_the_key_state_holds_are_accepted_with_names_of_the_longest_length():
    # Given MAX_WINDOWS windows, one with a name of MAX_WINDOW_NAME_CHARS characters (the key state's 2 KB sizing)
    from barometer.core.keystate import MAX_WINDOW_NAME_CHARS, MAX_WINDOWS

    names = [f"{i + 1}h" for i in range(MAX_WINDOWS - 1)] + ["9" * (MAX_WINDOW_NAME_CHARS - 1) + "s"]
    # When parsed, Then every window is kept
    assert [w.name for w in parse_settings(with_change(["rolling_windows"], names)).windows] == names


def test_more_windows_than_the_key_state_holds_are_refused():
    from barometer.core.keystate import MAX_WINDOWS

    names = [f"{i + 1}m" for i in range(MAX_WINDOWS + 1)]
    with pytest.raises(ConfigError, match=rf"^rolling_windows: at most {MAX_WINDOWS} windows"):
        parse_settings(with_change(["rolling_windows"], names))


def test_a_window_name_longer_than_the_key_state_holds_is_refused():
    from barometer.core.keystate import MAX_WINDOW_NAME_CHARS

    long_name = "1" * MAX_WINDOW_NAME_CHARS + "s"  # a valid duration, one character too long as a name
    with pytest.raises(ConfigError, match=r"^rolling_windows\[1\]: .* longer than"):
        parse_settings(with_change(["rolling_windows"], ["5m", long_name]))


# -- the file as `barometer up`, `barometer config check` and Dagster read it --------------------
def test_a_threshold_at_a_metric_bound_is_accepted():
    settings = parse_settings(with_change(["weather_rules", 0, "threshold"], 2000))
    assert settings.weather_rules[0].threshold == 2000.0


def test_a_file_with_a_syntax_error_is_refused_with_its_line(tmp_path):
    # given a file whose flow mapping is never closed
    path = tmp_path / "barometer.yaml"
    path.write_text("market_drop_pct: 10\nsymbols: [{symbol: AAPL\nrolling_windows: [5m]\n")
    # when it is checked, then the error names the file, says YAML and gives a line
    with pytest.raises(ConfigError) as caught:
        check_config_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML at line ") and "Traceback" not in message


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    # given a file where a later line silently overrode an earlier one under plain YAML
    path = tmp_path / "barometer.yaml"
    path.write_text("market_drop_pct: 10\npoller:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(ConfigError) as caught:
        check_config_file(path)
    assert "line 4" in str(caught.value) and "'seed' is given twice (first on line 3)" in str(caught.value)


def test_a_misspelt_top_level_key_in_a_file_is_refused_with_the_file_and_the_key(tmp_path):
    path = tmp_path / "barometer.yaml"
    path.write_text("market_drop_percent: 5\n")
    with pytest.raises(ConfigError) as caught:
        check_config_file(path)
    assert str(caught.value) == f"{path}: market_drop_percent: unknown key; did you mean market_drop_pct?"


def test_a_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        check_config_file(tmp_path / "nope.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'nope.yaml'}: cannot read it")


def test_inline_json_with_a_key_given_twice_is_refused(monkeypatch):
    monkeypatch.setenv(CONFIG_JSON_ENV, '{"market_drop_pct": 10, "market_drop_pct": 20}')
    with pytest.raises(ConfigError) as caught:
        check_configured()
    assert "'market_drop_pct' is given twice" in str(caught.value)


def test_inline_json_errors_name_the_variable_and_the_key(monkeypatch):
    monkeypatch.setenv(CONFIG_JSON_ENV, '{"rolling_windows": ["5x"]}')
    with pytest.raises(ConfigError) as caught:
        check_configured()
    assert str(caught.value).startswith(f"{CONFIG_JSON_ENV}: rolling_windows[0]:")


def test_the_repository_file_checks_and_summarises():
    settings = check_config_file(DEFAULT_CONFIG_PATH)
    assert describe(settings).startswith(f"{len(settings.symbols)} symbols, {len(settings.cities)} cities, windows ")
