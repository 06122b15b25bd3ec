"""The dr group: an asset describing the DR set-up, and the DR checks, each attached to the assets it
protects (the deployment group's tables, buckets and API function) and run together by the `dr_checks`
job, which an OpsAlert triggers:

- backup_recent: every table and bucket has a recent completed AWS Backup recovery point;
- lake_replicated: each bucket's newest object in its zone is replicated (S3 CRR);
- global_table_replicas_active: every table's replicas are ACTIVE in the replica regions;
- health_check_healthy: the Route 53 health check of the API (on the API function).

Locally, a fact the emulator cannot model is reported as such (passed=False, severity WARN, `modelled:
false`), never as a pass. On AWS an API error fails the check (ERROR) with AWS's reason instead of failing
the step: the other checks still run."""
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError

from barometer.catalogue import API_FUNCTION, BUCKETS, TABLES, BucketSpec
from barometer.lake import PROCESSED_PREFIX, RAW_PREFIX
from platform_assets.deployment import deployment_key
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
# The zone of each bucket whose newest object shows replication.
ZONE_OF_BUCKET = dict(zip((b.logical_id for b in BUCKETS), (RAW_PREFIX, PROCESSED_PREFIX), strict=True))


@dg.asset(key=POSTURE_KEY, group_name=GROUP, kinds={"aws"},
          description="What disaster recovery relies on: backup vault, replica regions, health check")
def dr_posture(barometer: BarometerResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "environment": barometer.platform.kind, "backup_vault": barometer.backup_vault or "(unset)",
        "replica_regions": ", ".join(barometer.replica_region_list) or "(unset)",
        "health_check_id": barometer.health_check_id or "(unset)"})


def _result(name: str, key: dg.AssetKey, barometer: BarometerResource,
            judge: Callable[[], Verdict]) -> dg.AssetCheckResult:
    if barometer.platform.is_local:
        return dg.AssetCheckResult(asset_key=key, check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"modelled": False, "reason": NOT_MODELLED[name]})
    try:
        verdict: Verdict = judge()
    except (ClientError, BotoCoreError, PlatformConfigError) as exc:
        verdict = Verdict(False, {"reason": f"AWS refused or could not be reached: {exc}"})
    return dg.AssetCheckResult(asset_key=key, check_name=name, passed=verdict.passed,
                               severity=dg.AssetCheckSeverity.ERROR, metadata={"modelled": True, **verdict.metadata})


def protected_arn(barometer: BarometerResource, spec) -> str:
    """The ARN the backup plan selects for a table or bucket (infra_cdk/stacks/disaster_recovery.py)."""
    if isinstance(spec, BucketSpec):
        return f"arn:aws:s3:::{barometer.name(spec)}"
    platform = barometer.platform
    return f"arn:aws:dynamodb:{platform.region}:{platform.target.account()}:table/{barometer.name(spec)}"


def protected_resources(barometer: BarometerResource) -> list[str]:
    """The ARNs the backup plan selects: every table and bucket."""
    return [protected_arn(barometer, spec) for spec in (*TABLES, *BUCKETS)]


def backup_judge(barometer: BarometerResource, spec) -> Callable[[], Verdict]:
    def judge() -> Verdict:
        arn = protected_arn(barometer, spec)
        pages = barometer.client("backup").get_paginator("list_recovery_points_by_resource").paginate(ResourceArn=arn)
        points = [p for page in pages for p in page.get("RecoveryPoints", [])]
        return judge_recovery_points({arn: points}, datetime.now(UTC), barometer.max_backup_age_h,
                                     barometer.backup_vault)

    return judge


def _newest_object(s3, bucket: str, prefix: str) -> dict | None:
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if newest is None or obj["LastModified"] > newest["LastModified"]:
                newest = obj
    return newest


def replication_judge(barometer: BarometerResource, spec) -> Callable[[], Verdict]:
    def judge() -> Verdict:
        s3, bucket = barometer.client("s3"), barometer.name(spec)
        newest = _newest_object(s3, bucket, ZONE_OF_BUCKET[spec.logical_id])
        objects = []
        if newest:
            status = s3.head_object(Bucket=bucket, Key=newest["Key"]).get("ReplicationStatus")
            objects.append(ObjectReplication(f"s3://{bucket}/{newest['Key']}", status, newest["LastModified"]))
        return judge_replication(objects, datetime.now(UTC), barometer.max_replication_pending_min)

    return judge


def replicas_judge(barometer: BarometerResource, spec) -> Callable[[], Verdict]:
    def judge() -> Verdict:
        name = barometer.name(spec)
        replicas = barometer.client("dynamodb").describe_table(TableName=name)["Table"].get("Replicas", [])
        return judge_replicas({name: replicas}, barometer.replica_region_list)

    return judge


def health_judge(barometer: BarometerResource, spec) -> Callable[[], Verdict]:
    def judge() -> Verdict:
        if not barometer.health_check_id:
            return Verdict(False, {"reason": "BAROMETER_HEALTH_CHECK_ID is not set"})
        response = barometer.client("route53").get_health_check_status(HealthCheckId=barometer.health_check_id)
        return judge_health_check(response.get("HealthCheckObservations", []))

    return judge


# check name -> (the catalogue resources it protects, how to judge one, what it checks)
DR_FACTS: dict[str, tuple[tuple, Callable, str]] = {
    "backup_recent": ((*TABLES, *BUCKETS), backup_judge,
                      "AWS Backup has a recent completed recovery point of this resource"),
    "lake_replicated": (BUCKETS, replication_judge,
                        ("The newest object of the bucket's zone is replicated (S3 CRR status; PENDING only "
                         "within the allowed lag)")),
    "global_table_replicas_active": (TABLES, replicas_judge,
                                     "The table's replicas are ACTIVE in every replica region"),
    "health_check_healthy": ((API_FUNCTION,), health_judge, "The Route 53 health check of the API is healthy"),
}


def evaluate(name: str, barometer: BarometerResource, keys=None) -> list[dg.AssetCheckResult]:
    """The check `name` on each resource it protects (or on those of `keys`), one result per resource."""
    specs, judge_of, _ = DR_FACTS[name]
    return [_result(name, deployment_key(spec), barometer, judge_of(barometer, spec)) for spec in specs
            if keys is None or deployment_key(spec) in keys]


def build_dr_check(name: str) -> dg.AssetChecksDefinition:
    specs, _, description = DR_FACTS[name]
    keys = [deployment_key(spec) for spec in specs]

    # can_subset: selecting one protected asset brings its own check along, not the others.
    @dg.multi_asset_check(name=name, can_subset=True, description=description, specs=[
        dg.AssetCheckSpec(name, asset=key, description=description) for key in keys])
    def dr_check(context, barometer: BarometerResource):
        selected = {key for key in keys if dg.AssetCheckKey(key, name) in context.selected_asset_check_keys}
        yield from evaluate(name, barometer, selected)

    return dr_check


DR_CHECKS = [build_dr_check(name) for name in DR_FACTS]
