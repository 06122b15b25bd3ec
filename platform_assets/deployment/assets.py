"""The deployment group: one observable asset per deployed resource (graph.py), observed together from AWS
(describe calls and CloudWatch metrics), each with a check `available`. Stack creation stays with `cdk
deploy`: nothing here creates, changes or deletes a resource.

An observation records what AWS answers: a resource AWS does not know as NOT_FOUND, a refused call as
UNKNOWN, with the reason. The check `available` fails when the resource is missing, cannot serve
(describe.fault: its status, a delivery's failure, a mapping's PROBLEM), or could not be observed or its
metrics read; on AWS with ERROR severity, so it reaches OpsAlerts once, when it starts failing
(alerting.py). The step itself succeeds, so the lake downstream is never held back by an observation.
Locally the emulator holds no Lambda function (the local runtime runs them) and no raw delivery (the
local runtime reads the stream itself): those checks fail with WARN and say so, never pass.
"""
from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError

from platform_assets.deployment.describe import (
    NotDeployed,
    describe_bucket,
    describe_delivery,
    describe_function,
    describe_stream,
    describe_table,
    fault,
)
from platform_assets.deployment.graph import (
    BUCKET,
    DELIVERY,
    DEPLOYED,
    FUNCTION,
    STREAM,
    TABLE,
    Deployed,
    asset_spec,
)
from platform_assets.deployment.metrics import MAPPED_FUNCTION_METRICS, Watched, read_metrics
from platform_assets.environment import PlatformConfigError
from platform_assets.resources import BarometerResource

# Metrics are read over the schedule's interval (observe_deployment_every_15_minutes).
WINDOW = timedelta(minutes=15)
NOT_FOUND, UNKNOWN, LOCAL_RUNTIME = "NOT_FOUND", "UNKNOWN", "LOCAL_RUNTIME"
LOCAL_FUNCTIONS = "not described locally: the local runtime runs the functions, the emulator holds none"
AWS_ERRORS = (ClientError, BotoCoreError, PlatformConfigError)


CHECK = "available"


def _mapped(part: Deployed) -> bool:
    return part.kind == FUNCTION and part.spec.mapping is not None


def _describe(barometer: BarometerResource, part: Deployed, name: str) -> dict[str, Any]:
    if part.kind == STREAM:
        return describe_stream(barometer.client("kinesis"), name)
    if part.kind == TABLE:
        return describe_table(barometer.client("dynamodb"), name)
    if part.kind == DELIVERY:
        return describe_delivery(barometer.client("firehose"), name)
    if part.kind == BUCKET:
        return describe_bucket(barometer.client("s3"), name)
    if barometer.platform.is_local:
        return {"status": LOCAL_RUNTIME, "reason": LOCAL_FUNCTIONS}
    return describe_function(barometer.lambda_client(), name, _mapped(part))


def observe(barometer: BarometerResource, parts: list[Deployed],
            now: datetime) -> list[tuple[Deployed, dict[str, Any], str | None]]:
    """Each part's metadata (its physical name, description and metrics) and what keeps it from being
    available, or None. The caller resolves the platform first: without one (locally: none started) it
    fails once, saying why, rather than once per part."""
    names: dict[dg.AssetKey, str] = {}
    unnamed: dict[dg.AssetKey, str] = {}
    for part in parts:
        try:
            names[part.key] = barometer.name(part.spec)
        except PlatformConfigError as exc:
            unnamed[part.key] = str(exc)
    watched = [Watched(part.key, part.kind, names[part.key], MAPPED_FUNCTION_METRICS if _mapped(part) else ())
               for part in parts if part.key in names and part.kind != BUCKET]
    metrics: dict[Any, dict[str, float | None]] = {}
    metrics_error = ""
    if watched:
        try:
            metrics = read_metrics(barometer.client("cloudwatch"), watched, now, WINDOW)
        except AWS_ERRORS as exc:
            metrics_error = f"CloudWatch GetMetricData: {exc}"
    observed = []
    for part in parts:
        name = names.get(part.key)
        if name is None:
            observed.append((part, {"status": UNKNOWN, "reason": unnamed[part.key]}, unnamed[part.key]))
            continue
        try:
            description = _describe(barometer, part, name)
            problem = (LOCAL_FUNCTIONS if description["status"] == LOCAL_RUNTIME
                       else fault(part.kind, description))
        except NotDeployed as exc:
            description, problem = {"status": NOT_FOUND, "reason": str(exc)}, f"not deployed: {exc}"
        except AWS_ERRORS as exc:
            description, problem = {"status": UNKNOWN, "reason": str(exc)}, f"not observed: {exc}"
        extra: dict[str, Any] = {}
        if part.kind != BUCKET:
            extra = ({"metrics_error": metrics_error} if metrics_error else
                     {**metrics.get(part.key, {}), "metrics_window_min": int(WINDOW.total_seconds() // 60)})
            problem = problem or metrics_error or None
        observed.append((part, {"name": name, **description, **extra}, problem))
    return observed


def _build() -> dg.AssetsDefinition:
    @dg.multi_observable_source_asset(
        name="deployment", specs=[asset_spec(part) for part in DEPLOYED], can_subset=True,
        check_specs=[dg.AssetCheckSpec(CHECK, asset=part.key, description="AWS describes it as serving, and "
                                       "its metrics could be read") for part in DEPLOYED],
        description="The deployment as AWS describes it (status, shards, items, replicas, mappings) and its "
                    "CloudWatch metrics (iterator age, errors, throttles) over the last 15 minutes")
    def deployment(context, barometer: BarometerResource):
        parts = [part for part in DEPLOYED if part.key in context.selected_asset_keys]
        # The platform first: PlatformConfigError ("start one with `barometer up`") fails the step once.
        severity = dg.AssetCheckSeverity.WARN if barometer.platform.is_local else dg.AssetCheckSeverity.ERROR
        for part, metadata, problem in observe(barometer, parts, datetime.now(UTC)):
            # upstream first: Dagster wants a multi-asset's outputs in dependency order
            yield dg.ObserveResult(asset_key=part.key, metadata=metadata)
            if dg.AssetCheckKey(part.key, CHECK) in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=part.key, check_name=CHECK, passed=problem is None,
                                          severity=severity, metadata={"status": metadata.get("status", UNKNOWN),
                                                                       "problem": problem or "none"})

    return deployment


with warnings.catch_warnings():  # observable source assets are "beta" in 1.13, and the right tool here
    warnings.simplefilter("ignore", dg.BetaWarning)
    DEPLOYMENT_ASSETS = _build()
