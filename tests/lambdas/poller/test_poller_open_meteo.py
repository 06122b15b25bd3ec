"""Open-Meteo adapter against recorded responses in its documented format (no network)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from poller_fakes import ReplayTransport, recorded, recorded_url

from barometer.config import CityRef
from lambdas.poller.http_get import TransportError
from lambdas.poller.open_meteo import OpenMeteoError, OpenMeteoWeather, parse_current

SEATTLE = CityRef("Seattle", 47.61, -122.33, "America/Los_Angeles")
NOW = datetime(2024, 11, 22, 19, 52, tzinfo=UTC)


def weather(transport, sleeps, **kwargs) -> OpenMeteoWeather:
    return OpenMeteoWeather(transport=transport, sleep=sleeps, **kwargs)


def test_current_weather_becomes_a_contract_event(sleeps):
    # Given Open-Meteo's recorded current conditions for Seattle (requested in GMT)
    transport = ReplayTransport(recorded("open_meteo/current_seattle"))
    # When the adapter observes Seattle
    event = weather(transport, sleeps).observe(SEATTLE, NOW)
    # Then the zone-less local time becomes UTC and every variable maps to its contract field
    assert event == {"kind": "weather", "city": "Seattle", "ts": "2024-11-22T19:45:00Z", "temp_c": 9.4,
                     "humidity_pct": 89.0, "wind_mps": 4.1, "precip_mm": 0.3, "pressure_hpa": 1004.6,
                     "source": "open-meteo", "event_id": "open-meteo:weather:Seattle:1732304700"}
    # And the request asks for exactly those variables, in m/s, in GMT
    assert transport.calls[0][0] == recorded_url("open_meteo/current_seattle")


def test_a_non_gmt_answer_is_converted_with_utc_offset_seconds():
    # Given an answer in Europe/London summer time (utc_offset_seconds 3600, time 13:30 local)
    body = recorded("open_meteo/current_london_bst_offset").body
    # Then the event time is 12:30 UTC
    assert parse_current("London", body)["ts"] == "2024-07-01T12:30:00Z"


def test_null_optional_variables_are_left_out_of_the_event():
    event = parse_current("Seattle", recorded("open_meteo/current_partial_nulls").body)
    assert set(event) == {"kind", "city", "ts", "temp_c", "wind_mps", "source", "event_id"}


def test_the_same_quarter_hour_polled_twice_is_the_same_event(sleeps):
    transport = ReplayTransport(recorded("open_meteo/current_seattle"), recorded("open_meteo/current_seattle"))
    adapter = weather(transport, sleeps)
    assert adapter.observe(SEATTLE, NOW) == adapter.observe(SEATTLE, NOW.replace(minute=58))


def test_a_city_name_with_a_space_still_gets_a_valid_event_id():
    event = parse_current("New York", recorded("open_meteo/current_seattle").body)
    assert event["city"] == "New York"
    assert event["event_id"].startswith("open-meteo:weather:New-York-") and " " not in event["event_id"]


@pytest.mark.parametrize("fixture, message", [
    ("open_meteo/missing_temperature", "field 'current.temperature_2m' is missing"),
    ("open_meteo/wrong_wind_unit", "field 'current_units.wind_speed_10m' must be 'm/s', got 'km/h'"),
    ("open_meteo/malformed_body", "body is not JSON"),
])
def test_unusable_answers_name_the_field(fixture, message, sleeps):
    transport = ReplayTransport(recorded(fixture))
    with pytest.raises(OpenMeteoError, match=message):
        weather(transport, sleeps).observe(SEATTLE, NOW)


def test_a_bad_request_reports_open_meteos_reason_without_retrying(sleeps):
    transport = ReplayTransport(recorded("open_meteo/bad_request_400"))
    with pytest.raises(OpenMeteoError, match=r"HTTP 400 for Seattle: Latitude must be in range"):
        weather(transport, sleeps).observe(SEATTLE, NOW)
    assert len(transport.calls) == 1 and sleeps == []


def test_the_rate_limit_is_retried_a_bounded_number_of_times(sleeps):
    transport = ReplayTransport(*[recorded("open_meteo/rate_limited_429")] * 2)
    with pytest.raises(OpenMeteoError, match="rate limit reached for Seattle.*Minutely API request limit"):
        weather(transport, sleeps, max_attempts=2).observe(SEATTLE, NOW)
    assert len(transport.calls) == 2 and sleeps == [0.5]


def test_a_network_error_then_an_answer_succeeds(sleeps):
    transport = ReplayTransport(TransportError("no answer"), recorded("open_meteo/current_seattle"))
    assert weather(transport, sleeps).observe(SEATTLE, NOW)["temp_c"] == 9.4


@pytest.mark.parametrize("body, message", [
    (b"[]", "expected a JSON object"),
    (b'{"current_units": {}}', "field 'current' must be an object"),
    (b'{"current": {"time": "2024-11-22T19:45", "temperature_2m": 9}}', "field 'current_units' must be an object"),
    (b'{"current_units": {"temperature_2m": "\\u00b0C"}, "current": {"time": "22/11/2024", "temperature_2m": 9}}',
     "field 'current.time' must look like"),
    ((b'{"current_units": {"temperature_2m": "\\u00b0C"}, "current": {"time": "2024-11-22T19:45", "temperature_2m": 9},'
     b' "utc_offset_seconds": "0"}'), "field 'utc_offset_seconds' must be whole seconds"),
    (b'{"current_units": {"temperature_2m": "\\u00b0F"}, "current": {"time": "2024-11-22T19:45", "temperature_2m": 9}}',
     "field 'current_units.temperature_2m' must be '\u00b0C', got '\u00b0F'"),
    ((b'{"current_units": {"temperature_2m": "\\u00b0C", "relative_humidity_2m": "%"}, "current": '
     b'{"time": "2024-11-22T19:45", "temperature_2m": 9, "relative_humidity_2m": 140}}'),
     "field 'current.relative_humidity_2m' is out of range"),
    (b'{"current_units": {"temperature_2m": "\\u00b0C"}, "current": {"time": "2024-11-22T19:45", "temperature_2m": "9"}}',
     "field 'current.temperature_2m' must be a finite number"),
])
def test_parse_current_rejects_bad_values_naming_the_field(body, message):
    with pytest.raises(OpenMeteoError, match=message):
        parse_current("Seattle", body)


def test_the_url_carries_the_coordinates_and_the_documented_parameters():
    url = OpenMeteoWeather().url(CityRef("Sydney", -33.87, 151.21, "Australia/Sydney"))
    assert url == ("https://api.open-meteo.com/v1/forecast?latitude=-33.8700&longitude=151.2100"
                   "&current=temperature_2m,relative_humidity_2m,precipitation,wind_speed_10m,surface_pressure"
                   "&wind_speed_unit=ms&timezone=GMT")


@pytest.mark.parametrize("fixture", ["open_meteo/current_seattle", "open_meteo/current_partial_nulls"])
def test_the_event_passes_the_domain_cores_validation(fixture, settings):
    from barometer.core.events import parse_event

    event = parse_current("Seattle", recorded(fixture).body)
    parsed = parse_event(event, settings, now=NOW)
    assert (parsed.key, parsed.value, parsed.event_id) == ("Seattle", 9.4, "open-meteo:weather:Seattle:1732304700")
