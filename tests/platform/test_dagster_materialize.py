"""Materializing the code location's assets in-process against the emulator, on sample data in the
documented lake layout and matching operational tables; rollups compared with plain Python."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import dagster as dg
import pytest
from sample_lake import (
    SampleLake,
    expected_alert_summary,
    expected_daily_ohlc,
    expected_daily_weather,
    make_events,
    write_lake,
)

from barometer.catalogue import ALERTS_TABLE, LATEST_TABLE, METRICS_TABLE, PROCESSED_BUCKET, RAW_BUCKET
from barometer_local.emulator import REGION
from barometer_sql import LakeLocation, run_query
from platform_assets.definitions import build_definitions
from platform_assets.freshness import CHECK_PARTITION, CHECK_RECENT
from platform_assets.resources import BarometerResource

pytestmark = pytest.mark.emulator

UTC_DAY = "2026-11-24"
LOCAL_DAY = "2026-11-23"


def _fixed(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fill_operational_tables(ddb, names: dict[str, str], lake: SampleLake) -> None:
    """What the stream consumers would have written for the same events."""
    items = [{"pk": {"S": f"{kind}#{row[key_field]}"}, "sk": {"S": f"{_fixed(row['ts'])}#{row['event_id']}"},
              "kind": {"S": kind}, "key": {"S": row[key_field]}, "local_day": {"S": row["local_day"]}}
             for kind, key_field, rows in (("quote", "symbol", lake.quotes), ("weather", "city", lake.weather))
             for row in rows]
    for i in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={names["MetricsTable"]: [{"PutRequest": {"Item": item}}
                                                                   for item in items[i:i + 25]]})
    for alert in lake.alerts:
        ts = alert["ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
        ddb.put_item(TableName=names["AlertsTable"], Item={
            "pk": {"S": f"{alert['kind']}#{alert['key']}"}, "sk": {"S": f"{alert['local_day']}#{alert['rule']}"},
            "alert_id": {"S": alert["alert_id"]}, "kind": {"S": alert["kind"]}, "key": {"S": alert["key"]},
            "rule": {"S": alert["rule"]}, "ts": {"S": ts}, "local_day": {"S": alert["local_day"]},
            "value": {"N": str(alert["value"])}, "ts_key": {"S": f"{ts}#{alert['key']}#{alert['rule']}"}})


@pytest.fixture(scope="module")
def stage(emulator, provisioned):
    """A lake of its own (bucket and tables under test names), filled with the sample events."""
    from platform_helpers import create_table_like, new_bucket

    lake = make_events()
    suffix = uuid.uuid4().hex[:8]
    names = {spec.logical_id: create_table_like(emulator, spec, f"t-{spec.logical_id}-{suffix}")
             for spec in (METRICS_TABLE, LATEST_TABLE, ALERTS_TABLE)}
    names[PROCESSED_BUCKET.logical_id] = new_bucket(emulator)
    names[RAW_BUCKET.logical_id] = new_bucket(emulator, "raw")
    location = LakeLocation(names[PROCESSED_BUCKET.logical_id], emulator.url, REGION)
    write_lake(location.filesystem(), location.processed_bucket, lake)
    fill_operational_tables(boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION), names, lake)
    barometer = BarometerResource(environment="local", endpoint=emulator.url, region=REGION, name_overrides=names)
    with dg.instance_for_test() as instance:
        yield lake, location, barometer, instance, build_definitions({"barometer": barometer})


def materialize(stage, selection: str, partition: str | None = None) -> dg.ExecuteInProcessResult:
    *_, instance, stage_defs = stage
    job = stage_defs.resolve_implicit_global_asset_job_def()
    keys = dg.AssetSelection.from_string(selection).resolve(stage_defs.resolve_asset_graph())
    result = job.execute_in_process(instance=instance, partition_key=partition, asset_selection=list(keys))
    assert result.success
    return result


def checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    """The asset's own checks (its freshness check comes along with it; test_dagster_unattended tests that)."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()
            if e.check_name not in (CHECK_PARTITION, CHECK_RECENT)}


