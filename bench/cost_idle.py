"""What the CDK estate costs in a month with no events, and per million events, for each cost profile:
the synthesized templates, their Conditions evaluated for the profile, the resources with a fixed fee
priced from bench/prices.json.

Profiles (infra_cdk/profiles.py): each sets the toggles' values; "full" also gives every optional
parameter a value and deploys the secondary-region replica stack. A profile only changes Parameter
defaults, never the template's resources, so one synthesis serves all three: the toggles are taken from
the profile, the other parameters from the template's defaults. Conditions are evaluated template by
template: the root stack's Parameters reach each nested stack through its `Parameters` property (a `Ref`
to a root parameter is resolved; anything else, an output of another stack, counts as a non-empty value).
Properties chosen by a Condition (`Fn::If`, `AWS::NoValue`, a `Ref` to a parameter) are resolved before
pricing (the stream's mode and shard count, for example).

Resources priced by usage only (Lambda, API Gateway, DynamoDB on demand, S3, SNS, SQS, Cognito, logs,
backups, flow logs, CloudTrail's first trail) cost nothing without events and are not listed. The
orchestrator's always-on Fargate services, its database and the Fargate task of each scheduled Dagster run
(the code location's RUNNING schedules, an estimated billed duration each) are.
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

from infra_cdk.profiles import ALL_TOGGLES, PROFILES, Profile, profile_named

HOURS = 730
# The task definition Dagster's run launcher starts once per run carries this Metadata key
# (infra_cdk/stacks/orchestration.py); its runs are priced from the code location's schedules.
RUN_TASK_METADATA = "barometer:cost"
RUN_TASK_KIND = "dagster-run"
# The code location's schedules as reviewed (kept equal to the definitions by tests/platform/test_dagster_snapshot.py).
DEFINITIONS_SNAPSHOT = Path(__file__).resolve().parents[1] / "tests" / "platform" / "definitions_snapshot.json"
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


def profile_parameters(root: dict, profile: Profile | str) -> dict[str, str]:
    profile = profile_named(profile) if isinstance(profile, str) else profile
    values = {}
    for name, spec in root.get("Parameters", {}).items():
        default = str(spec.get("Default", ""))
        if name in ALL_TOGGLES:
            values[name] = profile.toggle_default(name)
        elif spec.get("AllowedValues") == ["true", "false"]:
            values[name] = "true" if profile.everything else default
        elif profile.everything and default == "":
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


_NO_VALUE = object()


def resolve(value: Any, params: dict[str, str], conditions: dict[str, Any], seen: dict[str, bool]) -> Any:
    """A property value with Fn::If chosen, AWS::NoValue dropped and Refs to parameters replaced."""
    if isinstance(value, dict):
        if len(value) == 1:
            (op, arg), = value.items()
            if op == "Fn::If":
                name, then, otherwise = arg
                chosen = then if condition(name, params, conditions, seen) else otherwise
                return resolve(chosen, params, conditions, seen)
            if op == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if op == "Ref" and arg in params:
                return params[arg]
        out = {k: resolve(v, params, conditions, seen) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}
    if isinstance(value, list):
        items = [resolve(v, params, conditions, seen) for v in value]
        return [v for v in items if v is not _NO_VALUE]
    return value


def deployed(template: dict, params: dict[str, str]) -> list[tuple[str, dict]]:
    """(logical id, resource with its properties resolved) of the resources whose Condition holds."""
    conditions, seen = template.get("Conditions", {}), {}
    out = []
    for lid, r in template.get("Resources", {}).items():
        if "Condition" in r and not condition(r["Condition"], params, conditions, seen):
            continue
        properties = resolve(r.get("Properties", {}), params, conditions, seen)
        out.append((lid, {**r, "Properties": properties if isinstance(properties, dict) else {}}))
    return out


def nested_parameters(resource: dict, params: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in resource.get("Properties", {}).get("Parameters", {}).items():
        resolved = evaluate(value, params, {}, {})
        out[name] = resolved if isinstance(resolved, str) else json.dumps(resolved)
    return out


def stacks(cdk_out: Path, profile: Profile | str) -> list[tuple[str, dict, dict[str, str]]]:
    """(template file, template, its parameter values) of every stack the profile deploys."""
    profile = profile_named(profile) if isinstance(profile, str) else profile
    root = json.loads((cdk_out / ROOT_TEMPLATE).read_text())
    params = profile_parameters(root, profile)
    out = [(ROOT_TEMPLATE, root, params)]
    for lid, resource in deployed(root, params):
        if resource["Type"] != "AWS::CloudFormation::Stack":
            continue
        path = resource.get("Metadata", {}).get("aws:asset:path") or _asset_path(cdk_out, resource)
        nested = json.loads((cdk_out / path).read_text())
        out.append((path, nested, nested_parameters(resource, params)))
    if profile.everything and (cdk_out / REPLICA_TEMPLATE).exists():
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


def scheduled_runs_per_month(snapshot: Path = DEFINITIONS_SNAPSHOT) -> float:
    """Runs a month of the code location's schedules that start RUNNING (5-field cron, UTC)."""
    schedules = json.loads(snapshot.read_text(encoding="utf-8")).get("schedules", {})
    total = 0.0
    for spec in schedules.values():
        if spec.get("default_status") != "RUNNING":
            continue
        minute, hour, dom, month, _weekday = spec["cron"].split()
        total += _runs_per_month(f"cron({minute} {hour} {dom} {month} ? *)")
    return total


