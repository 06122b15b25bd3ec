"""Deployment group: the stream, functions, tables, deliveries and buckets of the deployment as observable
assets (derived from barometer/catalogue.py), observed from AWS every 15 minutes with their `available`
checks. The DR checks (dr group) are attached to the tables, buckets and API function they protect."""
import dagster as dg

from platform_assets.deployment.assets import CHECK, DEPLOYMENT_ASSETS
from platform_assets.deployment.graph import DEPLOYED_KEYS, deployment_key

# By key: group selections leave observable assets out. Their `available` checks only: the DR checks keep
# their own cadence (daily_dr_checks, an OpsAlert).
observe_deployment = dg.define_asset_job(
    "observe_deployment", selection=dg.AssetSelection.assets(*DEPLOYED_KEYS).without_checks()
    | dg.AssetSelection.checks(*(dg.AssetCheckKey(key, CHECK) for key in DEPLOYED_KEYS)),
    description="Observe the deployment from AWS: descriptions and CloudWatch metrics")
observe_deployment_schedule = dg.ScheduleDefinition(
    name="observe_deployment_every_15_minutes", job=observe_deployment, cron_schedule="*/15 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Record the deployment's state and its last 15 minutes of metrics")

defs = dg.Definitions(assets=[DEPLOYMENT_ASSETS], jobs=[observe_deployment], schedules=[observe_deployment_schedule])

__all__ = ["DEPLOYED_KEYS", "defs", "deployment_key", "observe_deployment"]
