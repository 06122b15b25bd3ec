"""The seeded simulator: contract-valid, deterministic, and crashes only when asked to."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from barometer.config import CityRef, SymbolRef, parse_settings
from barometer.core.events import parse_event
from lambdas.poller.events import EVENT_ID_PATTERN, encode
from lambdas.poller.simulator import SimulatedMarket, SimulatedWeather

SETTINGS = parse_settings({
    "cities": [{"name": "Anywhere", "lat": 0, "lon": 0, "timezone": "UTC"}],
})
TIMEZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney", "UTC", "Pacific/Kiritimati"]

times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))
seeds = st.integers(min_value=0, max_value=2**63 - 1)
symbols = st.builds(SymbolRef, st.from_regex(r"[A-Z0-9.\-]{1,10}", fullmatch=True), st.sampled_from(TIMEZONES))
cities = st.builds(
    CityRef,
    st.just("Anywhere"),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.sampled_from(TIMEZONES),
)


def assert_contract(event: dict, now: datetime) -> None:
    """The event contract of docs/contracts.md, checked by the domain core's own validator and explicitly."""
    parsed = parse_event(event, SETTINGS, now=now + timedelta(minutes=1))
    assert parsed.event_id == event["event_id"]  # kept, not derived
    assert EVENT_ID_PATTERN.match(event["event_id"])
    assert event["ts"].endswith("Z")
    encode(event)  # compact JSON without NaN/Infinity


@given(seed=seeds, symbol=symbols, now=times, drop_chance=st.sampled_from([0.0, 0.5, 1.0]))
def test_quotes_always_satisfy_the_contract(seed, symbol, now, drop_chance):
    event = SimulatedMarket(seed, drop_chance=drop_chance).quote(symbol, now)
    assert_contract(event, now)
    assert math.isfinite(event["price"]) and event["price"] > 0
    assert isinstance(event["volume"], int) and event["volume"] >= 0
    assert event["symbol"] == symbol.symbol and event["currency"] == "USD"


@given(seed=seeds, city=cities, now=times)
def test_weather_always_satisfies_the_contract(seed, city, now):
    event = SimulatedWeather(seed).observe(city, now)
    assert_contract(event, now)
    assert -60 < event["temp_c"] < 60
    assert 0 <= event["humidity_pct"] <= 100
    assert event["wind_mps"] >= 0 and event["precip_mm"] >= 0
    assert 950 <= event["pressure_hpa"] <= 1050


@given(seed=seeds, symbol=symbols, city=cities, now=times, second=st.integers(0, 59))
def test_same_seed_and_minute_give_the_same_events(seed, symbol, city, now, second):
    # Given two independent simulators with the same seed
    # When both are polled within the same minute
    later = now.replace(second=second, microsecond=0)
    # Then they produce identical events (so a re-poll is a duplicate)
    assert SimulatedMarket(seed, 0.3).quote(symbol, now) == SimulatedMarket(seed, 0.3).quote(symbol, later)
    assert SimulatedWeather(seed).observe(city, now) == SimulatedWeather(seed).observe(city, later)


def test_different_seeds_and_minutes_give_different_prices():
    aapl = SymbolRef("AAPL", "America/New_York")
    now = datetime(2026, 11, 24, 15, 4, tzinfo=UTC)
    prices = {SimulatedMarket(seed).quote(aapl, now)["price"] for seed in range(20)}
    assert len(prices) == 20
    minutes = {SimulatedMarket(1).quote(aapl, now + timedelta(minutes=m))["event_id"] for m in range(5)}
    assert len(minutes) == 5


def _previous_day_prices(market: SimulatedMarket, symbol: SymbolRef, now: datetime) -> list[float]:
    tz = ZoneInfo(symbol.timezone)
    local_midnight = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
    start = (local_midnight - timedelta(days=1)).astimezone(UTC)
    end = local_midnight.astimezone(UTC)
    minutes = int((end - start).total_seconds() // 60)  # 1380-1500 across DST changes
    return [market.price(symbol, start + timedelta(minutes=m)) for m in range(minutes)]


@hyp_settings(max_examples=15, deadline=None)
@given(seed=seeds, symbol=symbols, now=times)
def test_without_injected_crashes_no_price_falls_ten_percent_below_any_previous_day_price(seed, symbol, now):
    # Given a simulator with no crash chance
    market = SimulatedMarket(seed)
    # When any minute's price is compared with every price of the previous local day
    price = market.quote(symbol, now)["price"]
    lowest_allowed = 0.9 * max(_previous_day_prices(market, symbol, now))
    # Then it never trips the default 10% market-drop rule
    assert price > lowest_allowed


@hyp_settings(max_examples=15, deadline=None)
@given(seed=seeds, symbol=symbols, now=times, threshold=st.sampled_from([5.0, 10.0, 25.0]))
def test_an_injected_crash_is_past_the_threshold_against_every_previous_day_price(seed, symbol, now, threshold):
    # Given a simulator that crashes every quote, for the configured threshold
    market = SimulatedMarket(seed, drop_chance=1.0, drop_threshold_pct=threshold)
    # When a crash is compared with every price (crashed or not) of the previous local day
    crash = market.quote(symbol, now)["price"]
    calm = SimulatedMarket(seed)
    previous = _previous_day_prices(calm, symbol, now)
    # Then it is at least threshold% below each of them, whatever the previous close was
    assert crash <= (1 - threshold / 100) * min(previous)


def test_drop_chance_sets_the_share_of_crashed_minutes_and_only_those_change():
    aapl = SymbolRef("AAPL", "America/New_York")
    calm, crashing = SimulatedMarket(42), SimulatedMarket(42, drop_chance=0.1)
    start = datetime(2026, 11, 24, tzinfo=UTC)
    minutes = [start + timedelta(minutes=m) for m in range(2000)]
    crashed = [m for m in minutes if crashing.is_crash("AAPL", int(m.timestamp()))]
    assert 150 <= len(crashed) <= 250  # 10% of 2000 minutes, within sampling noise
    changed = [m for m in minutes if calm.price(aapl, m) != crashing.price(aapl, m)]
    assert changed == crashed


@pytest.mark.parametrize("city, month, low, high", [
    (CityRef("Seattle", 47.61, -122.33, "America/Los_Angeles"), 1, -12, 17),
    (CityRef("Seattle", 47.61, -122.33, "America/Los_Angeles"), 7, 8, 35),
    (CityRef("Sydney", -33.87, 151.21, "Australia/Sydney"), 1, 13, 40),
    (CityRef("Sydney", -33.87, 151.21, "Australia/Sydney"), 7, 0, 27),
    (CityRef("Singapore", 1.35, 103.82, "Asia/Singapore"), 1, 18, 37),
])
def test_temperatures_follow_latitude_and_season(city, month, low, high):
    weather = SimulatedWeather(3)
    temps = [weather.observe(city, datetime(2026, month, day, hour, tzinfo=UTC))["temp_c"]
             for day in range(1, 29) for hour in range(0, 24, 3)]
    assert low <= min(temps) and max(temps) <= high
    assert max(temps) - min(temps) > 3  # days and nights differ


def test_afternoons_are_warmer_than_nights_on_average():
    weather = SimulatedWeather(5)
    london = CityRef("London", 51.51, -0.13, "Europe/London")
    def mean_at(hour):
        return sum(weather.observe(london, datetime(2026, 4, d, hour, tzinfo=UTC))["temp_c"] for d in range(1, 31)) / 30
    assert mean_at(15) > mean_at(4) + 4
