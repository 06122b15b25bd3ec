"""The event contract (docs/contracts.md "Events"): validation, normalisation and idempotency keys."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from core_builders import (
    load_json,
    make_settings,
    offsets,
    rfc3339,
    valid_events,
    valid_quotes,
    valid_weather,
)
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from barometer.core.errors import ValidationError
from barometer.core.events import decode_json, event_local_day, parse_event
from barometer.core.timeutil import parse_rfc3339

INVALID_CASES = load_json("events/invalid_fields.json")
SETTINGS = make_settings()  # for property tests (hypothesis and function-scoped fixtures do not mix)


def _error_fields(obj, settings, now=None) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_event(obj, settings, now=now)
    exc = caught.value
    for error in exc.errors:  # every message names its field, in the structured and the text form
        assert f"{error.field}: {error.message}" in str(exc)
    return [e.field for e in exc.errors]


# -- valid events ------------------------------------------------------------------------------
def test_a_valid_quote_is_normalised_to_utc_with_its_fields(settings, quote):
    # Given a valid quote sent with a New York offset
    quote["ts"] = "2026-11-24T10:04:05-05:00"
    # When it is parsed
    event = parse_event(quote, settings)
    # Then it is keyed by symbol, valued by price, in UTC
    assert (event.kind, event.key, event.value) == ("quote", "AAPL", 187.5)
    assert event.ts == datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
    assert event.fields == {"price": 187.5, "volume": 1200, "currency": "USD"}
    assert event.as_dict()["ts"] == "2026-11-24T15:04:05Z"
    assert event.pk == "quote#AAPL"
    assert event.sk.startswith("2026-11-24T15:04:05.000000Z#")


def test_currency_defaults_to_usd(settings, quote):
    del quote["currency"]
    assert parse_event(quote, settings).fields["currency"] == "USD"


@pytest.mark.parametrize("symbol", ["A", "BRK.B", "RDS-A", "0123456789", "..--"])
def test_symbols_of_the_pattern_are_accepted(settings, quote, symbol):
    quote["symbol"] = symbol
    assert parse_event(quote, settings).key == symbol


@pytest.mark.parametrize("currency", ["EUR", "JPY", "CHF", "GBP"])
def test_iso_4217_currencies_are_accepted(settings, quote, currency):
    quote["currency"] = currency
    assert parse_event(quote, settings).fields["currency"] == currency


@pytest.mark.parametrize("volume, stored", [(0, 0), (10**15, 10**15), (2.0, 2)])
def test_volume_is_a_whole_number_of_at_least_zero(settings, quote, volume, stored):
    quote["volume"] = volume
    event = parse_event(quote, settings)
    assert event.fields["volume"] == stored and isinstance(event.fields["volume"], int)


@pytest.mark.parametrize("price", [1e-6, 0.01, 1e9])
def test_prices_at_the_edges_of_the_range_are_accepted(settings, quote, price):
    quote["price"] = price
    assert parse_event(quote, settings).value == price


@pytest.mark.parametrize("ts, expected", [
    ("2026-11-24T15:04:05Z", datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)),
    ("2026-11-24t15:04:05z", datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)),
    ("2026-11-24 15:04:05+00:00", datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)),
    ("2026-11-25T00:34:05+09:30", datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)),
    ("2026-11-24T15:04:05.123456789Z", datetime(2026, 11, 24, 15, 4, 5, 123456, tzinfo=UTC)),
    ("2026-11-24T15:04:05.5-00:00", datetime(2026, 11, 24, 15, 4, 5, 500000, tzinfo=UTC)),
])
def test_rfc3339_timestamps_with_a_zone_are_read_as_that_instant(settings, quote, ts, expected):
    quote["ts"] = ts
    assert parse_event(quote, settings).ts == expected


def test_a_valid_weather_event_keeps_only_the_fields_sent(settings, weather):
    del weather["pressure_hpa"], weather["humidity_pct"]
    event = parse_event(weather, settings)
    assert (event.kind, event.key, event.value) == ("weather", "Seattle", 8.5)
    assert event.fields == {"temp_c": 8.5, "wind_mps": 6.0, "precip_mm": 1.2}


@pytest.mark.parametrize("sent, normalised", [
    ({"temp_f": 50.0}, {"temp_c": 10.0}),
    ({"temp_f": -40.0}, {"temp_c": -40.0}),
    ({"temp_f": 32, "wind_kmh": 36.0}, {"temp_c": 0.0, "wind_mps": 10.0}),
    ({"temp_c": 1.0, "precip_in": 1.0}, {"temp_c": 1.0, "precip_mm": 25.4}),
    ({"temp_c": 1.0, "precip_in": 0.5, "wind_kmh": 90}, {"temp_c": 1.0, "precip_mm": 12.7, "wind_mps": 25.0}),
])
def test_alternative_units_are_normalised_to_the_contract_units(settings, sent, normalised):
    # Given a weather event in Fahrenheit, km/h or inches
    event = parse_event({"kind": "weather", "city": "London", "ts": "2026-01-05T12:00:00Z", **sent}, settings)
    # Then it holds only the metric fields
    assert event.fields == pytest.approx(normalised, abs=1e-9)
    assert not {"temp_f", "wind_kmh", "precip_in"} & set(event.fields)
    assert event.value == pytest.approx(normalised["temp_c"], abs=1e-9)


def test_the_same_observation_in_other_units_is_the_same_event(settings):
    # Given one observation sent once in metric and once in imperial units
    metric = {"kind": "weather", "city": "London", "ts": "2026-01-05T12:00:00Z", "temp_c": 10.0, "precip_mm": 25.4}
    imperial = {"kind": "weather", "city": "London", "ts": "2026-01-05T12:00:00Z", "temp_f": 50.0, "precip_in": 1.0}
    # Then both get the same derived event_id
    assert parse_event(metric, settings).event_id == parse_event(imperial, settings).event_id


# -- invalid events: every rule, every message names the field ------------------------------------
@pytest.mark.parametrize("case", INVALID_CASES, ids=[c["case"] for c in INVALID_CASES])
def test_each_broken_rule_is_reported_on_its_field(settings, quote, weather, case):
    # Given a valid event with one contract rule broken
    event = dict(quote if case["base"] == "quote" else weather)
    for name in case.get("drop", []):
        event.pop(name)
    event.update(case.get("set", {}))
    # When it is parsed, Then exactly that field is named
    assert _error_fields(event, settings) == [case["field"]]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field, base", [("price", "quote"), ("temp_c", "weather"), ("wind_mps", "weather"),
                                         ("humidity_pct", "weather")])
def test_nan_and_infinity_literals_are_named_on_their_field(settings, quote, weather, literal, field, base):
    # Given the JSON text of an event holding a NaN/Infinity literal
    event = dict(quote if base == "quote" else weather)
    event[field] = "__LITERAL__"
    text = json.dumps(event).replace('"__LITERAL__"', literal)
    # When it is decoded with decode_json and parsed
    with pytest.raises(ValidationError) as caught:
        parse_event(decode_json(text), settings)
    # Then the error names the field and the literal
    assert [e.field for e in caught.value.errors] == [field]
    assert literal in caught.value.errors[0].message


def test_nan_parsed_by_plain_json_is_still_rejected(settings, quote):
    quote["price"] = float("nan")
    assert _error_fields(quote, settings) == ["price"]
    quote["price"] = float("inf")
    assert _error_fields(quote, settings) == ["price"]


@pytest.mark.parametrize("kind", ["trade", "QUOTE", "", None, 5, ["quote"], "x" * 200])
def test_an_unknown_kind_is_named(settings, quote, kind):
    quote["kind"] = kind
    assert _error_fields(quote, settings) == ["kind"]


def test_a_missing_kind_is_named(settings, quote):
    del quote["kind"]
    assert _error_fields(quote, settings) == ["kind"]


@pytest.mark.parametrize("obj", [[], "quote", None, 3, True])
def test_an_event_that_is_not_an_object_is_named(settings, obj):
    assert _error_fields(obj, settings) == ["event"]


def test_every_bad_field_is_listed_at_once(settings, quote):
    quote.update(price=-1, ts="2026-11-24", currency="usd", shoe_size=42)
    assert sorted(_error_fields(quote, settings)) == ["currency", "price", "shoe_size", "ts"]


def test_a_very_long_unknown_field_name_is_shortened_in_the_message(settings, quote):
    quote["z" * 10_000] = 1
    (field,) = _error_fields(quote, settings)
    assert field.startswith("z" * 40) and len(field) < 50


def test_a_timestamp_too_far_in_the_future_is_rejected_when_now_is_given(settings, quote):
    # Given now and the configured skew of one hour
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    quote["ts"] = rfc3339(now + timedelta(hours=1))
    assert parse_event(quote, settings, now=now).ts == now + timedelta(hours=1)
    # When the event is a microsecond beyond the skew, Then ts is named
    quote["ts"] = rfc3339(now + timedelta(hours=1, microseconds=1))
    assert _error_fields(quote, settings, now=now) == ["ts"]
    quote["ts"] = "9999-12-31T23:59:59Z"
    assert _error_fields(quote, settings, now=now) == ["ts"]


# -- event_id: the idempotency key ------------------------------------------------------------------
def test_a_given_event_id_is_kept(settings, quote):
    quote["event_id"] = "feed-1:abc_2.x"
    assert parse_event(quote, settings).event_id == "feed-1:abc_2.x"


def test_the_derived_event_id_ignores_key_order_and_number_spelling(settings, quote):
    reordered = dict(reversed(list(quote.items())))
    reordered["price"] = 187.50
    reordered["volume"] = 1200.0
    assert parse_event(quote, settings).event_id == parse_event(reordered, settings).event_id


def test_the_default_currency_and_an_explicit_usd_are_the_same_event(settings, quote):
    explicit = parse_event(quote, settings)
    del quote["currency"]
    assert parse_event(quote, settings).event_id == explicit.event_id


@pytest.mark.parametrize("change", [
    {"price": 187.51}, {"ts": "2026-11-24T15:04:05.000001Z"}, {"symbol": "SAP"}, {"volume": 1201},
    {"currency": "EUR"}, {"source": "other"},
])
def test_different_content_gets_a_different_event_id(settings, quote, change):
    original = parse_event(quote, settings).event_id
    quote.update(change)
    assert parse_event(quote, settings).event_id != original


@hsettings(max_examples=150, deadline=None)
@given(event=valid_quotes(), offset=offsets)
def test_the_same_instant_in_any_zone_gets_the_same_event_id(event, offset):
    settings = SETTINGS
    event.pop("event_id", None)
    # Given the same quote written with its timestamp in another zone
    moved = dict(event, ts=rfc3339(parse_rfc3339(event["ts"]), offset))
    # Then it is the same event
    first, second = parse_event(event, settings), parse_event(moved, settings)
    assert first.ts == second.ts
    assert first.event_id == second.event_id


@hsettings(max_examples=150, deadline=None)
@given(a=valid_quotes(), b=valid_quotes())
def test_different_quotes_get_different_derived_ids(a, b):
    settings = SETTINGS
    a.pop("event_id", None)
    b.pop("event_id", None)
    first, second = parse_event(a, settings), parse_event(b, settings)
    same_content = (first.key, first.ts, first.fields, first.source) == (second.key, second.ts, second.fields,
                                                                         second.source)
    assert (first.event_id == second.event_id) == same_content


# -- round trip --------------------------------------------------------------------------------
@hsettings(max_examples=300, deadline=None)
@given(obj=valid_events)
def test_any_valid_event_round_trips_through_its_contract_form(obj):
    settings = SETTINGS
    # Given any valid event
    event = parse_event(obj, settings)
    # When its normalised contract form is sent again (as JSON, as over the wire)
    again = parse_event(decode_json(json.dumps(event.as_dict())), settings)
    # Then it is the equal event, with the same id and instant
    assert again == event
    assert (again.event_id, again.epoch_us, again.value) == (event.event_id, event.epoch_us, event.value)


@hsettings(max_examples=200, deadline=None)
@given(obj=st.one_of(valid_quotes(), valid_weather()))
def test_normalising_twice_derives_the_same_event_id(obj):
    settings = SETTINGS
    obj.pop("event_id", None)
    event = parse_event(obj, settings)
    # The normalised form without its id derives the same id: normalisation is idempotent.
    again = event.as_dict()
    del again["event_id"]
    assert parse_event(again, settings).event_id == event.event_id


# -- local day ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ts, symbol, day", [
    ("2026-11-25T04:59:59Z", "AAPL", "2026-11-24"),   # 23:59:59 EST
    ("2026-11-25T05:00:00Z", "AAPL", "2026-11-25"),   # midnight EST
    ("2026-07-01T03:59:59Z", "AAPL", "2026-06-30"),   # 23:59:59 EDT
    ("2026-07-01T04:00:00Z", "AAPL", "2026-07-01"),   # midnight EDT
    ("2026-07-01T21:59:59Z", "SAP", "2026-07-01"),    # 23:59:59 CEST
    ("2026-07-01T22:00:00Z", "SAP", "2026-07-02"),
    ("2026-07-01T03:00:00Z", "ZZZZ", "2026-06-30"),   # unlisted symbols use the default timezone
])
def test_the_local_day_is_the_exchange_calendar_day(settings, quote, ts, symbol, day):
    quote.update(ts=ts, symbol=symbol)
    assert event_local_day(parse_event(quote, settings), settings) == day


def test_the_local_day_of_weather_is_the_city_calendar_day(settings, weather):
    weather["ts"] = "2026-01-01T07:59:00Z"  # 23:59 the day before in Seattle
    assert event_local_day(parse_event(weather, settings), settings) == "2025-12-31"


# -- hostile input never escapes as anything but a ValidationError ---------------------------------
@pytest.mark.parametrize("field, value", [
    ("symbol", "AAPL\n"), ("event_id", "abc\n"), ("source", "feed\n"), ("ts", "2026-11-24T15:04:05Z\n"),
])
def test_a_trailing_newline_breaks_the_pattern(settings, quote, field, value):
    # Given a value that matches the pattern except for a trailing newline ($ in re.match accepts one)
    quote[field] = value
    # Then the field is rejected (otherwise "AAPL\n" becomes a second AAPL in every table)
    assert _error_fields(quote, settings) == [field]


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamps_beyond_the_datetime_range_after_the_offset_are_named(settings, quote, ts):
    # Given a syntactically valid timestamp whose UTC instant is outside Python's datetime range
    quote["ts"] = ts
    # Then it is a field error on ts, not an OverflowError
    assert _error_fields(quote, settings) == ["ts"]


@pytest.mark.parametrize("field, base", [("price", "quote"), ("temp_c", "weather"), ("temp_f", "weather"),
                                         ("pressure_hpa", "weather")])
def test_an_integer_too_large_for_a_float_is_named(settings, quote, weather, field, base):
    # Given a JSON integer literal of 401 digits (valid JSON, Python reads it as an int)
    event = dict(quote if base == "quote" else weather)
    if field == "temp_f":
        del event["temp_c"]
    event[field] = "__BIG__"
    text = json.dumps(event).replace('"__BIG__"', "1" + "0" * 400)
    # Then it is a field error, not an OverflowError
    assert _error_fields(decode_json(text), settings) == [field]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400) | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["AAPL", "Seattle", "2026-11-24T15:04:05Z", "0001-01-01T00:00:00+23:59",
                       "9999-12-31T23:59:59-23:59", "NaN", "<script>", "'; DROP TABLE x;--", "../..", "\u202e"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
contract_fields = st.sampled_from(sorted({
    "kind", "symbol", "price", "ts", "volume", "currency", "source", "event_id", "city", "temp_c", "temp_f",
    "humidity_pct", "wind_mps", "wind_kmh", "precip_mm", "precip_in", "pressure_hpa"}))


@hsettings(max_examples=400, deadline=None)
@given(base=st.sampled_from(["quote", "weather"]), changes=st.dictionaries(contract_fields, json_values, max_size=4))
def test_any_json_in_any_field_is_an_event_or_a_validation_error(base, changes):
    # Given a valid event with arbitrary JSON values in some of its fields
    event = load_json(f"events/{base}_valid.json")
    event.update(changes)
    # When it is parsed, Then it is an Event or a ValidationError naming fields, never another exception
    try:
        parsed = parse_event(event, SETTINGS, now=datetime(2026, 11, 25, tzinfo=UTC))
    except ValidationError as exc:
        assert exc.errors and all(e.field for e in exc.errors)
    else:
        assert parsed.kind in ("quote", "weather")
