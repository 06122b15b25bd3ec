"""Pipeline health from CloudWatch metrics and SQS depths: the same reads on AWS and locally.

Locally the runner puts into the emulator's CloudWatch what Lambda, Kinesis and CloudWatch Logs
(EMF) report on AWS, so this code does not know which one it talks to.

The stream lag is as of now (`lag_as_of`): the age of the oldest record the consumers have not
processed, 0 once they have drained the stream, never the last batch's age kept after the stream
went idle. Each figure comes with its status (ok, warn, fail) and the thresholds that decide it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue as r
from barometer.aws import client, resource_name

NAMESPACE = "Barometer"
TOTALS_WINDOW = timedelta(hours=24)
RATE_WINDOW = timedelta(minutes=60)
# A consumer's report older than this says nothing about now.
LAG_FRESH = timedelta(minutes=2)
LAG_PERIOD_S = 10  # AWS answers the stream's 1-minute data; locally the runner reports every second
# Thresholds of the statuses: (warn at, fail at); the fail level of the lag is the CDK alarm's default.
STREAM_LAG_MS = (10_000, 60_000)
DLQ_DEPTH = (1, 100)
HANDLER_ERRORS_24H = (1, 10)
LEVELS = ("ok", "warn", "fail")
HANDLERS = {"processor": r.PROCESSOR_FUNCTION, "notifier": r.NOTIFIER_FUNCTION, "api": r.API_FUNCTION,
            "poller": r.POLLER_FUNCTION}
# The `service` dimension of the processor's EMF metrics (EventsValid, EventsQuarantined, AlertsRaised).
PROCESSOR_SERVICE = "processor"
DLQS = {"events": r.EVENTS_DLQ, "stream_failures": r.STREAM_FAILURES_DLQ, "notify": r.NOTIFY_DLQ}


def _metric(namespace: str, name: str, dims: dict[str, str], stat: str, period: int) -> dict[str, Any]:
    return {"Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
            "Period": period, "Stat": stat}


def _get(queries: dict[str, dict[str, Any]], start: datetime, end: datetime) -> dict[str, list[tuple[datetime, float]]]:
    cloudwatch = client("cloudwatch")
    ids = list(queries)
    out: dict[str, list[tuple[datetime, float]]] = {k: [] for k in ids}
    for chunk_start in range(0, len(ids), 100):
        chunk = ids[chunk_start:chunk_start + 100]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [{"Id": f"q{i}", "MetricStat": queries[name], "ReturnData": True}
                                  for i, name in enumerate(chunk, start=chunk_start)],
            "StartTime": start, "EndTime": end}
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response["MetricDataResults"]:
                name = ids[int(result["Id"][1:])]
                out[name].extend(zip(result.get("Timestamps", []), result.get("Values", [])))
            if not response.get("NextToken"):
                break
            kwargs["NextToken"] = response["NextToken"]
    return out


def _total(points: list[tuple[datetime, float]]) -> int:
    return int(sum(v for _, v in points))


@cache
def _queue_url(env_var: str) -> str:
    return client("sqs").get_queue_url(QueueName=resource_name(env_var))["QueueUrl"]


def _dlq_depths() -> dict[str, int | None]:
    depths: dict[str, int | None] = {}
    for name, queue in DLQS.items():
        try:
            attributes = client("sqs").get_queue_attributes(
                QueueUrl=_queue_url(queue.env_var), AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            depths[name] = int(attributes["ApproximateNumberOfMessages"])
        except (ClientError, KeyError, RuntimeError):
            depths[name] = None  # unknown is not zero
    return depths


def _quarantine_fields() -> list[str]:
    metrics = client("cloudwatch").list_metrics(Namespace=NAMESPACE, MetricName="QuarantinedByField")["Metrics"]
    return sorted({d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "field"})


Points = list[tuple[datetime, float]]


def lag_as_of(now: datetime, stream_age: Points, processed_age: Points, incoming: Points) -> float:
    """The pipeline's lag now, in milliseconds.

    stream_age: Kinesis GetRecords.IteratorAgeMilliseconds (Maximum): the consumers report it on every
    read, 0 when they are caught up; its newest fresh point is the lag now. Without a fresh one nobody
    is reading: the records that arrived after the processor's last batch (`processed_age`, its Lambda
    IteratorAge) have waited since their minute began, and with none the stream is drained (0).
    """
    fresh = sorted(p for p in stream_age if p[0] >= now - LAG_FRESH)
    if fresh:
        return round(max(0.0, fresh[-1][1]), 1)
    reports = [t for t, _ in processed_age] + [t for t, _ in stream_age]
    last_report = max(reports) if reports else None
    waiting = [t for t, count in incoming if count > 0 and (last_report is None or t > last_report)]
    if not waiting:
        return 0.0
    return round(max(0.0, (now - min(waiting)).total_seconds() * 1000), 1)


def level(value: float | None, warn_at: float, fail_at: float) -> str:
    if value is None:
        return "unknown"
    return "fail" if value >= fail_at else "warn" if value >= warn_at else "ok"


def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure with a status: its value, unit, thresholds and level (unknown when it could not be read)."""
    def check(name: str, label: str, value: float | None, unit: str, thresholds: tuple[float, float]) -> dict:
        warn_at, fail_at = thresholds
        return {"name": name, "label": label, "value": value, "unit": unit, "warn_at": warn_at, "fail_at": fail_at,
                "status": level(value, warn_at, fail_at)}

    out = [check("stream_lag_ms", "Stream lag", report["stream_lag_ms"], "ms", STREAM_LAG_MS)]
    out += [check(f"dlq_depth.{name}", f"DLQ {name}", depth, "messages", DLQ_DEPTH)
            for name, depth in report["dlq_depth"].items()]
    out += [check(f"handler_errors.{name}", f"{name} errors (24 h)", count, "errors", HANDLER_ERRORS_24H)
            for name, count in report["handler_errors"].items()]
    return out


