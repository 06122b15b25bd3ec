"""Lambda functions from the catalogue: code, layer, environment, permissions and event sources.

Each function gets the environment variables of the resources in its `uses`, resolved from the
construct objects the stacks pass in (a `ResourceIndex`), plus the configuration as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import jsii
from aws_cdk import Aws, CfnMapping, Duration, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from barometer.catalogue import CATALOGUE, CONFIG_JSON_ENV, Access, FunctionSpec, MappingSpec
from infra_cdk.constructs.access import AccessError, actions_for
from infra_cdk.constructs.code_asset import lambda_source_dir
from infra_cdk.constructs.lake import LakeDeliveryStream
from infra_cdk.targets import MINISTACK, local_powertools_layer, target_of

RUNTIME = lambda_.Runtime.PYTHON_3_12
# Powertools for AWS Lambda (Python) v3, public layer published by AWS in account 017000801446.
# The layer version is the layer's own counter, not the package version: keep it at or above the release
# matching aws-lambda-powertools in pyproject.toml (`aws lambda list-layer-versions` shows the latest).
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
POWERTOOLS_LAYER_VERSION = 27
POWERTOOLS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "sa-east-1",
)


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The Powertools layer of the deploying region, looked up in a Mapping of the template holding `scope`
    (the ministack target builds it from uv.lock instead: infra_cdk/targets.py)."""
    if target_of(scope) == MINISTACK:
        return local_powertools_layer(scope)
    stack = Stack.of(scope)
    mapping = stack.node.try_find_child("PowertoolsLayer")
    if mapping is None:
        mapping = CfnMapping(stack, "PowertoolsLayer", mapping={
            region: {"Arn": f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER}:"
                            f"{POWERTOOLS_LAYER_VERSION}"}
            for region in POWERTOOLS_REGIONS
        })
    arn = Fn.find_in_map(mapping.logical_id, Aws.REGION, "Arn")  # type: ignore[union-attr]
    return lambda_.LayerVersion.from_layer_version_arn(scope, "Powertools", arn)


@dataclass
class ResourceIndex:
    """The constructs behind the catalogue's logical ids, filled in by the stacks as they create them."""

    tables: dict[str, dynamodb.TableV2] = field(default_factory=dict)
    table_key: kms.IKey | None = None  # the tables' CMK (set as CloudFormation properties, see tables.py)
    secrets_key: kms.IKey | None = None
    streams: dict[str, kinesis.Stream] = field(default_factory=dict)
    buckets: dict[str, s3.IBucket] = field(default_factory=dict)
    queues: dict[str, sqs.Queue] = field(default_factory=dict)
    topics: dict[str, sns.Topic] = field(default_factory=dict)
    secrets: dict[str, secretsmanager.ISecret] = field(default_factory=dict)
    deliveries: dict[str, LakeDeliveryStream] = field(default_factory=dict)

    def grant_table_key(self, grantee: iam.IGrantable) -> None:
        if self.table_key is not None:
            self.table_key.grant_encrypt_decrypt(grantee)

    def bind(self, access: Access, function: lambda_.Function) -> tuple[str, str]:
        """Grant `function` exactly the actions of `access` and return (env var, physical name or ARN)."""
        logical_id = access.resource
        spec = CATALOGUE.by_logical_id(logical_id)
        if logical_id in self.tables:
            table = self.tables[logical_id]
            actions, key_actions = actions_for("table", access.mode)
            # Queries of an index are authorized on the index's ARN.
            _allow(function, actions, [table.table_arn, f"{table.table_arn}/index/*"])
            _allow_key(function, self.table_key, key_actions, "dynamodb")
            return spec.env_var, table.table_name
        if logical_id in self.streams:
            stream = self.streams[logical_id]
            actions, key_actions = actions_for("stream", access.mode)
            _allow(function, actions, [stream.stream_arn])
            _allow_key(function, stream.encryption_key, key_actions, "kinesis")
            return spec.env_var, stream.stream_name
        if logical_id in self.buckets:
            bucket = self.buckets[logical_id]
            if access.prefix is None:
                raise AccessError(f"{function.node.id}: access to bucket {logical_id} names no key prefix")
            actions, key_actions = actions_for("bucket", access.mode)
            objects = [a for a in actions if a != "s3:ListBucket"]
            _allow(function, objects, [bucket.arn_for_objects(f"{access.prefix}*")])
            if "s3:ListBucket" in actions:
                # Unconditioned: S3 answers NoSuchKey (not AccessDenied) only to callers allowed to list the
                # bucket, and a missing extract is an empty answer. Listing shows names, never content.
                _allow(function, ["s3:ListBucket"], [bucket.bucket_arn])
            _allow_key(function, bucket.encryption_key, key_actions, "s3")
            return spec.env_var, bucket.bucket_name
        if logical_id in self.queues:
            queue = self.queues[logical_id]
            actions, key_actions = actions_for("queue", access.mode)
            _allow(function, actions, [queue.queue_arn])
            _allow_key(function, queue.encryption_master_key, key_actions, "sqs")
            return spec.env_var, queue.queue_name
        if logical_id in self.topics:
            topic = self.topics[logical_id]
            actions, key_actions = actions_for("topic", access.mode)
            _allow(function, actions, [topic.topic_arn])
            _allow_key(function, topic.master_key, key_actions, "sns")
            return spec.env_var, topic.topic_arn
        if logical_id in self.secrets:
            secret = self.secrets[logical_id]
            actions, key_actions = actions_for("secret", access.mode)
            # Not secret.grant_read(): that edits the key policy in SecurityStack, which would then
            # depend on every reader's stack (a cycle). The role's own policy is enough in one account.
            _allow(function, actions, [secret.secret_arn])
            _allow_key(function, self.secrets_key, key_actions, "secretsmanager")
            # The ARN, not the name: GetSecretValue takes either, and the ARN needs no Fn::Split to derive.
            return spec.env_var, secret.secret_arn
        if logical_id in self.deliveries:
            delivery = self.deliveries[logical_id]
            actions, _ = actions_for("delivery", access.mode)
            _allow(function, actions, [delivery.delivery_stream_arn])
            return spec.env_var, delivery.delivery_stream_name
        raise KeyError(f"{function.node.id}: resource {logical_id} of its `access` was not created before it")


