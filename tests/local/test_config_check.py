"""Configuration checked before anything starts (`barometer up`, `barometer config check`), and a change
under a running platform reported as needing a restart (issue 13)."""
from __future__ import annotations

import pytest

from barometer.catalogue import CONFIG_JSON_ENV, CONFIG_PATH_ENV
from barometer.settings import DEFAULT_CONFIG_PATH
from barometer_local.cli import main
from barometer_local.config_watch import ConfigWatch
from barometer_local.paths import HOME_ENV

BAD_FILES = {
    "syntax": ("symbols: [{symbol: AAPL\n", "not valid YAML at line"),
    "unknown top-level key": ("market_drop_percent: 5\n", "market_drop_percent: unknown key; did you mean market_drop_pct?"),
    "unknown nested key": ("poller: {seeed: 3}\n", "poller.seeed: unknown key; did you mean seed?"),
    "timezone": ("cities: [{name: X, lat: 1, lon: 2, timezone: Mars/Base}]\n", "cities[0].timezone: unknown timezone"),
    "window": ("rolling_windows: [5m, 1w]\n", "rolling_windows[1]: expected a positive duration"),
    "threshold": ("weather_rules: [{name: hot, metric: temp_c, op: '>=', threshold: 400}]\n",
                  "weather_rules[0].threshold: 400 is outside temp_c's range"),
    "key twice": ("market_drop_pct: 5\nmarket_drop_pct: 6\n", "'market_drop_pct' is given twice"),
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(CONFIG_JSON_ENV, raising=False)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_config_check_refuses_a_bad_file_naming_the_key(case, clean_env, capsys):
    # given a file with one kind of mistake
    text, expected = BAD_FILES[case]
    path = clean_env / "barometer.yaml"
    path.write_text(text)
    # when it is checked
    code = main(["config", "check", str(path)])
    # then exit 2, one line naming the file and the key, no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"barometer config check: {path}: ") and expected in err, err
    assert "Traceback" not in err and err.count("\n") == 1


def test_config_check_accepts_the_repository_file_with_a_summary(clean_env, monkeypatch, capsys):
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{DEFAULT_CONFIG_PATH}: valid (") and out.count("\n") == 1


@pytest.mark.parametrize("case", ["syntax", "unknown top-level key", "threshold"])
def test_up_refuses_a_bad_file_before_anything_starts(case, clean_env, monkeypatch, capsys):
    # given BAROMETER_CONFIG naming a bad file
    path = clean_env / "barometer.yaml"
    path.write_text(BAD_FILES[case][0])
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    # when `barometer up` runs
    code = main(["up", "--port", "1"])
    # then it exits 2 naming the problem, and nothing was started (not even the state folder made)
    err = capsys.readouterr().err
    assert code == 2 and "nothing started" in err and BAD_FILES[case][1] in err, err
    assert not (clean_env / "home").exists()


def test_a_changed_file_under_a_running_platform_asks_for_a_restart(tmp_path):
    # given a platform started with a valid file
    path = tmp_path / "barometer.yaml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text())
    watch = ConfigWatch.start(path)
    assert watch.status() == {"path": str(path), "restart_needed": False, "problem": None}
    assert watch.message() is None
    # when the file is edited validly, then a restart is asked for
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace("market_drop_pct: 10", "market_drop_pct: 12"))
    assert watch.status()["restart_needed"] is True and watch.status()["problem"] is None
    assert "restart `barometer up` to apply it" in watch.message()
    # when it is then broken, then the problem is named too
    path.write_text("market_drop_percent: 12\n")
    status = watch.status()
    assert status["restart_needed"] is True and "market_drop_percent: unknown key" in status["problem"]
    assert "the new file is invalid" in watch.message()
    # when it is put back as it was, then no restart is needed
    path.write_text(DEFAULT_CONFIG_PATH.read_text())
    assert watch.status()["restart_needed"] is False and watch.message() is None
