"""How the DR checks judge AWS's answers (the emulator cannot produce them, so they are tested here)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_assets.dr.facts import (
    judge_health_check,
    judge_recovery_points,
    judge_replicas,
    judge_replication,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_a_recent_completed_recovery_point_passes_an_old_or_failed_one_does_not():
    recent = {"Status": "COMPLETED", "CreationDate": NOW - timedelta(hours=3)}
    old = {"Status": "COMPLETED", "CreationDate": NOW - timedelta(hours=30)}
    failed = {"Status": "PARTIAL", "CreationDate": NOW - timedelta(hours=1)}
    assert judge_recovery_points([old, recent], NOW, 26).passed
    verdict = judge_recovery_points([old, failed], NOW, 26)
    assert not verdict.passed and verdict.metadata["age_h"] == 30
    assert not judge_recovery_points([], NOW, 26).passed


def test_replication_needs_every_newest_object_completed():
    assert judge_replication({"s3://raw/a": "COMPLETED", "s3://processed/b": "COMPLETED"}).passed
    verdict = judge_replication({"s3://raw/a": "COMPLETED", "s3://processed/b": "PENDING"})
    assert not verdict.passed and "s3://processed/b=PENDING" in verdict.metadata["not_replicated"]
    assert not judge_replication({"s3://raw/a": None}).passed
    assert not judge_replication({}).passed


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
