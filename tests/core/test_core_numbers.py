"""Numbers DynamoDB cannot store (issue 10): refused at validation, and never derived into a key's state."""
from __future__ import annotations

from decimal import Decimal

import pytest
from core_builders import epoch_us, utc_from_us
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from keystate_builders import WINDOWS, Consumer, quote

from barometer import ddb
from barometer.core.errors import ValidationError
from barometer.core.events import Event, parse_event
from barometer.core.keystate import change_pct, to_item
from barometer.core.numbers import MAX_MAGNITUDE, MIN_MAGNITUDE, storable, storable_or_none
from barometer.core.records import metrics_item
from barometer.core.vocabulary import WEATHER_METRIC_SPECS


def dynamodb_accepts(text: str) -> bool:
    """DynamoDB's rule for a number as sent on the wire: <= 38 significant digits, 0 or 1e-130 <= |n| < 1e126."""
    number = Decimal(text)
    if number == 0:
        return True
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")  # (normalize() would round to 28 digits)
    return len(digits) <= 38 and Decimal("1e-130") <= abs(number) < Decimal("1e126")


def numbers_in(value):
    """Every number of a plain value (an item before barometer.ddb encodes it), recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from numbers_in(v)


def assert_storable_item(item: dict) -> None:
    for attr in ddb.to_item(item).values():
        for number in _wire_numbers(attr):
            assert dynamodb_accepts(number), f"{number} is not storable in {item}"


def _wire_numbers(attr):
    (kind, value), = attr.items()
    if kind == "N":
        yield value
    elif kind == "M":
        for v in value.values():
            yield from _wire_numbers(v)
    elif kind == "L":
        for v in value:
            yield from _wire_numbers(v)


# -- the rule itself --------------------------------------------------------------------------------------
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_storable_agrees_with_dynamodb_for_every_float(x):
    # given any finite float, written as barometer.ddb writes it (repr)
    # then storable() says what DynamoDB's own rule says
    assert storable(x) == dynamodb_accepts(repr(x))


@pytest.mark.parametrize("value", [10**37, -(10**38) + 1, 10**125, 10**40])
def test_storable_integers_within_38_digits_and_range(value):
    assert storable(value) == dynamodb_accepts(str(value))


@pytest.mark.parametrize("value", [12345678901234567890123456789012345678901, 10**126])
def test_unstorable_integers(value):
    assert not storable(value) and not dynamodb_accepts(str(value))


@given(st.one_of(st.none(), st.floats()))
def test_storable_or_none_always_gives_a_storable_value_or_none(x):
    # given any float, NaN and infinities included
    result = storable_or_none(x)
    # then the result is None or storable, and a storable input is kept as it is
    assert result is None or storable(result)
    if x is not None and storable(x):
        assert result == x


def test_storable_or_none_makes_tiny_magnitudes_zero_and_drops_huge_ones():
    assert storable_or_none(5e-324) == 0.0 and storable_or_none(-1e-131) == 0.0
    assert storable_or_none(1e126) is None and storable_or_none(float("inf")) is None
    assert storable_or_none(float("nan")) is None
    assert storable_or_none(MIN_MAGNITUDE) == MIN_MAGNITUDE


# -- validation refuses what cannot be stored ---------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("price", 5e-324), ("price", 1e-131), ("price", -1e-200),
])
def test_a_quote_with_an_unstorable_price_is_refused_naming_price(quote, settings, field, value):
    # given a quote whose price DynamoDB cannot store
    quote[field] = value
    # when it is validated
    with pytest.raises(ValidationError) as caught:
        parse_event(quote, settings)
    # then the error names the field
    assert [e.field for e in caught.value.errors] == [field]


@pytest.mark.parametrize("metric", [m.name for m in WEATHER_METRIC_SPECS])
@pytest.mark.parametrize("value", [5e-324, 1e-131, -1e-140])
def test_a_weather_reading_with_a_tiny_metric_is_refused_naming_it(weather, settings, metric, value):
    # given a weather reading whose metric is inside its physical range but too close to zero to store
    weather[metric] = value
    # when it is validated (the fast path and the general one)
    with pytest.raises(ValidationError) as caught:
        parse_event(weather, settings)
    # then the error names the metric and says why
    errors = {e.field: e.message for e in caught.value.errors}
    assert metric in errors and "too close to zero" in errors[metric]


@pytest.mark.parametrize("field, value", [("temp_f", 1e-300), ("wind_kmh", 4e-320), ("precip_in", 1e-135)])
def test_alternative_units_are_refused_when_unstorable(weather, settings, field, value):
    primary = {"temp_f": "temp_c", "wind_kmh": "wind_mps", "precip_in": "precip_mm"}[field]
    del weather[primary]
    weather[field] = value
    with pytest.raises(ValidationError) as caught:
        parse_event(weather, settings)
    assert field in {e.field for e in caught.value.errors}


def test_zero_and_the_smallest_storable_magnitude_are_valid(weather, quote, settings):
    weather["humidity_pct"], weather["precip_mm"] = 0.0, MIN_MAGNITUDE
    assert parse_event(weather, settings).fields["precip_mm"] == MIN_MAGNITUDE
    quote["price"] = MIN_MAGNITUDE
    assert parse_event(quote, settings).value == MIN_MAGNITUDE


def test_every_vocabulary_range_bound_is_storable():
    for metric in WEATHER_METRIC_SPECS:
        assert storable(metric.low) and storable(metric.high), metric


numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**40, 10**40),
                    st.sampled_from([5e-324, -5e-324, 1e-130, 1e-131, 1e125, 1e126, 9.99e125, 0.0, -0.0]))


@hyp_settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(kind=st.sampled_from(["quote", "weather"]), values=st.lists(numbers, min_size=6, max_size=6))
def test_every_number_of_an_accepted_event_is_storable(settings, kind, values):
    # given an event of any numbers whatever
    if kind == "quote":
        obj = {"kind": "quote", "symbol": "AAPL", "ts": "2026-11-24T15:04:05Z", "price": values[0],
               "volume": values[1]}
    else:
        obj = {"kind": "weather", "city": "Seattle", "ts": "2026-11-24T15:04:05Z",
               **{m.name: v for m, v in zip(WEATHER_METRIC_SPECS, values)}}
    # when it is validated
    try:
        event = parse_event(obj, settings)
    except ValidationError:
        return
    # then, if accepted, its MetricsTable item holds only numbers DynamoDB stores
    assert_storable_item(metrics_item(event, "2026-11-24", "2026-11-24T15:04:05Z", 7))


# -- derived values never make a key's state unwritable -----------------------------------------------------
DAY_US = 86_400_000_000
extreme_prices = st.one_of(st.sampled_from([1e-130, 1.0000000000000002e-130, 1e-129, 3e-120, 1e9, 999999999.9999999]),
                           st.floats(min_value=1e-130, max_value=1e9))
extreme_temps = st.one_of(st.sampled_from([1e-130, -1e-130, 1.5e-130, -1.4999e-130, 70.0, -100.0, 0.0]),
                          st.floats(min_value=-100.0, max_value=70.0).map(lambda v: 0.0 if abs(v) < 1e-130 else v))


@hyp_settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], max_examples=150,
              deadline=None)
@given(kind=st.sampled_from(["quote", "weather"]),
       steps=st.lists(st.tuples(st.integers(0, 3 * DAY_US), st.integers(0, 1)), min_size=1, max_size=25),
       data=st.data())
def test_every_latest_item_the_core_builds_is_storable(kind, steps, data):
    # given extreme but valid values (tiny and huge prices days apart, temperatures cancelling to ~1e-131)
    consumer = Consumer(kind=kind, key="AAPL" if kind == "quote" else "Seattle")
    t = epoch_us(2026, 3, 2, 15)
    for seq, (gap, _) in enumerate(steps, start=1):
        t += gap
        if kind == "quote":
            event = quote(t, data.draw(extreme_prices), f"e{seq}")
        else:
            temp = data.draw(extreme_temps)
            event = Event("weather", "Seattle", utc_from_us(t), f"e{seq}", temp, {"temp_c": temp}, None)
        # when each is applied and the state saved
        consumer.run([(event, seq)])
        # then every number of the LatestTable item is one DynamoDB stores
        assert_storable_item(to_item(consumer.state, "2026-03-20T00:00:00Z"))


def test_a_tiny_close_then_a_huge_price_leaves_change_pct_out_and_the_item_storable():
    # given a close of 1e-129 one day and a price of 1e9 the next
    consumer = Consumer()
    day1 = epoch_us(2026, 3, 2, 20)
    consumer.run([(quote(day1, 1e-129, "a"), 1)])
    consumer.run([(quote(day1 + DAY_US, 1e9, "b"), 2)])
    # when the state is viewed and saved
    item = to_item(consumer.state, "2026-03-20T00:00:00Z")
    # then the change (1e140 %) is not stored, the previous close is, and the item is storable
    assert "change_pct" not in item and item["previous_close"] == 1e-129
    assert_storable_item(item)
    assert change_pct(1e9, 1e-129) is None
    # and an ordinary change is kept as it was computed
    assert change_pct(90.0, 100.0) == -10.0


def test_an_average_that_cancels_below_the_smallest_magnitude_is_stored_as_zero():
    # given two temperatures whose mean is 2.5e-131, within the window together
    consumer = Consumer(kind="weather", key="Seattle", windows=WINDOWS)
    t = epoch_us(2026, 3, 2, 15)
    events = [Event("weather", "Seattle", utc_from_us(t + i), f"e{i}", v, {"temp_c": v}, None)
              for i, v in enumerate((1.5e-130, -1e-130))]
    consumer.run([(e, i + 1) for i, e in enumerate(events)])
    # when the item is built
    item = to_item(consumer.state, "2026-03-20T00:00:00Z")
    # then the average is 0.0 (not an underflowing 2.5e-131) and the item is storable
    assert set(item["rolling"].values()) == {0.0}
    assert_storable_item(item)


def test_magnitudes_at_the_bounds():
    assert storable(MAX_MAGNITUDE / 10) and not storable(MAX_MAGNITUDE)
    assert storable(-MIN_MAGNITUDE) and not storable(MIN_MAGNITUDE / 2)
