"""The root stack's CloudFormation Parameters, and the Conditions derived from them.

One synthesized root template deploys anything from the cheap demo (every toggle "false") to the full
estate. The CDK context value `profile` (infra_cdk/profiles.py: demo, standard, full) sets the toggles'
defaults and the budget's; the Parameters stay, so a deploy can still override any one of them. Nested stacks receive the Parameters as objects (CDK turns each reference into a nested-stack
parameter) and derive their own Conditions with `condition()`, because a Condition cannot cross a
template boundary.

What the platform watches (symbols, cities, rules) is not a Parameter: barometer.yaml is its one source,
handed to every function as JSON in BAROMETER_CONFIG_JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnCondition, CfnParameter, CfnRule, CfnRuleAssertion, Fn, Stack
from constructs import Construct

from infra_cdk.profiles import ALL_TOGGLES, CONTEXT_KEY, Profile, profile_named

# Toggles of the resources that cost money while idle (their defaults: the profile's, profiles.py).
TOGGLES = {
    "EnableNatGateway": "Functions in prod-app's private subnets behind a NAT gateway (false: functions outside "
                        "the VPC, on AWS's public endpoints; no NAT gateway, no DAX)",
    "EnableOnDemandStream": "The events stream in on-demand mode (false: provisioned, StreamShardCount shards)",
    "EnableCrawler": "The daily Glue crawler of the processed zone (false: only Dagster registers partitions)",
    "EnableOrchestrator": "Dagster on ECS Fargate with RDS PostgreSQL storage (needs EnableNatGateway=true)",
    "EnableMultiNat": "A NAT gateway in every AZ of prod-app (one NAT gateway otherwise)",
    "EnableInterfaceEndpoints": "Interface VPC endpoints (Logs, STS, KMS, Secrets Manager, Kinesis, SNS, SQS, Firehose)",
    "EnableDax": "A DAX cluster in prod-data in front of LatestTable",
    "EnableQuickSight": "QuickSight data sources, datasets and the stocks/weather dashboard",
    "EnableGuardDuty": "A GuardDuty detector in this region",
    "EnableSecurityHub": "Security Hub with the AWS Foundational Security Best Practices standard",
    "EnableConfig": "An AWS Config recorder and the managed rules (S3 public access, CMK encryption)",
    "EnableSecondaryRegion": "S3 cross-region replication and DynamoDB replicas in SecondaryRegion",
    "EnableFailoverDns": "A Route 53 health check and failover records for the API",
}


@dataclass(frozen=True)
class EstateParameters:
    alert_email: CfnParameter
    iterator_age_alarm_ms: CfnParameter
    dlq_depth_alarm: CfnParameter
    monthly_budget_usd: CfnParameter
    secondary_region: CfnParameter
    hosted_zone_id: CfnParameter
    api_domain_name: CfnParameter
    secondary_api_domain: CfnParameter
    audit_account_id: CfnParameter
    quicksight_principal_arn: CfnParameter
    secret_rotation_lambda_arn: CfnParameter
    dynamodb_connector_arn: CfnParameter
    stream_shard_count: CfnParameter
    toggles: dict[str, CfnParameter]
    profile: Profile

    def toggle(self, name: str) -> CfnParameter:
        return self.toggles[name]


def declare_parameters(stack: Stack) -> EstateParameters:
    """Declare every Parameter on the root stack, their defaults from the context's profile."""
    profile = profile_named(stack.node.try_get_context(CONTEXT_KEY))
    if set(TOGGLES) != ALL_TOGGLES:
        raise RuntimeError(f"profiles.py and TOGGLES name different toggles: {sorted(set(TOGGLES) ^ ALL_TOGGLES)}")

    def text(name: str, default: str, description: str, **extra) -> CfnParameter:
        return CfnParameter(stack, name, type="String", default=default, description=description, **extra)

    toggles = {
        name: text(name, profile.toggle_default(name), description, allowed_values=["true", "false"])
        for name, description in TOGGLES.items()
    }
    _dax_needs_vpc_functions(stack, toggles)
    _orchestrator_needs_nat(stack, toggles)
    return EstateParameters(
        alert_email=text("AlertEmail", "", "E-mail address subscribed to the alert topics (empty: none)"),
        iterator_age_alarm_ms=CfnParameter(
            stack, "IteratorAgeAlarmMs", type="Number", default=60000, min_value=1000,
            description="Alarm when a stream consumer falls this far behind (milliseconds)"),
        dlq_depth_alarm=CfnParameter(
            stack, "DlqDepthAlarm", type="Number", default=1, min_value=1,
            description="Alarm when a dead-letter queue holds at least this many messages"),
        monthly_budget_usd=CfnParameter(
            stack, "MonthlyBudgetUsd", type="Number", default=profile.budget_usd, min_value=1,
            description=f"Monthly cost budget (default: the {profile.name} profile's idle month x 1.5); "
                        "FinOpsAlerts hears at 80% actual and 100% forecast"),
        stream_shard_count=CfnParameter(
            stack, "StreamShardCount", type="Number", default=1, min_value=1, max_value=16,
            description="Shards of the events stream when EnableOnDemandStream is false (1 shard: 1,000 "
                        "records/s or 1 MB/s in)"),
        secondary_region=text("SecondaryRegion", "us-west-2", "Region of the DR replicas",
                              allowed_pattern="^[a-z]{2}(-gov)?-[a-z]+-\\d$"),
        hosted_zone_id=text("HostedZoneId", "", "Route 53 hosted zone of ApiDomainName (failover DNS)"),
        api_domain_name=text("ApiDomainName", "", "DNS name of the API (failover records)"),
        secondary_api_domain=text("SecondaryApiDomain", "", "Regional API host name in SecondaryRegion"),
        audit_account_id=text("AuditAccountId", "", "Account allowed to assume the read-only audit role",
                              allowed_pattern="^(\\d{12})?$"),
        quicksight_principal_arn=text("QuickSightPrincipalArn", "",
                                      "QuickSight user or group ARN that owns the dashboards"),
        secret_rotation_lambda_arn=text("RotationFunctionArn", "",
                                        "Rotation function of the provider/Slack secrets (empty: none)"),
        dynamodb_connector_arn=text("DynamoDbConnectorArn", "",
                                    "Athena DynamoDB connector function (QuickSight reads LatestTable through it)"),
        toggles=toggles,
        profile=profile,
    )


