"""Fixtures of the processor's emulator tests: each test module gets its own resources in the shared emulator."""
from __future__ import annotations

import uuid

import boto3
import pytest

from barometer import catalogue as r
from barometer_local.provision import create_table
from lambdas.processor.sinks import _queue_url
from lambdas.shared.lake import _delivery_stream


@pytest.fixture(scope="module")
def names(emulator):
    """This module's resources, under unique names (the emulator is shared by the whole session)."""
    suffix = uuid.uuid4().hex[:8]
    ddb, s3, sqs, sns, firehose = (boto3.client(s, endpoint_url=emulator.url, region_name="us-east-1")
                                   for s in ("dynamodb", "s3", "sqs", "sns", "firehose"))
    env = {}
    for table in r.TABLES:
        env[table.env_var] = f"{table.local_name}-{suffix}"
        create_table(ddb, table, env[table.env_var])
    env[r.RAW_BUCKET.env_var] = f"{r.RAW_BUCKET.local_name}-{suffix}"
    lake_bucket = f"{r.PROCESSED_BUCKET.local_name}-{suffix}"
    for bucket in (env[r.RAW_BUCKET.env_var], lake_bucket):
        s3.create_bucket(Bucket=bucket)
    env[r.EVENTS_DLQ.env_var] = f"{r.EVENTS_DLQ.local_name}-{suffix}"
    sqs.create_queue(QueueName=env[r.EVENTS_DLQ.env_var])
    for topic in (r.MARKET_TOPIC, r.WEATHER_TOPIC):
        env[topic.env_var] = sns.create_topic(Name=f"{topic.local_name}-{suffix}")["TopicArn"]
    for delivery in r.PROCESSED_DELIVERIES:
        env[delivery.env_var] = f"{delivery.local_name}-{suffix}"
        firehose.create_delivery_stream(
            DeliveryStreamName=env[delivery.env_var], DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose", "BucketARN": f"arn:aws:s3:::{lake_bucket}",
                "Prefix": f"{delivery.lake_table}/"})
    return env, lake_bucket


@pytest.fixture
def env(emulator_env, names, monkeypatch):
    resources, lake_bucket = names
    for key, value in resources.items():
        monkeypatch.setenv(key, value)
    _queue_url.cache_clear()
    _delivery_stream.cache_clear()
    yield resources, lake_bucket
    _queue_url.cache_clear()
    _delivery_stream.cache_clear()
