"""How alerts read: SNS subject, email body, Slack payload (barometer.core.notifications)."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barometer.core.notifications import (
    SUBJECT_PREFIX,
    AlertMessageError,
    alert_subject,
    alert_text,
    parse_alert_message,
    slack_payload,
)

EVENTS = Path(__file__).parent / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def market() -> dict:
    return load("market_alert.json")


@pytest.fixture
def weather() -> dict:
    return load("weather_alert.json")


# --- subject -------------------------------------------------------------------------------------

def test_market_subject_says_symbol_drop_and_reference(market):
    assert alert_subject(market) == "[Barometer] AAPL down 11.58% vs previous close 190.00"


def test_weather_subject_says_city_rule_and_threshold(weather):
    assert alert_subject(weather) == "[Barometer] Seattle heavy_rain: precip_mm 32.5mm >= 30mm"


def test_subject_is_ascii_single_line_and_short_even_for_hostile_keys(weather):
    # Given a city name with accents, a newline and a very long tail
    weather["key"] = "Zürich\nSÃO PAULO " + "x" * 200
    # When the subject is rendered
    subject = alert_subject(weather)
    # Then SNS accepts it: ASCII, printable, one line, fewer than 100 characters
    assert subject.startswith(SUBJECT_PREFIX + "Zurich SAO PAULO")
    assert subject.isascii() and subject.isprintable() and "\n" not in subject
    assert len(subject) <= 99 and subject.endswith("...")


@given(st.dictionaries(st.sampled_from(["kind", "key", "rule", "value", "threshold", "change_pct", "metric",
                                        "op", "reference_price", "ts", "alert_id"]),
                       st.one_of(st.none(), st.text(), st.floats(), st.integers(), st.booleans())))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_renderings_never_crash_on_any_partial_alert(alert):
    subject = alert_subject(alert)
    assert subject.startswith(SUBJECT_PREFIX) and len(subject) <= 100 and subject.isascii()
    assert alert_text(alert).endswith("\n")
    payload = slack_payload(alert)
    json.dumps(payload)  # serialisable
    header = payload["blocks"][0]["text"]["text"]
    assert payload["text"] and header and len(header) <= 150  # Slack's header limit
    assert len(payload["blocks"][2]["fields"]) <= 10


# --- email body --------------------------------------------------------------------------------

def test_market_email_body_has_what_value_reference_day_time_and_ids(market):
    text = alert_text(market)
    assert text.startswith("Market alert for AAPL\n")
    assert market["summary"] in text
    for line in ("Price:          168.00", "Previous close: 190.00", "Change:         -11.58%",
                 "Threshold:      10% drop", "Local day:      2026-11-24", "Time:           2026-11-24 15:04:05 UTC",
                 "Alert id:       a1b2c3d4e5f60718", "Event id:       ev-9f3c"):
        assert line in text.splitlines()


def test_weather_email_body_composes_a_summary_with_units(weather):
    text = alert_text(weather)
    assert "Seattle: heavy_rain — precip_mm 32.5 mm >= 30 mm" in text
    assert "Value:     precip_mm 32.5 mm" in text.splitlines()
    assert "Threshold: >= 30 mm" in text.splitlines()
    assert "Time:      2026-11-24 23:30:00 UTC" in text.splitlines()
    assert "Alert id:  0f9e8d7c6b5a4321" in text.splitlines()


def test_decimal_values_from_dynamodb_render_like_floats(market):
    # Given the alert as read back from AlertsTable (numbers are Decimal)
    stored = {**market, "value": Decimal(168), "reference_price": Decimal(190), "change_pct": Decimal("-11.58")}
    del stored["summary"]
    # Then the rendering is the same as from the JSON message
    assert alert_subject(stored) == alert_subject(market)
    assert "AAPL at 168.00 is 11.58% below its previous close 190.00 (threshold 10%)" in alert_text(stored)


def test_timestamp_with_offset_is_shown_in_utc(market):
    market["ts"] = "2026-11-24T10:04:05-05:00"
    assert "2026-11-24 15:04:05 UTC" in alert_text(market)


# --- Slack ---------------------------------------------------------------------------------------

def test_slack_payload_has_fallback_text_and_block_kit_blocks(market):
    payload = slack_payload(market)
    assert payload["text"] == f"Barometer alert: {market['summary']}"
    header, summary, fields, context = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                   "text": "AAPL down 11.58% vs previous close 190.00"}}
    assert summary["type"] == "section" and market["summary"] in summary["text"]["text"]
    assert {"type": "mrkdwn", "text": "*Previous close*\n190.00"} in fields["fields"]
    assert len(fields["fields"]) <= 10
    assert "a1b2c3d4e5f60718" in context["elements"][0]["text"]


def test_slack_mrkdwn_control_characters_are_escaped(weather):
    weather["key"] = "<!channel> & co"
    payload = slack_payload(weather)
    section_text = payload["blocks"][1]["text"]["text"]
    assert "<!channel>" not in section_text and "&lt;!channel&gt; &amp; co" in section_text
    assert "&gt;= 30 mm" in section_text


# --- validation ----------------------------------------------------------------------------------

def test_parse_accepts_the_contract_messages(market, weather):
    assert parse_alert_message(json.dumps(market)) == market
    assert parse_alert_message(weather) == weather


@pytest.mark.parametrize(("change", "field"), [
    ({"alert_id": ""}, "alert_id"),
    ({"kind": "quote"}, "kind"),
    ({"key": None}, "key"),
    ({"local_day": "24/11/2026"}, "local_day"),
    ({"value": float("nan")}, "value"),
    ({"value": True}, "value"),
    ({"reference_price": "190"}, "reference_price"),
    ({"summary": 3}, "summary"),
])
def test_parse_rejects_bad_fields_naming_them(market, change, field):
    with pytest.raises(AlertMessageError) as caught:
        parse_alert_message({**market, **change})
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize("body", ["not json {", "[1, 2]", b"\xff\xfe", "null"])
def test_parse_rejects_non_objects(body):
    with pytest.raises(AlertMessageError) as caught:
        parse_alert_message(body)
    assert caught.value.field == "message"
