"""The lake layout and key encodings (barometer/lake.py): the one definition the catalogue, the domain
and the readers share, and the sort-key order the range reads rely on."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from barometer import catalogue, lake
from barometer.core.events import Event
from barometer.core.rules import Alert
from barometer.core.timeutil import to_epoch_us
from barometer.core.windows import departure_sk_bounds

T = datetime(2026, 11, 24, 15, 4, 5, 120000, tzinfo=UTC)
ids = st.from_regex(r"[A-Za-z0-9._:\-]{1,128}", fullmatch=True)
instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


def test_the_catalogues_deliveries_write_into_the_lakes_zones():
    assert catalogue.LAKE_TABLES == lake.LAKE_TABLES == tuple(lake.LAKE_SCHEMAS)
    assert catalogue.RAW_DELIVERY.prefix == lake.RAW_PREFIX
    assert catalogue.RAW_DELIVERY.error_prefix.startswith(lake.ERRORS_PREFIX)
    for delivery in catalogue.PROCESSED_DELIVERIES:
        assert delivery.prefix == f"{lake.PROCESSED_PREFIX}{delivery.lake_table}/"
        assert delivery.error_prefix == f"{lake.ERRORS_PREFIX}{delivery.lake_table}/"


def test_object_keys_are_under_their_zone():
    assert lake.extract_key("daily_ohlc") == "extracts/daily_ohlc.json"
    assert lake.quarantine_key("2026-11-24", "shardId-000", "4965") == "quarantine/dt=2026-11-24/shardId-000-4965.json"


def test_items_are_keyed_by_the_lakes_encodings():
    event = Event("quote", "AAPL", T, "e-1", 1.0, {"price": 1.0}, None)
    assert (event.pk, event.sk) == (lake.item_pk("quote", "AAPL"), lake.metrics_sk(T, "e-1"))
    alert = Alert("market", "AAPL", "market_drop", T, 1.0, "2026-11-24", "e-1", 10.0)
    assert (alert.pk, alert.sk, alert.ts_key()) == (
        lake.item_pk("market", "AAPL"), lake.alert_sk("2026-11-24", "market_drop"),
        lake.alert_ts_key(T, "AAPL", "market_drop"))


@given(instants, ids)
def test_the_bound_after_an_instant_sorts_between_its_keys_and_the_next_instants(ts, event_id):
    after = lake.sk_after_instant(ts)
    assert lake.SK_FIRST < lake.metrics_sk(ts, event_id) < after < lake.SK_LAST
    assert after < lake.metrics_sk(ts + timedelta(microseconds=1), "")
    assert lake.alert_ts_key(ts, event_id, "rule") < after


@given(instants, ids)
def test_a_days_bounds_hold_exactly_that_utc_days_keys(ts, event_id):
    lower, upper = lake.sk_day_bounds(ts.date().isoformat())
    assert lower < lake.metrics_sk(ts, event_id) < upper
    assert not lower < lake.metrics_sk(ts + timedelta(days=1), event_id) < upper


def test_departure_bounds_are_the_lakes_encodings():
    us = to_epoch_us(T)
    assert departure_sk_bounds(us, us + 1) == (lake.sk_after_instant(T),
                                               lake.sk_after_instant(T + timedelta(microseconds=1)))
    assert departure_sk_bounds(us, us, "e-1")[0] == lake.metrics_sk(T, "e-1")
