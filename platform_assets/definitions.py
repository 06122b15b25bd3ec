"""Barometer's Dagster code location: `defs` = the five groups plus the resources.

Each group (ingestion, lake, analytics, dashboards, dr) is a package with its assets, checks,
sensors and schedules; the resources (environment.py, resources.py) decide local vs AWS.
"""
import dagster as dg

from platform_assets import analytics, dashboards, dr, ingestion, lake
from platform_assets.resources import build_resources

defs = dg.Definitions.merge(
    ingestion.defs, lake.defs, analytics.defs, dashboards.defs, dr.defs,
    dg.Definitions(resources=build_resources(), executor=dg.in_process_executor),
)
