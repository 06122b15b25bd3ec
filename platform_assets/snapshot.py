"""The code location's graph as plain JSON (assets, checks, jobs, schedules, sensors), so a change to it
shows in review: tests/platform/definitions_snapshot.json is compared with it by
tests/platform/test_dagster_snapshot.py.

    python -m platform_assets.snapshot > tests/platform/definitions_snapshot.json   # after a deliberate change
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import dagster as dg


def _status(value: Any) -> str:
    return getattr(value, "value", str(value))


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    repository = defs.get_repository_def()
    graph = defs.resolve_asset_graph()
    assets = {}
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        node = graph.get(spec.key)
        policy = node.backfill_policy if node.is_materializable else None
        assets[spec.key.to_user_string()] = {
            "group": spec.group_name, "kind": "materializable" if node.is_materializable else "observable",
            "partitioned": node.partitions_def is not None,
            "backfill": (None if policy is None else "single_run" if policy.max_partitions_per_run is None
                         else f"{policy.max_partitions_per_run} per run"),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(k.name for k in node.check_keys),
        }
    jobs = {}
    for job in sorted(repository.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue  # Dagster's implicit asset job
        jobs[job.name] = sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys) \
            or sorted(job.graph.node_names())
    schedules = {s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                          "default_status": _status(s.default_status)}
                 for s in sorted(repository.schedule_defs, key=lambda s: s.name)}
    sensors = {}
    for sensor in sorted(repository.sensor_defs, key=lambda s: s.name):
        sensors[sensor.name] = {"default_status": _status(sensor.default_status),
                                "jobs": sorted(t.job_name for t in sensor.targets if t.job_name),
                                "minimum_interval_seconds": sensor.minimum_interval_seconds}
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_assets.snapshot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    from platform_assets.definitions import defs

    sys.stdout.write(render(snapshot(defs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
