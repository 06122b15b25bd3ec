"""The analytics group: the SQL rollups (one SQL text each, in barometer_sql/sql/) per local day,
written back to the lake as Parquet tables, and the incident record of the day's alerts."""
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
from boto3.dynamodb.types import TypeDeserializer

from barometer.catalogue import ALERTS_TABLE, GLUE_DATABASE
from barometer.core.vocabulary import ALERT_KINDS
from barometer.lake import INCIDENTS_PREFIX, PARTITION_COLUMN, ROLLUP_PREFIX, sk_day_bounds
from barometer_sql.rollups import ROLLUPS, RollupSpec, utc_partitions
from barometer_sql.store import replace_partition
from platform_assets.lake import lake_asset_key
from platform_assets.lake.catalog import ensure_table, register_partition
from platform_assets.partitions import LOCAL_DAY_TO_UTC_DAYS, local_days
from platform_assets.resources import BarometerResource

GROUP = "analytics"
ALERT_ID_TAG = "barometer/alert_id"


def rollup_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


INCIDENTS_KEY = rollup_asset_key("alert_incidents")


def _preview(rows, limit: int = 20) -> dg.MetadataValue:
    records = rows.slice(0, limit).to_pylist()
    if not records:
        return dg.MetadataValue.md("(no rows)")
    header = "| " + " | ".join(rows.column_names) + " |\n|" + "---|" * len(rows.column_names) + "\n"
    body = "".join("| " + " | ".join("" if v is None else str(v) for v in r.values()) + " |\n" for r in records)
    return dg.MetadataValue.md(header + body)


def build_rollup_asset(spec: RollupSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=rollup_asset_key(spec.name), group_name=GROUP, partitions_def=local_days, kinds={"sql", "parquet"},
        deps=[dg.AssetDep(lake_asset_key(spec.source_table), partition_mapping=LOCAL_DAY_TO_UTC_DAYS)],
        description=f"{spec.description}. SQL: barometer_sql/sql/{spec.name}.sql; table "
                    f"`{GLUE_DATABASE}.{spec.name}`, partition dt = the local day.",
    )
    def rollup(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
        day = context.partition_key
        first_dt, last_dt = utc_partitions(day, day)
        location = barometer.lake()
        engine = barometer.sql(tables=(spec.source_table,), first_dt=first_dt, last_dt=last_dt,
                               include_rollups=False) if barometer.engine_kind == "duckdb" else barometer.sql()
        try:
            rows = engine.rollup(spec.name, day)
        finally:
            engine.close()
        uri = replace_partition(location, ROLLUP_PREFIX, spec.name, day, rows)
        glue = barometer.client("glue")
        table_location = f"s3://{location.table_prefix(spec.name, ROLLUP_PREFIX)}"
        ensure_table(glue, GLUE_DATABASE, spec.name, spec.columns, table_location)
        register_partition(glue, GLUE_DATABASE, spec.name, day, f"{table_location}{PARTITION_COLUMN}={day}/")
        return dg.MaterializeResult(metadata={
            "rows": rows.num_rows, "uri": uri, "engine": barometer.engine_kind, "preview": _preview(rows),
            "dagster/row_count": rows.num_rows})

    return rollup


ROLLUP_ASSETS = [build_rollup_asset(spec) for spec in ROLLUPS.values()]


def alerts_of_day(ddb, alerts_table: str, day: str) -> list[dict]:
    """The day's alerts (local day), from AlertsTable: the record of what fired, ordered by time."""
    index = ALERTS_TABLE.indexes[0]
    # A local day lies within the UTC days before and after it.
    start, _ = sk_day_bounds((date.fromisoformat(day) - timedelta(days=1)).isoformat())
    _, end = sk_day_bounds((date.fromisoformat(day) + timedelta(days=1)).isoformat())
    deserializer = TypeDeserializer()
    alerts = []
    for kind in ALERT_KINDS:
        pages = ddb.get_paginator("query").paginate(
            TableName=alerts_table, IndexName=index.name,
            KeyConditionExpression="#pk = :kind AND #sk BETWEEN :from AND :to",
            ExpressionAttributeNames={"#pk": index.pk, "#sk": index.sk},
            ExpressionAttributeValues={":kind": {"S": kind}, ":from": {"S": start}, ":to": {"S": end}})
        for page in pages:
            for item in page["Items"]:
                alert = {k: deserializer.deserialize(v) for k, v in item.items()}
                if alert.get("local_day") == day:
                    alerts.append(alert)
    return sorted(alerts, key=lambda a: (str(a.get("ts")), str(a.get("alert_id"))))


def _json_default(value):
    return float(value) if isinstance(value, Decimal) else str(value)


@dg.asset(
    key=INCIDENTS_KEY, group_name=GROUP, partitions_def=local_days, kinds={"dynamodb", "s3"},
    deps=[rollup_asset_key("alert_summary")],
    description="The incident record of a local day: every alert that fired (from AlertsTable), as "
                "s3://{processed bucket}/incidents/dt={day}/incidents.json; written again when an alert arrives.",
)
def alert_incidents(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
    day = context.partition_key
    alerts = alerts_of_day(barometer.client("dynamodb"), barometer.name(ALERTS_TABLE), day)
    record = {"day": day, "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "run_id": context.run.run_id, "triggered_by": context.run.tags.get(ALERT_ID_TAG),
              "alerts": alerts}
    location = barometer.lake()
    key = f"{INCIDENTS_PREFIX}{PARTITION_COLUMN}={day}/incidents.json"
    barometer.client("s3").put_object(Bucket=location.processed_bucket, Key=key, ContentType="application/json",
                                      Body=json.dumps(record, default=_json_default, indent=1).encode())
    return dg.MaterializeResult(metadata={
        "alerts": len(alerts), "uri": f"s3://{location.processed_bucket}/{key}",
        "triggered_by": record["triggered_by"] or "(schedule or manual run)",
        "rules": ", ".join(sorted({f"{a.get('kind')}:{a.get('key')}:{a.get('rule')}" for a in alerts})) or "none"})
