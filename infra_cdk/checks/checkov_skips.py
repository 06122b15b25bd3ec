"""Every checkov skip of the app, each with its reason: written into the resources' template Metadata
(`checkov: skip`), where checkov reads it. A skip that matches no resource fails the synthesis."""
from __future__ import annotations

import re
from dataclasses import dataclass

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct


@dataclass(frozen=True)
class CheckovSkip:
    path: str  # construct path of the CloudFormation resource, `*` matches anything
    check_id: str
    reason: str

    def matches(self, path: str) -> bool:
        return bool(re.fullmatch(".*".join(re.escape(p) for p in self.path.split("*")), path))


_FUNCTIONS = "*Function/Function/Resource"
SKIPS: tuple[CheckovSkip, ...] = (
    CheckovSkip(_FUNCTIONS, "CKV_AWS_115",
                "Concurrency comes from the catalogue (FunctionSpec.reserved_concurrency, None by design): "
                "reserving would carve the account pool per function; stream consumers are bounded by shards "
                "and parallelization_factor instead"),
    CheckovSkip(_FUNCTIONS, "CKV_AWS_116",
                "Failures go elsewhere by design: stream consumers to their mapping's on-failure SQS "
                "destination, the notifier to NotifyDlq as async on-failure destination, the API answers "
                "synchronously, and a failed poll is superseded by next minute's"),
    CheckovSkip("*Api/DeploymentStage.prod/Resource", "CKV_AWS_120",
                "No response cache: the API serves the latest values and accepts writes; a cache would serve "
                "stale prices and costs money while idle"),
    CheckovSkip("*Api/Default/health/GET/Resource", "CKV_AWS_59",
                "Route 53's health check target: a mock integration without data or function"),
    CheckovSkip("Barometer/Datastores/*Table/Resource", "CKV_AWS_165",
                "Point-in-time recovery is enabled on every replica, inside the Fn::If that adds the secondary "
                "region's replica, where checkov does not look"),
    CheckovSkip("Barometer/Orchestration/Database/Resource", "CKV_AWS_157",
                "Single-AZ: Dagster's run/event storage, not the platform's data; an AZ failure costs minutes of "
                "scheduling, restored from the daily backups; Multi-AZ would double the database's price"),
    CheckovSkip("Barometer/Orchestration/Database/Resource", "CKV_AWS_118",
                "Performance Insights (encrypted, 7 days free) and RDS's CloudWatch metrics watch the database; "
                "enhanced monitoring would add a role with an AWS managed policy and per-second log ingestion"),
    CheckovSkip("Barometer/Orchestration/Database/Resource", "CKV_AWS_161",
                "Dagster's PostgreSQL storage connects with a user name and password (dagster-postgres cannot "
                "renew 15-minute IAM tokens); the password is generated into Secrets Manager, TLS is forced"),
    CheckovSkip("Barometer/Orchestration/Cluster/Resource", "CKV_AWS_65",
                "Container Insights bills custom metrics for three small services; the tasks' logs and ECS's "
                "own per-service CPU/memory metrics remain"),
    CheckovSkip("*AccessLogs/Resource", "CKV_AWS_18",
                "This bucket is the server access log target; logging it into itself would loop"),
)


class UnusedCheckovSkipError(RuntimeError):
    """A checkov skip matches no resource: remove it or fix its path."""


@jsii.implements(IAspect)
class ApplyCheckovSkips:
    """Writes the skips into each matching resource's Metadata."""

    def __init__(self) -> None:
        self.used: set[CheckovSkip] = set()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        skips = [skip for skip in SKIPS if skip.matches(node.node.path)]
        if skips:
            node.add_metadata("checkov", {"skip": [{"id": s.check_id, "comment": s.reason} for s in skips]})
            self.used.update(skips)

    def check_all_used(self) -> None:
        unused = [skip for skip in SKIPS if skip not in self.used]
        if unused:
            raise UnusedCheckovSkipError("checkov skips that match no resource: " + "; ".join(
                f"{skip.path} {skip.check_id}" for skip in unused))
