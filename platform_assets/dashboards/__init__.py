"""Dashboards group: the web dashboard's extracts and the QuickSight SPICE refresh."""
import dagster as dg

from platform_assets.dashboards.assets import quicksight_spice, web_extracts

defs = dg.Definitions(assets=[web_extracts, quicksight_spice])
