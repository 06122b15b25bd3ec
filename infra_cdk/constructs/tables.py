"""DynamoDB global tables from the catalogue: CMK encryption, PITR, streams, deletion protection."""
from __future__ import annotations

from aws_cdk import Aws, CfnCondition, CfnParameter, Fn, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from barometer.catalogue import PROJECT, IndexSpec, TableSpec

# The replica key in the secondary region is found by alias (created by the replica stack there).
REPLICA_TABLE_KEY_ALIAS = f"alias/{PROJECT}/dynamodb"

_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _index(index: IndexSpec) -> dynamodb.GlobalSecondaryIndexPropsV2:
    included: list[str] | None = None
    if isinstance(index.projection, tuple):
        kind, attributes = index.projection
        included = list(attributes)
    else:
        kind = index.projection
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=index.name, partition_key=_attribute(index.pk),
        sort_key=_attribute(index.sk) if index.sk else None,
        projection_type=dynamodb.ProjectionType[kind], non_key_attributes=included)


def catalogue_table(scope: Construct, spec: TableSpec, key: kms.IKey, *, secondary_region: CfnParameter,
                    replicate: CfnCondition) -> dynamodb.TableV2:
    """A global table; its replica in `secondary_region` exists only while `replicate` holds."""
    table = dynamodb.TableV2(
        scope, spec.logical_id,
        table_name=spec.local_name,
        partition_key=_attribute(spec.pk),
        sort_key=_attribute(spec.sk) if spec.sk else None,
        billing=dynamodb.Billing.on_demand(),
        # The CMK is set below with the replicas: TableV2 cannot render a CMK per replica in a
        # region-agnostic stack, so encryption is written as CloudFormation properties.
        encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        dynamo_stream=_STREAM_VIEWS[spec.stream_view] if spec.stream_view else None,
        time_to_live_attribute=spec.ttl_attribute,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        global_secondary_indexes=[_index(index) for index in spec.indexes],
    )
    replica_common = {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
    }
    primary = {"Region": Aws.REGION, "SSESpecification": {"KMSMasterKeyId": key.key_arn}, **replica_common}
    secondary = {"Region": secondary_region.value_as_string,
                 "SSESpecification": {"KMSMasterKeyId": REPLICA_TABLE_KEY_ALIAS}, **replica_common}
    cfn_table: dynamodb.CfnGlobalTable = table.node.default_child  # type: ignore[assignment]
    cfn_table.add_property_override("SSESpecification", {"SSEEnabled": True, "SSEType": "KMS"})
    if not spec.stream_view:
        # A global table with more than one replica must have a stream (replication runs on it).
        cfn_table.add_property_override("StreamSpecification", Fn.condition_if(
            replicate.logical_id, {"StreamViewType": "NEW_AND_OLD_IMAGES"}, Aws.NO_VALUE))
    cfn_table.add_property_override("Replicas", Fn.condition_if(replicate.logical_id, [primary, secondary],
                                                                [primary]))
    return table
