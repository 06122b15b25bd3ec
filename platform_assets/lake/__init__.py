"""Lake group: compaction and catalog registration of the processed zone."""
import dagster as dg

from platform_assets.lake.assets import LAKE_ASSETS, lake_asset_key
from platform_assets.schedules import yesterday_schedule

compaction_job = dg.define_asset_job("compact_lake", selection=dg.AssetSelection.groups("lake"),
                                     description="Compact yesterday's (or any) UTC day of the processed zone")
# Shortly after the UTC day ends (and its last delivery buffer is flushed), compact it.
compaction_schedule = yesterday_schedule("daily_compaction", compaction_job, "30 0 * * *",
                                         "Compact yesterday's UTC day of the processed zone")

defs = dg.Definitions(assets=LAKE_ASSETS, jobs=[compaction_job], schedules=[compaction_schedule])

__all__ = ["defs", "lake_asset_key"]
