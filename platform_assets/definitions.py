"""Barometer's Dagster code location: `defs` = the six groups, what keeps them current and alerts, and the
resources.

Each group (ingestion, deployment, lake, analytics, dashboards, dr) is a package with its assets, checks,
sensors and schedules; freshness.py checks that they are kept current, alerting.py publishes failed
runs and checks to OpsAlerts, finops.py reads FinOpsAlerts; the resources (environment.py,
resources.py) decide local vs AWS.
"""
from typing import Any

import dagster as dg

from platform_assets import (
    alerting,
    analytics,
    dashboards,
    deployment,
    dr,
    finops,
    freshness,
    ingestion,
    lake,
)
from platform_assets.resources import build_resources

GROUPS = (ingestion, deployment, lake, analytics, dashboards, dr)
OPERATIONS = (freshness, alerting, finops)


def build_definitions(resources: dict[str, Any]) -> dg.Definitions:
    # In-process: the default multiprocess executor re-imports everything per step (12 s vs 6 s here).
    return dg.Definitions.merge(*(part.defs for part in (*GROUPS, *OPERATIONS)),
                                dg.Definitions(resources=resources, executor=dg.in_process_executor))


defs = build_definitions(build_resources())
