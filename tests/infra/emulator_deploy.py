"""Deploys a synthesized CDK assembly into the local emulator (moto server), nested stacks included.

moto 5.2.5 cannot resolve `Fn::GetAtt <NestedStack>.Outputs.X`, the reference CDK writes for values passed
between nested stacks. So the root template is not deployed as such: each nested template becomes a stack
of its own, created in dependency order, and its parameters are resolved here exactly as CloudFormation
would: `Ref <root parameter>` -> the parameter's default (or an override), `Fn::GetAtt <nested>.Outputs.X`
-> output X of the stack already created for that nested stack. Lambda code assets are zipped and put
in the bootstrap bucket the templates point at.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

BOOTSTRAP_QUALIFIER = "hnb659fds"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class EmulatorDeployError(RuntimeError):
    """A nested template could not be deployed into the emulator."""


@dataclass
class DeployedStack:
    logical_id: str  # of the nested stack resource in the root template
    stack_name: str
    template: dict
    outputs: dict[str, str] = field(default_factory=dict)
    created: list[dict] = field(default_factory=list)  # describe_stack_resources rows

    def expected_resources(self) -> dict[str, str]:
        """Logical id -> type of every resource that exists with the default parameters (no Condition)."""
        return {lid: r["Type"] for lid, r in self.template.get("Resources", {}).items() if "Condition" not in r}

    def skipped(self) -> dict[str, str]:
        created = {row.get("LogicalResourceId") for row in self.created}  # skipped ones come back empty
        return {lid: kind for lid, kind in self.expected_resources().items() if lid not in created}


def _kms_key_tags(template: dict) -> None:
    """moto 5.2.5 reads AWS::KMS::Key Tags as TagKey/TagValue (the KMS API's shape), not Key/Value."""
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::KMS::Key" and "Tags" in resource.get("Properties", {}):
            resource["Properties"]["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]}
                                              for t in resource["Properties"]["Tags"]]


def _global_tables_as_tables(template: dict) -> None:
    """moto 5.2.5 has no AWS::DynamoDB::GlobalTable: deploy each as the regional AWS::DynamoDB::Table it is in
    the primary region (same keys, indexes, stream, TTL, encryption, PITR) so that the stacks reading its
    ARN and stream ARN deploy too. The replicas are what the emulator cannot show."""
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != "AWS::DynamoDB::GlobalTable":
            continue
        props = resource["Properties"]
        primary = props["Replicas"]
        if isinstance(primary, dict) and "Fn::If" in primary:
            primary = primary["Fn::If"][2]  # the single-region branch
        replica = primary[0]
        table = {key: props[key] for key in ("TableName", "KeySchema", "AttributeDefinitions",
                                             "GlobalSecondaryIndexes", "TimeToLiveSpecification") if key in props}
        table["BillingMode"] = props.get("BillingMode", "PAY_PER_REQUEST")
        if "StreamSpecification" in props:
            table["StreamSpecification"] = props["StreamSpecification"]
        table["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS",
                                     "KMSMasterKeyId": replica["SSESpecification"]["KMSMasterKeyId"]}
        table["PointInTimeRecoverySpecification"] = replica["PointInTimeRecoverySpecification"]
        table["DeletionProtectionEnabled"] = replica.get("DeletionProtectionEnabled", False)
        resource["Type"] = "AWS::DynamoDB::Table"
        resource["Properties"] = table


def _mock_integration_method(template: dict) -> None:
    """moto 5.2.5 requires IntegrationHttpMethod and Uri on every API Gateway integration; MOCK ones have none."""
    for resource in template.get("Resources", {}).values():
        integration = resource.get("Properties", {}).get("Integration", {})
        if resource["Type"] == "AWS::ApiGateway::Method" and integration.get("Type") == "MOCK":
            integration.setdefault("IntegrationHttpMethod", "GET")
            integration.setdefault("Uri", "")


def _db_parameter_group_by_name(template: dict) -> None:
    """moto 5.2.5 resolves `Ref` of an AWS::RDS::DBParameterGroup to the group object and then fails on it
    (`'DBParameterGroup' object has no attribute 'startswith'`, a 500): the instance is created with the
    engine's default group instead (the group itself is still created and checked in the template tests)."""
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::RDS::DBInstance":
            resource.get("Properties", {}).pop("DBParameterGroupName", None)


# Each rewrites a template in place, only for the emulator, to get past a moto defect (named in its docstring).
EMULATOR_WORKAROUNDS = (_kms_key_tags, _global_tables_as_tables, _mock_integration_method, _db_parameter_group_by_name)


@lru_cache(maxsize=1)
def modeled_types() -> frozenset[str]:
    """The CloudFormation types moto's CloudFormation implementation creates (its own registry); every other
    type is skipped with only a warning. Reading the registry mocks nothing."""
    from moto.cloudformation.parsing import get_model_map

    return frozenset(get_model_map())


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def publish_assets(s3: Any, outdir: Path, assets_manifest: str, account: str, region: str) -> None:
    """What `cdk deploy` does with file assets: zip directories, upload everything to the bootstrap bucket."""
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        location = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **location)
    for asset in _load(outdir / assets_manifest)["files"].values():
        source = outdir / asset["source"]["path"]
        body = _zip_directory(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)


