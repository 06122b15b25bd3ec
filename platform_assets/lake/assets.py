"""The lake group: per UTC day, each processed-zone table compacted to one file with one row per
id, registered in the Glue catalog, and checked (no duplicate id, declared schema, row count equal
to the operational table's)."""
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from barometer.catalogue import ALERTS_TABLE, GLUE_DATABASE, LATEST_TABLE, METRICS_TABLE, delivery_for_table
from barometer.lake import LAKE_ID_COLUMN, LAKE_SCHEMAS, LAKE_TABLES, PARTITION_COLUMN
from barometer.settings import get_settings
from barometer_sql.lake import partition_files, read_table
from barometer_sql.schemas import lake_schema
from platform_assets.deployment.graph import deployment_key
from platform_assets.lake.catalog import ensure_table, register_partition
from platform_assets.lake.compaction import compact_partition
from platform_assets.lake.reconcile import source_count
from platform_assets.partitions import LAKE_POOL, SINGLE_RUN, beta_parameters, utc_days
from platform_assets.resources import BarometerResource

GROUP = "lake"
CHECK_UNIQUE = "no_duplicate_ids"
CHECK_SCHEMA = "schema_as_declared"
CHECK_RECONCILE = "rows_match_operational_table"


def lake_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def _configured_keys(table: str) -> set[str]:
    settings = get_settings()
    return set(settings.symbols) if table == "quotes" else set(settings.cities) if table == "weather" else set()


def _same_type(actual, declared) -> bool:
    """Equal, or both timestamps: writers differ in unit and zone (the local delivery writes
    timestamp[us, UTC], compaction UTC without zone), all read as Glue's `timestamp`."""
    return actual == declared or (pa.types.is_timestamp(actual) and pa.types.is_timestamp(declared))


def _schema_check(fs, files: list[tuple[str, str]], table: str) -> dg.AssetCheckResult:
    declared = lake_schema(table)
    problems = []
    for path, _ in files:
        schema = pq.read_schema(path, filesystem=fs)
        names = [n for n in schema.names if n != PARTITION_COLUMN]
        if names != declared.names:
            problems.append(f"{path}: columns {names}")
            continue
        for field in declared:
            if not _same_type(schema.field(field.name).type, field.type):
                problems.append(f"{path}: {field.name} is {schema.field(field.name).type}, declared {field.type}")
    return dg.AssetCheckResult(check_name=CHECK_SCHEMA, passed=not problems,
                               metadata={"files": len(files), "problems": "\n".join(problems) or "none",
                                         "declared": ", ".join(f"{n} {t}" for n, t in LAKE_SCHEMAS[table])})


def _source_count(barometer: BarometerResource, table: str, dt: str) -> tuple[int | None, str]:
    """The operational table's count of the day, or the reason it could not be counted. Today's partition
    trails the stream by the delivery buffer: the check is a warning, not an error."""
    names = {spec.logical_id: barometer.name(spec) for spec in (METRICS_TABLE, LATEST_TABLE, ALERTS_TABLE)}
    try:
        return source_count(barometer.client("dynamodb"), names, table, dt, _configured_keys(table)), ""
    except ClientError as exc:
        return None, f"cannot count the source: {exc}"


def build_compaction_asset(table: str) -> dg.AssetsDefinition:
    key = lake_asset_key(table)

    @dg.asset(
        key=key, group_name=GROUP, partitions_def=utc_days, kinds={"s3", "parquet", "glue"},
        backfill_policy=SINGLE_RUN, pool=LAKE_POOL,
        deps=[deployment_key(delivery_for_table(table))],  # the Firehose delivery writing the table's files
        description=f"`{table}` of the processed zone per UTC day: one Parquet file, one row per "
                    f"{LAKE_ID_COLUMN[table]}, registered in the Glue catalog. A range of days is one run.",
        check_specs=[dg.AssetCheckSpec(CHECK_UNIQUE, asset=key, description="one row per id"),
                     dg.AssetCheckSpec(CHECK_SCHEMA, asset=key, description="every file has the declared columns"),
                     dg.AssetCheckSpec(CHECK_RECONCILE, asset=key,
                                       description="as many rows as the operational table holds for the day")],
    )
    def compacted(context: dg.AssetExecutionContext, barometer: BarometerResource):
        location = barometer.lake()
        glue = barometer.client("glue")
        table_location = f"s3://{location.table_prefix(table)}"
        ensure_table(glue, GLUE_DATABASE, table, LAKE_SCHEMAS[table], table_location)
        fs = location.filesystem()
        days = context.partition_keys
        totals = {"files_read": 0, "rows_read": 0, "rows": 0, "copies_removed": 0}
        files, duplicated, mismatched, reasons = [], {}, {}, []
        counted = {"lake_ids": 0, "operational_table": 0}  # over the days both were counted
        for n, dt in enumerate(days, 1):
            outcome = compact_partition(location, table, dt)
            if outcome.uri:
                register_partition(glue, GLUE_DATABASE, table, dt, f"{table_location}{PARTITION_COLUMN}={dt}/")
            for name in totals:
                totals[name] += getattr(outcome, name)
            day_files = partition_files(fs, location.table_prefix(table), dt, dt)
            files += day_files
            rows = read_table(location, table, lake_schema(table, with_partition=True), first_dt=dt, last_dt=dt,
                              fs=fs)
            distinct = len(rows.column(LAKE_ID_COLUMN[table]).unique())
            if distinct != rows.num_rows:
                duplicated[dt] = rows.num_rows - distinct
            expected, reason = _source_count(barometer, table, dt)
            if reason:
                reasons.append(f"{dt}: {reason}")
            else:
                counted["lake_ids"] += distinct
                counted["operational_table"] += expected
                if expected != distinct:
                    mismatched[dt] = f"lake {distinct}, operational table {expected}"
            if len(days) > 1 and (n % 30 == 0 or n == len(days)):
                context.log.info(f"{table}: {n}/{len(days)} days compacted")
        single = len(days) == 1
        return dg.MaterializeResult(
            metadata={**totals, "days": len(days), "first_dt": days[0], "last_dt": days[-1],
                      "uri": f"{table_location}{PARTITION_COLUMN}={days[0]}/" if single else table_location},
            check_results=[
                dg.AssetCheckResult(check_name=CHECK_UNIQUE, passed=not duplicated, metadata={
                    "days": len(days), "extra_rows": dg.MetadataValue.json(duplicated)}),
                _schema_check(fs, files, table),
                dg.AssetCheckResult(check_name=CHECK_RECONCILE, passed=not mismatched and not reasons,
                                    severity=dg.AssetCheckSeverity.WARN, metadata={
                                        "days": len(days), **counted,
                                        "mismatched": dg.MetadataValue.json(mismatched),
                                        "reason": "; ".join(reasons) or "none"}),
            ],
        )

    return compacted


with beta_parameters():
    LAKE_ASSETS = [build_compaction_asset(table) for table in LAKE_TABLES]
