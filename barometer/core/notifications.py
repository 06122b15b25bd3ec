"""How an alert reads in an email, in Slack and in an SNS subject line.

Pure: takes the alert message of docs/contracts.md ("Alert message") as a dict and returns text or
JSON-ready dicts. The rules engine uses `alert_subject` and `alert_text` for the SNS `Subject` and
`email` entry; the notifier posts `slack_payload` to the Slack webhook; `parse_alert_message`
checks a received message before anything is delivered.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from barometer.core.vocabulary import ALERT_KINDS, METRIC_UNITS

SUBJECT_PREFIX = "[Barometer] "
# SNS: "must be less than 100 characters", ASCII, no line breaks or control characters.
SUBJECT_MAX_CHARS = 99
# Slack limits: header text 150 chars, section text 3000, field text 2000, at most 10 fields.
_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000
_LOCAL_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MISSING = "n/a"


class AlertMessageError(ValueError):
    """A received alert message is not the contract's shape; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


# --- validation -------------------------------------------------------------------------------

def _require_text(alert: Mapping[str, Any], field: str) -> str:
    value = alert.get(field)
    if not isinstance(value, str) or not value.strip():
        raise AlertMessageError(field, f"expected a non-empty string, got {value!r}")
    return value


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, Decimal)):
        return math.isfinite(float(value))
    return False


def parse_alert_message(body: str | bytes | Mapping[str, Any]) -> dict:
    """The alert dict of a received message (JSON text or an already-decoded mapping).

    Requires what delivery depends on: `alert_id` (idempotency), `kind`, `key`, `rule`, `local_day`
    (the AlertsTable key), `ts` and a finite `value`. The kind-specific fields must be numbers or
    strings when present; a missing one is shown as "n/a" rather than losing the alert.
    """
    if isinstance(body, (str, bytes)):
        try:
            alert = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AlertMessageError("message", f"not valid JSON ({exc})") from None
    else:
        alert = body
    if not isinstance(alert, Mapping):
        raise AlertMessageError("message", f"expected a JSON object, got {type(alert).__name__}")
    for field in ("alert_id", "key", "rule", "ts"):
        _require_text(alert, field)
    if alert.get("kind") not in ALERT_KINDS:
        raise AlertMessageError("kind", f"expected one of {', '.join(ALERT_KINDS)}, got {alert.get('kind')!r}")
    if not _LOCAL_DAY.match(str(_require_text(alert, "local_day"))):
        raise AlertMessageError("local_day", f"expected YYYY-MM-DD, got {alert['local_day']!r}")
    if not _is_number(alert.get("value")):
        raise AlertMessageError("value", f"expected a finite number, got {alert.get('value')!r}")
    numeric = ("reference_price", "change_pct", "threshold")
    for field in numeric:
        if alert.get(field) is not None and not _is_number(alert[field]):
            raise AlertMessageError(field, f"expected a finite number, got {alert[field]!r}")
    for field in ("metric", "op", "summary", "event_id"):
        if alert.get(field) is not None and not isinstance(alert[field], str):
            raise AlertMessageError(field, f"expected a string, got {alert[field]!r}")
    return dict(alert)


# --- formatting helpers ---------------------------------------------------------------------------

def _fixed(value: Any, decimals: int = 2) -> str:
    """168.0 -> '168.00'; anything that is not a number is shown as is (or n/a)."""
    if _is_number(value):
        return f"{float(value):,.{decimals}f}"
    return _MISSING if value is None else str(value)


def _short(value: Any) -> str:
    """10.0 -> '10', 24.5 -> '24.5': thresholds and weather readings as people write them."""
    if _is_number(value):
        return f"{float(value):g}"
    return _MISSING if value is None else str(value)


def _signed_pct(value: Any) -> str:
    return f"{float(value):+.2f}%" if _is_number(value) else _MISSING


def _drop_pct(value: Any) -> str:
    """-11.58 -> '11.58' (how far below; the subject says 'down')."""
    return f"{abs(float(value)):.2f}" if _is_number(value) else _MISSING


def _utc_time(ts: Any) -> str:
    """RFC 3339 -> '2026-11-24 15:04:05 UTC'; an unparsable value is shown as received."""
    if not isinstance(ts, str):
        return _MISSING
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ts
    if moment.tzinfo is None:
        return ts
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _unit(metric: Any) -> str:
    return METRIC_UNITS.get(metric, "") if isinstance(metric, str) else ""


def _with_unit(value: Any, metric: Any) -> str:
    unit = _unit(metric)
    text = _short(value)
    if not unit or text == _MISSING:
        return text
    return f"{text}{unit}" if unit in ("%", "°C") else f"{text} {unit}"


