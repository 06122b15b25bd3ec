"""The deployment group: one observable asset per deployed resource (graph.py), observed together from AWS
(describe calls and CloudWatch metrics). Stack creation stays with `cdk deploy`: nothing here creates,
changes or deletes a resource.

An observation records what AWS answers. A resource AWS does not know is recorded as NOT_FOUND; on AWS
that, any refused call and unreachable CloudWatch also fail the step after every resource was recorded,
so a broken deployment (or a task role missing a permission) reaches OpsAlerts as a failed run. Locally
the emulator holds no Lambda function (the local runtime runs them) and no raw delivery (the local
runtime reads the stream itself): functions are not described, and the raw delivery shows NOT_FOUND.
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


class DeploymentObservationError(Exception):
    """Part of the deployment could not be observed, or is missing (on AWS)."""


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
            now: datetime) -> tuple[list[tuple[Deployed, dict[str, Any]]], list[str]]:
    """Each part's metadata (its physical name, description and metrics), and what went wrong. No platform
    to observe (locally: none started) is the caller's PlatformConfigError, not a problem per part."""
    is_local = barometer.platform.is_local  # resolved first: a missing platform fails once, saying why
    problems: list[str] = []
    names: dict[dg.AssetKey, str] = {}
    for part in parts:
        try:
            names[part.key] = barometer.name(part.spec)
        except PlatformConfigError as exc:
            problems.append(f"{part.key.to_user_string()}: {exc}")
    watched = [Watched(part.key, part.kind, names[part.key], MAPPED_FUNCTION_METRICS if _mapped(part) else ())
               for part in parts if part.key in names and part.kind != BUCKET]
    metrics: dict[Any, dict[str, float | None]] = {}
    metrics_error = ""
    if watched:
        try:
            metrics = read_metrics(barometer.client("cloudwatch"), watched, now, WINDOW)
        except AWS_ERRORS as exc:
            metrics_error = f"CloudWatch GetMetricData: {exc}"
            problems.append(metrics_error)
    observed = []
    for part in parts:
        name = names.get(part.key)
        if name is None:
            observed.append((part, {"status": UNKNOWN, "reason": "no physical name (see the run's failure)"}))
            continue
        try:
            description = _describe(barometer, part, name)
        except NotDeployed as exc:
            description = {"status": NOT_FOUND, "reason": str(exc)}
            if not is_local:
                problems.append(f"{part.key.to_user_string()} ({name}): not deployed: {exc}")
        except AWS_ERRORS as exc:
            description = {"status": UNKNOWN, "reason": str(exc)}
            problems.append(f"{part.key.to_user_string()} ({name}): {exc}")
        extra = {"metrics_error": metrics_error} if metrics_error else {}
        if part.kind != BUCKET and not metrics_error:
            extra = {**metrics.get(part.key, {}), "metrics_window_min": int(WINDOW.total_seconds() // 60)}
        observed.append((part, {"name": name, **description, **extra}))
    return observed, problems


def _build() -> dg.AssetsDefinition:
    @dg.multi_observable_source_asset(
        name="deployment", specs=[asset_spec(part) for part in DEPLOYED], can_subset=True,
        description="The deployment as AWS describes it (status, shards, items, replicas, mappings) and its "
                    "CloudWatch metrics (iterator age, errors, throttles) over the last 15 minutes")
    def deployment(context, barometer: BarometerResource):
        parts = [part for part in DEPLOYED if part.key in context.selected_asset_keys]
        observed, problems = observe(barometer, parts, datetime.now(UTC))
        for part, metadata in observed:  # upstream first: Dagster wants a multi-asset's outputs in order
            yield dg.ObserveResult(asset_key=part.key, metadata=metadata)
        if problems:
            raise DeploymentObservationError(f"{len(problems)} problem(s) observing the deployment: "
                                             + "; ".join(problems))

    return deployment


with warnings.catch_warnings():  # observable source assets are "beta" in 1.13, and the right tool here
    warnings.simplefilter("ignore", dg.BetaWarning)
    DEPLOYMENT_ASSETS = _build()