def _dax_needs_vpc_functions(stack: Stack, toggles: dict[str, CfnParameter]) -> None:
    """DAX is reachable from inside the VPC only: refuse EnableDax without EnableNatGateway at deploy time."""
    CfnRule(stack, "DaxNeedsVpcFunctions",
            rule_condition=Fn.condition_equals(toggles["EnableDax"].value_as_string, "true"),
            assertions=[CfnRuleAssertion(
                assert_=Fn.condition_equals(toggles["EnableNatGateway"].value_as_string, "true"),
                assert_description="EnableDax needs EnableNatGateway=true: DAX is reached from the functions "
                                   "in prod-app, which run outside the VPC without it")])


def _orchestrator_needs_nat(stack: Stack, toggles: dict[str, CfnParameter]) -> None:
    """The orchestrator's tasks pull their image and reach AWS from prod-app's private subnets, whose only
    way out is the NAT gateway: refuse EnableOrchestrator without EnableNatGateway at deploy time."""
    CfnRule(stack, "OrchestratorNeedsNat",
            rule_condition=Fn.condition_equals(toggles["EnableOrchestrator"].value_as_string, "true"),
            assertions=[CfnRuleAssertion(
                assert_=Fn.condition_equals(toggles["EnableNatGateway"].value_as_string, "true"),
                assert_description="EnableOrchestrator needs EnableNatGateway=true: the Dagster tasks in "
                                   "prod-app's private subnets reach ECR and AWS through the NAT gateway")])


def condition(scope: Construct, toggle: CfnParameter) -> CfnCondition:
    """The Condition "toggle is true", created once in the template that holds `scope`."""
    stack = Stack.of(scope)
    name = f"{toggle.node.id}On"
    existing = stack.node.try_find_child(name)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return CfnCondition(stack, name, expression=Fn.condition_equals(toggle.value_as_string, "true"))


def has_value(scope: Construct, parameter: CfnParameter) -> CfnCondition:
    """The Condition "parameter is not empty", created once in the template that holds `scope`."""
    stack = Stack.of(scope)
    name = f"Has{parameter.node.id}"
    existing = stack.node.try_find_child(name)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return CfnCondition(
        stack, name, expression=Fn.condition_not(Fn.condition_equals(parameter.value_as_string, "")))


def all_of(scope: Construct, name: str, *conditions: CfnCondition) -> CfnCondition:
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(name)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return CfnCondition(stack, name, expression=Fn.condition_and(*conditions))
