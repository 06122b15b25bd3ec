"""The dashboards group: the web dashboard's extracts (local and AWS) and, on AWS, the QuickSight
SPICE refresh of the datasets named in BAROMETER_QUICKSIGHT_DATASETS (comma-separated ids; the
resource's `quicksight_datasets`)."""
from datetime import UTC, datetime

import dagster as dg

from barometer_sql import open_engine
from barometer_sql.rollups import ROLLUPS
from platform_assets.analytics import rollup_asset_key
from platform_assets.dashboards.extracts import build_extract, write_extract
from platform_assets.dashboards.quicksight import refresh_spice
from platform_assets.resources import BarometerResource

GROUP = "dashboards"
QUICKSIGHT_DATASETS_ENV = "BAROMETER_QUICKSIGHT_DATASETS"  # bound to the resource (resources.py)
EXTRACTS_KEY = dg.AssetKey([GROUP, "web_extracts"])
SPICE_KEY = dg.AssetKey([GROUP, "quicksight_spice"])


@dg.asset(key=EXTRACTS_KEY, group_name=GROUP, kinds={"s3", "json"},
          deps=[rollup_asset_key(name) for name in ROLLUPS],
          description="The rollups' recent rows as JSON extracts (s3://{processed}/extracts/{rollup}.json) "
                      "that the read API serves to the web dashboard")
def web_extracts(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
    location = barometer.lake()
    s3 = barometer.client("s3")
    today = datetime.now(UTC).date()
    metadata = {}
    # The rollup tables as materialized in the lake; DuckDB reads them whichever engine made them.
    with open_engine("duckdb", location, tables=()) as engine:
        for name in ROLLUPS:
            extract = build_extract(engine, name, today)
            metadata[f"{name}_rows"] = len(extract["rows"])
            metadata[f"{name}_uri"] = write_extract(s3, location.processed_bucket, extract)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(key=SPICE_KEY, group_name=GROUP, kinds={"quicksight"}, deps=[EXTRACTS_KEY],
          description="QuickSight SPICE ingestion of the Athena-backed datasets (AWS only): each ingestion is "
                      "followed to COMPLETED (DescribeIngestion); FAILED, CANCELLED or a timeout fail the step")
def quicksight_spice(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
    if barometer.platform.is_local:
        return dg.MaterializeResult(metadata={
            "refreshed": 0, "modelled": False,
            "reason": "QuickSight is AWS-only (the emulator's ingestion is a stub); locally the web dashboard "
                      "reads web_extracts"})
    datasets = barometer.dataset_ids
    if not datasets:
        return dg.MaterializeResult(metadata={"refreshed": 0, "reason": f"{QUICKSIGHT_DATASETS_ENV} is empty"})
    account = barometer.platform.target.account()
    ingestion_id = f"dagster-{context.run.run_id[:8]}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    context.log.info(f"SPICE ingestion {ingestion_id} of {', '.join(datasets)}; waiting for it to finish")
    done = refresh_spice(barometer.client("quicksight"), account, datasets, ingestion_id,
                         timeout_s=barometer.quicksight_timeout_s)
    return dg.MaterializeResult(metadata={
        "refreshed": len(done), "ingestion_id": ingestion_id,
        "ingestions": dg.MetadataValue.json({i.dataset: {"status": i.status, "rows": i.rows, "seconds": i.seconds}
                                             for i in done})})
