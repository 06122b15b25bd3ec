"""SecurityStack: CMKs, secrets, CloudTrail, AWS Config rules, GuardDuty, Security Hub, the audit role."""
from __future__ import annotations

from aws_cdk import Aws, CfnTag, Duration, Fn, NestedStack, SecretValue
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_config as config
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_securityhub as securityhub
from constructs import Construct

from barometer.catalogue import PROVIDER_KEYS_SECRET, SECRETS, SLACK_WEBHOOK_SECRET
from barometer.secrets import slack_webhook_placeholder
from infra_cdk.constructs.encryption import (
    DELIVER_TO_ENCRYPTED_BUCKET,
    PUBLISH_TO_ENCRYPTED_TOPIC,
    allow_service,
    customer_managed_key,
)
from infra_cdk.constructs.secure_bucket import access_log_bucket, secure_bucket
from infra_cdk.parameters import EstateParameters, condition, has_value

# Services that publish to the messaging key's topics -> whether their KMS requests carry aws:SourceAccount
# (see encryption.allow_service). Budgets documents the condition; CloudWatch alarms and Cost Anomaly
# Detection document none.
TOPIC_PUBLISHER_KEY_USE = {
    "cloudwatch.amazonaws.com": False,
    "budgets.amazonaws.com": True,
    "costalerts.amazonaws.com": False,
}

# What each secret holds until an operator fills it in (docs/infra.md, first deployment). Neither is secret.
FIRST_DEPLOY_VALUES = {
    # the notifier records each alert undeliverable to Slack, "slack webhook not configured"
    SLACK_WEBHOOK_SECRET.logical_id: slack_webhook_placeholder(),
    # the poller reports "no key for 'finnhub'" for keyed providers; keyless ones poll
    PROVIDER_KEYS_SECRET.logical_id: "{}",
}

# S3 prefix of the audit bucket under which CloudTrail and AWS Config write.
TRAIL_PREFIX = "cloudtrail"
CONFIG_PREFIX = "config"


class SecurityStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters) -> None:
        super().__init__(scope, construct_id, description="Barometer security: keys, secrets, audit, detection")
        self.data_key = customer_managed_key(self, "DataKey", "s3", service_principals=("cloudtrail.amazonaws.com",))
        self.table_key = customer_managed_key(self, "TableKey", "dynamodb")
        self.secrets_key = customer_managed_key(self, "SecretsKey", "secrets")
        # SNS encrypts what it delivers to the (encrypted) sensor queues.
        self.messaging_key = customer_managed_key(self, "MessagingKey", "messaging",
                                                  service_principals=("sns.amazonaws.com",))
        # The services that publish to the encrypted topics (alerting.py TOPIC_PUBLISHERS).
        for principal, source_account in TOPIC_PUBLISHER_KEY_USE.items():
            allow_service(self.messaging_key, principal, PUBLISH_TO_ENCRYPTED_TOPIC, source_account=source_account)
        self.messaging_key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"}},
        ))

        # Created holding what the functions recognise as "not filled in yet" (FIRST_DEPLOY_VALUES), not a
        # random string they would fail to parse on every call; an operator writes the real value.
        self.secrets = {spec.logical_id: secretsmanager.Secret(
            self, spec.logical_id, secret_name=spec.local_name, description=spec.description,
            encryption_key=self.secrets_key,
            secret_string_value=SecretValue.unsafe_plain_text(FIRST_DEPLOY_VALUES[spec.logical_id]))
            for spec in SECRETS}
        rotation = has_value(self, params.secret_rotation_lambda_arn)
        for logical_id, secret in self.secrets.items():
            schedule = secretsmanager.CfnRotationSchedule(
                self, f"{logical_id}Rotation", secret_id=secret.secret_arn,
                rotation_lambda_arn=params.secret_rotation_lambda_arn.value_as_string,
                rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                    schedule_expression="rate(90 days)"))
            schedule.cfn_options.condition = rotation

        self.access_logs = access_log_bucket(self, "AuditAccessLogs")
        self.audit_bucket = secure_bucket(self, "AuditBucket", key=self.data_key, access_logs=self.access_logs,
                                          log_prefix="audit/")
        self._trail()
        self._config_rules(params)
        self._detection(params)
        self._audit_role(params)

    def _trail(self) -> None:
        trail_logs = logs.LogGroup(self, "TrailLogs", encryption_key=self.messaging_key,
                                   retention=logs.RetentionDays.ONE_YEAR)
        self.trail = cloudtrail.Trail(
            self, "Trail",
            bucket=self.audit_bucket,
            s3_key_prefix=TRAIL_PREFIX,
            encryption_key=self.data_key,
            enable_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=True,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=trail_logs,
        )

    def _config_rules(self, params: EstateParameters) -> None:
        enabled = condition(self, params.toggle("EnableConfig"))
        role = iam.CfnServiceLinkedRole(self, "ConfigServiceRole", aws_service_name="config.amazonaws.com")
        role.cfn_options.condition = enabled
        recorder = config.CfnConfigurationRecorder(
            self, "Recorder",
            role_arn=f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/config.amazonaws.com/"
                     "AWSServiceRoleForConfig",
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=False))
        recorder.cfn_options.condition = enabled
        recorder.add_resource_dependency(role)
        self.audit_bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="AwsConfigDelivery",
            principals=[iam.ServicePrincipal("config.amazonaws.com")],
            actions=["s3:PutObject", "s3:GetBucketAcl", "s3:ListBucket"],
            resources=[self.audit_bucket.bucket_arn, self.audit_bucket.arn_for_objects(f"{CONFIG_PREFIX}/*")],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ))
        # The delivery channel encrypts with the data key through AWS Config's service-linked role.
        allow_service(self.data_key, "config.amazonaws.com", DELIVER_TO_ENCRYPTED_BUCKET, source_account=True)
        channel = config.CfnDeliveryChannel(
            self, "DeliveryChannel", s3_bucket_name=self.audit_bucket.bucket_name, s3_key_prefix=CONFIG_PREFIX,
            s3_kms_key_arn=self.data_key.key_arn)
        channel.cfn_options.condition = enabled
        rules = {
            "S3PublicAccessBlocked": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
            "S3CmkEncryption": "S3_DEFAULT_ENCRYPTION_KMS",
            "DynamoDbCmkEncryption": "DYNAMODB_TABLE_ENCRYPTED_KMS",
            "SnsCmkEncryption": "SNS_ENCRYPTED_KMS",
            "KinesisEncryption": "KINESIS_STREAM_ENCRYPTED",
            "CmkRotation": "CMK_BACKING_KEY_ROTATION_ENABLED",
        }
        for name, identifier in rules.items():
            rule = config.CfnConfigRule(
                self, name, config_rule_name=f"barometer-{name}",
                source=config.CfnConfigRule.SourceProperty(owner="AWS", source_identifier=identifier))
            rule.cfn_options.condition = enabled
            rule.add_resource_dependency(recorder)

    def _detection(self, params: EstateParameters) -> None:
        detector = guardduty.CfnDetector(
            self, "GuardDuty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES",
            tags=[guardduty.CfnDetector.TagItemProperty(key="project", value="barometer")])
        detector.cfn_options.condition = condition(self, params.toggle("EnableGuardDuty"))
        hub = securityhub.CfnHub(self, "SecurityHub", enable_default_standards=False,
                                 auto_enable_controls=True, tags={"project": "barometer"})
        hub_on = condition(self, params.toggle("EnableSecurityHub"))
        hub.cfn_options.condition = hub_on
        standard = securityhub.CfnStandard(
            self, "FoundationalBestPractices",
            standards_arn=f"arn:{Aws.PARTITION}:securityhub:{Aws.REGION}::standards/"
                          "aws-foundational-security-best-practices/v/1.0.0")
        standard.cfn_options.condition = hub_on
        standard.add_resource_dependency(hub)

    def _audit_role(self, params: EstateParameters) -> None:
        """Read-only access for an audit account (exists only when AuditAccountId is set)."""
        role = iam.CfnRole(
            self, "AuditReadOnlyRole",
            role_name=Fn.join("-", ["barometer-audit-read-only", Aws.REGION]),
            description="Cross-account read-only audit access to Barometer",
            max_session_duration=Duration.hours(1).to_seconds(),
            assume_role_policy_document={
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{Aws.PARTITION}:iam::{params.audit_account_id.value_as_string}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }],
            },
            managed_policy_arns=[f"arn:{Aws.PARTITION}:iam::aws:policy/SecurityAudit"],
            tags=[CfnTag(key="project", value="barometer")],
        )
        role.cfn_options.condition = has_value(self, params.audit_account_id)