def _template_file(resource: dict, outdir: Path, assets: dict) -> Path:
    parts = resource["Properties"]["TemplateURL"]["Fn::Join"][1]
    object_key = next(p for p in parts if isinstance(p, str) and p.endswith(".json")).lstrip("/")
    for asset in assets["files"].values():
        if any(d["objectKey"] == object_key for d in asset["destinations"].values()):
            return outdir / asset["source"]["path"]
    raise EmulatorDeployError(f"no asset for nested template {object_key}")


def _references(value: Any) -> set[str]:
    """Logical ids of the sibling nested stacks a parameter expression reads outputs of."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def _output_source(template: dict, output: str) -> str | None:
    """The logical id of the resource an output reads (Ref or Fn::GetAtt)."""
    value = template.get("Outputs", {}).get(output, {}).get("Value")
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def deployment_order(root: dict) -> list[str]:
    nested = {lid: r for lid, r in root["Resources"].items() if r["Type"] == NESTED_STACK_TYPE}
    needs = {lid: (_references(r["Properties"].get("Parameters", {})) | set(r.get("DependsOn", []))) & nested.keys()
             for lid, r in nested.items()}
    order: list[str] = []
    while needs:
        ready = sorted(lid for lid, deps in needs.items() if deps <= set(order))
        if not ready:
            raise EmulatorDeployError(f"cyclic nested stacks: {sorted(needs)}")
        order.extend(ready)
        for lid in ready:
            del needs[lid]
    return order


def _short_name(logical_id: str) -> str:
    return logical_id.split("NestedStack")[0]


def nested_templates(outdir: Path, root_stack: str) -> dict[str, dict]:
    """Short name ("Security", "Processing", ...) -> the nested stack's synthesized template."""
    root = _load(outdir / f"{root_stack}.template.json")
    assets = _load(outdir / f"{root_stack}.assets.json")
    return {_short_name(lid): _load(_template_file(resource, outdir, assets))
            for lid, resource in root["Resources"].items() if resource["Type"] == NESTED_STACK_TYPE}


