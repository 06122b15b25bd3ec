"""Creates in the emulator the resources the CDK app declares, from the same catalogue.

Idempotent: an existing resource is left as it is, so provisioning again after a restart is safe.
Local-only wiring that stands in for AWS features the emulator lacks is marked as such.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue as r
from barometer.aws import AwsTarget
from barometer.lake import LAKE_SCHEMAS, PARTITION_COLUMN
from barometer_local.emulator import ACCOUNT, REGION

# Stand-ins for AWS features moto does not run (see docs/local-runtime.md).
STAGING_PREFIX = "_staging/"  # moto's Firehose writes JSON here; the local delivery turns it into Parquet
NOTIFIER_QUEUE = f"{r.PROJECT}-local-notifier"  # SNS -> Lambda subscription (moto cannot invoke Lambda)
EMAIL_QUEUE = f"{r.PROJECT}-local-email"  # SNS email subscription (moto sends no email)
FIREHOSE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{r.PROJECT}-firehose"


@dataclass
class Provisioned:
    queue_urls: dict[str, str]
    stream_arns: dict[str, str]  # logical id of a table or stream -> stream ARN
    topic_arns: dict[str, str]


def _ignore_exists(codes: tuple[str, ...], call: Callable[..., Any], **request: Any) -> Any:
    """call(**request), or None when the resource is already there (an error code among `codes`)."""
    try:
        return call(**request)
    except ClientError as exc:
        if exc.response["Error"].get("Code") in codes:
            return None
        raise


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def provision(emulator: AwsTarget, webhook_url: str) -> Provisioned:
    """Create every catalogue resource in the emulator."""
    client = emulator.client
    kinesis, ddb, s3, sqs, sns = (client(s) for s in ("kinesis", "dynamodb", "s3", "sqs", "sns"))
    stream_arns: dict[str, str] = {}

    for stream in (r.EVENTS_STREAM,):
        _ignore_exists(("ResourceInUseException",), kinesis.create_stream,
                       StreamName=stream.local_name, ShardCount=stream.local_shards)
        kinesis.get_waiter("stream_exists").wait(StreamName=stream.local_name, WaiterConfig={"Delay": 0.2})
        stream_arns[stream.logical_id] = kinesis.describe_stream_summary(
            StreamName=stream.local_name)["StreamDescriptionSummary"]["StreamARN"]

    for table in r.TABLES:
        create_table(ddb, table)
        description = ddb.describe_table(TableName=table.local_name)["Table"]
        if table.stream_view:
            stream_arns[table.logical_id] = description["LatestStreamArn"]

    for bucket in r.BUCKETS:
        _ignore_exists(("BucketAlreadyOwnedByYou", "BucketAlreadyExists"), s3.create_bucket,
                       Bucket=bucket.local_name)

    queue_urls = {}
    for queue in r.QUEUES:
        queue_urls[queue.logical_id] = sqs.create_queue(
            QueueName=queue.local_name,
            Attributes={"MessageRetentionPeriod": str(queue.retention_s),
                        "VisibilityTimeout": str(queue.visibility_timeout_s)})["QueueUrl"]
    for name in (NOTIFIER_QUEUE, EMAIL_QUEUE):
        queue_urls[name] = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]

    topic_arns = {}
    for topic in r.TOPICS:
        topic_arns[topic.logical_id] = sns.create_topic(Name=topic.local_name)["TopicArn"]
        sensor_url = queue_urls[f"{topic.logical_id}SensorQueue"]
        _subscribe(sqs, sns, topic_arns[topic.logical_id], sensor_url)
    for topic in (r.MARKET_TOPIC, r.WEATHER_TOPIC):
        _subscribe(sqs, sns, topic_arns[topic.logical_id], queue_urls[NOTIFIER_QUEUE])
    for topic in r.TOPICS:  # as the CDK's email subscription: every topic, ops and FinOps included
        _subscribe(sqs, sns, topic_arns[topic.logical_id], queue_urls[EMAIL_QUEUE])

    secrets = client("secretsmanager")
    secret_values = {r.SLACK_WEBHOOK_SECRET.logical_id: {"url": webhook_url},
                     r.PROVIDER_KEYS_SECRET.logical_id: {}}
    for secret in r.SECRETS:
        value = json.dumps(secret_values[secret.logical_id])
        created = _ignore_exists(("ResourceExistsException",), secrets.create_secret,
                                 Name=secret.local_name, SecretString=value, Description=secret.description)
        if created is None:
            secrets.put_secret_value(SecretId=secret.local_name, SecretString=value)

    firehose = client("firehose")
    for delivery in r.PROCESSED_DELIVERIES:
        bucket = next(b for b in r.BUCKETS if b.logical_id == delivery.bucket)
        _ignore_exists(
            ("ResourceInUseException",), firehose.create_delivery_stream,
            DeliveryStreamName=delivery.local_name, DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": FIREHOSE_ROLE, "BucketARN": f"arn:aws:s3:::{bucket.local_name}",
                "Prefix": f"{STAGING_PREFIX}{delivery.lake_table}/", "ErrorOutputPrefix": delivery.error_prefix,
                "BufferingHints": {"IntervalInSeconds": delivery.buffer_seconds, "SizeInMBs": delivery.buffer_mb},
            })

    _register_glue_tables(client("glue"))
    return Provisioned(queue_urls, stream_arns, topic_arns)


def create_table(ddb, table: r.TableSpec, name: str | None = None) -> None:
    """The catalogue table (keys, indexes, stream), under its local name or `name`."""
    attributes = {table.pk: "S"}
    key_schema = [{"AttributeName": table.pk, "KeyType": "HASH"}]
    if table.sk:
        attributes[table.sk] = "S"
        key_schema.append({"AttributeName": table.sk, "KeyType": "RANGE"})
    indexes = []
    for index in table.indexes:
        attributes[index.pk] = "S"
        schema = [{"AttributeName": index.pk, "KeyType": "HASH"}]
        if index.sk:
            attributes[index.sk] = "S"
            schema.append({"AttributeName": index.sk, "KeyType": "RANGE"})
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": projection(index)})
    kwargs: dict[str, Any] = {
        "TableName": name or table.local_name, "KeySchema": key_schema, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in attributes.items()],
    }
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    if table.stream_view:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    _ignore_exists(("ResourceInUseException",), ddb.create_table, **kwargs)


def projection(index: r.IndexSpec) -> dict[str, Any]:
    """The index's Projection as DynamoDB's CreateTable takes it."""
    if isinstance(index.projection, tuple):
        kind, attributes = index.projection
        return {"ProjectionType": kind, "NonKeyAttributes": list(attributes)}
    return {"ProjectionType": index.projection}


def _subscribe(sqs, sns, topic: str, queue_url: str) -> None:
    """SNS -> SQS with the SNS envelope (not raw): consumers see Subject, MessageId and TopicArn."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    existing = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    if not any(s["Endpoint"] == queue_arn for s in existing):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)


def _register_glue_tables(glue) -> None:
    """The Glue catalog the lake's SQL names (database `barometer`): what Firehose and Athena use on AWS."""
    _ignore_exists(("AlreadyExistsException",), glue.create_database, DatabaseInput={"Name": r.GLUE_DATABASE})
    for table, columns in LAKE_SCHEMAS.items():
        _ignore_exists(("AlreadyExistsException",), glue.create_table, DatabaseName=r.GLUE_DATABASE, TableInput={
            "Name": table, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string"}],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in columns],
                "Location": f"s3://{r.PROCESSED_BUCKET.local_name}/{r.PROCESSED_PREFIX}{table}/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
            }})
