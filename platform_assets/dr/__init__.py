"""DR group: the DR posture asset, its checks, the OpsAlert sensor and a daily run."""
import dagster as dg

from platform_assets.dr.checks import DR_CHECKS, dr_posture
from platform_assets.dr.sensors import dr_checks_job, ops_alert_sensor

daily_dr_checks = dg.ScheduleDefinition(name="daily_dr_checks", job=dr_checks_job, cron_schedule="0 6 * * *",
                                        execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
                                        description="Run every DR check once a day (an OpsAlert runs them too)")

defs = dg.Definitions(assets=[dr_posture], asset_checks=DR_CHECKS, jobs=[dr_checks_job],
                      sensors=[ops_alert_sensor], schedules=[daily_dr_checks])
