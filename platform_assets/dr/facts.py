"""The disaster-recovery facts and how to judge them, from the AWS API responses. No Dagster here.

Names come from the environment the CDK app gives the orchestrator (see docs/orchestration.md):
BAROMETER_BACKUP_VAULT, BAROMETER_REPLICA_REGIONS (comma-separated), BAROMETER_HEALTH_CHECK_ID,
BAROMETER_DR_MAX_BACKUP_AGE_H (default 26).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BACKUP_VAULT_ENV = "BAROMETER_BACKUP_VAULT"
REPLICA_REGIONS_ENV = "BAROMETER_REPLICA_REGIONS"
HEALTH_CHECK_ENV = "BAROMETER_HEALTH_CHECK_ID"
MAX_BACKUP_AGE_ENV = "BAROMETER_DR_MAX_BACKUP_AGE_H"

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


def dr_settings() -> dict[str, Any]:
    return {
        "backup_vault": os.environ.get(BACKUP_VAULT_ENV, ""),
        "replica_regions": [r.strip() for r in os.environ.get(REPLICA_REGIONS_ENV, "").split(",") if r.strip()],
        "health_check_id": os.environ.get(HEALTH_CHECK_ENV, ""),
        "max_backup_age_h": float(os.environ.get(MAX_BACKUP_AGE_ENV) or 26),
    }


def judge_recovery_points(points: list[dict], now: datetime, max_age_h: float) -> Verdict:
    completed = [p for p in points if p.get("Status") == "COMPLETED" and p.get("CreationDate")]
    if not completed:
        return Verdict(False, {"recovery_points": len(points), "reason": "no completed recovery point"})
    newest = max(p["CreationDate"] for p in completed)
    age_h = (now - newest).total_seconds() / 3600
    return Verdict(age_h <= max_age_h, {"newest": newest.isoformat(), "age_h": round(age_h, 2),
                                        "limit_h": max_age_h, "recovery_points": len(completed)})


def judge_replication(statuses: dict[str, str | None]) -> Verdict:
    """statuses: s3 URI of the newest object per bucket -> its ReplicationStatus."""
    if not statuses:
        return Verdict(False, {"reason": "no object to check"})
    bad = {uri: status for uri, status in statuses.items() if status not in ("COMPLETED", "REPLICA")}
    return Verdict(not bad, {"objects": len(statuses), "not_replicated": ", ".join(f"{u}={s}" for u, s in bad.items())
                             or "none"})


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
