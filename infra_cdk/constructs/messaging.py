"""SQS queues and SNS topics from the catalogue: KMS-encrypted, TLS-only."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from barometer.catalogue import QueueSpec, TopicSpec


def catalogue_queue(scope: Construct, spec: QueueSpec, key: kms.IKey) -> sqs.Queue:
    """A queue of the catalogue. Every queue here is itself a dead-letter or sensor queue."""
    return sqs.Queue(
        scope, spec.logical_id,
        queue_name=spec.local_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=Duration.hours(1),
        enforce_ssl=True,
        retention_period=Duration.seconds(spec.retention_s),
        visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
        removal_policy=RemovalPolicy.DESTROY,
    )


def catalogue_topic(scope: Construct, spec: TopicSpec, key: kms.IKey) -> sns.Topic:
    topic = sns.Topic(
        scope, spec.logical_id,
        topic_name=spec.local_name,
        display_name=f"Barometer {spec.logical_id}",
        master_key=key,
        enforce_ssl=True,
    )
    return topic


def subscribe_sensor_queue(topic: sns.Topic, queue: sqs.Queue) -> None:
    """The orchestrator's sensors read alerts from SQS; raw delivery keeps the message body as published."""
    topic.add_subscription(subscriptions.SqsSubscription(queue, raw_message_delivery=True))
    queue.add_to_resource_policy(iam.PolicyStatement(
        sid="DenyOtherTopics",
        effect=iam.Effect.DENY,
        principals=[iam.ServicePrincipal("sns.amazonaws.com")],
        actions=["sqs:SendMessage"],
        resources=[queue.queue_arn],
        conditions={"ArnNotEquals": {"aws:SourceArn": topic.topic_arn}},
    ))
