"""Dashboards group: the web dashboard's extracts and the QuickSight SPICE refresh, refreshed daily once the
rollups of yesterday's local day are in (daily_rollups runs at 12:15 UTC)."""
import dagster as dg

from platform_assets.dashboards.assets import EXTRACTS_KEY, SPICE_KEY, quicksight_spice, web_extracts

refresh_dashboards = dg.define_asset_job(
    "refresh_dashboards", selection=dg.AssetSelection.groups("dashboards"),
    description="Write the web dashboard's extracts from the rollups, then refresh QuickSight's SPICE datasets")
daily_dashboards = dg.ScheduleDefinition(
    name="daily_dashboards", job=refresh_dashboards, cron_schedule="0 13 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh the extracts and SPICE after the daily rollups")

defs = dg.Definitions(assets=[web_extracts, quicksight_spice], jobs=[refresh_dashboards],
                      schedules=[daily_dashboards])

__all__ = ["EXTRACTS_KEY", "SPICE_KEY", "defs"]