def overall(found: list[dict[str, Any]]) -> str:
    """The worst level; unknown only when nothing worse than ok was found."""
    worst = max((LEVELS.index(c["status"]) for c in found if c["status"] in LEVELS), default=0)
    if worst == 0 and any(c["status"] == "unknown" for c in found):
        return "unknown"
    return LEVELS[worst]


def pipeline_health(now: datetime) -> dict[str, Any]:
    stream = resource_name(r.EVENTS_STREAM.env_var)
    day, hour = int(TOTALS_WINDOW.total_seconds()), 60
    queries = {
        "incoming": _metric("AWS/Kinesis", "IncomingRecords", {"StreamName": stream}, "Sum", hour),
        "valid": _metric(NAMESPACE, "EventsValid", {"service": PROCESSOR_SERVICE}, "Sum", day),
        "quarantined": _metric(NAMESPACE, "EventsQuarantined", {"service": PROCESSOR_SERVICE}, "Sum", day),
        "alerts": _metric(NAMESPACE, "AlertsRaised", {"service": PROCESSOR_SERVICE}, "Sum", day),
        # The processor is the events stream's only Lambda consumer: its iterator age is the pipeline's lag.
        "lag": _metric("AWS/Lambda", "IteratorAge", {"FunctionName": r.PROCESSOR_FUNCTION.local_name}, "Maximum",
                       hour),
    }
    for name, function in HANDLERS.items():
        queries[f"errors:{name}"] = _metric("AWS/Lambda", "Errors", {"FunctionName": function.local_name}, "Sum", day)
    fields = _quarantine_fields()
    for field in fields:
        queries[f"field:{field}"] = _metric(NAMESPACE, "QuarantinedByField",
                                            {"service": PROCESSOR_SERVICE, "field": field}, "Sum", day)
    per_day = _get({k: v for k, v in queries.items() if v["Period"] == day}, now - TOTALS_WINDOW, now + timedelta(minutes=1))
    per_minute = _get({k: v for k, v in queries.items() if v["Period"] == hour}, now - RATE_WINDOW,
                      now + timedelta(minutes=1))
    recent = _get({"stream_age": _metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", {"StreamName": stream},
                                         "Maximum", LAG_PERIOD_S)}, now - LAG_FRESH, now + timedelta(seconds=LAG_PERIOD_S))
    incoming = sorted(per_minute["incoming"])
    reasons = sorted(({"reason": f, "count": _total(per_day[f"field:{f}"])} for f in fields),
                     key=lambda x: -x["count"])
    report = {
        "as_of": now.isoformat().replace("+00:00", "Z"),
        "window": "24h",
        "events_in_per_min": [{"minute": t.astimezone(now.tzinfo).isoformat().replace("+00:00", "Z"), "count": int(v)}
                              for t, v in incoming],
        "events_in_total": sum(int(v) for _, v in incoming),
        "processed_total": _total(per_day["valid"]),
        "quarantined_total": _total(per_day["quarantined"]),
        "quarantine_reasons": [x for x in reasons if x["count"]][:10],
        "dlq_depth": _dlq_depths(),
        "stream_lag_ms": lag_as_of(now, recent["stream_age"], per_minute["lag"], incoming),
        "handler_errors": {name: _total(per_day[f"errors:{name}"]) for name in HANDLERS},
        "alerts_sent": _total(per_day["alerts"]),
    }
    report["checks"] = checks(report)
    report["status"] = overall(report["checks"])
    return report


class CloudWatchHealth:
    """The API's pipeline-health port: CloudWatch metrics and SQS queue depths."""

    def report(self, now: datetime) -> dict[str, Any]:
        return pipeline_health(now)