def test_compaction_leaves_one_file_with_one_row_per_event_and_registers_the_partition(stage, emulator):
    lake, location, *_ = stage
    distinct = sum(1 for q in lake.quotes if q["ts"].date().isoformat() == UTC_DAY)
    # When the quotes of one UTC day are compacted
    result = materialize(stage, "key:lake/quotes", UTC_DAY)
    # Then the partition is one file holding each event once, and every check passed
    (materialization,) = result.asset_materializations_for_node("lake__quotes")
    assert materialization.metadata["rows"].value == distinct
    assert materialization.metadata["copies_removed"].value > 0
    assert {name: e.passed for name, e in checks(result).items()} == {
        "no_duplicate_ids": True, "schema_as_declared": True, "rows_match_operational_table": True}
    s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=REGION)
    listed = s3.list_objects_v2(Bucket=location.processed_bucket, Prefix=f"processed/quotes/dt={UTC_DAY}/")
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["part-00000.parquet"]
    glue = boto3.client("glue", endpoint_url=emulator.url, region_name=REGION)
    partition = glue.get_partition(DatabaseName="barometer", TableName="quotes", PartitionValues=[UTC_DAY])
    assert partition["Partition"]["StorageDescriptor"]["Location"].endswith(f"/processed/quotes/dt={UTC_DAY}/")
    # And compacting again changes nothing
    again = materialize(stage, "key:lake/quotes", UTC_DAY)
    assert again.asset_materializations_for_node("lake__quotes")[0].metadata["rows"].value == distinct


def test_a_missing_event_fails_the_reconciliation(stage, emulator):
    lake, _, barometer, *_ = stage
    ddb = boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION)
    extra = lake.weather[0]
    ddb.put_item(TableName=barometer.name(METRICS_TABLE), Item={
        "pk": {"S": "weather#London"}, "sk": {"S": f"{_fixed(datetime(2026, 11, 25, 1, tzinfo=UTC))}#not-in-lake"},
        "kind": {"S": "weather"}, "key": {"S": extra["city"]}})
    result = materialize(stage, "key:lake/weather", "2026-11-25")
    reconcile = checks(result)["rows_match_operational_table"]
    assert not reconcile.passed
    assert reconcile.metadata["operational_table"].value == reconcile.metadata["lake_ids"].value + 1


def test_rollups_of_a_local_day_match_an_independent_computation(stage):
    lake, location, *_ = stage
    # When the analytics group is materialized for a local day
    result = materialize(stage, "group:analytics", LOCAL_DAY)
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "analytics/daily_ohlc", "analytics/daily_weather", "analytics/alert_summary", "analytics/alert_incidents"}

    # Then the rollup tables in the lake hold exactly the independently computed rows of that day
    def rows(sql):
        return run_query(sql, s3_endpoint=location.s3_endpoint, processed_bucket=location.processed_bucket).records()

    ohlc = {(r["symbol"], r["day"]): r for r in rows("SELECT * FROM daily_ohlc")}
    expected = {k: v for k, v in expected_daily_ohlc(lake).items() if k[1] == LOCAL_DAY}
    assert ohlc.keys() == expected.keys()
    for key, values in expected.items():
        assert {c: ohlc[key][c] for c in values} == pytest.approx(values)
    weather = {(r["city"], r["day"]): r for r in rows("SELECT * FROM barometer.daily_weather")}
    expected_weather = {k: v for k, v in expected_daily_weather(lake).items() if k[1] == LOCAL_DAY}
    assert weather.keys() == expected_weather.keys()
    for key, values in expected_weather.items():
        assert {c: weather[key][c] for c in values} == pytest.approx(values)
    summary = {(r["day"], r["kind"], r["rule"]): r["alerts"] for r in rows("SELECT * FROM alert_summary")}
    assert summary == {k: v["alerts"] for k, v in expected_alert_summary(lake).items() if k[0] == LOCAL_DAY}


def test_the_incident_record_lists_the_days_alerts(stage, emulator):
    lake, location, *_ = stage
    materialize(stage, "key:analytics/alert_incidents", LOCAL_DAY)
    s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=REGION)
    record = json.loads(s3.get_object(Bucket=location.processed_bucket,
                                      Key=f"incidents/dt={LOCAL_DAY}/incidents.json")["Body"].read())
    assert [a["alert_id"] for a in record["alerts"]] == sorted(
        a["alert_id"] for a in lake.alerts if a["local_day"] == LOCAL_DAY)


