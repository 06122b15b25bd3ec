"""The dr group: an asset describing the DR set-up, and one check per DR fact (run together by the
`dr_checks` job, which an OpsAlert triggers). Locally, a fact the emulator cannot model is reported
as such (passed=False, severity WARN, `modelled: false`), never as a pass."""
from datetime import UTC, datetime

import dagster as dg

from barometer.catalogue import BUCKETS, TABLES
from barometer.lake import PROCESSED_PREFIX, RAW_PREFIX
from platform_assets.dr.facts import (
    NOT_MODELLED,
    Verdict,
    dr_settings,
    judge_health_check,
    judge_recovery_points,
    judge_replicas,
    judge_replication,
)
from platform_assets.resources import BarometerResource

GROUP = "dr"
POSTURE_KEY = dg.AssetKey([GROUP, "dr_posture"])


@dg.asset(key=POSTURE_KEY, group_name=GROUP, kinds={"aws"},
          description="What disaster recovery relies on: backup vault, replica regions, health check")
def dr_posture(barometer: BarometerResource) -> dg.MaterializeResult:
    settings = dr_settings()
    return dg.MaterializeResult(metadata={
        "environment": barometer.platform.kind, "backup_vault": settings["backup_vault"] or "(unset)",
        "replica_regions": ", ".join(settings["replica_regions"]) or "(unset)",
        "health_check_id": settings["health_check_id"] or "(unset)"})


def _result(name: str, barometer: BarometerResource, judge) -> dg.AssetCheckResult:
    if barometer.platform.is_local:
        return dg.AssetCheckResult(check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"modelled": False, "reason": NOT_MODELLED[name]})
    verdict: Verdict = judge()
    return dg.AssetCheckResult(check_name=name, passed=verdict.passed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"modelled": True, **verdict.metadata})


@dg.asset_check(asset=POSTURE_KEY, name="backup_recent", description="AWS Backup has a recent recovery point")
def backup_recent(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        settings = dr_settings()
        pages = barometer.client("backup").get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=settings["backup_vault"])
        points = [p for page in pages for p in page["RecoveryPoints"]]
        return judge_recovery_points(points, datetime.now(UTC), settings["max_backup_age_h"])

    return _result("backup_recent", barometer, judge)


def _newest_object(s3, bucket: str, prefix: str) -> str | None:
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if newest is None or obj["LastModified"] > newest["LastModified"]:
                newest = obj
    return newest["Key"] if newest else None


@dg.asset_check(asset=POSTURE_KEY, name="lake_replicated",
                description="The newest raw and processed objects are replicated (S3 CRR status)")
def lake_replicated(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        s3 = barometer.client("s3")
        statuses = {}
        for spec, prefix in zip(BUCKETS, (RAW_PREFIX, PROCESSED_PREFIX), strict=True):
            bucket = barometer.name(spec)
            key = _newest_object(s3, bucket, prefix)
            if key:
                statuses[f"s3://{bucket}/{key}"] = s3.head_object(Bucket=bucket, Key=key).get("ReplicationStatus")
        return judge_replication(statuses)

    return _result("lake_replicated", barometer, judge)


@dg.asset_check(asset=POSTURE_KEY, name="global_table_replicas_active",
                description="Every DynamoDB table's replicas are ACTIVE in the replica regions")
def global_table_replicas_active(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        ddb = barometer.client("dynamodb")
        tables = {barometer.name(t): ddb.describe_table(TableName=barometer.name(t))["Table"].get("Replicas", [])
                  for t in TABLES}
        return judge_replicas(tables, dr_settings()["replica_regions"])

    return _result("global_table_replicas_active", barometer, judge)


@dg.asset_check(asset=POSTURE_KEY, name="health_check_healthy",
                description="The Route 53 health check of the API is healthy")
def health_check_healthy(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        health_check = dr_settings()["health_check_id"]
        if not health_check:
            return Verdict(False, {"reason": "BAROMETER_HEALTH_CHECK_ID is not set"})
        response = barometer.client("route53").get_health_check_status(HealthCheckId=health_check)
        return judge_health_check(response.get("HealthCheckObservations", []))

    return _result("health_check_healthy", barometer, judge)


DR_CHECKS = [backup_recent, lake_replicated, global_table_replicas_active, health_check_healthy]
