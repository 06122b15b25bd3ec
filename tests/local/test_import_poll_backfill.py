"""`barometer poll` over a range of minutes and `barometer backfill` over days, against a running local
platform (issue 13: the documented poller backfill crashed outside a Lambda)."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from barometer_local.cli import main
from barometer_local.client import ApiClient
from barometer_local.paths import HOME_ENV

DAY = (datetime.now(UTC) - timedelta(days=4)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(minute: int) -> str:
    return (DAY + timedelta(hours=15, minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def api(platform):
    return ApiClient(platform.api_url, platform.token())


def series(api: ApiClient, kind: str, key: str, first: str, last: str) -> list[dict]:
    status, body = api.get(f"/v1/series/{kind}/{key}", **{"from": first, "to": last, "limit": 5000})
    return body["events"] if status == 200 else []


def test_poll_over_a_range_puts_one_event_per_minute_and_again_doubles_nothing(platform, api, capsys):
    # given a running platform (its environment is not this process's: the CLI must set it itself)
    saved = {k: os.environ.pop(k) for k in ("BAROMETER_EVENTS_STREAM", "BAROMETER_AWS_ENDPOINT") if k in os.environ}
    try:
        # when the simulator is polled for AAPL over six past minutes
        code = main(["poll", "--symbols", "AAPL", "--cities", "", "--from", at(0), "--to", at(5)])

        # then each minute's quote is stored, and the summary says so
        assert code == 0
        err = capsys.readouterr().err
        assert '"minutes": 6, "polled": 6, "put": 6' in err
        assert "[poll] 6/6 minutes" in err
        api.wait_for(lambda: len(series(api, "quote", "AAPL", at(0), at(5))) == 6, timeout_s=90,
                     what="six polled quotes")
        first = series(api, "quote", "AAPL", at(0), at(5))
        assert [e["ts"] for e in first] == [at(i) for i in range(6)]

        # when the same range is polled again (and a later minute, to know the first are processed)
        assert main(["poll", "--symbols", "AAPL", "--cities", "", "--from", at(0), "--to", at(6)]) == 0
        api.wait_for(lambda: len(series(api, "quote", "AAPL", at(6), at(6))) == 1, timeout_s=90,
                     what="the seventh minute")

        # then the six minutes still hold one event each
        assert series(api, "quote", "AAPL", at(0), at(5)) == first
    finally:
        os.environ.update(saved)


def test_backfill_over_the_polled_day_computes_its_rollup(platform, api, capsys):
    # given the day's quotes polled above, delivered to the lake's processed zone
    def lake_rows() -> str:
        main(["query", f"SELECT count(*) AS n FROM quotes WHERE symbol = 'AAPL' AND dt = '{DAY:%Y-%m-%d}'"])
        return capsys.readouterr().out.splitlines()[-1]

    api.wait_for(lambda: lake_rows() == "7", timeout_s=90, what="the polled quotes in the lake")

    # when the day is backfilled
    code = main(["backfill", "--from", f"{DAY:%Y-%m-%d}", "--to", f"{DAY:%Y-%m-%d}"])

    # then Dagster's run succeeded step by step, and the day's OHLC counts the seven quotes
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    assert "STEP_SUCCESS" in err and "analytics__daily_ohlc" in err and "RUN_SUCCESS" in err
    main(["query", f"SELECT trades FROM daily_ohlc WHERE symbol = 'AAPL' AND day = '{DAY:%Y-%m-%d}'"])
    assert capsys.readouterr().out.splitlines()[-1] == "7"


def test_poll_and_backfill_without_a_platform_say_so_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert main(["poll", "--time", at(0)]) == 2
    assert main(["backfill", "--from", "2026-11-01", "--to", "2026-11-02"]) == 2
    err = capsys.readouterr().err
    assert err.count("no local platform is running") == 2 and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["poll", "--from", "2026-11-02", "--to", "2026-11-01"], "--to: must not be before --from"),
    (["poll", "--from", "2026-01-01", "--to", "2026-03-01"], "at most 44,640 (31 days) per command"),
    (["poll", "--from", "2026-11-01"], "--from and --to go together"),
    (["poll", "--time", "yesterday"], "--time: must be an RFC 3339 timestamp"),
    (["backfill", "--from", "2026-11-02", "--to", "2026-11-01"], "--to: must not be before --from"),
    (["backfill", "--from", "2026-13-01", "--to", "2026-11-01"], "expected YYYY-MM-DD"),
])
def test_bad_ranges_are_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
