"""Alert rules (docs/contracts.md "Semantics"): the market drop and the configured weather thresholds."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from core_builders import load_json, make_settings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from barometer.config import WeatherRule, parse_settings
from barometer.core.records import alert_item
from barometer.core.rules import alert_id_for, evaluate, market_alert, weather_alerts

SETTINGS = make_settings()
TS = datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)


def drop(price: float, close: float | None, pct: float = 10.0, day: str = "2026-11-24"):
    return market_alert("AAPL", TS, price, "e1", day, close, pct)


# -- market drop ---------------------------------------------------------------------------------
@pytest.mark.parametrize("close, price", [(200.0, 180.0), (0.3, 0.27), (1.1, 0.99), (123.45, 111.105),
                                          (0.07, 0.063), (987654.32, 888888.888)])
def test_a_price_exactly_ten_percent_below_the_close_alerts(close, price):
    alert = drop(price, close)
    assert alert is not None
    assert (alert.kind, alert.rule, alert.reference_price, alert.value) == ("market", "market_drop", close, price)
    assert alert.change_pct == pytest.approx(-10.0)
    assert alert.threshold == 10.0


@pytest.mark.parametrize("close, price", [(200.0, 180.01), (0.3, 0.2701), (123.45, 111.106), (200.0, 200.0),
                                          (200.0, 250.0)])
def test_a_price_just_above_the_limit_does_not_alert(close, price):
    assert drop(price, close) is None


def test_a_deeper_drop_alerts_with_its_change():
    alert = drop(176.5, 200.0)
    assert alert.change_pct == -11.75
    assert "AAPL at 176.50 is 11.75% below its previous close 200.00" in alert.summary()


def test_without_a_previous_close_nothing_alerts():
    assert drop(1.0, None) is None
    assert evaluate("quote", "AAPL", TS, 1.0, {"price": 1.0}, "e1", "2026-11-24", None, SETTINGS) == []


@hsettings(max_examples=500, deadline=None)
@given(tenth_cents=st.integers(min_value=1, max_value=10**9))
def test_exactly_at_the_threshold_alerts_and_a_cent_above_does_not_at_any_magnitude(tenth_cents):
    # Given a close of 10*m cents and a price of 9*m cents (exactly 90% in decimal), for m from 1 to 1e9
    close, at_limit, above = 10 * tenth_cents / 100, 9 * tenth_cents / 100, (9 * tenth_cents + 1) / 100
    # Then the price at the limit alerts and one cent more does not
    assert drop(at_limit, close) is not None
    assert drop(above, close) is None


@hsettings(max_examples=500, deadline=None)
@given(close=st.floats(min_value=1e-4, max_value=1e9), pct=st.integers(min_value=1, max_value=99))
def test_any_threshold_is_inclusive_and_a_relative_hair_above_is_not(close, pct):
    limit = close * (100 - pct) / 100
    assert drop(limit, close, pct) is not None
    assert drop(limit * (1 + 1e-9), close, pct) is None
    assert drop(limit * (1 - 1e-9), close, pct) is not None


def test_evaluate_uses_the_configured_market_threshold():
    settings = parse_settings({**load_json("fixtures/config.json"), "market_drop_pct": 5})
    alerts = evaluate("quote", "AAPL", TS, 95.0, {"price": 95.0}, "e1", "2026-11-24", 100.0, settings)
    assert [(a.rule, a.threshold) for a in alerts] == [("market_drop", 5.0)]
    assert evaluate("quote", "AAPL", TS, 95.01, {"price": 95.01}, "e1", "2026-11-24", 100.0, settings) == []


# -- weather rules -------------------------------------------------------------------------------
@pytest.mark.parametrize("op, below, equal, above", [
    (">=", False, True, True), (">", False, False, True), ("<=", True, True, False), ("<", True, False, False),
    ("==", False, True, False),
])
def test_each_operator_compares_the_metric_with_the_threshold(op, below, equal, above):
    rule = WeatherRule("r", "precip_mm", op, 30.0)
    fired = [bool(weather_alerts("Seattle", TS, {"precip_mm": v}, "e1", "2026-11-24", (rule,))) for v in
             (29.999, 30.0, 30.001)]
    assert fired == [below, equal, above]


def test_the_configured_rules_fire_on_their_metrics_only():
    # Given heavy rain, freezing, heat and storm-wind rules
    alerts = evaluate("weather", "Seattle", TS, -12.0, {"temp_c": -12.0, "precip_mm": 30.0, "wind_mps": 24.4},
                      "e1", "2026-11-24", None, SETTINGS)
    assert sorted(a.rule for a in alerts) == ["freezing", "heavy_rain"]
    rain = next(a for a in alerts if a.rule == "heavy_rain")
    assert (rain.kind, rain.key, rain.metric, rain.op, rain.threshold, rain.value) == (
        "weather", "Seattle", "precip_mm", ">=", 30.0, 30.0)
    assert rain.reference_price is None and rain.change_pct is None


def test_a_metric_that_was_not_sent_never_fires():
    assert evaluate("weather", "Seattle", TS, 5.0, {"temp_c": 5.0}, "e1", "2026-11-24", None, SETTINGS) == []


# -- one alert per kind, key, rule and local day ---------------------------------------------------
def test_two_breaches_on_one_local_day_share_one_alert_id_and_store_key():
    first = drop(170.0, 200.0)
    second = market_alert("AAPL", datetime(2026, 11, 24, 20, 0, tzinfo=UTC), 150.0, "e2", "2026-11-24",
                          200.0, 10.0)
    assert first.alert_id == second.alert_id
    assert (alert_item(first)["pk"], alert_item(first)["sk"]) == (alert_item(second)["pk"], alert_item(second)["sk"])
    assert alert_item(first)["sk"] == "2026-11-24#market_drop"


@pytest.mark.parametrize("other", [
    ("weather", "AAPL", "market_drop", "2026-11-24"), ("market", "MSFT", "market_drop", "2026-11-24"),
    ("market", "AAPL", "other_rule", "2026-11-24"), ("market", "AAPL", "market_drop", "2026-11-25"),
])
def test_a_different_kind_key_rule_or_day_is_a_different_alert(other):
    assert alert_id_for(*other) != alert_id_for("market", "AAPL", "market_drop", "2026-11-24")


@hsettings(max_examples=200, deadline=None)
@given(parts=st.lists(st.tuples(st.sampled_from(["market", "weather"]), st.sampled_from(["AAPL", "SAP", "Seattle"]),
                                st.sampled_from(["market_drop", "heat", "freezing"]),
                                st.sampled_from(["2026-11-24", "2026-11-25"])), min_size=2, max_size=10))
def test_alert_ids_are_equal_exactly_when_kind_key_rule_and_day_are(parts):
    ids = {p: alert_id_for(*p) for p in parts}
    assert len(set(ids.values())) == len(set(parts))


def test_the_alert_message_carries_the_contract_fields():
    message = drop(178.0, 200.0).message()
    assert {"alert_id", "kind", "key", "rule", "ts", "value", "reference_price", "change_pct", "threshold",
            "local_day", "event_id", "summary"} <= set(message)
    assert message["ts"] == "2026-11-24T15:04:05Z"
    weather = weather_alerts("Seattle", TS, {"precip_mm": 31.5}, "e1", "2026-11-24", SETTINGS.weather_rules)[0]
    assert {"metric", "op", "threshold"} <= set(weather.message()) and "reference_price" not in weather.message()
