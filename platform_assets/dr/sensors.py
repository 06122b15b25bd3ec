"""OpsAlert -> the DR checks."""
import dagster as dg

from barometer.catalogue import OPS_TOPIC
from platform_assets.alert_sensors import build_queue_sensor
from platform_assets.alerting import is_from_dagster
from platform_assets.dr.checks import DR_CHECKS, POSTURE_KEY
from platform_assets.sensor_queue import QueueMessage

# The checks sit on the deployment group's assets (observed, not materialized): selected as checks.
dr_checks_job = dg.define_asset_job(
    "dr_checks", selection=dg.AssetSelection.assets(POSTURE_KEY) | dg.AssetSelection.checks(*DR_CHECKS),
    description="Describe the DR set-up and run every DR check on the tables, buckets and API it protects")


def ops_run_request(message: QueueMessage) -> dg.RunRequest:
    if is_from_dagster(message.message):
        # Dagster's own failure alerts (alerting.py): running the DR checks on them would loop.
        raise ValueError("published by Dagster's failure alerting, not a reason to run the DR checks")
    return dg.RunRequest(run_key=f"ops:{message.key}", tags={
        "barometer/ops_message": message.key, "barometer/ops_subject": (message.subject or "")[:200]})


ops_alert_sensor = build_queue_sensor(
    "ops_alerts", OPS_TOPIC, dr_checks_job, ops_run_request,
    "OpsAlerts (via its SQS queue): run the DR checks")
