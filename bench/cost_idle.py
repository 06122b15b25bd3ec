"""What the CDK estate costs in a month with no events: the synthesized templates, their Conditions
evaluated for a profile, the resources with a fixed fee priced from bench/prices.json.

Profiles: "cheapest" (every toggle of infra_cdk/parameters.py "false", optional parameters empty) and
"full" (every toggle "true", every optional parameter given, and the secondary-region replica stack
deployed). Conditions are evaluated template by template: the root stack's Parameters reach each nested
stack through its `Parameters` property (a `Ref` to a root parameter is resolved; anything else, an
output of another stack, counts as a non-empty value).

Resources priced by usage only (Lambda, API Gateway, DynamoDB on demand, S3, SNS, SQS, Cognito, logs,
backups, flow logs, CloudTrail's first trail) cost nothing without events and are not listed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HOURS = 730
ROOT_TEMPLATE = "Barometer.template.json"
REPLICA_TEMPLATE = "BarometerReplica.template.json"
REPO = Path(__file__).resolve().parents[1]


class TemplateError(RuntimeError):
    """The templates could not be synthesized or do not have the expected shape."""


def synthesize(outdir: Path) -> Path:
    """`python -m infra_cdk.app` into outdir (needs the cdk dependency group and node; ~20-60 s)."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    done = subprocess.run([sys.executable, "-m", "infra_cdk.app"], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or not (outdir / ROOT_TEMPLATE).exists():
        raise TemplateError(f"synthesis failed: {done.stderr[-2000:]}")
    return outdir


def profile_parameters(root: dict, profile: str) -> dict[str, str]:
    values = {}
    for name, spec in root.get("Parameters", {}).items():
        default = str(spec.get("Default", ""))
        if spec.get("AllowedValues") == ["true", "false"]:
            values[name] = "true" if profile == "full" else "false"
        elif profile == "full" and default == "":
            values[name] = f"<{name}>"  # an optional parameter given a value
        else:
            values[name] = default
    return values


def evaluate(expr: Any, params: dict[str, str], conditions: dict[str, Any], seen: dict[str, bool]) -> Any:
    """A Condition expression (or a value inside one)."""
    if isinstance(expr, dict) and len(expr) == 1:
        (op, arg), = expr.items()
        if op == "Ref":
            return params.get(arg, f"<{arg}>")
        if op == "Condition":
            return condition(arg, params, conditions, seen)
        if op == "Fn::Equals":
            return evaluate(arg[0], params, conditions, seen) == evaluate(arg[1], params, conditions, seen)
        if op == "Fn::Not":
            return not evaluate(arg[0], params, conditions, seen)
        if op == "Fn::And":
            return all(evaluate(a, params, conditions, seen) for a in arg)
        if op == "Fn::Or":
            return any(evaluate(a, params, conditions, seen) for a in arg)
        return f"<{op}>"  # an attribute of another resource: some non-empty value
    return expr


def condition(name: str, params: dict[str, str], conditions: dict[str, Any], seen: dict[str, bool]) -> bool:
    if name not in seen:
        seen[name] = bool(evaluate(conditions[name], params, conditions, seen))
    return seen[name]


def deployed(template: dict, params: dict[str, str]) -> list[tuple[str, dict]]:
    """(logical id, resource) of the resources whose Condition holds."""
    conditions, seen = template.get("Conditions", {}), {}
    return [(lid, r) for lid, r in template.get("Resources", {}).items()
            if "Condition" not in r or condition(r["Condition"], params, conditions, seen)]