def _fargate_hour(task: dict, prices: dict) -> tuple[float, str]:
    """$ per hour of one Fargate task of this task definition, and its size."""
    p = task.get("Properties", {})
    vcpu, gb = int(p.get("Cpu", 256)) / 1024, int(p.get("Memory", 512)) / 1024
    fargate = prices["fargate"]
    return vcpu * fargate["vcpu_hour"] + gb * fargate["gb_hour"], f"{vcpu:g} vCPU, {gb:g} GB"


def price_resources(resources: list[tuple[str, str, dict]], prices: dict) -> list[dict[str, Any]]:
    """Monthly lines for the resources with a fixed fee (file, logical id, resource)."""
    lines: list[dict[str, Any]] = []
    by_id = {(f, lid): r for f, lid, r in resources}

    def add(item: str, quantity: float, unit: float, note: str = "") -> None:
        lines.append({"item": item, "quantity": round(quantity, 3), "unit_usd": round(unit, 4),
                      "usd": round(quantity * unit, 2), "note": note})

    vpc, cw = prices["vpc"], prices["cloudwatch"]
    counts: dict[str, float] = {}
    for f, lid, r in resources:
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
        elif t == "AWS::ECS::Service":
            ref = p.get("TaskDefinition", {})
            task = by_id.get((f, ref.get("Ref"))) if isinstance(ref, dict) else None
            if task is None:
                raise TemplateError(f"{f} {lid}: task definition {ref!r} not found in its template")
            hourly, size = _fargate_hour(task, prices)
            count = int(p.get("DesiredCount", 1))
            add(f"Fargate service {p.get('ServiceName', lid)} ({count} x {size})", count * HOURS, hourly, "task-hours")
        elif t == "AWS::ECS::TaskDefinition" and r.get("Metadata", {}).get(RUN_TASK_METADATA) == RUN_TASK_KIND:
            hourly, size = _fargate_hour(r, prices)
            minutes = prices["estimates"]["dagster_run_billed_minutes"]
            runs = scheduled_runs_per_month()
            add(f"Dagster scheduled runs ({runs:,.0f} Fargate tasks of ~{minutes:g} min, {size})", runs,
                hourly * minutes / 60, "runs (estimate)")
        elif t == "AWS::RDS::DBInstance":
            rds = prices["rds"]
            klass = p.get("DBInstanceClass", "db.t4g.micro")
            factor = rds["multi_az_factor"] if str(p.get("MultiAZ", "false")).lower() == "true" else 1
            add(f"RDS {p.get('Engine', '')} {lid} ({klass}{', Multi-AZ' if factor > 1 else ''})", factor * HOURS,
                rds["instance_hour"][klass], "instance-hours")
            add(f"RDS storage {lid} ({p.get('StorageType', 'gp3')})", factor * int(p.get("AllocatedStorage", 20)),
                rds["gp3_gb_month"], "GB-months")
        elif t == "AWS::ServiceDiscovery::PrivateDnsNamespace":
            add(f"Cloud Map private namespace {lid} (a Route 53 private hosted zone)", 1,
                prices["cloud_map"]["private_namespace_hosted_zone_month"])
        elif t == "AWS::ServiceDiscovery::Service":
            add(f"Cloud Map registered instance ({lid})", 1, prices["cloud_map"]["registered_instance_month"])
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


def profile_month(cdk_out: Path, prices: dict, profile: Profile | str) -> dict[str, Any]:
    """One profile's idle month: total, priced lines, deployed resources, and what it means per event."""
    profile = profile_named(profile) if isinstance(profile, str) else profile
    resources = [(f, lid, r) for f, template, params in stacks(cdk_out, profile)
                 for lid, r in deployed(template, params)]
    lines = price_resources(resources, prices)
    return {"total": round(sum(line["usd"] for line in lines), 2), "lines": lines, "resources": len(resources),
            "kinesis_mode": stream_mode(resources), "nat_gateways": sum(
                1 for _, _, r in resources if r["Type"] == "AWS::EC2::NatGateway"),
            "budget_default_usd": profile.budget_usd}