def _ascii_line(text: str) -> str:
    """SNS subjects must be printable ASCII on one line: transliterate, drop the rest."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in folded)).strip()


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _name(alert: Mapping[str, Any], field: str) -> str:
    value = alert.get(field)
    return str(value) if value not in (None, "") else "?"


def _market_summary(alert: Mapping[str, Any]) -> str:
    return (f"{_name(alert, 'key')} at {_fixed(alert.get('value'))} is {_drop_pct(alert.get('change_pct'))}% "
            f"below its previous close {_fixed(alert.get('reference_price'))} "
            f"(threshold {_short(alert.get('threshold'))}%)")


def _weather_summary(alert: Mapping[str, Any]) -> str:
    metric = alert.get("metric")
    return (f"{_name(alert, 'key')}: {_name(alert, 'rule')} — {metric or 'value'} "
            f"{_with_unit(alert.get('value'), metric)} {alert.get('op') or '?'} "
            f"{_with_unit(alert.get('threshold'), metric)}")


def alert_summary(alert: Mapping[str, Any]) -> str:
    """One sentence saying what happened: the message's own `summary` when it has one."""
    summary = alert.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary.strip()
    return _market_summary(alert) if alert.get("kind") == "market" else _weather_summary(alert)


# --- the three renderings -----------------------------------------------------------------------

def _headline(alert: Mapping[str, Any]) -> str:
    """'AAPL down 11.58% vs previous close 190.00' / 'Seattle heavy_rain: precip_mm 32.5mm >= 30mm'."""
    key = _name(alert, "key")
    if alert.get("kind") == "market":
        return (f"{key} down {_drop_pct(alert.get('change_pct'))}% vs previous close "
                f"{_fixed(alert.get('reference_price'))}")
    metric = alert.get("metric")
    unit = _unit(metric)
    return (f"{key} {_name(alert, 'rule')}: {metric or 'value'} {_short(alert.get('value'))}{unit} "
            f"{alert.get('op') or '?'} {_short(alert.get('threshold'))}{unit}")


def alert_subject(alert: Mapping[str, Any]) -> str:
    """The email / SNS subject: '[Barometer] AAPL down 11.58% vs previous close 190.00' (ASCII, < 100)."""
    return _truncate(SUBJECT_PREFIX + _ascii_line(_headline(alert)), SUBJECT_MAX_CHARS)


def _detail_rows(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the email and the Slack message."""
    if alert.get("kind") == "market":
        rows = [
            ("Price", _fixed(alert.get("value"))),
            ("Previous close", _fixed(alert.get("reference_price"))),
            ("Change", _signed_pct(alert.get("change_pct"))),
            ("Threshold", f"{_short(alert.get('threshold'))}% drop"),
        ]
    else:
        metric = alert.get("metric")
        rows = [
            ("Value", f"{metric or 'value'} {_with_unit(alert.get('value'), metric)}"),
            ("Threshold", f"{alert.get('op') or '?'} {_with_unit(alert.get('threshold'), metric)}"),
        ]
    rows += [
        ("Local day", _name(alert, "local_day")),
        ("Time", _utc_time(alert.get("ts"))),
        ("Rule", _name(alert, "rule")),
    ]
    return rows


def alert_text(alert: Mapping[str, Any]) -> str:
    """The plain-text email body: what happened, the figures, when, and the ids to trace it."""
    kind = "Market" if alert.get("kind") == "market" else "Weather"
    rows = _detail_rows(alert) + [("Alert id", _name(alert, "alert_id"))]
    if alert.get("event_id"):
        rows.append(("Event id", str(alert["event_id"])))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{kind} alert for {_name(alert, 'key')}", "", alert_summary(alert), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in rows]
    lines += ["", "-- ", "Barometer: you receive this because you subscribed to its alert topic."]
    return "\n".join(lines) + "\n"


def _mrkdwn_escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Mapping[str, Any]) -> dict:
    """The Slack incoming-webhook body: `text` (notification fallback) and Block Kit `blocks`."""
    headline = re.sub(r"\s+", " ", _headline(alert)).strip()
    emoji = ":chart_with_downwards_trend:" if alert.get("kind") == "market" else ":cloud_with_rain:"
    summary = _mrkdwn_escape(alert_summary(alert))
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{_mrkdwn_escape(value)}"}
              for label, value in _detail_rows(alert)][:10]
    return {
        "text": _truncate(f"Barometer alert: {alert_summary(alert)}", _SLACK_TEXT_MAX),
        "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": _truncate(headline, _SLACK_HEADER_MAX), "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(f"{emoji} {summary}", _SLACK_TEXT_MAX)}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": _mrkdwn_escape(f"alert {_name(alert, 'alert_id')} · {alert.get('kind')}")},
            ]},
        ],
    }
