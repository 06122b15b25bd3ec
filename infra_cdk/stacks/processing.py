"""ProcessingStack: the events stream's processor, the notifier and the lake's Firehose streams."""
from __future__ import annotations

from aws_cdk import Duration, NestedStack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from barometer.catalogue import (
    NOTIFIER_FUNCTION,
    NOTIFY_DLQ,
    PROCESSED_DELIVERIES,
    PROCESSOR_FUNCTION,
    RAW_DELIVERY,
)
from infra_cdk.constructs.functions import (
    CatalogueFunction,
    FunctionPlacement,
    QueueDestination,
    ResourceIndex,
)
from infra_cdk.constructs.lake import LakeDeliveryStream

NOTIFIER_ASYNC_RETRIES = 2


class ProcessingStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, placement: FunctionPlacement,
                 resources: ResourceIndex, data_key: kms.IKey, log_key: kms.IKey, glue_database: glue.CfnDatabase,
                 glue_tables: dict[str, glue.CfnTable]) -> None:
        super().__init__(scope, construct_id, description="Barometer processing: consumers and lake delivery")
        raw_bucket: s3.IBucket = resources.buckets[RAW_DELIVERY.bucket]
        self.deliveries = {RAW_DELIVERY.logical_id: LakeDeliveryStream(
            self, RAW_DELIVERY, bucket=raw_bucket, data_key=data_key, log_key=log_key,
            source_stream=resources.streams[_source_stream(resources)])}
        for spec in PROCESSED_DELIVERIES:
            self.deliveries[spec.logical_id] = LakeDeliveryStream(
                self, spec, bucket=resources.buckets[spec.bucket], data_key=data_key, log_key=log_key,
                glue_database=glue_database, glue_table=glue_tables[spec.lake_table or ""])
        resources.deliveries.update(self.deliveries)

        self.functions = {
            spec.logical_id: CatalogueFunction(self, spec, placement=placement, resources=resources)
            for spec in (PROCESSOR_FUNCTION, NOTIFIER_FUNCTION)
        }
        notifier = self.functions[NOTIFIER_FUNCTION.logical_id].function
        notifier.configure_async_invoke(
            on_failure=QueueDestination(resources.queues[NOTIFY_DLQ.logical_id]),
            retry_attempts=NOTIFIER_ASYNC_RETRIES, max_event_age=Duration.hours(6))
        for topic_id in NOTIFIER_FUNCTION.topics_subscribed:
            resources.topics[topic_id].add_subscription(subscriptions.LambdaSubscription(notifier))


def _source_stream(resources: ResourceIndex) -> str:
    """The raw delivery stream reads the (only) events stream."""
    (logical_id,) = resources.streams
    return logical_id
