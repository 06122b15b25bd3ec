"""Processor: the one Kinesis consumer of the events stream (issue 9, hot path v2).

Per record: validate and enrich (an invalid record is quarantined with its reason). Per batch
(lambdas/processor/pipeline.py): processed lake and MetricsTable, each key's state (latest value,
exact rolling averages, previous close), the rules and their alerts, the state saved once per key.
Failed records are reported in the partial batch response; everything is idempotent, so Lambda's
redelivery of a batch changes nothing that was done.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from barometer.core.errors import FieldError, ValidationError
from barometer.core.events import decode_json, event_local_day, parse_event
from barometer.core.timeutil import format_public
from barometer.settings import get_settings
from lambdas.processor import pipeline
from lambdas.processor.outcomes import Accepted, Rejection
from lambdas.processor.ports import Ports
from lambdas.shared.batch import BufferedBatchProcessor

logger = Logger(service="processor")
metrics = Metrics(namespace="Barometer", service="processor")
# No auto-patching at import (patching every library X-Ray knows costs over a second); botocore (Firehose,
# SNS) is patched when the AWS adapters are built. The DynamoDB calls skip botocore (barometer/aws/
# json_protocol.py): the flush's subsegment covers them. Disabled outside Lambda.
tracer = Tracer(service="processor", auto_patch=False)


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    # The configuration is checked at cold start, before any record: a bad one fails the invocation
    # (Lambda retries the batch, the records stay in the stream) instead of quarantining every record.
    get_settings()
    from barometer.aws import AwsTarget
    from lambdas.processor.alerting import AlertsLake, AlertsTable, AlertTopics
    from lambdas.processor.capacity import CapacityMeter
    from lambdas.processor.sinks import LakeSink, QuarantineSink
    from lambdas.processor.tables import DynamoLatestTable, DynamoMetricsTable

    tracer.patch(("botocore",))
    # The emulator reports made-up capacity figures: count units from item sizes there.
    meter = CapacityMeter(estimate=AwsTarget.from_environment().is_emulator)
    return Ports(lake=LakeSink(), quarantine=QuarantineSink(), metrics_table=DynamoMetricsTable(meter),
                 latest=DynamoLatestTable(meter), alerts=AlertsTable(meter), topics=AlertTopics(),
                 alerts_lake=AlertsLake(), meter=meter)


def process_record(record: KinesisStreamRecord) -> Accepted | Rejection:
    data = record.kinesis.data_as_bytes()
    arrival = format_public(datetime.fromtimestamp(record.kinesis.approximate_arrival_timestamp, UTC))
    settings = get_settings()
    try:
        event = parse_event(decode_json(data), settings, now=datetime.now(UTC))
    except ValidationError as exc:
        return _rejection("invalid event", exc.errors, data, record, arrival)
    except (ValueError, UnicodeDecodeError) as exc:  # not JSON at all
        return _rejection("not valid JSON", [FieldError("record", str(exc)[:200])], data, record, arrival)
    except Exception as exc:  # a record no retry can fix must not hold up (or take down) its shard
        logger.exception("unexpected error validating a record; quarantined")
        return _rejection("could not be processed", [FieldError("record", f"{type(exc).__name__}: {exc}"[:200])],
                          data, record, arrival)
    return Accepted(event, event_local_day(event, settings), arrival, int(record.kinesis.sequence_number),
                    record.event_id.split(":")[0] if record.event_id else "shard")


def _rejection(reason: str, errors: Any, data: bytes, record: KinesisStreamRecord, arrival: str) -> Rejection:
    shard_id = record.event_id.split(":")[0] if record.event_id else "shard"
    return Rejection(reason, tuple(errors), data.decode("utf-8", "replace"), shard_id,
                     record.kinesis.sequence_number, arrival)


@tracer.capture_method(capture_response=False)
def flush(outcomes: list[Accepted | Rejection], ports: Ports) -> dict[int, BaseException]:
    failed, report = pipeline.flush(outcomes, ports, format_public(datetime.now(UTC)))
    read_units, write_units = ports.meter.take()
    metrics.add_metric("EventsValid", MetricUnit.Count, report.valid)
    metrics.add_metric("EventsQuarantined", MetricUnit.Count, report.quarantined)
    metrics.add_metric("EventsDuplicate", MetricUnit.Count, report.duplicates)
    metrics.add_metric("AlertsRaised", MetricUnit.Count, report.alerts_raised)
    metrics.add_metric("StateConflicts", MetricUnit.Count, report.conflicts)
    metrics.add_metric("DynamoReadUnits", MetricUnit.Count, read_units)
    metrics.add_metric("DynamoWriteUnits", MetricUnit.Count, write_units)
    if failed:
        metrics.add_metric("WriteFailures", MetricUnit.Count, len(failed))
    return failed


def processor_for(ports: Ports) -> BufferedBatchProcessor:
    return BufferedBatchProcessor(EventType.KinesisDataStreams, lambda outcomes: flush(outcomes, ports))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any, ports: Ports | None = None) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record,
                                    processor=processor_for(ports or default_ports()), context=context)