class AssemblyDeployer:
    def __init__(self, cloudformation: Any, s3: Any, outdir: Path, account: str, region: str) -> None:
        self.cfn = cloudformation
        self.s3 = s3
        self.outdir = outdir
        self.account = account
        self.region = region
        self.stand_ins: dict[str, str] = {}  # "<stack>.<output>" -> value given in place of a skipped resource's

    def _resolve(self, expression: Any, parameters: dict[str, str], deployed: dict[str, DeployedStack]) -> str:
        if isinstance(expression, dict) and "Ref" in expression:
            return parameters[expression["Ref"]]
        if isinstance(expression, dict) and "Fn::GetAtt" in expression:
            logical_id, attribute = expression["Fn::GetAtt"]
            output = attribute.removeprefix("Outputs.")
            stack = deployed[logical_id]
            if output in stack.outputs:
                return stack.outputs[output]
            # moto drops the outputs of resources it skipped; a stand-in lets the next stacks deploy, and
            # is recorded so the test reports it (only for resources the emulator did skip).
            source = _output_source(stack.template, output)
            if source not in stack.skipped():
                raise EmulatorDeployError(f"{stack.stack_name} has no output {output}")
            service = stack.template["Resources"][source]["Type"].split("::")[1].lower()
            stand_in = f"arn:aws:{service}:{self.region}:{self.account}:emulator-skipped:{source}-000000"
            self.stand_ins[f"{stack.stack_name}.{output}"] = stand_in
            return stand_in
        if isinstance(expression, (str, int, float)):
            return str(expression)
        raise EmulatorDeployError(f"cannot resolve nested-stack parameter {expression!r}")

    def _stand_in_unmodeled(self, stack_name: str, template: dict) -> None:
        """moto rejects a Fn::GetAtt on a resource whose type it does not model (and Ref yields nothing useful):
        put a stand-in ARN in place of each such reference, recorded in `stand_ins`."""
        modeled = modeled_types()
        for logical_id, resource in list(template.get("Resources", {}).items()):
            if resource["Type"] in modeled:
                continue
            service = resource["Type"].split("::")[1].lower()
            stand_in = f"arn:aws:{service}:{self.region}:{self.account}:emulator-skipped:{logical_id}-000000"

            def replace(value: Any, target: str = logical_id, text: str = stand_in) -> Any:
                if isinstance(value, dict):
                    if value.get("Ref") == target or (
                            isinstance(value.get("Fn::GetAtt"), list) and value["Fn::GetAtt"][0] == target):
                        return text
                    return {k: replace(v) for k, v in value.items()}
                if isinstance(value, list):
                    return [replace(v) for v in value]
                return value

            for other_id in template["Resources"]:
                if other_id != logical_id:
                    template["Resources"][other_id] = replace(template["Resources"][other_id])
            template["Outputs"] = replace(template.get("Outputs", {}))
            self.stand_ins[f"{stack_name}.{logical_id}"] = stand_in

    def _create(self, stack_name: str, template: dict, parameters: dict[str, str]) -> tuple[dict, list]:
        declared = template.get("Parameters", {})
        self.cfn.create_stack(
            StackName=stack_name, TemplateBody=json.dumps(template), Capabilities=CAPABILITIES,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items() if k in declared])
        stack = self.cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise EmulatorDeployError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        resources = self.cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
        return outputs, resources

    def deploy_stack(self, stack_name: str) -> DeployedStack:
        """A top-level stack of the assembly (no nested stacks), with its parameters' defaults."""
        manifest = self.outdir / f"{stack_name}.assets.json"
        if manifest.exists():
            publish_assets(self.s3, self.outdir, manifest.name, self.account, self.region)
        template = _load(self.outdir / f"{stack_name}.template.json")
        for workaround in EMULATOR_WORKAROUNDS:
            workaround(template)
        self._stand_in_unmodeled(stack_name, template)
        stack = DeployedStack(stack_name, stack_name, template)
        try:
            stack.outputs, stack.created = self._create(stack_name, template, {})
        except Exception as exc:
            raise EmulatorDeployError(f"{stack_name}: {exc}") from exc
        return stack

    def deploy_root(self, root_stack: str, overrides: dict[str, str] | None = None) -> list[DeployedStack]:
        """Every nested stack of `root_stack`, as stacks named `<root>-<Nested>`, in dependency order."""
        root = _load(self.outdir / f"{root_stack}.template.json")
        assets = _load(self.outdir / f"{root_stack}.assets.json")
        publish_assets(self.s3, self.outdir, f"{root_stack}.assets.json", self.account, self.region)
        parameters = {name: str(spec.get("Default", "")) for name, spec in root.get("Parameters", {}).items()}
        parameters.update(overrides or {})
        deployed: dict[str, DeployedStack] = {}
        for logical_id in deployment_order(root):
            resource = root["Resources"][logical_id]
            template = _load(_template_file(resource, self.outdir, assets))
            for workaround in EMULATOR_WORKAROUNDS:
                workaround(template)
            self._stand_in_unmodeled(f"{root_stack}-{_short_name(logical_id)}", template)
            values = {name: self._resolve(expression, parameters, deployed)
                      for name, expression in resource["Properties"].get("Parameters", {}).items()}
            stack = DeployedStack(logical_id, f"{root_stack}-{_short_name(logical_id)}", template)
            try:
                stack.outputs, stack.created = self._create(stack.stack_name, template, values)
            except Exception as exc:  # botocore errors carry the emulator's message
                raise EmulatorDeployError(f"{stack.stack_name}: {exc}") from exc
            deployed[logical_id] = stack
        return list(deployed.values())
