"""Values the read API derives (means, sums, percent changes) are rounded; event values are returned as sent."""
from __future__ import annotations

import uuid

import pytest
from api_fakes import Fakes

from barometer import catalogue
from barometer_local.provision import create_table
from lambdas.api.queries import DynamoReadStore
from lambdas.api.rounding import DERIVED_DECIMALS, round_derived, round_item, round_rollup_row


def test_a_derived_float_loses_its_noise_and_nothing_else_changes():
    assert DERIVED_DECIMALS == 4
    assert round_derived(249.63400000006135) == 249.634
    assert round_derived(-14.999999999999996) == -15.0
    assert round_derived(-0.00001) == 0.0 and str(round_derived(-0.00001)) == "0.0"
    assert round_derived(None) is None and round_derived(3) == 3
    assert round_derived(float("nan")) != round_derived(float("nan"))  # left alone, not turned into a number


def test_a_latest_item_has_its_rolling_means_and_change_rounded_and_its_event_values_kept():
    item = {"value": 187.123456789, "fields": {"price": 187.123456789}, "previous_close": 200.000001,
            "rolling": {"5m": 249.63400000006135, "1h": None}, "change_pct": -6.438271605500001}
    shown = round_item(item)
    assert shown == {"value": 187.123456789, "fields": {"price": 187.123456789}, "previous_close": 200.000001,
                     "rolling": {"5m": 249.634, "1h": None}, "change_pct": -6.4383}
    assert item["rolling"]["5m"] == 249.63400000006135  # the stored item is not changed


def test_rollup_means_and_sums_are_rounded_the_copied_extremes_are_not():
    row = {"day": "2026-11-30", "city": "Seattle", "temp_avg_c": 12.033333333333333, "precip_mm": 0.30000000000000004,
           "temp_min_c": 11.123456789, "observations": 3}
    assert round_rollup_row("daily_weather", row) == {**row, "temp_avg_c": 12.0333, "precip_mm": 0.3}
    ohlc = {"day": "2026-11-30", "symbol": "AAPL", "open": 1.123456789, "close": 2.5}
    assert round_rollup_row("daily_ohlc", ohlc) == ohlc


def test_the_series_carries_rounded_rolling_means_beside_the_raw_values():
    # Given prices whose running means are not exact in binary floating point
    fakes = Fakes()
    fakes.store.add_latest("quote", "AAPL", value=249.6271)
    prices = [249.61, 249.65, 249.642, 249.634, 249.6271]
    for n, price in enumerate(prices):
        fakes.store.add_metric("quote", "AAPL", f"2026-11-24T15:00:0{n}.000000Z", price, f"e{n}")
    # When the series is read
    status, body = fakes.call("GET", "/v1/series/quote/AAPL", query={"from": "2026-11-24T00:00:00Z"})
    # Then every mean has at most four decimals, and the values are the prices as sent
    assert status == 200
    assert [e["value"] for e in body["events"]] == prices
    assert [e["rolling"]["5m"] for e in body["events"]] == [249.61, 249.63, 249.634, 249.634, 249.6326]


def test_rollup_rows_from_the_api_are_rounded():
    fakes = Fakes()
    fakes.rollups.rows_held = [{"day": "2026-11-24", "city": "Seattle", "temp_avg_c": 12.033333333333333,
                                "precip_mm": 0.30000000000000004, "temp_max_c": 12.55}]
    status, body = fakes.call("GET", "/v1/rollups/daily_weather", query={"from": "2026-11-20", "to": "2026-11-25"})
    assert status == 200
    assert body["rows"] == [{"day": "2026-11-24", "city": "Seattle", "temp_avg_c": 12.0333, "precip_mm": 0.3,
                             "temp_max_c": 12.55}]


@pytest.mark.emulator
def test_latest_items_and_alerts_read_from_dynamodb_are_rounded(emulator_env, monkeypatch):
    from barometer.aws import client

    ddb = client("dynamodb")
    latest, alerts = f"latest-{uuid.uuid4().hex[:8]}", f"alerts-{uuid.uuid4().hex[:8]}"
    create_table(ddb, catalogue.LATEST_TABLE, latest)
    create_table(ddb, catalogue.ALERTS_TABLE, alerts)
    monkeypatch.setenv(catalogue.LATEST_TABLE.env_var, latest)
    monkeypatch.setenv(catalogue.ALERTS_TABLE.env_var, alerts)
    try:
        # Given a key state and an alert as the processor stores them, with float noise in the derived values
        ddb.put_item(TableName=latest, Item={
            "pk": {"S": "quote#AAPL"}, "kind": {"S": "quote"}, "key": {"S": "AAPL"}, "value": {"N": "170.123456789"},
            "ts": {"S": "2026-11-30T12:00:00Z"}, "version": {"N": "3"},
            "rolling": {"M": {"5m": {"N": "249.63400000006135"}}}, "change_pct": {"N": "-14.938271605500001"}})
        ddb.put_item(TableName=alerts, Item={
            "pk": {"S": "quote#AAPL"}, "sk": {"S": "2026-11-30#a1"}, "kind": {"S": "market"}, "key": {"S": "AAPL"},
            "ts_key": {"S": "2026-11-30T12:00:00.000000Z#a1"}, "value": {"N": "170.123456789"},
            "change_pct": {"N": "-14.938271605500001"}})
        store = DynamoReadStore()
        # When the API's store reads them
        one = store.latest("quote", "AAPL")
        (listed,), _ = store.latest_page("quote", None, 10, None)
        (alert,) = list(store.alerts_of_key("quote", "AAPL"))
        # Then the derived values are rounded and the price is as it came
        for item in (one, listed):
            assert item["rolling"] == {"5m": 249.634} and item["change_pct"] == -14.9383
            assert item["value"] == 170.123456789
        assert alert["change_pct"] == -14.9383 and alert["value"] == 170.123456789
        assert store.latest("quote", "MSFT") is None
    finally:
        ddb.delete_table(TableName=latest)
        ddb.delete_table(TableName=alerts)
