"""How the DR checks judge AWS's answers (the emulator cannot produce them, so they are tested here)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_assets.dr.facts import (
    ObjectReplication,
    judge_health_check,
    judge_recovery_points,
    judge_replicas,
    judge_replication,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/barometer-metrics"
BUCKET = "arn:aws:s3:::barometer-raw-abc"


def point(hours: float, status: str = "COMPLETED", vault: str = "barometer-vault") -> dict:
    return {"Status": status, "CreationDate": NOW - timedelta(hours=hours), "BackupVaultName": vault}


def test_every_protected_resource_needs_its_own_recent_completed_point():
    # Given a recent point for the table and only an old one for the bucket
    verdict = judge_recovery_points({TABLE: [point(30), point(3)], BUCKET: [point(30)]}, NOW, 26, "barometer-vault")
    # Then the bucket fails the check, named
    assert not verdict.passed
    assert verdict.metadata["problems"] == f"{BUCKET}: newest completed point is 30.0 h old"
    assert verdict.metadata["age_h"] == {TABLE: 3.0, BUCKET: 30.0}
    assert judge_recovery_points({TABLE: [point(3)], BUCKET: [point(20)]}, NOW, 26, "barometer-vault").passed


def test_a_failed_point_or_one_in_another_vault_does_not_count():
    verdict = judge_recovery_points({TABLE: [point(1, "PARTIAL"), point(1, vault="other")]}, NOW, 26,
                                    "barometer-vault")
    assert not verdict.passed and "no completed recovery point in barometer-vault" in verdict.metadata["problems"]
    assert not judge_recovery_points({}, NOW, 26).passed


def replicated(status: str | None, minutes: float, uri: str = "s3://processed/b") -> ObjectReplication:
    return ObjectReplication(uri, status, NOW - timedelta(minutes=minutes))


def test_a_new_objects_pending_replication_is_normal_an_old_one_is_not():
    # The newest object is normally PENDING for a while after it is written
    fine = judge_replication([replicated("COMPLETED", 90, "s3://raw/a"), replicated("PENDING", 5)], NOW, 60)
    assert fine.passed and fine.metadata["pending_within_limit"] == "s3://processed/b (5 min)"
    late = judge_replication([replicated("PENDING", 61)], NOW, 60)
    assert not late.passed and late.metadata["not_replicated"] == "s3://processed/b=PENDING for 61 min (limit 60)"


def test_failed_or_missing_replication_is_a_fault_at_any_age():
    assert not judge_replication([replicated("FAILED", 1)], NOW, 60).passed
    assert judge_replication([replicated(None, 1)], NOW, 60).metadata["not_replicated"] == "s3://processed/b=None"
    assert not judge_replication([], NOW, 60).passed


def test_replicas_must_be_active_in_every_replica_region():
    active = [{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE"}]
    assert judge_replicas({"t1": active, "t2": active}, ["us-west-2"]).passed
    verdict = judge_replicas({"t1": active, "t2": [{"RegionName": "us-west-2", "ReplicaStatus": "UPDATING"}],
                              "t3": []}, ["us-west-2"])
    assert not verdict.passed and verdict.metadata["problems"] == "t2@us-west-2=UPDATING, t3@us-west-2=missing"
    assert not judge_replicas({"t1": active}, []).passed


def test_a_health_check_is_healthy_when_enough_checkers_say_so():
    ok = {"StatusReport": {"Status": "Success: HTTP Status Code 200"}}
    bad = {"StatusReport": {"Status": "Failure: Connection timed out"}}
    assert judge_health_check([ok, bad, bad, bad]).passed  # 25% > 18%
    assert not judge_health_check([ok] + [bad] * 9).passed
    assert not judge_health_check([]).passed
