"""IngestionStack: the ways events come in and where they land first.

The events stream (on demand or provisioned, by EnableOnDemandStream) and the dead-letter queues; the REST
API (Cognito machine-client authorizer, WAF) with the API function behind it, its routes and request
validation generated from the OpenAPI document (infra_cdk/constructs/api_validation.py); the EventBridge
Scheduler schedule with the poller behind it. The API and poller functions live here, not in ProcessingStack,
because API Gateway and the schedule must reference them while the processing functions reference this
stack's stream: one direction, no cycle.
"""
from __future__ import annotations

import json

from aws_cdk import Aws, Duration, Fn, NestedStack, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from barometer import api_spec
from barometer.catalogue import (
    API_FUNCTION,
    EVENTS_DLQ,
    EVENTS_STREAM,
    NOTIFY_DLQ,
    POLLER_FUNCTION,
    PROJECT,
    STREAM_FAILURES_DLQ,
)
from infra_cdk.constructs.api_validation import add_document_routes
from infra_cdk.constructs.functions import CatalogueFunction, FunctionPlacement, ResourceIndex
from infra_cdk.constructs.messaging import catalogue_queue
from infra_cdk.parameters import EstateParameters, condition
from infra_cdk.stacks.alerting import API_NAME, API_STAGE

RESOURCE_SERVER = "barometer"
WRITE_SCOPE = "events.write"
READ_SCOPE = "read"
RATE_LIMIT_PER_5_MIN = 2000
# The scheduled poll names no symbols or cities: the poller then polls every one barometer.yaml configures,
# so the configuration file stays their only source.
POLL_INPUT = {"source": "scheduler"}


class IngestionStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, messaging_key: kms.IKey,
                 placement: FunctionPlacement, resources: ResourceIndex) -> None:
        super().__init__(scope, construct_id, description="Barometer ingestion: stream, API, schedule, DLQs")
        self.stream = kinesis.Stream(
            self, EVENTS_STREAM.logical_id, stream_name=EVENTS_STREAM.local_name,
            stream_mode=kinesis.StreamMode.ON_DEMAND, encryption=kinesis.StreamEncryption.KMS,
            encryption_key=messaging_key, retention_period=Duration.hours(EVENTS_STREAM.retention_hours),
            removal_policy=RemovalPolicy.DESTROY)
        self._stream_mode(params)
        resources.streams[EVENTS_STREAM.logical_id] = self.stream
        self.queues = {spec.logical_id: catalogue_queue(self, spec, messaging_key)
                       for spec in (EVENTS_DLQ, STREAM_FAILURES_DLQ, NOTIFY_DLQ)}
        resources.queues.update(self.queues)

        self.api_function = CatalogueFunction(self, API_FUNCTION, placement=placement, resources=resources)
        self.poller_function = CatalogueFunction(self, POLLER_FUNCTION, placement=placement, resources=resources)
        # The pipeline-health endpoint (lambdas/api/health.py) reads CloudWatch metrics.
        self.api_function.function.add_to_role_policy(iam.PolicyStatement(
            actions=["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], resources=["*"]))
        self._auth()
        self._api(messaging_key)
        self._waf(messaging_key)
        self._schedule()

    def _stream_mode(self, params: EstateParameters) -> None:
        """On demand with EnableOnDemandStream, else StreamShardCount provisioned shards (each 1,000 records/s
        or 1 MB/s in, 2 MB/s out shared by the processor and the raw Firehose delivery). CloudFormation
        switches an existing stream's mode in place (at most twice in 24 hours)."""
        on_demand = condition(self, params.toggle("EnableOnDemandStream"))
        stream = self.stream.node.default_child
        stream.add_property_override("StreamModeDetails", {  # type: ignore[union-attr]
            "StreamMode": Fn.condition_if(on_demand.logical_id, "ON_DEMAND", "PROVISIONED")})
        stream.add_property_override("ShardCount", Fn.condition_if(  # type: ignore[union-attr]
            on_demand.logical_id, Aws.NO_VALUE, params.stream_shard_count.value_as_number))

    def _auth(self) -> None:
        """Machine clients authenticate with the client-credentials grant and carry scopes."""
        self.user_pool = cognito.UserPool(
            self, "Clients", user_pool_name=f"{PROJECT}-clients", self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            password_policy=cognito.PasswordPolicy(min_length=14, require_digits=True, require_lowercase=True,
                                                   require_uppercase=True, require_symbols=True),
            mfa=cognito.Mfa.REQUIRED, mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.NONE,
            deletion_protection=True, removal_policy=RemovalPolicy.RETAIN)
        self.write_scope = cognito.ResourceServerScope(scope_name=WRITE_SCOPE, scope_description="POST events")
        self.read_scope = cognito.ResourceServerScope(scope_name=READ_SCOPE, scope_description="Read metrics")
        server = self.user_pool.add_resource_server(
            "Api", identifier=RESOURCE_SERVER, scopes=[self.write_scope, self.read_scope])
        self.domain = self.user_pool.add_domain("Domain", cognito_domain=cognito.CognitoDomainOptions(
            domain_prefix=Fn.join("-", [PROJECT, Aws.ACCOUNT_ID])))
        self.machine_client = self.user_pool.add_client(
            "MachineClient", user_pool_client_name=f"{PROJECT}-machine", generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.resource_server(server, self.write_scope),
                        cognito.OAuthScope.resource_server(server, self.read_scope)]),
            access_token_validity=Duration.hours(1), prevent_user_existence_errors=True)

    def _api(self, log_key: kms.IKey) -> None:
        access_logs = logs.LogGroup(self, "ApiAccessLogs", encryption_key=log_key,
                                    retention=logs.RetentionDays.ONE_MONTH)
        self.api = apigateway.RestApi(
            self, "Api", rest_api_name=API_NAME, description="Barometer HTTP API",
            endpoint_types=[apigateway.EndpointType.REGIONAL], cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigateway.StageOptions(
                stage_name=API_STAGE, tracing_enabled=True, metrics_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR, data_trace_enabled=False,
                throttling_rate_limit=500, throttling_burst_limit=1000,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True)))
        authorizer = apigateway.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        integration = apigateway.LambdaIntegration(self.api_function.function)

        def scope_name(scope: cognito.ResourceServerScope) -> str:
            return f"{RESOURCE_SERVER}/{scope.scope_name}"

        # The routes, their scopes, parameters and body model are the OpenAPI document's (issue #10).
        self.methods = add_document_routes(self.api, integration, authorizer,
                                           {scope_name(self.write_scope), scope_name(self.read_scope)},
                                           api_spec.load())
        # Route 53's health check target: answered by API Gateway itself, no function, no data.
        self.health_method = self.api.root.add_resource("health").add_method(
            "GET", apigateway.MockIntegration(
                request_templates={"application/json": '{"statusCode": 200}'},
                integration_responses=[apigateway.IntegrationResponse(
                    status_code="200", response_templates={"application/json": '{"status": "ok"}'})]),
            method_responses=[apigateway.MethodResponse(status_code="200")])

    def _waf(self, log_key: kms.IKey) -> None:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name, priority=priority, override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name)),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True))

        rate_limit = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp", priority=0, action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=RATE_LIMIT_PER_5_MIN, aggregate_key_type="IP")),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name="RateLimitPerIp", sampled_requests_enabled=True))
        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl", name=f"{PROJECT}-api", scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[rate_limit, managed("AWSManagedRulesCommonRuleSet", 1),
                   managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                   managed("AWSManagedRulesAmazonIpReputationList", 3)],
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=f"{PROJECT}-api", sampled_requests_enabled=True))
        wafv2.CfnWebACLAssociation(self, "WebAclAssociation", resource_arn=self.api.deployment_stage.stage_arn,
                                   web_acl_arn=self.web_acl.attr_arn)
        # WAF requires its log group's name to start with aws-waf-logs-.
        waf_logs = logs.LogGroup(self, "WafLogs", log_group_name=f"aws-waf-logs-{PROJECT}-api",
                                 encryption_key=log_key, retention=logs.RetentionDays.ONE_MONTH)
        wafv2.CfnLoggingConfiguration(self, "WafLogging", resource_arn=self.web_acl.attr_arn,
                                      log_destination_configs=[waf_logs.log_group_arn])

    def _schedule(self) -> None:
        role = iam.Role(self, "SchedulerRole", description="EventBridge Scheduler invokes the poller",
                        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                            "StringEquals": {"aws:SourceAccount": self.account}}))
        self.poller_function.function.grant_invoke(role)
        self.schedule = scheduler.CfnSchedule(
            self, "PollEveryMinute", name=f"{PROJECT}-poll", description="Poll market and weather providers",
            schedule_expression="rate(1 minute)", state="ENABLED",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.poller_function.function.function_arn, role_arn=role.role_arn,
                input=json.dumps(POLL_INPUT),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=60, maximum_retry_attempts=0)))
