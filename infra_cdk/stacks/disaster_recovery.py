"""DisasterRecoveryStack: AWS Backup of the buckets and tables; Route 53 failover of the API (optional).

S3 cross-region replication (StorageStack) and the global tables' replicas (DatastoresStack) are the
other halves of resilience; they live with the resources they replicate.
"""
from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Fn, NestedStack, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from constructs import Construct

from barometer.catalogue import PROJECT
from infra_cdk.parameters import EstateParameters, all_of, condition, has_value

HEALTH_PATH = "health"
BACKUP_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
                   "AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore")


class DisasterRecoveryStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, backup_key: kms.IKey,
                 buckets: list[s3.IBucket], tables: list[dynamodb.ITable], api: apigateway.RestApi) -> None:
        super().__init__(scope, construct_id, description="Barometer disaster recovery: backups, DNS failover")
        self.vault = backup.BackupVault(self, "Vault", backup_vault_name=f"{PROJECT}-vault",
                                        encryption_key=backup_key, removal_policy=RemovalPolicy.RETAIN)
        self.plan = backup.BackupPlan(self, "Plan", backup_plan_name=f"{PROJECT}-daily", backup_vault=self.vault)
        self.plan.add_rule(backup.BackupPlanRule(
            rule_name="daily", schedule_expression=events.Schedule.cron(hour="3", minute="0"),
            delete_after=Duration.days(35), start_window=Duration.hours(1), completion_window=Duration.hours(8)))
        self.plan.add_rule(backup.BackupPlanRule(
            rule_name="monthly", schedule_expression=events.Schedule.cron(day="1", hour="4", minute="0"),
            move_to_cold_storage_after=Duration.days(30), delete_after=Duration.days(365)))
        # S3 backups need AWS Backup's S3 policy besides the general one (CDK's default role lacks it).
        role = iam.Role(self, "BackupRole", assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
                        description="AWS Backup of the Barometer buckets and tables",
                        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(f"service-role/{name}")
                                          for name in BACKUP_POLICIES])
        self.plan.add_selection("Tables", backup_selection_name="tables", role=role, resources=[
            backup.BackupResource.from_arn(table.table_arn) for table in tables])
        self.plan.add_selection("Buckets", backup_selection_name="buckets", role=role, resources=[
            backup.BackupResource.from_arn(bucket.bucket_arn) for bucket in buckets])
        self._failover(params, api)

    def _failover(self, params: EstateParameters, api: apigateway.RestApi) -> None:
        """PRIMARY: this region's API (health-checked); SECONDARY: the API in the secondary region."""
        enabled = all_of(self, "FailoverReady", condition(self, params.toggle("EnableFailoverDns")),
                         has_value(self, params.hosted_zone_id), has_value(self, params.api_domain_name),
                         has_value(self, params.secondary_api_domain))
        api_host = Fn.select(2, Fn.split("/", api.url))
        health = route53.CfnHealthCheck(self, "ApiHealth", health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
            type="HTTPS", fully_qualified_domain_name=api_host, port=443,
            resource_path=f"/{api.deployment_stage.stage_name}/{HEALTH_PATH}",
            request_interval=30, failure_threshold=3))
        health.cfn_options.condition = enabled
        # For the orchestrator's DR check (BAROMETER_HEALTH_CHECK_ID): empty when there is no health check. An
        # output of this stack, since the Condition exists only in this template.
        output = CfnOutput(self, "HealthCheckId",
                           value=Fn.condition_if(enabled.logical_id, health.attr_health_check_id, "").to_string())
        self.health_check_id = self.nested_stack_resource.get_att(
            f"Outputs.{self.get_logical_id(output)}").to_string()
        for role, target, health_check in (("PRIMARY", api_host, health.attr_health_check_id),
                                           ("SECONDARY", params.secondary_api_domain.value_as_string, None)):
            record = route53.CfnRecordSet(
                self, f"Api{role.title()}", hosted_zone_id=params.hosted_zone_id.value_as_string,
                name=params.api_domain_name.value_as_string, type="CNAME", ttl="60", resource_records=[target],
                set_identifier=f"{PROJECT}-api-{role.lower()}", failover=role, health_check_id=health_check)
            record.cfn_options.condition = enabled