def nested_parameters(resource: dict, params: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in resource.get("Properties", {}).get("Parameters", {}).items():
        resolved = evaluate(value, params, {}, {})
        out[name] = resolved if isinstance(resolved, str) else json.dumps(resolved)
    return out


def stacks(cdk_out: Path, profile: str) -> list[tuple[str, dict, dict[str, str]]]:
    """(template file, template, its parameter values) of every stack the profile deploys."""
    root = json.loads((cdk_out / ROOT_TEMPLATE).read_text())
    params = profile_parameters(root, profile)
    out = [(ROOT_TEMPLATE, root, params)]
    for lid, resource in deployed(root, params):
        if resource["Type"] != "AWS::CloudFormation::Stack":
            continue
        path = resource.get("Metadata", {}).get("aws:asset:path") or _asset_path(cdk_out, resource)
        nested = json.loads((cdk_out / path).read_text())
        out.append((path, nested, nested_parameters(resource, params)))
    if profile == "full" and (cdk_out / REPLICA_TEMPLATE).exists():
        replica = json.loads((cdk_out / REPLICA_TEMPLATE).read_text())
        out.append((REPLICA_TEMPLATE, replica, profile_parameters(replica, profile)))
    return out


def _asset_path(cdk_out: Path, resource: dict) -> str:
    """The nested template's file: its TemplateURL ends with the asset hash that <root>.assets.json maps."""
    url = json.dumps(resource.get("Properties", {}).get("TemplateURL"))
    found = re.search(r"([0-9a-f]{64})\.json", url)
    assets = json.loads((cdk_out / ROOT_TEMPLATE.replace(".template.json", ".assets.json")).read_text())
    entry = assets.get("files", {}).get(found.group(1)) if found else None
    if entry is None:
        raise TemplateError(f"nested stack template not found for {url[:120]}")
    return entry["source"]["path"]


def _runs_per_month(expression: str) -> float:
    """Runs a month of a cron(...) or rate(...) schedule (minute, hour, day-of-month fields only)."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate:
        per = {"minute": 60, "hour": 1, "day": 1 / 24}[rate.group(2).rstrip("s")]
        return HOURS * per / int(rate.group(1))
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    if not cron:
        raise TemplateError(f"schedule {expression!r}: not a rate(...) or cron(...) this model reads")

    def count(field: str, span: int) -> float:
        if field in ("*", "?"):
            return span
        if field.startswith("*/"):
            return span / int(field[2:])
        return len(field.split(","))
    minute, hour, dom = cron.group(1), cron.group(2), cron.group(3)
    return count(minute, 60) * count(hour, 24) * (HOURS / 24 if dom in ("*", "?") else count(dom, 30.4))


def price_resources(resources: list[tuple[str, str, dict]], prices: dict) -> list[dict[str, Any]]:
    """Monthly lines for the resources with a fixed fee (file, logical id, resource)."""
    lines: list[dict[str, Any]] = []

    def add(item: str, quantity: float, unit: float, note: str = "") -> None:
        lines.append({"item": item, "quantity": round(quantity, 3), "unit_usd": round(unit, 4),
                      "usd": round(quantity * unit, 2), "note": note})

    vpc, cw = prices["vpc"], prices["cloudwatch"]
    counts: dict[str, float] = {}
    for _, lid, r in resources:
        t, p = r["Type"], r.get("Properties", {})
        if t == "AWS::EC2::NatGateway":
            counts["nat"] = counts.get("nat", 0) + 1
        elif t == "AWS::EC2::EIP":
            counts["ipv4"] = counts.get("ipv4", 0) + 1
        elif t == "AWS::EC2::VPCEndpoint" and p.get("VpcEndpointType") == "Interface":
            counts["endpoint_az"] = counts.get("endpoint_az", 0) + max(1, len(p.get("SubnetIds", [])))
        elif t == "AWS::Kinesis::Stream":
            mode = p.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
            if mode == "ON_DEMAND":
                add(f"Kinesis stream {lid} (on demand)", HOURS, prices["kinesis"]["on_demand_stream_hour"], "stream-hours")
            else:
                add(f"Kinesis stream {lid} ({p.get('ShardCount', 1)} shards)", HOURS * int(p.get("ShardCount", 1)),
                    prices["kinesis"]["provisioned_shard_hour"], "shard-hours")
        elif t == "AWS::WAFv2::WebACL":
            add(f"WAF web ACL {lid}", 1, prices["waf"]["web_acl_month"])
            add(f"WAF rules of {lid}", len(p.get("Rules", [])), prices["waf"]["rule_month"])
        elif t == "AWS::CloudWatch::Alarm":
            metrics = max(1, sum(1 for m in p.get("Metrics", []) if "MetricStat" in m))
            high = int(p.get("Period", 60)) < 60
            key = "alarm_high_resolution_metric_month" if high else "alarm_standard_metric_month"
            counts[key] = counts.get(key, 0) + metrics
        elif t == "AWS::CloudWatch::Dashboard":
            counts["dashboard"] = counts.get("dashboard", 0) + 1
        elif t == "AWS::KMS::Key":
            counts["kms"] = counts.get("kms", 0) + 1
        elif t == "AWS::SecretsManager::Secret":
            counts["secret"] = counts.get("secret", 0) + 1
        elif t == "AWS::Glue::Crawler":
            glue = prices["glue"]
            runs = _runs_per_month(p.get("Schedule", {}).get("ScheduleExpression", "rate(1 day)"))
            add(f"Glue crawler {lid} ({runs:.0f} runs x {glue['crawler_minimum_minutes']} min x {glue['crawler_dpus']} DPU)",
                runs * glue["crawler_minimum_minutes"] / 60 * glue["crawler_dpus"], glue["crawler_dpu_hour"], "DPU-hours")
        elif t == "AWS::DAX::Cluster":
            node = p.get("NodeType", "dax.t3.small")
            nodes = int(p.get("ReplicationFactor", 1))
            add(f"DAX {lid} ({nodes} x {node})", nodes * HOURS, prices["dax"]["node_hour"][node], "node-hours")
        elif t == "AWS::Route53::HealthCheck":
            r53 = prices["route53"]
            kind = p.get("HealthCheckConfig", {}).get("Type", "HTTP")
            extra = r53["health_check_optional_feature_month"] if kind.startswith("HTTPS") else 0.0
            add(f"Route 53 health check {lid} ({kind})", 1, r53["health_check_aws_endpoint_month"] + extra)
        elif t == "AWS::Scheduler::Schedule":
            runs = _runs_per_month(p.get("ScheduleExpression", "rate(1 day)"))
            counts["schedule_runs"] = counts.get("schedule_runs", 0) + runs
        elif t == "AWS::GuardDuty::Detector":
            add("GuardDuty detector (estimate)", 1, prices["estimates"]["guardduty_idle_month"])
        elif t == "AWS::SecurityHub::Hub":
            add("Security Hub (estimate)", 1, prices["estimates"]["security_hub_idle_month"])
        elif t == "AWS::Config::ConfigurationRecorder":
            add("AWS Config recorder and rules (estimate)", 1, prices["estimates"]["config_idle_month"])
        elif t == "AWS::QuickSight::DataSource":
            add("QuickSight author subscription (estimate)", 1, prices["estimates"]["quicksight_author_month"])
    if counts.get("nat"):
        add("NAT gateways", counts["nat"] * HOURS, vpc["nat_gateway_hour"], "gateway-hours")
    if counts.get("ipv4"):
        add("Public IPv4 addresses (Elastic IPs)", counts["ipv4"] * HOURS, vpc["public_ipv4_hour"], "address-hours")
    if counts.get("endpoint_az"):
        add("Interface VPC endpoints", counts["endpoint_az"] * HOURS, vpc["interface_endpoint_az_hour"], "endpoint-AZ-hours")
    for key, label in (("alarm_standard_metric_month", "CloudWatch alarms (standard, per metric)"),
                       ("alarm_high_resolution_metric_month", "CloudWatch alarms (high resolution, per metric)")):
        if counts.get(key):
            add(label, counts[key], cw[key])
    if counts.get("dashboard"):
        add("CloudWatch dashboards", counts["dashboard"], cw["dashboard_month"])
    if counts.get("kms"):
        add("KMS keys", counts["kms"], prices["kms"]["key_month"])
    if counts.get("secret"):
        add("Secrets Manager secrets", counts["secret"], prices["secrets_manager"]["secret_month"])
    if counts.get("schedule_runs"):
        runs = counts["schedule_runs"]
        lam = prices["lambda"]
        per_run = lam["requests_per_million"] / 1e6 + 0.25 * 1.0 * lam["gb_second_x86"]
        add(f"Scheduled poller ({runs:,.0f} runs of ~1 s at 256 MB; its events are priced per event)", runs, per_run)
    return lines


def idle_month(cdk_out: Path, prices: dict) -> dict[str, Any]:
    profiles = {}
    for profile in ("cheapest", "full"):
        resources = [(f, lid, r) for f, template, params in stacks(cdk_out, profile)
                     for lid, r in deployed(template, params)]
        lines = price_resources(resources, prices)
        profiles[profile] = {"total": round(sum(line["usd"] for line in lines), 2), "lines": lines,
                             "resources": len(resources)}
    return {"profiles": profiles, "source": "synthesized templates, Conditions evaluated per profile",
            "not_counted": "usage-priced resources (no events: no charge); CloudWatch custom metrics, logs, "
                           "S3/DynamoDB storage and backups grow with data"}


def idle_from(cdk_out: Path | None, prices: dict) -> dict[str, Any]:
    """From a cdk.out directory, or synthesized into a temporary one."""
    if cdk_out is not None and (cdk_out / ROOT_TEMPLATE).exists():
        return idle_month(cdk_out, prices)
    with tempfile.TemporaryDirectory(prefix="barometer-cost-") as tmp:
        return idle_month(synthesize(Path(tmp)), prices)
