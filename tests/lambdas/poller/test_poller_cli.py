"""`python -m lambdas.poller --dry-run`: one poll printed as JSON lines."""
from __future__ import annotations

import json

import pytest

from lambdas.poller.__main__ import main
from lambdas.poller.handler import metrics


@pytest.fixture(autouse=True)
def _repo_config(monkeypatch):
    from barometer.settings import DEFAULT_CONFIG_PATH, get_settings

    monkeypatch.setenv("BAROMETER_CONFIG", str(DEFAULT_CONFIG_PATH))
    monkeypatch.delenv("BAROMETER_CONFIG_JSON", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    metrics.clear_metrics()


def test_a_dry_run_prints_the_events_of_the_minute(capsys):
    code = main(["--dry-run", "--time", "2026-11-24T15:04:30Z", "--symbols", "AAPL,MSFT", "--cities", "London"])
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert code == 0
    assert [(e["kind"], e.get("symbol") or e["city"]) for e in events] == [
        ("quote", "AAPL"), ("quote", "MSFT"), ("weather", "London")]
    assert {e["ts"] for e in events} == {"2026-11-24T15:04:00Z"}


def test_a_failed_poll_exits_non_zero_with_the_reason(capsys):
    code = main(["--dry-run", "--cities", "Atlantis", "--symbols", ""])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "cities[0]: 'Atlantis' is not a configured city" in captured.err


def test_without_a_stream_it_says_what_to_run_instead_of_a_traceback(capsys, monkeypatch):
    # Given a shell with no stream configured (outside Lambda and outside the local platform)
    monkeypatch.delenv("BAROMETER_EVENTS_STREAM", raising=False)
    # When a real poll is asked for, then it exits 2 naming the variable and the command that works
    code = main(["--time", "2026-11-24T15:04:30Z", "--symbols", "AAPL"])
    err = capsys.readouterr().err
    assert code == 2
    assert "BAROMETER_EVENTS_STREAM is not set" in err and "barometer poll" in err and "Traceback" not in err
