"""Deployment targets: where the synthesized app goes (`-c target=aws|ministack`, default aws).

`aws` is the app as checked by cdk-nag, cfn-lint and checkov. `ministack` is the same app for MiniStack, the
local cloud `make deploy-local` deploys into (docs/infra.md, "Local cloud deployment"): it leaves out only
the resources MiniStack has no provisioner for (LEFT_OUT_ON_MINISTACK, each with its reason) and ships the
Powertools layer built from the build environment at uv.lock's versions, since the emulator cannot download
the public layer. Use it with the demo profile: the toggles demo turns off guard further types MiniStack
lacks (NAT gateway, EIP, Glue SecurityConfiguration, DAX, QuickSight, Config, GuardDuty, Security Hub, ...),
and MiniStack refuses a deploy that turns one on, naming the type.
"""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from infra_cdk.constructs.code_asset import distribution_files

CONTEXT_KEY = "target"
AWS = "aws"
MINISTACK = "ministack"
TARGETS = (AWS, MINISTACK)

# CloudFormation types MiniStack 1.5.33 has no provisioner for, that the demo profile deploys unconditionally.
LEFT_OUT_ON_MINISTACK: dict[str, str] = {
    "AWS::CloudTrail::Trail": "no CloudTrail provisioner; the trail only records API calls for audit",
    "AWS::Athena::NamedQuery": "no provisioner; saved queries are a console convenience (barometer_sql runs "
                               "the same SQL)",
    "AWS::Budgets::Budget": "no Budgets provisioner; cost alerts have no meaning on an emulator",
    "AWS::CE::AnomalyMonitor": "no Cost Explorer provisioner (cost anomaly detection)",
    "AWS::CE::AnomalySubscription": "no Cost Explorer provisioner (cost anomaly alerts)",
    "AWS::Backup::BackupSelection": "no provisioner; the backup vault and plan deploy, what they select does not",
    "AWS::WAFv2::WebACLAssociation": "no provisioner; the web ACL deploys but is not attached to the API stage "
                                     "(the emulator does not filter requests anyway)",
    "AWS::WAFv2::LoggingConfiguration": "no provisioner; WAF request logs",
    "AWS::EC2::FlowLog": "no provisioner; VPC flow logs (the functions run outside the VPC in demo)",
    "AWS::EC2::VPCPeeringConnection": "no provisioner; prod-app to prod-data peering (its routes go with it): "
                                      "only DAX, off in demo, lives in prod-data",
}

# The Powertools layer's distributions (the library, its dependency and the tracer's X-Ray SDK).
POWERTOOLS_DISTRIBUTIONS = ("aws-lambda-powertools", "typing-extensions", "aws-xray-sdk", "wrapt")


class TargetError(ValueError):
    """An unknown target, or a target whose template would not deploy."""


def target_name(value: str | None) -> str:
    key = (value or AWS).strip().lower()
    if key not in TARGETS:
        raise TargetError(f"unknown target {value!r} (context value {CONTEXT_KEY!r}): expected one of "
                          f"{', '.join(TARGETS)}")
    return key


def target_of(scope: IConstruct) -> str:
    return target_name(scope.node.try_get_context(CONTEXT_KEY))


def _removable(resource: CfnResource) -> bool:
    if resource.cfn_resource_type in LEFT_OUT_ON_MINISTACK:
        return True
    # A route exists only for the peering connection it goes over.
    return isinstance(resource, ec2.CfnRoute) and resource.vpc_peering_connection_id is not None


def leave_out_unsupported(app: Construct) -> dict[str, list[str]]:
    """For the ministack target, remove LEFT_OUT_ON_MINISTACK's resources from the construct tree before
    synthesis; return {stack artifact id: [removed logical ids]} for check_left_out. Nothing for aws."""
    if target_of(app) != MINISTACK:
        return {}
    removed: dict[str, list[str]] = {}
    for node in list(app.node.find_all()):
        if isinstance(node, CfnResource) and _removable(node):
            stack = Stack.of(node)
            removed.setdefault(stack.artifact_id, []).append(stack.get_logical_id(node))
            node.node.scope.node.try_remove_child(node.node.id)  # type: ignore[union-attr]
    return removed


def _references(value, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "DependsOn":
                found.update([inner] if isinstance(inner, str) else inner)
            else:
                _references(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _references(inner, found)


def check_left_out(removed: dict[str, list[str]], outdir: Path) -> None:
    """A left-out resource that something still refers to would fail the deploy halfway: fail synthesis."""
    problems = []
    for template_path in outdir.glob("*.template.json"):
        template = json.loads(template_path.read_text(encoding="utf-8"))
        found: set[str] = set()
        _references(template.get("Resources", {}), found)
        _references(template.get("Outputs", {}), found)
        declared = set(template.get("Resources", {}))
        for logical_ids in removed.values():
            for logical_id in logical_ids:
                if logical_id in found and logical_id not in declared:
                    problems.append(f"{template_path.name} refers to left-out {logical_id}")
    if problems:
        raise TargetError("the ministack target left out resources still referred to: " + "; ".join(problems))


@lru_cache(maxsize=1)
def powertools_layer_dir() -> str:
    """The Powertools layer as Lambda unpacks it (python/...), from the build environment at uv.lock's versions."""
    target = Path(tempfile.mkdtemp(prefix="barometer-powertools-layer-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)  # staged into cdk.out by then
    for distribution in POWERTOOLS_DISTRIBUTIONS:
        for source, relative in distribution_files(distribution):
            destination = target / "python" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    return str(target)


def local_powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """One locally built Powertools layer per stack (MiniStack cannot download the public one)."""
    stack = Stack.of(scope)
    layer = stack.node.try_find_child("PowertoolsLayerLocal")
    if layer is None:
        layer = lambda_.LayerVersion(stack, "PowertoolsLayerLocal", code=lambda_.Code.from_asset(powertools_layer_dir()),
                                     compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
                                     description="Powertools for AWS Lambda (Python), built from uv.lock "
                                                 "(ministack target)")
    return layer  # type: ignore[return-value]
