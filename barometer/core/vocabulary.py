"""The vocabulary of events: the kinds, each kind's key field and fields, the weather metrics, their
units and plausible ranges, and the kind of alert each kind of event raises.

Written once here; the contract's validation (events.py), the configuration's rule metrics
(config.py), MetricsTable items and lake rows (records.py, lake.py), the alert texts
(notifications.py) and the read API derive from it. Imports nothing: config.py and events.py both
stand on it.
"""
from __future__ import annotations

from dataclasses import dataclass

QUOTE = "quote"
WEATHER = "weather"
KINDS = (QUOTE, WEATHER)

# The field of an event that names its symbol or city (the `key` of items, rows and alerts).
KEY_FIELD = {QUOTE: "symbol", WEATHER: "city"}


@dataclass(frozen=True)
class Metric:
    """A weather metric in the contract's unit; values outside low..high are typos or unit mix-ups
    (and DynamoDB cannot store every float anyway: 1e300 is out of its number range)."""

    name: str
    unit: str
    low: float
    high: float


WEATHER_METRIC_SPECS = (
    Metric("temp_c", "°C", -100.0, 70.0),
    Metric("humidity_pct", "%", 0.0, 100.0),
    Metric("wind_mps", "m/s", 0.0, 150.0),
    Metric("precip_mm", "mm", 0.0, 2000.0),
    Metric("pressure_hpa", "hPa", 300.0, 1100.0),
)
WEATHER_METRICS = tuple(m.name for m in WEATHER_METRIC_SPECS)
METRIC_UNITS = {m.name: m.unit for m in WEATHER_METRIC_SPECS}

# The fields an event carries besides kind, key, ts, source and event_id, as stored (items, lake rows,
# the API's `fields`), and the one that is the event's `value` (what rolling windows average).
KIND_FIELDS = {QUOTE: ("price", "volume", "currency"), WEATHER: WEATHER_METRICS}
VALUE_FIELD = {QUOTE: "price", WEATHER: "temp_c"}

# Alerts are kinded by what they watch: a quote raises a market alert.
ALERT_KIND = {QUOTE: "market", WEATHER: "weather"}
ALERT_KINDS = tuple(ALERT_KIND.values())
EVENT_KIND_OF_ALERT = {alert: kind for kind, alert in ALERT_KIND.items()}
