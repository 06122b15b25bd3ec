"""Validator/enricher: Kinesis events -> MetricsTable + processed lake; invalid records -> quarantine."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from barometer.core.errors import FieldError, ValidationError
from barometer.core.events import Event, decode_json, event_local_day, parse_event
from barometer.core.records import lake_record, lake_table, metrics_item
from barometer.core.timeutil import format_public
from barometer.settings import get_settings
from lambdas.shared.batch import BufferedBatchProcessor
from lambdas.validator.sinks import Rejection

logger = Logger(service="validator")
metrics = Metrics(namespace="Barometer", service="validator")


class Lake(Protocol):
    def put(self, table: str, records: Sequence[dict[str, Any]]) -> dict[int, BaseException]: ...


class MetricsTable(Protocol):
    def write(self, items: Sequence[dict[str, Any]]) -> dict[int, BaseException]: ...


class Quarantine(Protocol):
    def put(self, rejections: Sequence[Rejection]) -> dict[int, BaseException]: ...


@dataclass(frozen=True)
class Ports:
    """Each sink returns the positions whose write failed, with the error."""

    lake: Lake
    metrics_table: MetricsTable
    quarantine: Quarantine


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    from lambdas.validator.sinks import LakeSink, MetricsSink, QuarantineSink

    return Ports(lake=LakeSink(), metrics_table=MetricsSink(), quarantine=QuarantineSink())


class Accepted:
    __slots__ = ("event", "ingested_at", "local_day")

    def __init__(self, event: Event, local_day: str, ingested_at: str):
        self.event, self.local_day, self.ingested_at = event, local_day, ingested_at


def process_record(record: KinesisStreamRecord) -> Accepted | Rejection:
    data = record.kinesis.data_as_bytes()
    arrival = format_public(datetime.fromtimestamp(record.kinesis.approximate_arrival_timestamp, UTC))
    try:
        event = parse_event(decode_json(data), get_settings(), now=datetime.now(UTC))
    except ValidationError as exc:
        return _rejection("invalid event", exc.errors, data, record, arrival)
    except (ValueError, UnicodeDecodeError) as exc:  # not JSON at all
        return _rejection("not valid JSON", [FieldError("record", str(exc)[:200])], data, record, arrival)
    except Exception as exc:  # a record no retry can fix must not hold up (or take down) its shard
        logger.exception("unexpected error validating a record; quarantined")
        return _rejection("could not be processed", [FieldError("record", f"{type(exc).__name__}: {exc}"[:200])],
                          data, record, arrival)
    return Accepted(event, event_local_day(event, get_settings()), arrival)


def _rejection(reason: str, errors: Sequence[FieldError], data: bytes, record: KinesisStreamRecord, arrival: str):
    shard_id = record.event_id.split(":")[0] if record.event_id else "shard"
    return Rejection(reason, tuple(errors), data.decode("utf-8", "replace"), shard_id,
                     record.kinesis.sequence_number, arrival)


def flush(outcomes: Sequence[Accepted | Rejection], ports: Ports) -> dict[int, BaseException]:
    """Lake first, then MetricsTable: whatever reaches the table is already in the lake."""
    failed: dict[int, BaseException] = {}
    accepted = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Accepted)]
    rejected = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Rejection)]
    by_table: dict[str, list[tuple[int, Accepted]]] = {}
    for i, o in accepted:
        by_table.setdefault(lake_table(o.event), []).append((i, o))
    for table, rows in by_table.items():
        errors = ports.lake.put(table, [lake_record(o.event, o.local_day, o.ingested_at) for _, o in rows])
        failed.update({rows[p][0]: e for p, e in errors.items()})
    writable = [(i, o) for i, o in accepted if i not in failed]
    errors = ports.metrics_table.write([metrics_item(o.event, o.local_day, o.ingested_at) for _, o in writable])
    failed.update({writable[p][0]: e for p, e in errors.items()})
    errors = ports.quarantine.put([o for _, o in rejected])
    failed.update({rejected[p][0]: e for p, e in errors.items()})
    metrics.add_metric("EventsValid", MetricUnit.Count, len(accepted))
    metrics.add_metric("EventsQuarantined", MetricUnit.Count, len(rejected))
    for _, o in rejected:
        logger.info("quarantined", extra={"reason": o.reason, "errors": [str(e) for e in o.errors],
                                          "sequence_number": o.sequence_number})
    if failed:
        metrics.add_metric("WriteFailures", MetricUnit.Count, len(failed))
    return failed


def processor_for(ports: Ports) -> BufferedBatchProcessor:
    return BufferedBatchProcessor(EventType.KinesisDataStreams, lambda outcomes: flush(outcomes, ports))


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any, ports: Ports | None = None) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record,
                                    processor=processor_for(ports or default_ports()), context=context)
