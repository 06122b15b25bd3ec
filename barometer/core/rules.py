"""Alert rules: the market drop and the configured weather thresholds.

At most one alert per key, rule and local day: `alert_id` is derived from exactly those, and the
alert store's key is made of them, so evaluating the same event twice, or a second breach on the
same day, never makes a second alert.
"""
from __future__ import annotations

import hashlib
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from barometer.config import MARKET_DROP_RULE, Settings, WeatherRule
from barometer.core.timeutil import format_public
from barometer.core.vocabulary import ALERT_KIND, QUOTE, WEATHER
from barometer.lake import alert_sk, alert_ts_key, item_pk

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
# Relative slack for the drop comparison so that exactly 10.0% below counts despite binary floats.
_EPSILON = 1e-12


def alert_id_for(kind: str, key: str, rule: str, local_day: str) -> str:
    return hashlib.blake2b(f"{kind}|{key}|{rule}|{local_day}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Alert:
    kind: str  # "market" | "weather"
    key: str
    rule: str
    ts: datetime
    value: float
    local_day: str
    event_id: str
    threshold: float
    reference_price: float | None = None
    change_pct: float | None = None
    metric: str | None = None
    op: str | None = None
    alert_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.alert_id:
            object.__setattr__(self, "alert_id", alert_id_for(self.kind, self.key, self.rule, self.local_day))

    @property
    def pk(self) -> str:
        return item_pk(self.kind, self.key)

    @property
    def sk(self) -> str:
        return alert_sk(self.local_day, self.rule)

    def summary(self) -> str:
        if self.kind == "market":
            return (f"{self.key} at {self.value:.2f} is {abs(self.change_pct or 0):.2f}% below its previous close "
                    f"{self.reference_price:.2f} (threshold {self.threshold:g}%)")
        return f"{self.key}: {self.metric} {self.value:g} {self.op} {self.threshold:g} ({self.rule})"

    def message(self) -> dict[str, Any]:
        """The alert message of the SNS topics (docs/contracts.md)."""
        out: dict[str, Any] = {
            "alert_id": self.alert_id, "kind": self.kind, "key": self.key, "rule": self.rule,
            "ts": format_public(self.ts), "value": self.value, "threshold": self.threshold,
            "local_day": self.local_day, "event_id": self.event_id,
        }
        if self.kind == "market":
            out.update(reference_price=self.reference_price, change_pct=self.change_pct)
        else:
            out.update(metric=self.metric, op=self.op)
        out["summary"] = self.summary()
        return out

    def ts_key(self) -> str:
        return alert_ts_key(self.ts, self.key, self.rule)


def market_alert(symbol: str, ts: datetime, price: float, event_id: str, local_day: str,
                 previous_close: float | None, drop_pct: float) -> Alert | None:
    """Price at or below (1 - drop_pct/100) x previous close."""
    if previous_close is None or previous_close <= 0:
        return None
    limit = (100.0 - drop_pct) * previous_close
    if price * 100.0 > limit * (1 + _EPSILON):
        return None
    change = round((price - previous_close) / previous_close * 100.0, 4)
    return Alert(ALERT_KIND[QUOTE], symbol, MARKET_DROP_RULE, ts, price, local_day, event_id, drop_pct,
                 reference_price=previous_close, change_pct=change)


def weather_alerts(city: str, ts: datetime, fields: Mapping[str, Any], event_id: str, local_day: str,
                   rules: tuple[WeatherRule, ...]) -> list[Alert]:
    alerts = []
    for rule in rules:
        value = fields.get(rule.metric)
        if value is not None and _OPS[rule.op](value, rule.threshold):
            alerts.append(Alert(ALERT_KIND[WEATHER], city, rule.name, ts, float(value), local_day, event_id, rule.threshold,
                                metric=rule.metric, op=rule.op))
    return alerts


def evaluate(kind: str, key: str, ts: datetime, value: float, fields: Mapping[str, Any], event_id: str,
             local_day: str, previous_close: float | None, settings: Settings) -> list[Alert]:
    """Every alert one event raises (before de-duplication by key, rule and day)."""
    if kind == QUOTE:
        drop_pct = settings.market_drop_pct
        if (previous_close is None or previous_close <= 0
                or value * 100.0 > (100.0 - drop_pct) * previous_close * (1 + _EPSILON)):
            return []  # market_alert's own test, inlined: nearly every quote stops here
        alert = market_alert(key, ts, value, event_id, local_day, previous_close, drop_pct)
        return [alert] if alert else []
    return weather_alerts(key, ts, fields, event_id, local_day, settings.weather_rules)
