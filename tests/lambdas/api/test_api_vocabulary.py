"""The read API speaks the vocabulary (barometer/core/vocabulary.py): the series carries every field of
its kind, an unknown key is named by its kind's key field, rollups filter by the key field, and the
alert kinds are the vocabulary's."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from api_fakes import Fakes

from barometer.core.events import Event
from barometer.core.records import metrics_item
from barometer.core.vocabulary import ALERT_KINDS, KEY_FIELD, KIND_FIELDS, KINDS, QUOTE, WEATHER
from barometer.lake import KIND_TO_TABLE
from barometer_sql.rollups import ROLLUPS
from lambdas.api.rollups import KEY_COLUMN

TS = datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
FIELDS = {QUOTE: {"price": 190.0, "volume": 5, "currency": "USD"},
          WEATHER: {"temp_c": 8.5, "humidity_pct": 80.0, "wind_mps": 6.0, "precip_mm": 1.2, "pressure_hpa": 1012.5}}


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.mark.parametrize("kind", KINDS)
def test_a_series_event_carries_every_field_of_its_kind(fakes, kind):
    # Given a stored event with every field of its kind (the test's own list is checked against the vocabulary)
    assert tuple(FIELDS[kind]) == KIND_FIELDS[kind]
    key = "AAPL" if kind == QUOTE else "Seattle"
    event = Event(kind, key, TS, "e-1", 1.0, FIELDS[kind], None)
    fakes.store.add_latest(kind, key, value=1.0)
    fakes.store.metrics[event.pk] = [metrics_item(event, "2026-11-24", "2026-11-24T15:04:06Z")]
    # When its series is read
    status, body = fakes.call("GET", f"/v1/series/{kind}/{key}")
    # Then the event's fields are exactly its kind's
    assert status == 200 and body["events"][0]["fields"] == FIELDS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_key_is_named_by_its_kinds_key_field(fakes, kind):
    assert fakes.call("GET", f"/v1/latest/{kind}/NOPE") == (404, {"error": f"unknown {KEY_FIELD[kind]}: NOPE"})


def test_rollups_are_filtered_by_the_key_field_of_their_source_table():
    table_kind = {table: kind for kind, table in KIND_TO_TABLE.items()}
    for name, column in KEY_COLUMN.items():
        assert column == KEY_FIELD[table_kind[ROLLUPS[name].source_table]]
        assert ROLLUPS[name].key[0] == column


def test_alert_kinds_outside_the_vocabulary_are_refused(fakes):
    for kind in ALERT_KINDS:
        assert fakes.call("GET", "/v1/alerts", query={"kind": kind})[0] == 200
    assert fakes.call("GET", "/v1/alerts", query={"kind": "quote"}) == (
        400, {"error": "kind: must be market or weather (got 'quote')"})
