"""One vocabulary (barometer/core/vocabulary.py): everything that lists kinds, key fields or metrics
agrees with it, so a metric added there reaches the contract, the configuration, the items, the lake
and the alert texts, and a new copy that drifts from it fails here."""
from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from core_builders import load_json

from barometer.config import ConfigError, parse_settings
from barometer.core.errors import ValidationError
from barometer.core.events import QUOTE_FIELDS, WEATHER_FIELDS, parse_event
from barometer.core.notifications import alert_summary, parse_alert_message
from barometer.core.records import alert_lake_record, event_from_metrics_item, lake_record, metrics_item
from barometer.core.rules import evaluate
from barometer.core.vocabulary import (
    ALERT_KIND,
    ALERT_KINDS,
    KEY_FIELD,
    KIND_FIELDS,
    KINDS,
    METRIC_UNITS,
    QUOTE,
    VALUE_FIELD,
    WEATHER,
    WEATHER_METRIC_SPECS,
    WEATHER_METRICS,
)
from barometer.lake import KIND_TO_TABLE, LAKE_SCHEMAS, PARTITION_COLUMN, columns

NOW = datetime(2026, 11, 24, 16, tzinfo=UTC)
EVERY_METRIC = {m.name: m.low for m in WEATHER_METRIC_SPECS}


def weather_event(**metrics) -> dict:
    return {"kind": "weather", "city": "Seattle", "ts": "2026-11-24T15:04:05Z", "event_id": "e-1", **metrics}


def quote_event() -> dict:
    return {"kind": "quote", "symbol": "AAPL", "ts": "2026-11-24T15:04:05Z", "price": 190.0, "volume": 5,
            "currency": "USD", "event_id": "q-1"}


def test_the_vocabulary_is_consistent_with_itself():
    assert set(KEY_FIELD) == set(KIND_FIELDS) == set(VALUE_FIELD) == set(ALERT_KIND) == set(KINDS)
    assert all(VALUE_FIELD[kind] in KIND_FIELDS[kind] for kind in KINDS)
    assert KIND_FIELDS[WEATHER] == WEATHER_METRICS == tuple(METRIC_UNITS)
    assert len(set(ALERT_KINDS)) == len(KINDS)


def test_the_contract_accepts_exactly_the_vocabularys_fields(settings):
    envelope = {"kind", "ts", "source", "event_id"}
    assert QUOTE_FIELDS == envelope | {KEY_FIELD[QUOTE], *KIND_FIELDS[QUOTE]}
    assert WEATHER_FIELDS >= envelope | {KEY_FIELD[WEATHER], *WEATHER_METRICS}
    # Given a weather event with every metric of the vocabulary
    event = parse_event(weather_event(**EVERY_METRIC), settings, now=NOW)
    # Then every one is kept, and the value is the vocabulary's value field
    assert tuple(event.fields) == WEATHER_METRICS
    assert event.value == EVERY_METRIC[VALUE_FIELD[WEATHER]]
    assert event.as_dict()[KEY_FIELD[WEATHER]] == "Seattle"


@pytest.mark.parametrize("metric", WEATHER_METRIC_SPECS, ids=lambda m: m.name)
def test_each_metric_is_bounded_by_the_vocabularys_range(settings, metric):
    base = {VALUE_FIELD[WEATHER]: 10.0}
    assert parse_event(weather_event(**{**base, metric.name: metric.high}), settings, now=NOW)
    with pytest.raises(ValidationError) as raised:
        parse_event(weather_event(**{**base, metric.name: metric.high + 1}), settings, now=NOW)
    assert [e.field for e in raised.value.errors] == [metric.name]


def test_the_configuration_accepts_a_rule_on_every_metric_and_no_other():
    raw = load_json("fixtures/config.json")
    # A threshold inside each metric's range (one outside it could never fire and is refused)
    rules = [{"name": f"rule_{i}", "metric": m.name, "op": ">=", "threshold": (m.low + m.high) / 2}
             for i, m in enumerate(WEATHER_METRIC_SPECS)]
    assert tuple(r.metric for r in parse_settings({**raw, "weather_rules": rules}).weather_rules) == WEATHER_METRICS
    wrong = copy.deepcopy(raw)
    wrong["weather_rules"] = [{"name": "odd", "metric": "temp_f", "op": ">=", "threshold": 1}]
    with pytest.raises(ConfigError, match="weather_rules\\[0\\].metric: expected one of " + ", ".join(WEATHER_METRICS)):
        parse_settings(wrong)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kinds_lake_table_is_the_envelope_around_its_vocabulary_fields(kind):
    assert columns(KIND_TO_TABLE[kind]) == ("event_id", KEY_FIELD[kind], "ts", *KIND_FIELDS[kind], "source",
                                            "local_day", "ingested_at")
    assert set(KIND_TO_TABLE.values()) | {"alerts"} == set(LAKE_SCHEMAS)


@pytest.mark.parametrize("raw", [quote_event(), weather_event(**EVERY_METRIC)], ids=KINDS)
def test_items_and_lake_rows_carry_every_field_of_the_kind(settings, raw):
    event = parse_event(raw, settings, now=NOW)
    # A MetricsTable item gives back the same event
    item = metrics_item(event, "2026-11-24", "2026-11-24T15:04:06Z")
    assert set(KIND_FIELDS[event.kind]) <= set(item)
    assert event_from_metrics_item(item) == event
    # A lake row has exactly its table's columns (and the partition)
    row = lake_record(event, "2026-11-24", "2026-11-24T15:04:06Z")
    assert tuple(row) == (*columns(KIND_TO_TABLE[event.kind]), PARTITION_COLUMN)


def test_alerts_are_kinded_and_laid_out_by_the_vocabulary_and_the_lake(settings):
    # Given a weather event that breaks a configured rule
    event = parse_event(weather_event(temp_c=-20.0), settings, now=NOW)
    alerts = evaluate(event.kind, event.key, event.ts, event.value, event.fields, event.event_id, "2026-11-24",
                      None, settings)
    # Then the alert's kind is the vocabulary's, its message passes the notifier's check, and its lake row
    # has exactly the alerts table's columns
    assert alerts and {a.kind for a in alerts} == {ALERT_KIND[WEATHER]}
    assert parse_alert_message(alerts[0].message())["kind"] in ALERT_KINDS
    assert tuple(alert_lake_record(alerts[0])) == (*columns("alerts"), PARTITION_COLUMN)


@pytest.mark.parametrize("metric", WEATHER_METRICS)
def test_every_metric_reads_with_its_unit_in_an_alert(metric):
    alert = {"kind": ALERT_KIND[WEATHER], "key": "Seattle", "rule": "r", "metric": metric, "op": ">=",
             "value": 12.5, "threshold": 10}
    assert METRIC_UNITS[metric] in alert_summary(alert)
