"""Finnhub adapter against recorded responses in Finnhub's documented format (no network)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from poller_fakes import ReplayTransport, recorded, recorded_url

from barometer.config import SymbolRef
from lambdas.poller.events import EVENT_ID_PATTERN
from lambdas.poller.finnhub import FinnhubError, FinnhubMarket, parse_quote
from lambdas.poller.http_get import TransportError

AAPL = SymbolRef("AAPL", "America/New_York")
NOW = datetime(2024, 11, 22, 21, 0, 30, tzinfo=UTC)


def market(transport, sleeps, **kwargs) -> FinnhubMarket:
    return FinnhubMarket(lambda: "test-key", transport=transport, sleep=sleeps, **kwargs)


def test_a_quote_becomes_a_contract_event_with_the_trade_time_as_id(sleeps):
    # Given Finnhub's recorded answer for AAPL
    transport = ReplayTransport(recorded("finnhub/quote_aapl"))
    # When the adapter polls AAPL
    event = market(transport, sleeps).quote(AAPL, NOW)
    # Then the event carries the current price and the last trade time (t) in UTC
    assert event == {"kind": "quote", "symbol": "AAPL", "price": 229.87, "ts": "2024-11-22T21:00:00Z",
                     "currency": "USD", "source": "finnhub", "event_id": "finnhub:quote:AAPL:1732309200"}
    assert EVENT_ID_PATTERN.match(event["event_id"])
    # And the request is the documented one, with the key in a header rather than in the URL
    url, headers, timeout = transport.calls[0]
    assert url == recorded_url("finnhub/quote_aapl")
    assert headers == {"X-Finnhub-Token": "test-key"}
    assert "test-key" not in url and timeout == 5.0


def test_polling_an_unchanged_quote_again_gives_the_same_event_id(sleeps):
    transport = ReplayTransport(recorded("finnhub/quote_aapl"), recorded("finnhub/quote_aapl"))
    adapter = market(transport, sleeps)
    first = adapter.quote(AAPL, NOW)
    second = adapter.quote(AAPL, NOW.replace(minute=5))
    assert first["event_id"] == second["event_id"]


def test_the_all_zero_answer_for_an_unknown_symbol_is_an_error_not_a_price_of_zero(sleeps):
    transport = ReplayTransport(recorded("finnhub/quote_unknown_symbol"))
    with pytest.raises(FinnhubError, match="no quote for ZZZZ.*all-zero"):
        market(transport, sleeps).quote(SymbolRef("ZZZZ", "America/New_York"), NOW)


def test_a_rejected_key_is_reported_without_retrying(sleeps):
    transport = ReplayTransport(recorded("finnhub/unauthorized_401"))
    with pytest.raises(FinnhubError, match=r"rejected the API key for AAPL \(HTTP 401: Invalid API key\)"):
        market(transport, sleeps).quote(AAPL, NOW)
    assert len(transport.calls) == 1 and sleeps == []


def test_the_rate_limit_is_retried_honouring_retry_after_then_reported(sleeps):
    # Given Finnhub answers 429 (Retry-After: 1) to every attempt
    transport = ReplayTransport(*[recorded("finnhub/rate_limited_429")] * 3)
    # When the adapter polls with 3 attempts
    with pytest.raises(FinnhubError, match="rate limit reached for AAPL"):
        market(transport, sleeps, max_attempts=3).quote(AAPL, NOW)
    # Then it tried exactly 3 times and backed off between attempts only
    assert len(transport.calls) == 3
    assert sleeps == [1.0, 1.0]


def test_a_transient_server_error_is_retried_and_the_next_answer_used(sleeps):
    transport = ReplayTransport(recorded("finnhub/server_error_502"), recorded("finnhub/quote_aapl"))
    event = market(transport, sleeps).quote(AAPL, NOW)
    assert event["price"] == 229.87 and len(transport.calls) == 2 and sleeps == [0.5]


def test_a_persistent_server_error_names_the_status(sleeps):
    transport = ReplayTransport(*[recorded("finnhub/server_error_502")] * 2)
    with pytest.raises(FinnhubError, match="HTTP 502 for AAPL: <html>"):
        market(transport, sleeps, max_attempts=2).quote(AAPL, NOW)


def test_no_answer_at_all_is_a_finnhub_error_after_the_bounded_attempts(sleeps):
    transport = ReplayTransport(*[TransportError("no answer from finnhub.io: timed out")] * 2)
    with pytest.raises(FinnhubError, match="AAPL: no answer from finnhub.io: timed out"):
        market(transport, sleeps, max_attempts=2).quote(AAPL, NOW)
    assert len(transport.calls) == 2


@pytest.mark.parametrize("fixture, message", [
    ("finnhub/malformed_body", "body is not JSON"),
    ("finnhub/missing_fields", "field 'c' must be a finite number, got None"),
])
def test_unusable_bodies_name_the_problem(fixture, message, sleeps):
    transport = ReplayTransport(recorded(fixture))
    with pytest.raises(FinnhubError, match=message):
        market(transport, sleeps).quote(AAPL, NOW)


@pytest.mark.parametrize("body, message", [
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'{"c": -3.5, "t": 1732309200}', "field 'c' must be a positive price"),
    (b'{"c": 229.87, "t": 0}', "field 't' must be a positive epoch second"),
    (b'{"c": 229.87, "t": 1732309200.5}', "field 't' must be a positive epoch second"),
    (b'{"c": "229.87", "t": 1732309200}', "field 'c' must be a finite number"),
    (b'{"c": true, "t": 1732309200}', "field 'c' must be a finite number"),
    (b'{"c": NaN, "t": 1732309200}', "field 'c' must be a finite number"),
    (b'{"c": 229.87, "t": 99999999999999999}', "field 't' is out of range"),
])
def test_parse_quote_rejects_bad_values_naming_the_field(body, message):
    with pytest.raises(FinnhubError, match=message):
        parse_quote("AAPL", body)


def test_symbols_are_url_encoded():
    adapter = FinnhubMarket(lambda: "k")
    assert adapter.url("BRK.B") == "https://finnhub.io/api/v1/quote?symbol=BRK.B"
    assert adapter.url("A&B") == "https://finnhub.io/api/v1/quote?symbol=A%26B"


def test_the_event_passes_the_domain_cores_validation(settings):
    from barometer.core.events import parse_event

    event = parse_quote("AAPL", recorded("finnhub/quote_aapl").body)
    parsed = parse_event(event, settings, now=NOW)
    assert (parsed.key, parsed.value, parsed.event_id) == ("AAPL", 229.87, "finnhub:quote:AAPL:1732309200")