# What the Lambda service needs to park a failed batch or invocation in a queue, with the function's role.
ON_FAILURE_QUEUE_ACTIONS = ("sqs:SendMessage",)
ON_FAILURE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _grant_on_failure(function: lambda_.IFunction, queue: sqs.IQueue) -> None:
    """Only what the Lambda service does with an on-failure queue (CDK's SqsDlq/SqsDestination grant
    GetQueueAttributes, GetQueueUrl and kms:Encrypt/ReEncrypt* too)."""
    _allow(function, ON_FAILURE_QUEUE_ACTIONS, [queue.queue_arn])
    _allow_key(function, queue.encryption_master_key, ON_FAILURE_KEY_ACTIONS, "sqs")


@jsii.implements(lambda_.IEventSourceDlq)
class QueueOnFailure:
    """An event source mapping's on-failure queue, granted exactly what the Lambda service uses."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
             ) -> lambda_.DlqDestinationConfig:
        _grant_on_failure(target_handler, self.queue)
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


@jsii.implements(lambda_.IDestination)
class QueueDestination:
    """An asynchronous invocation's on-failure queue, granted exactly what the Lambda service uses."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType
             ) -> lambda_.DestinationConfig:
        _grant_on_failure(fn, self.queue)
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


def _allow(function: lambda_.IFunction, actions, resources) -> None:
    function.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))


def _allow_key(function: lambda_.IFunction, key: kms.IKey | None, actions, service: str) -> None:
    """The key actions a service performs with the caller's credentials, only through that service."""
    if key is None or not actions:
        return
    function.add_to_role_policy(iam.PolicyStatement(
        actions=list(actions), resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}}))


@dataclass(frozen=True)
class FunctionPlacement:
    """Where and how functions run: shared by every function of the estate."""

    vpc: ec2.IVpc
    security_group: ec2.ISecurityGroup
    env_key: kms.IKey  # encrypts environment variables and log groups
    config_json: str


class CatalogueFunction(Construct):
    """One function of the catalogue, with its log group, permissions and (if any) event source mapping."""

    def __init__(self, scope: Construct, spec: FunctionSpec, *, placement: FunctionPlacement,
                 resources: ResourceIndex) -> None:
        super().__init__(scope, spec.logical_id)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{spec.local_name}",
                                       encryption_key=placement.env_key, retention=logs.RetentionDays.ONE_MONTH)
        self.function = lambda_.Function(
            self, "Function",
            function_name=spec.local_name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=spec.handler,
            code=lambda_.Code.from_asset(lambda_source_dir(tuple(f.handler for f in CATALOGUE.functions))),
            layers=[powertools_layer(self)],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            reserved_concurrent_executions=spec.reserved_concurrency,
            environment={
                CONFIG_JSON_ENV: placement.config_json,
                "POWERTOOLS_SERVICE_NAME": spec.local_name,
                "POWERTOOLS_METRICS_NAMESPACE": "Barometer",
            },
            environment_encryption=placement.env_key,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=placement.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[placement.security_group],
        )
        for access in spec.access:
            env_var, value = resources.bind(access, self.function)
            self.function.add_environment(env_var, value)
        if spec.mapping is not None:
            self.function.add_event_source(self._event_source(spec.mapping, resources))

    def _event_source(self, mapping: MappingSpec, resources: ResourceIndex) -> lambda_.IEventSource:
        on_failure = QueueOnFailure(resources.queues[mapping.on_failure_queue])
        common = {
            "batch_size": mapping.batch_size,
            "max_batching_window": Duration.seconds(mapping.max_batching_window_s),
            "bisect_batch_on_error": mapping.bisect_on_error,
            "retry_attempts": mapping.max_retries,
            "max_record_age": Duration.seconds(mapping.max_record_age_s),
            "parallelization_factor": mapping.parallelization_factor,
            "starting_position": lambda_.StartingPosition[mapping.starting_position],
            "report_batch_item_failures": mapping.report_batch_item_failures,
            "on_failure": on_failure,
        }
        if mapping.event_names:
            common["filters"] = [lambda_.FilterCriteria.filter(
                {"eventName": lambda_.FilterRule.or_(*mapping.event_names)})]
        if mapping.source_kind == "kinesis":
            return sources.KinesisEventSource(resources.streams[mapping.source], **common)
        if mapping.source_kind == "dynamodb":
            resources.grant_table_key(self.function)
            return sources.DynamoEventSource(resources.tables[mapping.source], **common)
        raise ValueError(f"unknown event source kind {mapping.source_kind!r}")
