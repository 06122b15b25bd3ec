"""Every cdk-nag acknowledgment of the app, each with its reason: the one place to read them.

cdk-nag 3 acknowledges exact finding ids (`AwsSolutions-IAM5[Resource::<token>/*]`), and many of them
embed CDK-generated tokens. So the findings are computed once (`validate_scope`) before the validation
plugin runs at synthesis, each is matched against the patterns below (construct path and finding id,
`*` matching anything), and the matches are acknowledged with the pattern's reason. Whatever matches
no pattern is left for the plugin, which then fails the synthesis. A pattern that matches no finding
is an error too, so stale acknowledgments cannot pile up.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Acknowledgment as CdkAcknowledgment
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct


@dataclass(frozen=True)
class Acknowledgment:
    path: str  # construct path below the app, `*` matches anything
    finding: str  # finding id, `*` matches anything
    reason: str

    def matches(self, path: str, finding: str) -> bool:
        return bool(_pattern(self.path).fullmatch(path) and _pattern(self.finding).fullmatch(finding))


def _pattern(glob: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")))


_FUNCTION_ROLES = "Barometer/*Function/Function/ServiceRole/*"
_CDK_GRANT = ("granted by a CDK grant helper (grant_read/grant_write/grant_encrypt_decrypt) on one named resource: "
              "the wildcard is in the action names of that resource's API family, never on the resource")

ACKNOWLEDGMENTS: tuple[Acknowledgment, ...] = (
    # --- IAM: wildcards that are scoped by resource or by construction ------------------------------------
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::kms:ReEncrypt*]", f"KMS actions {_CDK_GRANT}; one CMK"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                   f"KMS actions {_CDK_GRANT}; one CMK"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:GetObject*]", f"S3 read {_CDK_GRANT}; one bucket"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:GetBucket*]", f"S3 read {_CDK_GRANT}; one bucket"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:List*]", f"S3 read {_CDK_GRANT}; one bucket"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
                   f"S3 write {_CDK_GRANT}; one bucket (Firehose and the quarantine retry overwrite objects)"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:Abort*]",
                   f"S3 multipart uploads {_CDK_GRANT}; one bucket"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Resource::<*Bucket*Arn>/*]",
                   "Object keys of one lake bucket: object ARNs are the bucket ARN plus a key pattern"),
    Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Resource::<*Table*Arn>/index/*]",
                   "The table's own global secondary indexes (granted with the table by grant_read_write_data)"),
    Acknowledgment(_FUNCTION_ROLES, "AwsSolutions-IAM5[Resource::*]",
                   "X-Ray PutTraceSegments/PutTelemetryRecords, the VPC ENI actions and CloudWatch GetMetricData/"
                   "ListMetrics (the API's pipeline health) support no resource-level permissions; Resource * is "
                   "the only valid value"),
    Acknowledgment(_FUNCTION_ROLES, "AwsSolutions-IAM4[Policy::*AWSLambdaBasicExecutionRole]",
                   "AWS-maintained minimum for Lambda logging; the function's log group is its own, KMS-encrypted"),
    Acknowledgment(_FUNCTION_ROLES, "AwsSolutions-IAM4[Policy::*AWSLambdaVPCAccessExecutionRole]",
                   "AWS-maintained ENI permissions a function in a VPC needs; nothing beyond ENI management"),
    Acknowledgment("Barometer/Ingestion/SchedulerRole/*", "AwsSolutions-IAM5[Resource::<PollerFunction*.Arn>:*]",
                   "Versions and aliases of the poller function only (CDK grant_invoke)"),
    Acknowledgment("Barometer/Ingestion/Api/CloudWatchRole/*",
                   "AwsSolutions-IAM4[Policy::*AmazonAPIGatewayPushToCloudWatchLogs]",
                   "API Gateway's account-level logging role: AWS's managed policy is the documented setup"),
    Acknowledgment("Barometer/DisasterRecovery/BackupRole/*",
                   "AwsSolutions-IAM4[Policy::*AWSBackupServiceRolePolicyFor*]",
                   "AWS Backup's service role: AWS-maintained policies track the services Backup supports"),
    Acknowledgment("Barometer/Security/AuditReadOnlyRole", "AwsSolutions-IAM4[Policy::*SecurityAudit]",
                   "The cross-account audit role is read-only by definition: AWS's SecurityAudit policy"),
    Acknowledgment("Barometer/Storage/ReplicationRole/*", "AwsSolutions-IAM5[Resource::arn:*:s3:::barometer-*-replica-*/*]",
                   "Objects of the replica bucket in the secondary region (S3 replication writes every key)"),
    Acknowledgment("Barometer/Storage/ReplicationRole/*", "AwsSolutions-IAM5[Resource::arn:*:kms:*:key/*]",
                   "The replica key in the secondary region, restricted by a kms:ResourceAliases condition "
                   "(its id is unknown in the primary region)"),
    Acknowledgment("Barometer/Analytics/CrawlerRole/*", "AwsSolutions-IAM5[Resource::arn:*:glue:*:table/barometer/*]",
                   "The lake tables of the barometer database only"),
    Acknowledgment("Barometer/Analytics/CrawlerRole/*", "AwsSolutions-IAM5[Resource::arn:*:logs:*:log-group:/aws-glue/crawlers*]",
                   "Glue writes crawler logs to log streams it names in /aws-glue/crawlers"),
    # --- The orchestrator (Dagster on ECS, infra_cdk/stacks/orchestration.py) --------------------------------
    Acknowledgment("Barometer/Orchestration/*Role/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/barometer-dagster/*]",
                   "Run tasks of the orchestrator's own cluster: their ids are known only once the daemon starts them"),
    Acknowledgment("Barometer/Orchestration/DaemonRole/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/barometer-dagster-run:*]",
                   "Revisions of the run task family only (each deploy registers a new one); RunTask is further "
                   "limited to the orchestrator's cluster"),
    Acknowledgment("Barometer/Orchestration/AssetsRole/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::<*AthenaResults*Arn>/*]",
                   "Objects of the Athena workgroup's results bucket, which Athena writes under query ids"),
    Acknowledgment("Barometer/Orchestration/AssetsRole/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/barometer/*]",
                   "The lake and rollup tables of the barometer database only (the assets create rollup tables)"),
    Acknowledgment("Barometer/Orchestration/AssetsRole/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:quicksight:<AWS::Region>:<AWS::AccountId>:dataset/barometer-*]",
                   "Barometer's QuickSight datasets (barometer-<table>) and, below, their SPICE ingestions"),
    Acknowledgment("Barometer/Orchestration/AssetsRole/DefaultPolicy/Resource",
                   "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::healthcheck/*]",
                   "GetHealthCheckStatus of the API's failover health check, whose id is created by another "
                   "stack under a Condition (read-only)"),
    Acknowledgment("Barometer/Orchestration/WebserverRole/DefaultPolicy/Resource", "AwsSolutions-IAM5[Resource::*Logs*:*]",
                   "Log streams of ECS Exec sessions in the orchestrator's own log group (granted by ECS Exec)"),
    # Last of the orchestrator's IAM5: `*` in a pattern matches anything, so it would take the ones above.
    Acknowledgment("Barometer/Orchestration/*Role/DefaultPolicy/Resource", "AwsSolutions-IAM5[Resource::*]",
                   "Actions without resource-level permissions, where * is the only valid resource: "
                   "ecr:GetAuthorizationToken (image pull), ecs:DescribeTaskDefinition, ec2:DescribeNetworkInterfaces "
                   "(the run launcher copies its task's network), backup:ListRecoveryPointsByResource, "
                   "cloudwatch:GetMetricData, ECS Exec's ssmmessages channels and logs:DescribeLogGroups"),
    Acknowledgment("Barometer/Orchestration/*Task/Resource", "AwsSolutions-ECS2",
                   "The variables are resource names, ARNs and settings; the database credentials come from "
                   "Secrets Manager as ECS secrets, never as plain variables"),
    Acknowledgment("Barometer/Orchestration/Cluster/Resource", "AwsSolutions-ECS4",
                   "Container Insights bills custom metrics for three small services; the tasks' logs and ECS's "
                   "own per-service CPU/memory metrics remain"),
    Acknowledgment("Barometer/Orchestration/Database/Resource", "AwsSolutions-RDS3",
                   "Single-AZ: Dagster's run/event storage, not the platform's data; a failover costs minutes "
                   "of scheduling, restored from the daily backups or re-run; Multi-AZ would double its price"),
    Acknowledgment("Barometer/Orchestration/Database/Resource", "AwsSolutions-RDS11",
                   "The port is not the control: the database's security group admits only the orchestrator's "
                   "group, TLS is forced, the password is in Secrets Manager"),
    Acknowledgment("Barometer/Orchestration/Database/Secret/Resource", "AwsSolutions-SMG4",
                   "The webserver, daemon and code server read the password once at start (ECS secret); rotating "
                   "it would break their connections until a redeploy. Rotate by hand with a service restart "
                   "(docs/infra.md, Dagster on AWS)"),
    # --- Design decisions --------------------------------------------------------------------------------
    Acknowledgment("Barometer/*Function/Function/Resource", "AwsSolutions-L1",
                   "python3.12 is the runtime the handlers and the Powertools layer (python312) are built and "
                   "tested for (docs/infra.md); moving up is a deliberate change of layer and tests"),
    Acknowledgment("Barometer/*Queue/Resource", "AwsSolutions-SQS3",
                   "A sensor queue is drained by the orchestrator, which records failures itself; a DLQ of it "
                   "would only hold copies of alerts already in AlertsTable"),
    Acknowledgment("Barometer/Ingestion/*Dlq/Resource", "AwsSolutions-SQS3",
                   "This queue is itself a dead-letter queue (of the mappings, of invalid records, of the notifier)"),
    Acknowledgment("Barometer/Ingestion/Api/Default/health/GET/Resource", "AwsSolutions-APIG4",
                   "Route 53's health check target: a mock integration with no data and no function behind it"),
    Acknowledgment("Barometer/Ingestion/Api/Default/health/GET/Resource", "AwsSolutions-COG4",
                   "Route 53's health check target: a mock integration with no data and no function behind it"),
    Acknowledgment("Barometer/Ingestion/EventsStream/Resource", "AwsSolutions-KDS3",
                   "The stream uses the messaging CMK (rotated, key policy under our control) instead of aws/kinesis"),
    Acknowledgment("Barometer/Processing/RawDelivery/Resource", "AwsSolutions-KDF1",
                   "A Kinesis-sourced delivery stream cannot set server-side encryption: records stay encrypted "
                   "by the source stream's CMK and are written with SSE-KMS (data CMK) to S3"),
)


class StaleAcknowledgmentError(RuntimeError):
    """An acknowledgment matches no finding: remove it (or fix its pattern)."""


def findings(app: Construct) -> list[tuple[str, str]]:
    """(construct path, finding id) of every AwsSolutions finding in the app, before acknowledgments."""
    report = AwsSolutionsChecks().validate_scope(app)
    return [(resource.construct_path or "",
             violation.rule_name)
            for violation in report.violations for resource in violation.violating_resources]


def acknowledge_findings(app: Construct) -> list[tuple[str, str, str]]:
    """Acknowledge every finding that an entry of ACKNOWLEDGMENTS covers; return (path, finding, reason)."""
    by_path = {node.node.path: node for node in app.node.find_all()}
    used: set[Acknowledgment] = set()
    acknowledged = []
    for path, finding in findings(app):
        for ack in ACKNOWLEDGMENTS:
            if ack.matches(path, finding):
                Validations.of(by_path[path]).acknowledge(CdkAcknowledgment(id=finding, reason=ack.reason))
                used.add(ack)
                acknowledged.append((path, finding, ack.reason))
                break
    stale = [ack for ack in ACKNOWLEDGMENTS if ack not in used]
    if stale:
        raise StaleAcknowledgmentError("cdk-nag acknowledgments that match no finding: " + "; ".join(
            f"{ack.path} {ack.finding}" for ack in stale))
    return acknowledged
