"""The deployment's CloudWatch metrics over the last window, all resources in one GetMetricData call (500
queries a call). No Dagster here.

Counts (errors, throttles, records) are sums over the window: CloudWatch publishes no datapoint for a
minute without events, so no datapoint is 0. Ages are maxima: no datapoint is None (nothing was read).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SUM, MAXIMUM = "Sum", "Maximum"
QUERIES_PER_CALL = 500  # GetMetricData's limit


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    stat: str  # SUM | MAXIMUM
    label: str  # the metadata key


# Per kind of resource (graph.py's kinds): the dimension that names it, and what to read.
DIMENSIONS = {"stream": "StreamName", "function": "FunctionName", "table": "TableName",
              "delivery": "DeliveryStreamName"}
METRICS: dict[str, tuple[MetricSpec, ...]] = {
    "stream": (
        MetricSpec("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", MAXIMUM, "iterator_age_ms_max"),
        MetricSpec("AWS/Kinesis", "IncomingRecords", SUM, "incoming_records"),
        MetricSpec("AWS/Kinesis", "WriteProvisionedThroughputExceeded", SUM, "write_throttles"),
        MetricSpec("AWS/Kinesis", "ReadProvisionedThroughputExceeded", SUM, "read_throttles"),
    ),
    "function": (
        MetricSpec("AWS/Lambda", "Invocations", SUM, "invocations"),
        MetricSpec("AWS/Lambda", "Errors", SUM, "errors"),
        MetricSpec("AWS/Lambda", "Throttles", SUM, "throttles"),
        MetricSpec("AWS/Lambda", "Duration", MAXIMUM, "duration_ms_max"),
    ),
    "table": (
        MetricSpec("AWS/DynamoDB", "ReadThrottleEvents", SUM, "read_throttles"),
        MetricSpec("AWS/DynamoDB", "WriteThrottleEvents", SUM, "write_throttles"),
    ),
    "delivery": (
        MetricSpec("AWS/Firehose", "DeliveryToS3.Records", SUM, "records_delivered"),
        MetricSpec("AWS/Firehose", "DeliveryToS3.DataFreshness", MAXIMUM, "data_freshness_s_max"),
        MetricSpec("AWS/Firehose", "ThrottledRecords", SUM, "throttled_records"),
    ),
}
# A function fed by a stream mapping also reports how far behind it reads.
MAPPED_FUNCTION_METRICS = (MetricSpec("AWS/Lambda", "IteratorAge", MAXIMUM, "iterator_age_ms_max"),)


@dataclass(frozen=True)
class Watched:
    """One resource whose metrics are read: `ref` is the caller's handle for it."""

    ref: Any
    kind: str
    name: str  # the physical name (the dimension's value)
    extra: tuple[MetricSpec, ...] = ()

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        return METRICS.get(self.kind, ()) + self.extra


def read_metrics(cloudwatch: Any, watched: Iterable[Watched], now: datetime,
                 window: timedelta) -> dict[Any, dict[str, float | None]]:
    """ref -> {label: value} over [now - window, now]. A bucket has no metric here (S3's are daily)."""
    queries, wanted = [], {}
    for item in watched:
        for spec in item.metrics:
            query_id = f"m{len(queries)}"
            wanted[query_id] = (item.ref, spec)
            queries.append({"Id": query_id, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": spec.namespace, "MetricName": spec.name,
                           "Dimensions": [{"Name": DIMENSIONS[item.kind], "Value": item.name}]},
                "Period": max(60, int(window.total_seconds()) // 60 * 60), "Stat": spec.stat}})
    values: dict[str, list[float]] = {query_id: [] for query_id in wanted}
    for first in range(0, len(queries), QUERIES_PER_CALL):
        kwargs = {"MetricDataQueries": queries[first:first + QUERIES_PER_CALL], "StartTime": now - window,
                  "EndTime": now}
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                values[result["Id"]] += [float(v) for v in result.get("Values", [])]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    out: dict[Any, dict[str, float | None]] = {}
    for query_id, (ref, spec) in wanted.items():
        out.setdefault(ref, {})[spec.label] = _reduce(spec.stat, values[query_id])
    return out


def _reduce(stat: str, values: list[float]) -> float | None:
    # CloudWatch may split the window into several periods: sums add up, maxima take the largest.
    if stat == SUM:
        return sum(values)
    return max(values) if values else None

