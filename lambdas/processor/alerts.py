"""Raising one alert: stored once (AlertsTable's conditional put), written to the lake, published to SNS,
marked published. An alert stored by an attempt that crashed before publishing is published by the
next one; the lake row may then be written twice (lake readers keep one row per alert_id)."""
from __future__ import annotations

from typing import Any

from barometer.core.records import alert_item, alert_lake_record
from barometer.core.rules import Alert
from barometer.core.timeutil import parse_rfc3339
from lambdas.processor.ports import Ports

PUBLISHED, EXISTED, VANISHED = "published", "existed", "vanished"


def raise_alert(alert: Alert, ports: Ports) -> str:
    """PUBLISHED when this call published it, EXISTED when it was published already (one alert per key,
    rule and local day), VANISHED when the conditional put lost to an item that is gone when read.
    AlertStoreError, PublishError or SinkError when a step fails."""
    if not ports.alerts.store(alert_item(alert)):
        existing = ports.alerts.stored(alert.pk, alert.sk)
        if existing is None:
            return VANISHED
        if existing.get("published"):
            return EXISTED
        alert = alert_from_item(existing)  # stored by an earlier attempt that crashed before publishing
    ports.alerts_lake.put(alert_lake_record(alert))
    message_id = ports.topics.publish(alert)
    ports.alerts.mark_published(alert.pk, alert.sk, message_id)
    return PUBLISHED


def alert_from_item(item: dict[str, Any]) -> Alert:
    return Alert(item["kind"], item["key"], item["rule"], parse_rfc3339(item["ts"]), float(item["value"]),
                 item["local_day"], item["event_id"], float(item["threshold"]),
                 reference_price=item.get("reference_price"), change_pct=item.get("change_pct"),
                 metric=item.get("metric"), op=item.get("op"), alert_id=item["alert_id"])
