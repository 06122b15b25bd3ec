"""Failure alerting: a failed run, and a check that starts failing with ERROR severity, become an OpsAlert
(SNS topic OpsAlerts; on AWS its subscribers, locally the emulator's topic).

The message carries `"source": "barometer.dagster"`, so the `ops_alerts` sensor (which runs the DR checks
on an OpsAlert) leaves Dagster's own alerts alone instead of looping. Checks alert once when they start
failing, not on every evaluation: the sensor's cursor holds the checks currently failing, and a check
leaves that set when it passes again. Publishing is at least once: a tick that fails to publish is not
committed, and the next one publishes again. No platform to publish to: the tick skips and says so.
"""
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from platform_assets.environment import PlatformConfigError
from platform_assets.resources import BarometerResource

SOURCE = "barometer.dagster"
SUBJECT_MAX = 99  # SNS: ASCII, no control characters, fewer than 100 characters


def ops_message(kind: str, summary: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"source": SOURCE, "kind": kind, "summary": summary, **details}


def publish_ops_alert(barometer: BarometerResource, subject: str, message: dict[str, Any]) -> str:
    """One OpsAlert: JSON for machines (and the sensor queue), a plain text for email; the SNS MessageId."""
    text = "\n".join(f"{k}: {v}" for k, v in message.items() if k != "source")
    body = json.dumps(message, default=str)
    response = barometer.client("sns").publish(
        TopicArn=barometer.ops_topic(), Subject=subject_line(subject), MessageStructure="json",
        Message=json.dumps({"default": body, "sqs": body, "email": text}))
    return response["MessageId"]


def subject_line(text: str) -> str:
    """A subject SNS accepts: ASCII on one line, shortened with "..." past the limit."""
    flat = " ".join(text.split()).encode("ascii", "replace").decode("ascii")
    return flat if len(flat) <= SUBJECT_MAX else flat[:SUBJECT_MAX - 3] + "..."


def is_from_dagster(message: dict[str, Any] | None) -> bool:
    return isinstance(message, dict) and message.get("source") == SOURCE


@dg.run_failure_sensor(name="run_failures_to_ops_alerts", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Publish every failed run of this code location to OpsAlerts")
def run_failure_alert(context: dg.RunFailureSensorContext, barometer: BarometerResource):
    run = context.dagster_run
    error = context.failure_event.message or "the run failed"
    message = ops_message("run_failure", f"Dagster run of {run.job_name} failed", {
        "job": run.job_name, "run_id": run.run_id, "partition": run.tags.get("dagster/partition", ""),
        "partition_range": "...".join(filter(None, (run.tags.get("dagster/asset_partition_range_start"),
                                                     run.tags.get("dagster/asset_partition_range_end")))),
        "error": error[:2000]})
    try:
        message_id = publish_ops_alert(barometer, f"[Barometer] Dagster run failed: {run.job_name}", message)
    except PlatformConfigError as exc:
        return dg.SkipReason(f"not published, the platform is not reachable: {exc}")
    context.log.info(f"OpsAlert {message_id} for the failed run {run.run_id} of {run.job_name}")
    return None


@dataclass
class CheckCursor:
    """The newest evaluation read (storage id), and the checks failing (ERROR) as of then."""

    after: int | None = None
    failing: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str | None) -> "CheckCursor":
        try:
            data = json.loads(text) if text else {}
            return cls(data.get("after"), set(data.get("failing", [])))
        except (json.JSONDecodeError, AttributeError, TypeError):
            return cls()  # unreadable: start from the oldest event kept (at worst, alerts again)

    def to_json(self) -> str:
        return json.dumps({"after": self.after, "failing": sorted(self.failing)})


@dataclass(frozen=True)
class CheckOutcome:
    check: str  # "<asset key>:<check name>"
    passed: bool
    severity: str
    run_id: str
    metadata: dict[str, str]
    partition: str | None


def newly_failing(cursor: CheckCursor, outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """The ERROR failures of checks not failing before; updates cursor.failing. A pass (or a WARN) clears."""
    started = []
    for outcome in outcomes:
        if outcome.passed or outcome.severity != "ERROR":
            cursor.failing.discard(outcome.check)
        elif outcome.check not in cursor.failing:
            cursor.failing.add(outcome.check)
            started.append(outcome)
    return started


def _outcome(record) -> CheckOutcome:
    evaluation = record.evaluation
    metadata = {k: str(getattr(v, "value", v))[:500] for k, v in (evaluation.metadata or {}).items()}
    return CheckOutcome(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}", evaluation.passed,
                        evaluation.severity.value, record.run_id, metadata, evaluation.partition)


def latest_evaluations(instance: dg.DagsterInstance, check_keys, after: int | None) -> list:
    """Each check's latest evaluation newer than `after` (storage ids), oldest first. Per check, so it works
    on every event log storage (SQLite's is sharded by run and cannot be read across runs by cursor)."""
    records = []
    for key in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(key)
        if record is not None and record.evaluation is not None and (after is None or record.id > after):
            records.append(record)
    return sorted(records, key=lambda r: r.id)


@dg.sensor(name="check_failures_to_ops_alerts", default_status=dg.DefaultSensorStatus.RUNNING,
           minimum_interval_seconds=60,
           description="Publish to OpsAlerts each asset check that starts failing with ERROR severity")
def check_failure_alert(context: dg.SensorEvaluationContext, barometer: BarometerResource):
    cursor = CheckCursor.parse(context.cursor)
    records = latest_evaluations(context.instance, context.repository_def.asset_graph.asset_check_keys,
                                 cursor.after)
    if not records:
        return dg.SkipReason("no check evaluated since the last tick")
    started = newly_failing(cursor, (_outcome(r) for r in records))
    cursor.after = records[-1].id
    try:
        for outcome in started:
            publish_ops_alert(barometer, f"[Barometer] check failed: {outcome.check}", ops_message(
                "check_failure", f"Asset check {outcome.check} failed", {
                    "check": outcome.check, "run_id": outcome.run_id, "partition": outcome.partition or "",
                    "metadata": outcome.metadata}))
    except PlatformConfigError as exc:
        return dg.SkipReason(f"{len(started)} failing check(s) not published, the platform is not reachable: {exc}")
    return dg.SensorResult(cursor=cursor.to_json(), skip_reason=(
        f"{len(records)} evaluation(s) read, {len(started)} check(s) started failing (published to OpsAlerts)"))


defs = dg.Definitions(sensors=[run_failure_alert, check_failure_alert])
