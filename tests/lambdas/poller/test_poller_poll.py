"""Poll requests from scheduler events, and polling through fake providers."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from poller_fakes import scheduler_event

from barometer.config import PollerSettings
from lambdas.poller.poll import PollRequestError, parse_request, poll, request_from_options
from lambdas.poller.ports import ProviderError

NOW = datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC)
CONFIG = PollerSettings()


class FakeMarket:
    name = "fake-market"

    def __init__(self, fail=(), crash=(), slow=()):
        self.fail, self.crash, self.slow = set(fail), set(crash), set(slow)
        self.calls = []

    def quote(self, symbol, now):
        self.calls.append((symbol.symbol, now))
        if symbol.symbol in self.slow:
            time.sleep(1.0)
        if symbol.symbol in self.fail:
            raise ProviderError(f"no quote for {symbol.symbol}")
        if symbol.symbol in self.crash:
            raise KeyError("c")
        return {"kind": "quote", "symbol": symbol.symbol, "price": 1.0, "ts": "2026-11-24T16:00:00Z",
                "event_id": f"fake:{symbol.symbol}"}


class FakeWeather:
    name = "fake-weather"

    def observe(self, city, now):
        return {"kind": "weather", "city": city.name, "temp_c": 1.0, "ts": "2026-11-24T16:00:00Z",
                "event_id": f"fake:{city.name}"}


def test_a_plain_scheduler_event_polls_everything_configured_at_its_time(settings):
    request = parse_request(scheduler_event("scheduled_local"), settings, CONFIG, NOW)
    assert request.time == datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
    assert (request.market, request.weather) == ("simulator", "simulator")
    assert [s.symbol for s in request.symbols] == ["AAPL", "MSFT", "SAP"]
    assert [c.name for c in request.cities] == ["Seattle", "New York", "Sydney"]


def test_an_eventbridge_scheduled_event_is_understood(settings):
    request = parse_request(scheduler_event("scheduled_eventbridge"), settings, CONFIG, NOW)
    assert request.time == datetime(2026, 11, 24, 15, 5, tzinfo=UTC) and len(request.symbols) == 3


def test_no_event_at_all_polls_now(settings):
    assert parse_request(None, settings, CONFIG, NOW).time == NOW
    assert parse_request({}, settings, CONFIG, NOW).time == NOW


def test_overrides_choose_providers_symbols_and_cities(settings):
    request = parse_request(scheduler_event("on_demand_override"), settings, CONFIG, NOW)
    # an unconfigured symbol is polled on the default exchange timezone
    assert [(s.symbol, s.timezone) for s in request.symbols] == [("AAPL", "America/New_York"),
                                                                  ("TSLA", "America/New_York")]
    assert [c.name for c in request.cities] == ["Seattle"]


def test_empty_lists_poll_nothing_of_that_kind(settings):
    request = parse_request({"symbols": [], "providers": {"weather": "open-meteo"}}, settings, CONFIG, NOW)
    assert request.symbols == () and len(request.cities) == 3 and request.weather == "open-meteo"


def test_command_line_options_make_the_request_the_poller_reads(settings):
    # Given the options of `barometer poll` / `python -m lambdas.poller` (names comma-separated, spaces around)
    event = request_from_options("barometer.cli", time="2026-11-24T15:04:05Z", weather="open-meteo",
                                 symbols=" AAPL, TSLA ,", cities="")
    # When the poller parses the request they make
    request = parse_request(event, settings, CONFIG, NOW)
    # Then it polls those symbols at that time, no city, with the chosen weather provider and the configured market
    assert event == {"source": "barometer.cli", "time": "2026-11-24T15:04:05Z",
                     "providers": {"weather": "open-meteo"}, "symbols": ["AAPL", "TSLA"], "cities": []}
    assert [s.symbol for s in request.symbols] == ["AAPL", "TSLA"] and request.cities == ()
    assert request.time == datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC) and request.weather == "open-meteo"
    # And options left out are left to the configuration
    assert request_from_options("barometer.cli") == {"source": "barometer.cli"}


@pytest.mark.parametrize("event, message", [
    ("not an object", r"^event: expected a JSON object"),
    ({"time": 1732460000}, r"^time: expected an RFC 3339 string, got int"),
    ({"time": "2026-11-24T15:04:05"}, r"^time: must be an RFC 3339 timestamp with a zone"),
    ({"time": "yesterday"}, r"^time: must be an RFC 3339"),
    ({"symbols": "AAPL"}, r"^symbols: expected a list of names"),
    ({"symbols": ["aapl"]}, r"^symbols\[0\]: expected 1-10 characters"),
    ({"cities": ["Seattle", "Atlantis"]}, r"^cities\[1\]: 'Atlantis' is not a configured city"),
    ({"providers": "finnhub"}, r"^providers: expected an object"),
    ({"providers": {"stocks": "finnhub"}}, r"^providers\.stocks: unknown key"),
    ({"providers": {"weather": "finnhub"}}, r"^providers\.weather: expected one of simulator, open-meteo"),
])
def test_bad_requests_name_the_field(event, message, settings):
    with pytest.raises(PollRequestError, match=message):
        parse_request(event, settings, CONFIG, NOW)


def test_the_bad_override_fixture_is_refused(settings):
    with pytest.raises(PollRequestError, match=r"^providers\.market: .*got 'bloomberg'"):
        parse_request(scheduler_event("bad_override"), settings, CONFIG, NOW)


def test_a_failing_symbol_does_not_stop_the_others(settings):
    # Given a market provider that fails for MSFT and crashes (a bug) for SAP
    market = FakeMarket(fail={"MSFT"}, crash={"SAP"})
    request = parse_request({}, settings, CONFIG, NOW)
    # When everything is polled
    outcome = poll(request, market, FakeWeather())
    # Then AAPL and every city still produce events, in the request's order
    assert [e.get("symbol") or e["city"] for e in outcome.events] == ["AAPL", "Seattle", "New York", "Sydney"]
    # And both failures are listed with their provider and reason
    assert outcome.failures == [
        {"kind": "quote", "key": "MSFT", "provider": "fake-market", "error": "no quote for MSFT"},
        {"kind": "quote", "key": "SAP", "provider": "fake-market", "error": "KeyError: 'c'"},
    ]
    assert {call[1] for call in market.calls} == {NOW}


def test_a_slow_provider_is_cut_off_by_the_poll_budget(settings):
    market = FakeMarket(slow={"SAP"})
    request = parse_request({"cities": []}, settings, CONFIG, NOW)
    started = time.monotonic()
    outcome = poll(request, market, None, timeout_s=0.3)
    assert time.monotonic() - started < 0.9
    assert [e["symbol"] for e in outcome.events] == ["AAPL", "MSFT"]
    assert outcome.failures == [{"kind": "quote", "key": "SAP", "provider": "fake-market",
                                 "error": "no answer within the poll's 0.3s budget"}]


def test_nothing_to_poll_is_an_empty_outcome(settings):
    request = parse_request({"symbols": [], "cities": []}, settings, CONFIG, NOW)
    outcome = poll(request, None, None)
    assert outcome.events == [] and outcome.failures == []
