"""The secondary-region stack: the DR replicas' buckets and keys (deployed before the primary's replication).

Deployed on its own into the secondary region; the primary region's templates find its resources by
name (bucket) and alias (keys), which both sides derive from here.
"""
from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from barometer.catalogue import BUCKETS, PROJECT
from infra_cdk.constructs.encryption import customer_managed_key
from infra_cdk.constructs.secure_bucket import access_log_bucket, secure_bucket


def replica_key_alias() -> str:
    return f"alias/{PROJECT}/s3-replica"


def replica_bucket_name(logical_id: str, region: str) -> str:
    """Globally unique and derivable from both regions: project, bucket, account, region."""
    short = logical_id.removesuffix("Bucket").lower()
    return f"{PROJECT}-{short}-replica-{Aws.ACCOUNT_ID}-{region}"


class ReplicaStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, description="Barometer DR replicas (secondary region)", **kwargs)
        replica_key = customer_managed_key(self, "ReplicaKey", "s3-replica")
        # Same alias as the primary's table key: the global tables' replica here is encrypted with it.
        customer_managed_key(self, "TableReplicaKey", "dynamodb")
        logs = access_log_bucket(self, "ReplicaAccessLogs")
        for spec in BUCKETS:
            bucket = secure_bucket(self, f"{spec.logical_id}Replica", key=replica_key, access_logs=logs,
                                   log_prefix=f"{spec.logical_id}/", infrequent_after_days=30)
            cfn: s3.CfnBucket = bucket.node.default_child  # type: ignore[assignment]
            cfn.bucket_name = replica_bucket_name(spec.logical_id, Aws.REGION)
            bucket.apply_removal_policy(RemovalPolicy.RETAIN)
