"""The dashboards group: the web dashboard's extracts (local and AWS) and, on AWS, the QuickSight
SPICE refresh of the datasets named in BAROMETER_QUICKSIGHT_DATASETS (comma-separated ids)."""
import os
from datetime import UTC, datetime

import dagster as dg

from barometer_sql import open_engine
from barometer_sql.rollups import ROLLUPS
from platform_assets.analytics import rollup_asset_key
from platform_assets.dashboards.extracts import build_extract, write_extract
from platform_assets.resources import BarometerResource

GROUP = "dashboards"
QUICKSIGHT_DATASETS_ENV = "BAROMETER_QUICKSIGHT_DATASETS"
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
          description="QuickSight SPICE ingestion of the Athena-backed datasets (AWS only)")
def quicksight_spice(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
    datasets = [d.strip() for d in os.environ.get(QUICKSIGHT_DATASETS_ENV, "").split(",") if d.strip()]
    if barometer.platform.is_local:
        return dg.MaterializeResult(metadata={
            "refreshed": 0, "modelled": False,
            "reason": "QuickSight is AWS-only (the emulator's ingestion is a stub); locally the web dashboard "
                      "reads web_extracts"})
    if not datasets:
        return dg.MaterializeResult(metadata={"refreshed": 0, "reason": f"{QUICKSIGHT_DATASETS_ENV} is empty"})
    account = barometer.client("sts").get_caller_identity()["Account"]
    quicksight = barometer.client("quicksight")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    ingestions = {}
    for dataset in datasets:
        response = quicksight.create_ingestion(AwsAccountId=account, DataSetId=dataset,
                                               IngestionId=f"dagster-{context.run.run_id[:8]}-{stamp}")
        ingestions[dataset] = response.get("IngestionStatus", "?")
    return dg.MaterializeResult(metadata={"refreshed": len(ingestions), "ingestions": dg.MetadataValue.json(ingestions)})
