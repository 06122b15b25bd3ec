"""Read parameters and event timestamps an attacker would try: other Unicode digits, extreme dates.

RFC 3339 allows ASCII digits only, while Python's int() and `\\d` take any Unicode digit; the years 0001
and 9999 sit at the ends of datetime's range, where date arithmetic overflows. Each is a 4xx naming the
field, or a normal answer, never a 5xx.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.lambdas.api.api_fakes import Fakes

ARABIC_INDIC = "٢٠٢٦-١١-٢٤T15:04:05Z"       # 2026-11-24 in Arabic-Indic digits
FULLWIDTH = "２０２６-11-24T15:04:05Z"       # fullwidth digits in the year
DEVANAGARI_FRACTION = "2026-11-24T15:04:05.१Z"  # one Devanagari digit in the fraction
EXTREMES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31"]


@pytest.fixture
def fakes() -> Fakes:
    fakes = Fakes()
    fakes.store.add_latest("quote", "AAPL", price=1.0)
    fakes.store.add_metric("quote", "AAPL", "2026-11-24T15:04:05.000000Z", 1.0, "e1")
    return fakes


@pytest.mark.parametrize("value", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI_FRACTION])
@pytest.mark.parametrize("path", ["/v1/series/quote/AAPL", "/v1/alerts"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_time_parameter_with_non_ascii_digits_is_400_naming_it(fakes, path, name, value):
    status, answer = fakes.call("GET", path, query={name: value})
    assert status == 400 and answer["error"].startswith(f"{name}:")


@pytest.mark.parametrize("value", ["٢٠٢٦-١١-٢٤", "２０２６-11-24", ARABIC_INDIC])
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_rollup_day_with_non_ascii_digits_is_400_naming_it(fakes, name, value):
    status, answer = fakes.call("GET", "/v1/rollups/daily_ohlc", query={name: value})
    assert status == 400 and answer["error"].startswith(f"{name}:")


@pytest.mark.parametrize("ts", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI_FRACTION])
def test_an_event_timestamp_with_non_ascii_digits_is_refused_and_its_sibling_goes_through(fakes, ts):
    good_ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = [{"kind": "quote", "symbol": "AAPL", "price": 1.5, "ts": ts},
              {"kind": "quote", "symbol": "AAPL", "price": 1.5, "ts": good_ts}]
    status, answer = fakes.call("POST", "/v1/events", {"events": events})
    assert status == 200 and answer["accepted"] == 1
    assert [(f["index"], [e["field"] for e in f["errors"]]) for f in answer["failed"]] == [(0, ["ts"])]
    assert len(fakes.stream.records) == 1


@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize("path", ["/v1/series/quote/AAPL", "/v1/alerts", "/v1/rollups/daily_ohlc"])
@pytest.mark.parametrize("names", [("from",), ("to",), ("from", "to")])
def test_extreme_dates_in_read_parameters_are_answered_below_500(fakes, path, names, value):
    status, answer = fakes.call("GET", path, query={name: value for name in names})
    assert status < 500, answer
    if status >= 400:
        assert answer["error"].split(":")[0] in names
