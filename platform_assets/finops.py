"""FinOpsAlerts (AWS Budgets, Cost Anomaly Detection) -> a run that records the alert in the lake.

Without a reader the sensor queue would hold them 14 days and drop them. Each message becomes one
`finops_alert` run (run key `finops:<key>`, the subject in its tags, so the runs list is the alert log),
and its op keeps the message as s3://{processed}/ops/finops-alerts/dt={day}/{key}.json. Budgets publish
text and Cost Anomaly Detection JSON: both are kept as they came.
"""
import json
import re
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from barometer.catalogue import FINOPS_TOPIC
from platform_assets.alert_sensors import build_queue_sensor
from platform_assets.resources import BarometerResource
from platform_assets.sensor_queue import QueueMessage

FINOPS_PREFIX = "ops/finops-alerts/"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FinOpsAlertConfig(dg.Config):
    key: str
    subject: str = ""
    message: dict = Field(default_factory=dict)  # the alert as published (text as {"text": ...})


def finops_record_key(day: str, key: str) -> str:
    return f"{FINOPS_PREFIX}dt={day}/{_UNSAFE.sub('_', key)[:200]}.json"


@dg.op(description="Keep one FinOps alert in the lake and log it")
def record_finops_alert(context: dg.OpExecutionContext, config: FinOpsAlertConfig,
                        barometer: BarometerResource) -> str:
    now = datetime.now(UTC)
    bucket = barometer.lake().processed_bucket
    key = finops_record_key(now.date().isoformat(), config.key)
    record = {"key": config.key, "subject": config.subject, "received_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "message": config.message}
    barometer.client("s3").put_object(Bucket=bucket, Key=key, ContentType="application/json",
                                      Body=json.dumps(record, indent=1).encode())
    context.log.warning(f"FinOps alert {config.key}: {config.subject or '(no subject)'}")
    uri = f"s3://{bucket}/{key}"
    context.add_output_metadata({"uri": uri, "subject": config.subject or "(none)"})
    return uri


@dg.job(description="Record a FinOps alert (budget or cost anomaly) that arrived on FinOpsAlerts")
def finops_alert():
    record_finops_alert()


def finops_run_request(message: QueueMessage) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"finops:{message.key}",
        run_config={"ops": {"record_finops_alert": {"config": {
            "key": message.key, "subject": message.subject or "", "message": message.message or {}}}}},
        tags={"barometer/finops_message": message.key, "barometer/finops_subject": (message.subject or "")[:200]})


finops_alert_sensor = build_queue_sensor(
    "finops_alerts", FINOPS_TOPIC, finops_alert, finops_run_request,
    "FinOpsAlerts (via its SQS queue): record each budget or cost-anomaly alert in a run and in the lake")

defs = dg.Definitions(jobs=[finops_alert], sensors=[finops_alert_sensor])
