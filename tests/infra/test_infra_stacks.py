"""CDK assertion tests: the security-relevant properties of each nested stack.

All read the one session synthesis (fixture `synthesized`); Given = the default synthesis.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from barometer.catalogue import (
    API_FUNCTION,
    EVENTS_STREAM,
    FUNCTIONS,
    LAKE_TABLES,
    LATEST_BY_KIND,
    LATEST_TABLE,
    POLLER_FUNCTION,
    PROCESSOR_FUNCTION,
    PROVIDER_KEYS_SECRET,
    QUEUES,
    SECRETS,
    SENSOR_QUEUES,
    SLACK_WEBHOOK_SECRET,
    TABLES,
    TOPICS,
)
from barometer.config import parse_settings
from barometer.lake import LAKE_SCHEMAS, PARTITION_COLUMN
from barometer.settings import load_raw_config
from infra_cdk.parameters import TOGGLES
from infra_cdk.stacks.root import NESTED_STACKS
from lambdas.poller.poll import parse_request

pytestmark = pytest.mark.infra


def _conditioned(resources: dict) -> dict[str, str]:
    return {lid: r.get("Condition") for lid, r in resources.items()}


def test_root_composes_one_nested_stack_per_concern(synthesized):
    # Then every concern is a nested stack of the root template, and nothing else is deployed at the root
    assert sorted(synthesized.nested) == sorted(NESTED_STACKS)
    kinds = {r["Type"] for r in synthesized.root["Resources"].values()}
    assert kinds == {"AWS::CloudFormation::Stack"}


def test_cost_toggles_are_parameters_defaulting_to_the_standard_profile(synthesized):
    # (the profiles themselves: tests/infra/test_cost_profiles.py)
    from infra_cdk.profiles import PROFILES

    parameters = synthesized.root["Parameters"]
    for toggle in TOGGLES:
        assert parameters[toggle]["AllowedValues"] == ["true", "false"]
        assert parameters[toggle]["Default"] == ("true" if toggle in PROFILES["standard"].on else "false")
    # what the platform watches is barometer.yaml's alone, not a second copy in Parameters
    assert not {"Symbols", "Cities"} & set(parameters)


def test_root_outputs_everything_an_operator_or_the_orchestrator_needs(synthesized):
    outputs = synthesized.root["Outputs"]
    for name in ("ApiUrl", "TokenUrl", "UserPoolId", "EventsStreamName", "GlueDatabase", "AthenaWorkGroup",
                 "RawBucketName", "ProcessedBucketName"):
        assert name in outputs
    for spec in TABLES:
        assert f"{spec.logical_id}Name" in outputs
    for spec in TOPICS:
        assert f"{spec.logical_id}TopicArn" in outputs
    for spec in SENSOR_QUEUES:
        assert f"{spec.logical_id}Url" in outputs


def test_security_keys_rotate_and_are_retained(synthesized):
    keys = synthesized.resources("Security", "AWS::KMS::Key")
    assert len(keys) == 4  # s3, dynamodb, secrets, messaging
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"
    aliases = {a["Properties"]["AliasName"] for a in synthesized.resources("Security", "AWS::KMS::Alias").values()}
    assert aliases == {"alias/barometer/s3", "alias/barometer/dynamodb", "alias/barometer/secrets",
                       "alias/barometer/messaging"}


def test_security_secrets_use_the_secrets_key_and_rotate_when_a_rotation_function_is_given(synthesized):
    secrets = synthesized.resources("Security", "AWS::SecretsManager::Secret")
    assert {s["Properties"]["Name"] for s in secrets.values()} == {spec.local_name for spec in SECRETS}
    for secret in secrets.values():
        assert "KmsKeyId" in secret["Properties"]
    rotations = synthesized.resources("Security", "AWS::SecretsManager::RotationSchedule")
    assert len(rotations) == len(SECRETS)
    assert set(_conditioned(rotations).values()) == {"HasRotationFunctionArn"}


def test_secrets_start_with_values_the_functions_recognise_as_not_filled_in(synthesized):
    from barometer.secrets import SLACK_NOT_CONFIGURED_REASON, is_slack_placeholder
    from lambdas.notifier.errors import WebhookNotConfiguredError
    from lambdas.notifier.slack import _url_from_secret

    secrets = {s["Properties"]["Name"]: s["Properties"]
               for s in synthesized.resources("Security", "AWS::SecretsManager::Secret").values()}
    # Then no secret is a generated random string that no function could parse
    assert not [name for name, props in secrets.items() if "GenerateSecretString" in props]
    # And the Slack secret is the placeholder the notifier reports as "slack webhook not configured"
    slack = secrets[SLACK_WEBHOOK_SECRET.local_name]["SecretString"]
    assert is_slack_placeholder(json.loads(slack))
    with pytest.raises(WebhookNotConfiguredError, match=SLACK_NOT_CONFIGURED_REASON):
        _url_from_secret(SLACK_WEBHOOK_SECRET.local_name, slack)
    # And the provider keys secret is an empty JSON object (the poller names the missing provider key)
    assert json.loads(secrets[PROVIDER_KEYS_SECRET.local_name]["SecretString"]) == {}


def test_first_deploy_secret_values_stay_what_deployed_stacks_hold():
    # A changed template value makes CloudFormation write it again on the next deploy, over the webhook URL
    # and the keys an operator put there (docs/infra.md, first deployment). Change them knowingly only.
    from infra_cdk.stacks.security import FIRST_DEPLOY_VALUES

    assert FIRST_DEPLOY_VALUES == {
        SLACK_WEBHOOK_SECRET.logical_id: '{"url": "REPLACE_ME", "note": "Barometer: replace this secret\'s value '
                                         'with {\\"url\\": \\"https://hooks.slack.com/services/...\\"}"}',
        PROVIDER_KEYS_SECRET.logical_id: "{}",
    }


def test_security_trail_detection_and_config_are_guarded(synthesized):
    trail = next(iter(synthesized.resources("Security", "AWS::CloudTrail::Trail").values()))["Properties"]
    assert trail["EnableLogFileValidation"] is True and trail["IsMultiRegionTrail"] is True
    assert "KMSKeyId" in trail and "CloudWatchLogsLogGroupArn" in trail
    assert set(_conditioned(synthesized.resources("Security", "AWS::GuardDuty::Detector")).values()) == {
        "EnableGuardDutyOn"}
    assert set(_conditioned(synthesized.resources("Security", "AWS::SecurityHub::Hub")).values()) == {
        "EnableSecurityHubOn"}
    rules = synthesized.resources("Security", "AWS::Config::ConfigRule")
    identifiers = {r["Properties"]["Source"]["SourceIdentifier"] for r in rules.values()}
    assert {"S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", "S3_DEFAULT_ENCRYPTION_KMS"} <= identifiers
    assert set(_conditioned(rules).values()) == {"EnableConfigOn"}
    audit = synthesized.resources("Security", "AWS::IAM::Role")
    audit_role = next(r for lid, r in audit.items() if lid.startswith("AuditReadOnlyRole"))
    assert audit_role["Condition"] == "HasAuditAccountId"
    statement = audit_role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def test_no_policy_allows_a_wildcard_action_on_a_wildcard_resource(synthesized):
    for name, template in synthesized.nested.items():
        for lid, resource in template["Resources"].items():
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = statement.get("Resource", [])
                resources = resources if isinstance(resources, list) else [resources]
                if "*" in resources:
                    assert not any(a == "*" or a.endswith(":*") for a in actions), (name, lid, statement)


def test_networking_two_vpcs_peered_with_one_nat_unless_toggled(synthesized):
    vpcs = synthesized.resources("Networking", "AWS::EC2::VPC")
    assert sorted(v["Properties"]["CidrBlock"] for v in vpcs.values()) == ["10.10.0.0/16", "10.20.0.0/16"]
    assert len(synthesized.resources("Networking", "AWS::EC2::VPCPeeringConnection")) == 1
    nats = _conditioned(synthesized.resources("Networking", "AWS::EC2::NatGateway"))
    assert sorted(nats.values()) == ["EnableNatGatewayOn", "SecondNatGateway"]  # the second: both toggles
    routes = synthesized.resources("Networking", "AWS::EC2::Route")
    guarded = [r for r in routes.values() if isinstance(r["Properties"].get("NatGatewayId"), dict)
               and "Fn::If" in r["Properties"]["NatGatewayId"]]
    assert len(guarded) == 1
    assert len(synthesized.resources("Networking", "AWS::EC2::FlowLog")) == 2


def test_networking_endpoints_gateways_always_interfaces_guarded(synthesized):
    endpoints = synthesized.resources("Networking", "AWS::EC2::VPCEndpoint")
    gateways = [e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Gateway"]
    interfaces = [e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert len(gateways) == 2 and all("Condition" not in e for e in gateways)
    assert len(interfaces) == 8 and all(e["Condition"] == "EnableInterfaceEndpointsOn" for e in interfaces)


def test_networking_lambda_security_group_has_no_ingress(synthesized):
    groups = synthesized.resources("Networking", "AWS::EC2::SecurityGroup")
    lambda_sg = next(g for lid, g in groups.items() if lid.startswith("LambdaSg"))
    assert "SecurityGroupIngress" not in lambda_sg["Properties"]
    assert all(rule["FromPort"] in (443, 8111) for rule in lambda_sg["Properties"]["SecurityGroupEgress"])


def _data_buckets(synthesized, stack: str) -> dict:
    return {lid: b for lid, b in synthesized.resources(stack, "AWS::S3::Bucket").items()
            if "AccessLogs" not in lid}


def test_storage_buckets_are_encrypted_versioned_private_logged_and_tiered(synthesized):
    buckets = _data_buckets(synthesized, "Storage")
    assert sorted(lid[:len("RawBucket")] for lid in buckets if lid.startswith("RawBucket")) == ["RawBucket"]
    assert len(buckets) == 2
    for bucket in buckets.values():
        props = bucket["Properties"]
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert sse["SSEAlgorithm"] == "aws:kms" and "KMSMasterKeyID" in sse
        assert props["VersioningConfiguration"]["Status"] == "Enabled"
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True}
        assert "LoggingConfiguration" in props
        transitions = props["LifecycleConfiguration"]["Rules"][0]["Transitions"]
        assert [t["StorageClass"] for t in transitions] == ["STANDARD_IA", "GLACIER"]
        replication = props["ReplicationConfiguration"]["Fn::If"]
        assert replication[0] == "EnableSecondaryRegionOn" and replication[2] == {"Ref": "AWS::NoValue"}
        assert replication[1]["Rules"][0]["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"


def test_every_bucket_policy_denies_plain_http(synthesized):
    for name in ("Storage", "Security", "Analytics"):
        policies = synthesized.resources(name, "AWS::S3::BucketPolicy")
        assert policies, name
        for policy in policies.values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                       for s in statements), name


def test_datastores_global_tables_match_the_catalogue(synthesized):
    tables = synthesized.resources("Datastores", "AWS::DynamoDB::GlobalTable")
    by_name = {t["Properties"]["TableName"]: t["Properties"] for t in tables.values()}
    assert set(by_name) == {spec.local_name for spec in TABLES}
    for spec in TABLES:
        props = by_name[spec.local_name]
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        assert keys.get("HASH") == spec.pk and keys.get("RANGE") == spec.sk
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        if spec.stream_view:
            assert props["StreamSpecification"]["StreamViewType"] == spec.stream_view
        assert {i["IndexName"]: i["Projection"] for i in props.get("GlobalSecondaryIndexes", [])} == {
            i.name: _projection(i) for i in spec.indexes}
        condition, both, primary_only = props["Replicas"]["Fn::If"]
        assert condition == "EnableSecondaryRegionOn" and len(both) == 2 and len(primary_only) == 1
        if not spec.stream_view:  # replication needs a stream once there are two replicas
            assert props["StreamSpecification"]["Fn::If"][0] == "EnableSecondaryRegionOn"
        for replica in both:
            assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
            assert "KMSMasterKeyId" in replica["SSESpecification"]
        assert both[1]["SSESpecification"]["KMSMasterKeyId"] == "alias/barometer/dynamodb"


def _projection(index) -> dict:
    if isinstance(index.projection, tuple):
        kind, attributes = index.projection
        return {"ProjectionType": kind, "NonKeyAttributes": list(attributes)}
    return {"ProjectionType": index.projection}


def test_no_table_has_a_stream_unless_replicated(synthesized):
    # Given the hot path v2: one Kinesis consumer, no DynamoDB-stream hop
    tables = synthesized.resources("Datastores", "AWS::DynamoDB::GlobalTable").values()
    for props in (t["Properties"] for t in tables):
        # Then a stream exists only for replication (a global table with two replicas needs one)
        condition, stream, none = props["StreamSpecification"]["Fn::If"]
        assert condition == "EnableSecondaryRegionOn" and none == {"Ref": "AWS::NoValue"}, props["TableName"]
        assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_latest_table_lists_kinds_through_a_keys_only_index(synthesized):
    tables = synthesized.resources("Datastores", "AWS::DynamoDB::GlobalTable").values()
    latest = next(t["Properties"] for t in tables if t["Properties"]["TableName"] == LATEST_TABLE.local_name)
    (index,) = latest["GlobalSecondaryIndexes"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    # ... under the catalogue's name, not the first design's `by_kind` (ALL): a projection cannot change in place
    assert index["IndexName"] == LATEST_BY_KIND.name != "by_kind"


def test_datastores_dax_is_optional_and_encrypted(synthesized):
    clusters = synthesized.resources("Datastores", "AWS::DAX::Cluster")
    (cluster,) = clusters.values()
    assert cluster["Condition"] == "EnableDaxOn"
    assert cluster["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert cluster["Properties"]["ClusterEndpointEncryptionType"] == "TLS"


def test_alerting_topics_encrypted_with_sensor_queues_and_optional_email(synthesized):
    topics = synthesized.resources("Alerting", "AWS::SNS::Topic")
    assert {t["Properties"]["TopicName"] for t in topics.values()} == {spec.local_name for spec in TOPICS}
    assert all("KmsMasterKeyId" in t["Properties"] for t in topics.values())
    queues = synthesized.resources("Alerting", "AWS::SQS::Queue")
    assert {q["Properties"]["QueueName"] for q in queues.values()} == {spec.local_name for spec in SENSOR_QUEUES}
    subscriptions = synthesized.resources("Alerting", "AWS::SNS::Subscription").values()
    sqs_subscriptions = [s for s in subscriptions if s["Properties"]["Protocol"] == "sqs"]
    assert len(sqs_subscriptions) == len(TOPICS)
    assert all(s["Properties"]["RawMessageDelivery"] is True for s in sqs_subscriptions)
    email = [s for s in subscriptions if s["Properties"]["Protocol"] == "email"]
    assert len(email) == len(TOPICS) and all(s["Condition"] == "HasAlertEmail" for s in email)


def test_alerting_alarms_cover_errors_throttles_iterator_age_dlqs_and_api(synthesized):
    alarms = [a["Properties"] for a in synthesized.resources("Alerting", "AWS::CloudWatch::Alarm").values()]
    watched = {(a["Namespace"], a["MetricName"], a["Dimensions"][0]["Value"]) for a in alarms}
    for spec in FUNCTIONS:
        assert ("AWS/Lambda", "Errors", spec.local_name) in watched
        assert ("AWS/Lambda", "Throttles", spec.local_name) in watched
    assert ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", EVENTS_STREAM.local_name) in watched
    dlqs = {q.local_name for q in QUEUES if q not in SENSOR_QUEUES}
    assert {v for ns, _, v in watched if ns == "AWS/SQS"} == dlqs
    assert any(ns == "AWS/ApiGateway" and m == "5XXError" for ns, m, _ in watched)
    assert all(a["AlarmActions"] and a["OKActions"] for a in alarms)


def test_analytics_glue_tables_follow_the_lake_schemas(synthesized):
    tables = [t["Properties"]["TableInput"] for t in synthesized.resources("Analytics", "AWS::Glue::Table").values()]
    assert {t["Name"] for t in tables} == set(LAKE_TABLES)
    for table in tables:
        columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        assert columns == list(LAKE_SCHEMAS[table["Name"]])
        assert table["PartitionKeys"] == [{"Name": PARTITION_COLUMN, "Type": "string"}]
        assert "Parquet" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]


def test_analytics_athena_is_encrypted_enforced_and_holds_the_rollups(synthesized):
    from infra_cdk.stacks.analytics import rollup_queries

    (workgroup,) = synthesized.resources("Analytics", "AWS::Athena::WorkGroup").values()
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    queries = {q["Properties"]["Name"]: q["Properties"]["QueryString"]
               for q in synthesized.resources("Analytics", "AWS::Athena::NamedQuery").values()}
    assert queries == rollup_queries() and queries
    (crawler,) = synthesized.resources("Analytics", "AWS::Glue::Crawler").values()
    assert "CrawlerSecurityConfiguration" in crawler["Properties"]


def test_ingestion_stream_api_waf_and_schedule(synthesized):
    (stream,) = synthesized.resources("Ingestion", "AWS::Kinesis::Stream").values()
    assert stream["Properties"]["Name"] == EVENTS_STREAM.local_name
    assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"
    methods = {lid: m["Properties"] for lid, m in synthesized.resources("Ingestion", "AWS::ApiGateway::Method").items()}
    secured = [m for m in methods.values() if m["AuthorizationType"] == "COGNITO_USER_POOLS"]
    # (one method per operation of the OpenAPI document: test_infra_api_models.py)
    assert sorted({scope for m in secured for scope in m["AuthorizationScopes"]}) == ["barometer/events.write",
                                                                                  "barometer/read"]
    open_methods = [m for m in methods.values() if m["AuthorizationType"] == "NONE"]
    assert [m["Integration"]["Type"] for m in open_methods] == ["MOCK"]  # the health check only
    (acl,) = synthesized.resources("Ingestion", "AWS::WAFv2::WebACL").values()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]["Limit"] == 2000
    assert "AWSManagedRulesCommonRuleSet" in rules
    assert len(synthesized.resources("Ingestion", "AWS::WAFv2::WebACLAssociation")) == 1
    (client,) = synthesized.resources("Ingestion", "AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["AllowedOAuthFlows"] == ["client_credentials"]
    (schedule,) = synthesized.resources("Ingestion", "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (api,) = synthesized.resources("Ingestion", "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["Name"] == API_FUNCTION.local_name


def test_the_scheduled_poll_asks_for_every_configured_symbol_and_city(synthesized):
    # Given the schedule's target input, as EventBridge Scheduler hands it to the poller
    (schedule,) = synthesized.resources("Ingestion", "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert POLLER_FUNCTION.logical_id in json.dumps(target["Arn"])
    event = json.loads(target["Input"])
    # When the poller parses it the way its handler does, with the configuration the functions receive
    settings = parse_settings(load_raw_config())
    request = parse_request(event, settings, settings.poller, datetime(2026, 11, 24, 15, 4, tzinfo=UTC))
    # Then it polls every configured symbol and city, from the configured providers
    assert [s.symbol for s in request.symbols] == list(settings.symbols) and request.symbols
    assert [c.name for c in request.cities] == list(settings.cities) and request.cities
    assert (request.market, request.weather) == (settings.poller.market, settings.poller.weather)


def test_firehose_streams_write_the_lake_layout(synthesized):
    streams = {s["Properties"]["DeliveryStreamName"]: s["Properties"]
               for s in synthesized.resources("Processing", "AWS::KinesisFirehose::DeliveryStream").values()}
    raw = streams["barometer-raw"]
    assert raw["DeliveryStreamType"] == "KinesisStreamAsSource"
    destination = raw["ExtendedS3DestinationConfiguration"]
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["Prefix"] == "raw/dt=!{timestamp:yyyy-MM-dd}/"
    assert "KMSEncryptionConfig" in destination["EncryptionConfiguration"]
    for table in LAKE_TABLES:
        props = streams[f"barometer-processed-{table}"]
        assert props["DeliveryStreamType"] == "DirectPut"
        assert props["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
        destination = props["ExtendedS3DestinationConfiguration"]
        assert destination["Prefix"] == f"processed/{table}/dt=!{{partitionKeyFromQuery:dt}}/"
        assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
        conversion = destination["DataFormatConversionConfiguration"]
        assert conversion["SchemaConfiguration"]["TableName"] == table
        assert "ParquetSerDe" in conversion["OutputFormatConfiguration"]["Serializer"]


def test_disaster_recovery_backs_up_buckets_and_tables_and_fails_over_when_asked(synthesized):
    (vault,) = synthesized.resources("DisasterRecovery", "AWS::Backup::BackupVault").values()
    assert "EncryptionKeyArn" in vault["Properties"]
    selections = synthesized.resources("DisasterRecovery", "AWS::Backup::BackupSelection")
    assert len(selections) == 2
    assert {len(s["Properties"]["BackupSelection"]["Resources"]) for s in selections.values()} == {2, len(TABLES)}
    (role,) = [r for lid, r in synthesized.resources("DisasterRecovery", "AWS::IAM::Role").items()
               if lid.startswith("BackupRole")]
    assert "AWSBackupServiceRolePolicyForS3Backup" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    records = synthesized.resources("DisasterRecovery", "AWS::Route53::RecordSet")
    assert sorted(r["Properties"]["Failover"] for r in records.values()) == ["PRIMARY", "SECONDARY"]
    guarded = list(records.values()) + list(synthesized.resources("DisasterRecovery",
                                                                  "AWS::Route53::HealthCheck").values())
    assert {r["Condition"] for r in guarded} == {"FailoverReady"}


def test_cost_controls_report_to_finops(synthesized):
    (budget,) = synthesized.resources("CostControls", "AWS::Budgets::Budget").values()
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    assert sorted(n["Notification"]["NotificationType"] for n in notifications) == ["ACTUAL", "FORECASTED"]
    assert all(s["SubscriptionType"] == "SNS" for n in notifications for s in n["Subscribers"])
    assert len(synthesized.resources("CostControls", "AWS::CE::AnomalySubscription")) == 1


def test_dashboards_pipeline_health_and_optional_quicksight(synthesized):
    (dashboard,) = synthesized.resources("Dashboards", "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "IteratorAgeMilliseconds" in body and "ApproximateNumberOfMessagesVisible" in body
    # And the processor's own lag: its Lambda IteratorAge
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    lag_of = [json.dumps(parts[i + 1]) for i, part in enumerate(parts)
              if isinstance(part, str) and part.endswith('["AWS/Lambda","IteratorAge","FunctionName","')]
    assert len(lag_of) == 1 and PROCESSOR_FUNCTION.logical_id in lag_of[0]
    quicksight = {**synthesized.resources("Dashboards", "AWS::QuickSight::DataSource"),
                  **synthesized.resources("Dashboards", "AWS::QuickSight::DataSet")}
    conditions = {lid: r["Condition"] for lid, r in quicksight.items()}
    assert len(conditions) == 1 + len(LAKE_TABLES) + 1
    # LatestTable comes through Athena's DynamoDB connector, only when its ARN is given
    assert conditions.pop(next(lid for lid in conditions if lid.startswith("LatestDataSet"))) == "DynamoDbThroughAthena"
    assert set(conditions.values()) == {"QuickSightReady"}
    (dashboard,) = synthesized.resources("Dashboards", "AWS::QuickSight::Dashboard").values()
    assert dashboard["Condition"] == "QuickSightReady"
    visuals = dashboard["Properties"]["Definition"]["Sheets"][0]["Visuals"]
    assert sorted(v["LineChartVisual"]["VisualId"] for v in visuals) == ["prices", "temperatures"]
    (catalog,) = synthesized.resources("Dashboards", "AWS::Athena::DataCatalog").values()
    assert catalog["Properties"]["Type"] == "LAMBDA" and catalog["Condition"] == "DynamoDbThroughAthena"


def test_replica_stack_holds_the_secondary_region_buckets_and_keys(synthesized):
    buckets = _data_buckets(synthesized, "Replica")
    assert len(buckets) == 2
    aliases = {a["Properties"]["AliasName"] for a in synthesized.resources("Replica", "AWS::KMS::Alias").values()}
    assert aliases == {"alias/barometer/s3-replica", "alias/barometer/dynamodb"}
