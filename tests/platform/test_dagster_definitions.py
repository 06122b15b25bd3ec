"""The code location loads, shows the six groups and the alert sensors, and runs in-process."""
from __future__ import annotations

import dagster as dg

from platform_assets.definitions import defs


def test_the_code_location_loads_and_validates():
    dg.Definitions.validate_loadable(defs)


def test_every_group_is_there():
    groups = {spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups == {"ingestion", "deployment", "lake", "analytics", "dashboards", "dr"}
    keys = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert {"ingestion/stock_feed", "ingestion/weather_feed", "lake/quotes", "lake/weather", "lake/alerts",
            "analytics/daily_ohlc", "analytics/daily_weather", "analytics/alert_summary",
            "analytics/alert_incidents", "dashboards/web_extracts", "dr/dr_posture", "deployment/events_stream",
            "deployment/processor_function", "deployment/metrics_table", "deployment/raw_delivery"} <= keys


def test_alert_sensors_schedules_and_jobs():
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {
        "market_alerts", "weather_alerts", "ops_alerts", "finops_alerts", "run_failures_to_ops_alerts",
        "check_failures_to_ops_alerts"}
    assert {s.name for s in repository.schedule_defs} == {
        "poll_every_minute", "observe_feeds_every_5_minutes", "daily_compaction", "daily_rollups",
        "daily_dashboards", "daily_dr_checks", "check_freshness_every_15_minutes",
        "observe_deployment_every_15_minutes"}
    assert {"poll_feeds", "observe_feeds", "observe_deployment", "compact_lake", "alert_response",
            "refresh_dashboards", "dr_checks", "check_freshness", "finops_alert"} <= {
        j.name for j in repository.get_all_jobs()}


def test_runs_execute_in_process():
    # The multiprocess executor re-imports the code location per step (docs/traps.md: 12 s vs 6 s).
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def is dg.in_process_executor


def test_a_rollup_reads_the_utc_days_around_its_local_day():
    graph = defs.resolve_asset_graph()
    ohlc = graph.get(dg.AssetKey(["analytics", "daily_ohlc"]))
    assert dg.AssetKey(["lake", "quotes"]) in ohlc.parent_keys
    mapping = graph.get_partition_mapping(ohlc.key, dg.AssetKey(["lake", "quotes"]))
    assert (mapping.start_offset, mapping.end_offset) == (-1, 1)



def test_compaction_and_rollups_share_the_lake_pool_which_production_limits_to_one_step():
    from pathlib import Path

    import yaml

    from platform_assets.analytics.assets import ROLLUP_ASSETS
    from platform_assets.partitions import LAKE_POOL

    # Given the lake's compaction and the SQL rollups that read its files
    graph = defs.resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).assets_def.op.pool for key in graph.materializable_asset_keys}
    rollups = {key.to_user_string() for asset in ROLLUP_ASSETS for key in asset.keys}
    lake_steps = {k for k in pools if k.startswith("lake/")} | rollups
    # Then each of their steps takes a slot of the lake pool, and nothing else does
    assert lake_steps and {pools[k] for k in lake_steps} == {LAKE_POOL}
    assert {k for k, pool in pools.items() if pool == LAKE_POOL} == lake_steps
    # And the production instance gives a pool one slot per op, so they never overlap there
    instance = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy/dagster/dagster.yaml").read_text())
    assert instance["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
