"""Rules engine: LatestTable changes -> alerts (stored once, written to the lake, published to SNS).

Each LatestTable update carries the events it applied (`recent`, with the previous close of each
event's own local day), so every event is evaluated exactly where the state knew its reference.
The store's conditional put decides the one alert per key, rule and day; an alert stored but not
yet published (a crash in between) is published on the retry.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from barometer.core.records import alert_item, alert_lake_record
from barometer.core.rules import Alert, evaluate
from barometer.core.timeutil import parse_rfc3339
from barometer.ddb import from_item
from barometer.settings import get_settings
from lambdas.rules.adapters import AlertStoreError, PublishError
from lambdas.shared.batch import BufferedBatchProcessor
from lambdas.shared.errors import SinkError

logger = Logger(service="rules")
metrics = Metrics(namespace="Barometer", service="rules")


class AlertStore(Protocol):
    def store(self, item: dict[str, Any]) -> bool: ...  # False when the key, rule and day has one already
    def stored(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def mark_published(self, pk: str, sk: str, message_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, alert: Alert) -> str: ...  # the message id


class Lake(Protocol):
    def put(self, record: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Ports:
    alerts: AlertStore
    topics: Publisher
    lake: Lake


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    from lambdas.rules.adapters import AlertsLake, AlertsTable, AlertTopics

    return Ports(alerts=AlertsTable(), topics=AlertTopics(), lake=AlertsLake())


def process_record(record: DynamoDBRecord) -> list[Alert]:
    image = from_item(record.raw_event["dynamodb"].get("NewImage")) or {}
    kind, key = image.get("kind"), image.get("key")
    if kind not in ("quote", "weather") or not key:
        return []
    settings = get_settings()
    alerts: list[Alert] = []
    for entry in image.get("recent") or []:
        alerts.extend(evaluate(kind, key, parse_rfc3339(entry["ts"]), float(entry["value"]), entry.get("fields") or {},
                               entry["event_id"], entry["local_day"], entry.get("previous_close"), settings))
    return alerts


def _raise_alert(alert: Alert, ports: Ports) -> bool:
    """Store, write to the lake, publish. True when this call published it."""
    if not ports.alerts.store(alert_item(alert)):
        existing = ports.alerts.stored(alert.pk, alert.sk)
        if existing is None or existing.get("published"):
            return False  # one alert per key, rule and local day: this one exists already
        alert = _alert_from_item(existing)  # stored by an earlier attempt that crashed before publishing
    ports.lake.put(alert_lake_record(alert))
    message_id = ports.topics.publish(alert)
    ports.alerts.mark_published(alert.pk, alert.sk, message_id)
    logger.info("alert raised", extra={"alert_id": alert.alert_id, "kind": alert.kind, "key": alert.key,
                                       "rule": alert.rule, "local_day": alert.local_day})
    return True


def _alert_from_item(item: dict[str, Any]) -> Alert:
    return Alert(item["kind"], item["key"], item["rule"], parse_rfc3339(item["ts"]), float(item["value"]),
                 item["local_day"], item["event_id"], float(item["threshold"]),
                 reference_price=item.get("reference_price"), change_pct=item.get("change_pct"),
                 metric=item.get("metric"), op=item.get("op"), alert_id=item["alert_id"])


def flush(results: Sequence[list[Alert]], ports: Ports) -> dict[int, BaseException]:
    failed: dict[int, BaseException] = {}
    raised = 0
    for i, alerts in enumerate(results):
        for alert in alerts:
            try:
                raised += _raise_alert(alert, ports)
            except (AlertStoreError, PublishError, SinkError) as exc:
                logger.error("could not raise alert", extra={"alert_id": alert.alert_id, "error": str(exc)})
                failed[i] = exc
                break
    metrics.add_metric("AlertsRaised", MetricUnit.Count, raised)
    return failed


def processor_for(ports: Ports) -> BufferedBatchProcessor:
    return BufferedBatchProcessor(EventType.DynamoDBStreams, lambda results: flush(results, ports))


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any, ports: Ports | None = None) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record,
                                    processor=processor_for(ports or default_ports()), context=context)