def test_web_extracts_carry_the_materialized_rollups(stage, emulator):
    _, location, *_ = stage
    materialize(stage, "group:analytics", LOCAL_DAY)
    materialize(stage, "key:dashboards/web_extracts")
    s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=REGION)
    extract = json.loads(s3.get_object(Bucket=location.processed_bucket, Key="extracts/daily_ohlc.json")["Body"].read())
    assert extract["columns"][:2] == ["symbol", "day"]
    assert {(r["symbol"], r["day"]) for r in extract["rows"]} >= {("AAPL", LOCAL_DAY), ("SAP", LOCAL_DAY)}


def test_dr_checks_say_what_the_emulator_cannot_model_instead_of_passing(stage):
    # When the dr_checks job runs (as an OpsAlert or the daily schedule runs it)
    *_, instance, stage_defs = stage
    result = stage_defs.resolve_job_def("dr_checks").execute_in_process(instance=instance)
    assert result.success
    # Then each check ran on every asset it protects, and none passed for lack of an emulated fact
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    tables = {"deployment/metrics_table", "deployment/latest_table", "deployment/alerts_table"}
    buckets = {"deployment/raw_bucket", "deployment/processed_bucket"}
    assert set(evaluations) == ({(key, "backup_recent") for key in tables | buckets}
                                | {(key, "global_table_replicas_active") for key in tables}
                                | {(key, "lake_replicated") for key in buckets}
                                | {("deployment/api_function", "health_check_healthy")})
    for evaluation in evaluations.values():
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.metadata["modelled"].value is False and evaluation.metadata["reason"].value


def test_feeds_are_observed_and_checked_for_freshness_per_key(stage, emulator):
    _, _, barometer, instance, _ = stage
    ddb = boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION)
    now = datetime.now(UTC)
    for key, age in (("AAPL", timedelta(minutes=1)), ("MSFT", timedelta(hours=3))):
        ddb.put_item(TableName=barometer.name(LATEST_TABLE), Item={
            "pk": {"S": f"quote#{key}"}, "kind": {"S": "quote"}, "key": {"S": key},
            "ts": {"S": _fixed(now - age)}, "value": {"N": "100"}})
    # When the feeds are observed by their job (observable sources are not materialized)
    result = stage[4].resolve_job_def("observe_feeds").execute_in_process(instance=instance)
    assert result.success
    observations = {e.asset_key.to_user_string(): e.event_specific_data.asset_observation
                    for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"}
    assert set(observations) == {"ingestion/stock_feed", "ingestion/weather_feed"}
    assert observations["ingestion/stock_feed"].metadata["keys"].value == 2
    # Then a fresh symbol passes its freshness check, a stale one and one never seen fail
    verdicts = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert verdicts["fresh_aapl"] is True and verdicts["fresh_msft"] is False and verdicts["fresh_sap"] is False
    assert verdicts["fresh_london"] is False  # no weather in this LatestTable


def test_an_alerts_run_request_refreshes_its_day_and_records_the_incident(stage, emulator):
    from platform_assets.analytics.sensors import alert_run_request
    from platform_assets.sensor_queue import parse_body

    lake, location, _, instance, stage_defs = stage
    alert = next(a for a in lake.alerts if a["kind"] == "market" and a["local_day"] == LOCAL_DAY)
    message = parse_body(json.dumps({"alert_id": alert["alert_id"], "kind": "market", "key": alert["key"],
                                     "rule": "market_drop", "local_day": LOCAL_DAY}), "sqs-1")
    # When the run the sensor asks for is executed
    request = alert_run_request(message)
    result = stage_defs.resolve_job_def("alert_response").execute_in_process(
        instance=instance, partition_key=request.partition_key, asset_selection=request.asset_selection,
        tags=request.tags)
    # Then the alert's rollups and the incident record of its day are refreshed, naming the alert
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "analytics/daily_ohlc", "analytics/alert_summary", "analytics/alert_incidents"}
    s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=REGION)
    record = json.loads(s3.get_object(Bucket=location.processed_bucket,
                                      Key=f"incidents/dt={LOCAL_DAY}/incidents.json")["Body"].read())
    assert record["triggered_by"] == alert["alert_id"]
