"""How events and alerts are laid out in MetricsTable, AlertsTable and the lake (docs/contracts.md)."""
from __future__ import annotations

from typing import Any

from barometer.core.events import Event
from barometer.core.rules import Alert
from barometer.core.timeutil import format_fixed, format_public, parse_rfc3339
from barometer.core.vocabulary import KEY_FIELD, KIND_FIELDS
from barometer.lake import KIND_TO_TABLE, PARTITION_COLUMN, columns


def metrics_item(event: Event, local_day: str, ingested_at: str, seq: int | None = None) -> dict[str, Any]:
    """Depends only on the record, so a redelivered record rewrites the identical item.

    `seq` is the Kinesis sequence number of the record that writes the item (barometer/core/keystate.py
    tells a redelivered record from a duplicate by it), kept as a string: Kinesis sequence numbers have
    more digits than a DynamoDB number holds.
    """
    item = {"pk": event.pk, "sk": event.sk, "kind": event.kind, "key": event.key, "ts": format_fixed(event.ts),
            "event_id": event.event_id, "value": event.value, "local_day": local_day, "ingested_at": ingested_at,
            **event.fields}
    if event.source is not None:
        item["source"] = event.source
    if seq is not None:
        item["seq"] = str(seq)
    return item


def event_from_metrics_item(item: dict[str, Any]) -> Event:
    kind = item["kind"]
    fields = {name: item[name] for name in KIND_FIELDS[kind] if item.get(name) is not None}
    return Event(kind, item["key"], parse_rfc3339(item["ts"]), item["event_id"], float(item["value"]), fields,
                 item.get("source"))


def lake_table(event: Event) -> str:
    return KIND_TO_TABLE[event.kind]


def lake_record(event: Event, local_day: str, ingested_at: str) -> dict[str, Any]:
    """A processed-zone row (lake columns plus the `dt` partition) as JSON for Firehose."""
    record = {"event_id": event.event_id, KEY_FIELD[event.kind]: event.key, "ts": format_public(event.ts),
              **event.fields, "source": event.source, "local_day": local_day, "ingested_at": ingested_at,
              PARTITION_COLUMN: event.ts.date().isoformat()}
    return record


def alert_item(alert: Alert) -> dict[str, Any]:
    item = {"pk": alert.pk, "sk": alert.sk, "ts_key": alert.ts_key(), **alert.message(), "published": False}
    return {k: v for k, v in item.items() if v is not None}


def alert_lake_record(alert: Alert) -> dict[str, Any]:
    message = alert.message()
    record = {name: message.get(name) for name in columns("alerts")}
    record[PARTITION_COLUMN] = alert.ts.date().isoformat()
    return record
