"""The disaster-recovery facts and how to judge them, from the AWS API responses. No Dagster here.

The settings come from the deployment through the resource (resources.py: backup_vault, replica_regions,
health_check_id, max_backup_age_h, max_replication_pending_min; the variables BAROMETER_BACKUP_VAULT,
BAROMETER_REPLICA_REGIONS, BAROMETER_HEALTH_CHECK_ID, BAROMETER_DR_MAX_BACKUP_AGE_H,
BAROMETER_DR_MAX_REPLICATION_PENDING_MIN).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

REPLICA_REGIONS_ENV = "BAROMETER_REPLICA_REGIONS"

# What the local emulator (moto 5.2) cannot show: the check says so instead of passing.
NOT_MODELLED = {
    "backup_recent": "AWS Backup runs no backup jobs in the emulator: recovery points never appear",
    "lake_replicated": "S3 replication is a stub in the emulator: objects never get a ReplicationStatus",
    "global_table_replicas_active": "DynamoDB global tables are a stub in the emulator: no replica exists",
    "health_check_healthy": "Route 53 health checkers do not probe anything in the emulator",
}


@dataclass(frozen=True)
class Verdict:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


def judge_recovery_points(points_by_resource: dict[str, list[dict]], now: datetime, max_age_h: float,
                          vault: str = "") -> Verdict:
    """points_by_resource: each protected resource's ARN -> its ListRecoveryPointsByResource points. Every
    resource needs a COMPLETED point (in `vault`, when named) younger than max_age_h."""
    if not points_by_resource:
        return Verdict(False, {"reason": "no protected resource to check"})
    problems, newest_by_resource = [], {}
    for arn, points in points_by_resource.items():
        completed = [p for p in points if p.get("Status") == "COMPLETED" and p.get("CreationDate")
                     and (not vault or p.get("BackupVaultName") in (None, vault))]
        if not completed:
            problems.append(f"{arn}: no completed recovery point" + (f" in {vault}" if vault else ""))
            continue
        newest = max(p["CreationDate"] for p in completed)
        age_h = (now - newest).total_seconds() / 3600
        newest_by_resource[arn] = round(age_h, 2)
        if age_h > max_age_h:
            problems.append(f"{arn}: newest completed point is {age_h:.1f} h old")
    return Verdict(not problems, {"resources": len(points_by_resource), "limit_h": max_age_h,
                                  "age_h": newest_by_resource, "problems": "; ".join(problems) or "none"})


@dataclass(frozen=True)
class ObjectReplication:
    uri: str
    status: str | None  # HeadObject's ReplicationStatus
    last_modified: datetime


def judge_replication(objects: list[ObjectReplication], now: datetime, max_pending_min: float) -> Verdict:
    """The newest object of each zone: COMPLETED is replicated; PENDING is normal for a new object, a fault
    only once older than max_pending_min; FAILED, or no status at all (no replication rule), is a fault."""
    if not objects:
        return Verdict(False, {"reason": "no object to check"})
    problems, pending = [], []
    for obj in objects:
        age_min = (now - obj.last_modified).total_seconds() / 60
        if obj.status in ("COMPLETED", "REPLICA"):
            continue
        if obj.status == "PENDING" and age_min <= max_pending_min:
            pending.append(f"{obj.uri} ({age_min:.0f} min)")
        elif obj.status == "PENDING":
            problems.append(f"{obj.uri}=PENDING for {age_min:.0f} min (limit {max_pending_min:g})")
        else:
            problems.append(f"{obj.uri}={obj.status}")
    return Verdict(not problems, {"objects": len(objects), "not_replicated": ", ".join(problems) or "none",
                                  "pending_within_limit": ", ".join(pending) or "none"})


def judge_replicas(tables: dict[str, list[dict]], expected_regions: list[str]) -> Verdict:
    """tables: table name -> its describe_table Replicas."""
    if not expected_regions:
        return Verdict(False, {"reason": f"{REPLICA_REGIONS_ENV} names no replica region"})
    problems = []
    for table, replicas in tables.items():
        status = {r.get("RegionName"): r.get("ReplicaStatus") for r in replicas}
        for region in expected_regions:
            if status.get(region) != "ACTIVE":
                problems.append(f"{table}@{region}={status.get(region, 'missing')}")
    return Verdict(not problems, {"tables": len(tables), "regions": ", ".join(expected_regions),
                                  "problems": ", ".join(problems) or "none"})


def judge_health_check(observations: list[dict]) -> Verdict:
    if not observations:
        return Verdict(False, {"reason": "no health checker reported"})
    healthy = sum(1 for o in observations if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success"))
    # Route 53 calls an endpoint healthy when more than 18% of its checkers do.
    return Verdict(healthy / len(observations) > 0.18, {"checkers": len(observations), "healthy": healthy})
