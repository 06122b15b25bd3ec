"""Freshness of what the schedules keep current, checked on its own: the `check_freshness` job (every
15 minutes, schedule RUNNING) runs only these checks, so a schedule that stopped, a run that failed or a
daemon that was down shows as a failed check (and, with ERROR severity, an OpsAlert: alerting.py).

- lake tables (UTC days): yesterday's partition materialized by 02:00 UTC (daily_compaction: 00:30);
- rollups and the incident record (local days): yesterday's partition by 13:00 UTC (daily_rollups: 12:15);
- web extracts (one object): updated within the 24 hours before 14:00 UTC (daily_dashboards: 13:00).

The partitions end tomorrow (partitions.py), so Dagster's time-partition freshness checks, which expect
the newest partition, would always wait for tomorrow: the partitioned checks here name the day they
expect. The feeds' freshness is checked per symbol and city with every observation (ingestion group).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import dagster as dg

from barometer.lake import LAKE_TABLES
from barometer_sql.rollups import ROLLUPS
from platform_assets.analytics import INCIDENTS_KEY, rollup_asset_key
from platform_assets.dashboards import EXTRACTS_KEY
from platform_assets.lake import lake_asset_key

CHECK_PARTITION = "yesterday_materialized"
CHECK_RECENT = "materialized_recently"
LAKE_DEADLINE = time(2, 0)
ROLLUP_DEADLINE = time(13, 0)
EXTRACTS_DEADLINE = time(14, 0)


def expected_day(now: datetime, deadline: time) -> tuple[str, datetime]:
    """The partition that must exist at `now` (the day before the latest deadline passed), and that deadline."""
    passed = datetime.combine(now.astimezone(UTC).date(), deadline, tzinfo=UTC)
    if now < passed:
        passed -= timedelta(days=1)
    return (passed.date() - timedelta(days=1)).isoformat(), passed


def build_freshness_checks(name: str, keys: Sequence[dg.AssetKey], deadline: time,
                           partitioned: bool = True) -> dg.AssetChecksDefinition:
    """Partitioned: yesterday's partition materialized by the deadline. Not partitioned: materialized in the
    24 hours before the latest deadline."""
    what = "yesterday's partition is materialized" if partitioned else "materialized in the 24 h"
    check_name = CHECK_PARTITION if partitioned else CHECK_RECENT

    # can_subset: selecting one asset (`--select key:lake/quotes`) brings its own check along, not the others.
    @dg.multi_asset_check(name=name, can_subset=True, specs=[
        dg.AssetCheckSpec(check_name, asset=key, description=f"{what} by {deadline:%H:%M} UTC") for key in keys])
    def freshness(context):
        day, deadline_at = expected_day(datetime.now(UTC), deadline)
        for key in keys:
            if dg.AssetCheckKey(key, check_name) not in context.selected_asset_check_keys:
                continue
            records = context.instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=key, asset_partitions=[day] if partitioned else None), limit=1).records
            at = datetime.fromtimestamp(records[0].timestamp, UTC) if records else None
            passed = at is not None if partitioned else at is not None and at >= deadline_at - timedelta(hours=24)
            yield dg.AssetCheckResult(
                asset_key=key, check_name=check_name, passed=passed, severity=dg.AssetCheckSeverity.ERROR,
                metadata={**({"expected_partition": day} if partitioned else {}), "deadline": deadline_at.isoformat(),
                          "materialized_at": at.isoformat() if at else "never"})

    return freshness


LAKE_FRESHNESS = build_freshness_checks("lake_freshness", [lake_asset_key(t) for t in LAKE_TABLES], LAKE_DEADLINE)
ROLLUP_FRESHNESS = build_freshness_checks(
    "rollup_freshness", [*(rollup_asset_key(name) for name in ROLLUPS), INCIDENTS_KEY], ROLLUP_DEADLINE)
EXTRACTS_FRESHNESS = build_freshness_checks("extracts_freshness", [EXTRACTS_KEY], EXTRACTS_DEADLINE,
                                            partitioned=False)
FRESHNESS_CHECKS = [LAKE_FRESHNESS, ROLLUP_FRESHNESS, EXTRACTS_FRESHNESS]

check_freshness = dg.define_asset_job(
    "check_freshness", selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Check that the lake, the rollups and the extracts were updated on time (checks only)")
freshness_schedule = dg.ScheduleDefinition(
    name="check_freshness_every_15_minutes", job=check_freshness, cron_schedule="*/15 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Evaluate the freshness checks on their own, whatever runs or does not")

defs = dg.Definitions(asset_checks=FRESHNESS_CHECKS, jobs=[check_freshness], schedules=[freshness_schedule])