def stream_mode(resources: list[tuple[str, str, dict]]) -> str:
    """"on_demand" or "provisioned" (bench/cost_model.dollars_per_million's names), "none" without a stream."""
    for _, _, r in resources:
        if r["Type"] == "AWS::Kinesis::Stream":
            mode = r.get("Properties", {}).get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
            return "on_demand" if mode == "ON_DEMAND" else "provisioned"
    return "none"


def idle_month(cdk_out: Path, prices: dict, profiles: tuple[str, ...] = tuple(PROFILES)) -> dict[str, Any]:
    return {"profiles": {name: profile_month(cdk_out, prices, name) for name in profiles},
            "source": "synthesized templates, Conditions evaluated per profile",
            "not_counted": "usage-priced resources (no events: no charge); CloudWatch custom metrics, logs, "
                           "S3/DynamoDB storage and backups grow with data"}


def current(cdk_out: Path) -> bool:
    """Whether the synthesized root stack declares every toggle the profiles set."""
    parameters = json.loads((cdk_out / ROOT_TEMPLATE).read_text()).get("Parameters", {})
    return ALL_TOGGLES <= set(parameters)


def idle_from(cdk_out: Path | None, prices: dict, profiles: tuple[str, ...] = tuple(PROFILES)) -> dict[str, Any]:
    """From a cdk.out directory, or synthesized into a temporary one when it has none or one older than the
    profiles (its root stack lacks one of their toggles: it would price a profile it cannot express)."""
    if cdk_out is not None and (cdk_out / ROOT_TEMPLATE).exists() and current(cdk_out):
        return idle_month(cdk_out, prices, profiles)
    with tempfile.TemporaryDirectory(prefix="barometer-cost-") as tmp:
        return idle_month(synthesize(Path(tmp)), prices, profiles)


# -- per event ------------------------------------------------------------------------------------------------
def per_million_events(units: dict[str, Any], lake: dict[str, float], prices: dict, month: dict[str, Any]
                       ) -> dict[str, float]:
    """$ per million events in a profile: bench/cost_model's units of one event (hot path v2) priced with
    the profile's stream mode, plus NAT data processing when the functions sit behind a NAT gateway (each
    event crosses it on its way into the stream, out to the processor and into Firehose; DynamoDB and S3
    go through the free gateway endpoints)."""
    from bench.cost_model import GB, Units, dollars_per_million

    mode = month["kinesis_mode"] if month["kinesis_mode"] != "none" else "on_demand"
    fields = {k: v for k, v in units.items() if k in Units.__dataclass_fields__}
    lines = dollars_per_million(Units(**fields), prices, kinesis_mode=mode)
    total = lines.pop("total")
    if month["nat_gateways"]:
        crossing = 2 * lake["kinesis_record_bytes"] + lake["lake_record_bytes"]
        lines["nat_data"] = round(crossing * 1e6 / GB * prices["vpc"]["nat_gateway_gb"], 4)
        total += lines["nat_data"]
    lines["total"] = round(total, 4)
    return lines


def poller_events_per_month(keys: int) -> float:
    """Events of the every-minute poll of `keys` symbols and cities (the schedule in IngestionStack)."""
    return keys * HOURS * 60


def profile_bill(month: dict[str, Any], per_million: dict[str, float], poller_keys: int, profile: str) -> str:
    """The printed bill of one profile."""
    events = poller_events_per_month(poller_keys)
    events_usd = events / 1e6 * per_million["total"]
    rows = [(f"Profile {profile}: idle ${month['total']:.2f}/month ({month['resources']} resources deployed; "
             f"stream {month['kinesis_mode'].replace('_', ' ')}, {month['nat_gateways']} NAT gateway(s))")]
    width = max((len(line["item"]) for line in month["lines"]), default=10)
    for line in sorted(month["lines"], key=lambda line: -line["usd"]):
        rows.append(f"  {line['item']:<{width}}  {line['quantity']:>12,.3f} x ${line['unit_usd']:<8} "
                    f"= ${line['usd']:>8.2f}")
    rows.append(f"Per million events: ${per_million['total']:.2f} (" + ", ".join(
        f"{name} ${usd:.2f}" for name, usd in per_million.items() if name != "total") + ")")
    rows.append(f"The default poll ({poller_keys} symbols and cities every minute, {events:,.0f} events/month): "
                f"${events_usd:.2f}/month")
    rows.append(f"Idle + default poll: ${month['total'] + events_usd:.2f}/month; MonthlyBudgetUsd default "
                f"${month['budget_default_usd']}")
    return "\n".join(rows)
