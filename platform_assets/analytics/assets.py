"""The analytics group: the SQL rollups (one SQL text each, in barometer_sql/sql/) per local day,
written back to the lake as Parquet tables, and the incident record of the day's alerts."""
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pyarrow.compute as pc
from boto3.dynamodb.types import TypeDeserializer

from barometer.catalogue import ALERTS_TABLE, GLUE_DATABASE
from barometer.core.vocabulary import ALERT_KINDS
from barometer.lake import INCIDENTS_PREFIX, LAKE_SCHEMAS, PARTITION_COLUMN, ROLLUP_PREFIX, sk_day_bounds
from barometer_sql.rollups import ROLLUPS, RollupSpec, utc_partitions
from barometer_sql.store import replace_partition
from platform_assets.lake import lake_asset_key
from platform_assets.lake.catalog import ensure_table, register_partition
from platform_assets.partitions import (
    LAKE_POOL,
    LOCAL_DAY_TO_UTC_DAYS,
    SINGLE_RUN,
    beta_parameters,
    local_days,
)
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


def days_between(first: str, last: str) -> list[str]:
    start, stop = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((stop - start).days + 1)]


def register_utc_partitions(glue, location, table: str, first_dt: str, last_dt: str) -> int:
    """Registers the lake table's UTC partitions first_dt..last_dt in Glue (new ones; how many): Athena only
    reads registered partitions, and the newest (D+1 of a local day D) is not compacted, so not registered,
    until the next day's compaction. An empty partition's folder is harmless."""
    table_location = f"s3://{location.table_prefix(table)}"
    ensure_table(glue, GLUE_DATABASE, table, LAKE_SCHEMAS[table], table_location)
    return sum(register_partition(glue, GLUE_DATABASE, table, dt, f"{table_location}{PARTITION_COLUMN}={dt}/")
               for dt in days_between(first_dt, last_dt))


def build_rollup_asset(spec: RollupSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=rollup_asset_key(spec.name), group_name=GROUP, partitions_def=local_days, kinds={"sql", "parquet"},
        deps=[dg.AssetDep(lake_asset_key(spec.source_table), partition_mapping=LOCAL_DAY_TO_UTC_DAYS)],
        backfill_policy=SINGLE_RUN, pool=LAKE_POOL,
        description=f"{spec.description}. SQL: barometer_sql/sql/{spec.name}.sql; table "
                    f"`{GLUE_DATABASE}.{spec.name}`, partition dt = the local day. A range of days is one "
                    f"query and one run.",
    )
    def rollup(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
        days = context.partition_keys
        first, last = days[0], days[-1]
        first_dt, last_dt = utc_partitions(first, last)
        location = barometer.lake()
        glue = barometer.client("glue")
        if barometer.engine_kind == "athena":
            added = register_utc_partitions(glue, location, spec.source_table, first_dt, last_dt)
            context.log.info(f"Glue: {spec.source_table} dt={first_dt}..{last_dt} registered ({added} new)")
            engine = barometer.sql()
        else:
            engine = barometer.sql(tables=(spec.source_table,), first_dt=first_dt, last_dt=last_dt,
                                   include_rollups=False)
        try:
            rows = engine.rollup(spec.name, first, last)
        finally:
            engine.close()
        table_location = f"s3://{location.table_prefix(spec.name, ROLLUP_PREFIX)}"
        ensure_table(glue, GLUE_DATABASE, spec.name, spec.columns, table_location)
        day_column = rows.column("day")
        for day in days:
            replace_partition(location, ROLLUP_PREFIX, spec.name, day, rows.filter(pc.equal(day_column, day)))
            register_partition(glue, GLUE_DATABASE, spec.name, day, f"{table_location}{PARTITION_COLUMN}={day}/")
        if len(days) > 1:
            context.log.info(f"{spec.name}: {len(days)} days {first}..{last}, {rows.num_rows} rows")
        return dg.MaterializeResult(metadata={
            "rows": rows.num_rows, "days": len(days), "first_day": first, "last_day": last,
            "uri": f"{table_location}{PARTITION_COLUMN}={first}/" if len(days) == 1 else table_location,
            "engine": barometer.engine_kind, "preview": _preview(rows), "dagster/row_count": rows.num_rows})

    return rollup


with beta_parameters():
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


def write_incidents(context: dg.AssetExecutionContext, barometer: BarometerResource) -> dg.MaterializeResult:
    location = barometer.lake()
    ddb, s3 = barometer.client("dynamodb"), barometer.client("s3")
    counts, rules = {}, set()
    for day in context.partition_keys:
        alerts = alerts_of_day(ddb, barometer.name(ALERTS_TABLE), day)
        record = {"day": day, "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "run_id": context.run.run_id, "triggered_by": context.run.tags.get(ALERT_ID_TAG),
                  "alerts": alerts}
        key = f"{INCIDENTS_PREFIX}{PARTITION_COLUMN}={day}/incidents.json"
        s3.put_object(Bucket=location.processed_bucket, Key=key, ContentType="application/json",
                      Body=json.dumps(record, default=_json_default, indent=1).encode())
        counts[day] = len(alerts)
        rules |= {f"{a.get('kind')}:{a.get('key')}:{a.get('rule')}" for a in alerts}
    first = context.partition_keys[0]
    return dg.MaterializeResult(metadata={
        "alerts": sum(counts.values()), "days": len(counts),
        "uri": f"s3://{location.processed_bucket}/{INCIDENTS_PREFIX}{PARTITION_COLUMN}={first}/incidents.json"
        if len(counts) == 1 else f"s3://{location.processed_bucket}/{INCIDENTS_PREFIX}",
        "triggered_by": context.run.tags.get(ALERT_ID_TAG) or "(schedule or manual run)",
        "rules": ", ".join(sorted(rules)) or "none"})


with beta_parameters():
    alert_incidents = dg.asset(
        key=INCIDENTS_KEY, group_name=GROUP, partitions_def=local_days, kinds={"dynamodb", "s3"},
        deps=[rollup_asset_key("alert_summary")], backfill_policy=SINGLE_RUN,
        description="The incident record of a local day: every alert that fired (from AlertsTable), as "
                    "s3://{processed bucket}/incidents/dt={day}/incidents.json; written again when an alert "
                    "arrives.",
    )(write_incidents)
