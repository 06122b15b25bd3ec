"""The lake group: per UTC day, each processed-zone table compacted to one file with one row per
id, registered in the Glue catalog, and checked (no duplicate id, declared schema, row count equal
to the operational table's)."""
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from barometer_sql.lake import partition_files, read_table
from barometer_sql.schemas import lake_schema
from barometer.lake import LAKE_ID_COLUMN, LAKE_SCHEMAS, LAKE_TABLES, PARTITION_COLUMN
from barometer.catalogue import ALERTS_TABLE, GLUE_DATABASE, LATEST_TABLE, METRICS_TABLE
from barometer.settings import get_settings
from platform_assets.ingestion.assets import feed_key
from platform_assets.lake.catalog import ensure_table, register_partition
from platform_assets.lake.compaction import compact_partition
from platform_assets.lake.reconcile import source_count
from platform_assets.partitions import utc_days
from platform_assets.resources import BarometerResource

GROUP = "lake"
FEED_OF_TABLE = {"quotes": "quote", "weather": "weather"}
CHECK_UNIQUE = "no_duplicate_ids"
CHECK_SCHEMA = "schema_as_declared"
CHECK_RECONCILE = "rows_match_operational_table"


def lake_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def _configured_keys(table: str) -> set[str]:
    settings = get_settings()
    return set(settings.symbols) if table == "quotes" else set(settings.cities) if table == "weather" else set()


def _unique_check(rows, table: str) -> dg.AssetCheckResult:
    ids = rows.column(LAKE_ID_COLUMN[table])
    distinct = len(ids.unique())
    return dg.AssetCheckResult(check_name=CHECK_UNIQUE, passed=distinct == rows.num_rows,
                               metadata={"rows": rows.num_rows, "distinct_ids": distinct})


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


def _reconcile_check(barometer: BarometerResource, table: str, dt: str, lake_ids: int) -> dg.AssetCheckResult:
    # Today's partition trails the stream by the delivery buffer: a warning, not an error.
    names = {spec.logical_id: barometer.name(spec) for spec in (METRICS_TABLE, LATEST_TABLE, ALERTS_TABLE)}
    try:
        expected = source_count(barometer.client("dynamodb"), names, table, dt, _configured_keys(table))
    except ClientError as exc:
        return dg.AssetCheckResult(check_name=CHECK_RECONCILE, passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"lake_ids": lake_ids, "reason": f"cannot count the source: {exc}"})
    return dg.AssetCheckResult(check_name=CHECK_RECONCILE, passed=lake_ids == expected,
                               severity=dg.AssetCheckSeverity.WARN,
                               metadata={"lake_ids": lake_ids, "operational_table": expected})


def build_compaction_asset(table: str) -> dg.AssetsDefinition:
    key = lake_asset_key(table)

    @dg.asset(
        key=key, group_name=GROUP, partitions_def=utc_days, kinds={"s3", "parquet", "glue"},
        deps=[feed_key(FEED_OF_TABLE[table])] if table in FEED_OF_TABLE else [],
        description=f"`{table}` of the processed zone for one UTC day: one Parquet file, one row per "
                    f"{LAKE_ID_COLUMN[table]}, registered in the Glue catalog.",
        check_specs=[dg.AssetCheckSpec(CHECK_UNIQUE, asset=key, description="one row per id"),
                     dg.AssetCheckSpec(CHECK_SCHEMA, asset=key, description="every file has the declared columns"),
                     dg.AssetCheckSpec(CHECK_RECONCILE, asset=key,
                                       description="as many rows as the operational table holds for the day")],
    )
    def compacted(context: dg.AssetExecutionContext, barometer: BarometerResource):
        dt = context.partition_key
        location = barometer.lake()
        outcome = compact_partition(location, table, dt)
        glue = barometer.client("glue")
        table_location = f"s3://{location.table_prefix(table)}"
        ensure_table(glue, GLUE_DATABASE, table, LAKE_SCHEMAS[table], table_location)
        if outcome.uri:
            register_partition(glue, GLUE_DATABASE, table, dt, f"{table_location}{PARTITION_COLUMN}={dt}/")

        fs = location.filesystem()
        files = partition_files(fs, location.table_prefix(table), dt, dt)
        rows = read_table(location, table, lake_schema(table, with_partition=True), first_dt=dt, last_dt=dt, fs=fs)
        distinct = len(rows.column(LAKE_ID_COLUMN[table]).unique())
        reconcile = _reconcile_check(barometer, table, dt, distinct)
        return dg.MaterializeResult(
            metadata={"files_read": outcome.files_read, "rows_read": outcome.rows_read, "rows": outcome.rows,
                      "copies_removed": outcome.copies_removed, "uri": outcome.uri or "(empty partition)"},
            check_results=[_unique_check(rows, table), _schema_check(fs, files, table), reconcile],
        )

    return compacted


LAKE_ASSETS = [build_compaction_asset(table) for table in LAKE_TABLES]
