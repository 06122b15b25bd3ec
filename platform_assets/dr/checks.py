"""The dr group: an asset describing the DR set-up, and one check per DR fact (run together by the
`dr_checks` job, which an OpsAlert triggers). Locally, a fact the emulator cannot model is reported
as such (passed=False, severity WARN, `modelled: false`), never as a pass. On AWS an API error fails
the check (ERROR) with AWS's reason instead of failing the step: the other checks still run."""
from datetime import UTC, datetime

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError

from barometer.catalogue import BUCKETS, TABLES
from barometer.lake import PROCESSED_PREFIX, RAW_PREFIX
from platform_assets.dr.facts import (
    NOT_MODELLED,
    ObjectReplication,
    Verdict,
    judge_health_check,
    judge_recovery_points,
    judge_replicas,
    judge_replication,
)
from platform_assets.environment import PlatformConfigError
from platform_assets.resources import BarometerResource

GROUP = "dr"
POSTURE_KEY = dg.AssetKey([GROUP, "dr_posture"])


@dg.asset(key=POSTURE_KEY, group_name=GROUP, kinds={"aws"},
          description="What disaster recovery relies on: backup vault, replica regions, health check")
def dr_posture(barometer: BarometerResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "environment": barometer.platform.kind, "backup_vault": barometer.backup_vault or "(unset)",
        "replica_regions": ", ".join(barometer.replica_region_list) or "(unset)",
        "health_check_id": barometer.health_check_id or "(unset)"})


def _result(name: str, barometer: BarometerResource, judge) -> dg.AssetCheckResult:
    if barometer.platform.is_local:
        return dg.AssetCheckResult(check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"modelled": False, "reason": NOT_MODELLED[name]})
    try:
        verdict: Verdict = judge()
    except (ClientError, BotoCoreError, PlatformConfigError) as exc:
        verdict = Verdict(False, {"reason": f"AWS refused or could not be reached: {exc}"})
    return dg.AssetCheckResult(check_name=name, passed=verdict.passed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"modelled": True, **verdict.metadata})


def protected_resources(barometer: BarometerResource) -> list[str]:
    """The ARNs the backup plan selects (infra_cdk/stacks/disaster_recovery.py: every table and bucket)."""
    platform = barometer.platform
    account = platform.target.account()
    return ([f"arn:aws:dynamodb:{platform.region}:{account}:table/{barometer.name(t)}" for t in TABLES]
            + [f"arn:aws:s3:::{barometer.name(b)}" for b in BUCKETS])


@dg.asset_check(asset=POSTURE_KEY, name="backup_recent",
                description="AWS Backup has a recent completed recovery point of every protected table and bucket")
def backup_recent(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        backup = barometer.client("backup")
        points = {}
        for arn in protected_resources(barometer):
            pages = backup.get_paginator("list_recovery_points_by_resource").paginate(ResourceArn=arn)
            points[arn] = [p for page in pages for p in page.get("RecoveryPoints", [])]
        return judge_recovery_points(points, datetime.now(UTC), barometer.max_backup_age_h, barometer.backup_vault)

    return _result("backup_recent", barometer, judge)


def _newest_object(s3, bucket: str, prefix: str) -> dict | None:
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if newest is None or obj["LastModified"] > newest["LastModified"]:
                newest = obj
    return newest


@dg.asset_check(asset=POSTURE_KEY, name="lake_replicated",
                description="The newest raw and processed objects are replicated (S3 CRR status; PENDING only "
                            "within the allowed lag)")
def lake_replicated(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        s3 = barometer.client("s3")
        objects = []
        for spec, prefix in zip(BUCKETS, (RAW_PREFIX, PROCESSED_PREFIX), strict=True):
            bucket = barometer.name(spec)
            newest = _newest_object(s3, bucket, prefix)
            if newest:
                status = s3.head_object(Bucket=bucket, Key=newest["Key"]).get("ReplicationStatus")
                objects.append(ObjectReplication(f"s3://{bucket}/{newest['Key']}", status, newest["LastModified"]))
        return judge_replication(objects, datetime.now(UTC), barometer.max_replication_pending_min)

    return _result("lake_replicated", barometer, judge)


@dg.asset_check(asset=POSTURE_KEY, name="global_table_replicas_active",
                description="Every DynamoDB table's replicas are ACTIVE in the replica regions")
def global_table_replicas_active(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        ddb = barometer.client("dynamodb")
        tables = {barometer.name(t): ddb.describe_table(TableName=barometer.name(t))["Table"].get("Replicas", [])
                  for t in TABLES}
        return judge_replicas(tables, barometer.replica_region_list)

    return _result("global_table_replicas_active", barometer, judge)


@dg.asset_check(asset=POSTURE_KEY, name="health_check_healthy",
                description="The Route 53 health check of the API is healthy")
def health_check_healthy(barometer: BarometerResource) -> dg.AssetCheckResult:
    def judge() -> Verdict:
        if not barometer.health_check_id:
            return Verdict(False, {"reason": "BAROMETER_HEALTH_CHECK_ID is not set"})
        response = barometer.client("route53").get_health_check_status(HealthCheckId=barometer.health_check_id)
        return judge_health_check(response.get("HealthCheckObservations", []))

    return _result("health_check_healthy", barometer, judge)


DR_CHECKS = [backup_recent, lake_replicated, global_table_replicas_active, health_check_healthy]
