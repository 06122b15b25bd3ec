"""StorageStack: the lake's raw (gzip JSON) and processed (Parquet) buckets, access logs, replication."""
from __future__ import annotations

from aws_cdk import Aws, Fn, NestedStack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from barometer.catalogue import PROCESSED_BUCKET, RAW_BUCKET
from infra_cdk.constructs.secure_bucket import access_log_bucket, secure_bucket
from infra_cdk.parameters import EstateParameters, condition
from infra_cdk.replica import replica_bucket_name, replica_key_alias


class StorageStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, data_key: kms.IKey) -> None:
        super().__init__(scope, construct_id, description="Barometer storage: the data lake buckets")
        self.access_logs = access_log_bucket(self, "AccessLogs")
        self.raw_bucket = secure_bucket(self, RAW_BUCKET.logical_id, key=data_key, access_logs=self.access_logs,
                                        log_prefix="raw/")
        self.processed_bucket = secure_bucket(self, PROCESSED_BUCKET.logical_id, key=data_key,
                                              access_logs=self.access_logs, log_prefix="processed/")
        self.buckets = {RAW_BUCKET.logical_id: self.raw_bucket, PROCESSED_BUCKET.logical_id: self.processed_bucket}
        replicate = condition(self, params.toggle("EnableSecondaryRegion"))
        role = iam.Role(self, "ReplicationRole", assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
                        description="S3 cross-region replication of the lake buckets")
        role.node.default_child.cfn_options.condition = replicate  # type: ignore[union-attr]
        region = params.secondary_region.value_as_string
        replica_key_arn = f"arn:{Aws.PARTITION}:kms:{region}:{Aws.ACCOUNT_ID}:{replica_key_alias()}"
        for logical_id, bucket in self.buckets.items():
            destination = f"arn:{Aws.PARTITION}:s3:::{replica_bucket_name(logical_id, region)}"
            bucket.grant_read(role)
            role.add_to_policy(iam.PolicyStatement(
                actions=["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                         "s3:GetObjectVersionTagging", "s3:GetReplicationConfiguration"],
                resources=[bucket.bucket_arn, bucket.arn_for_objects("*")]))
            role.add_to_policy(iam.PolicyStatement(
                actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                resources=[f"{destination}/*"]))
            cfn_bucket: s3.CfnBucket = bucket.node.default_child  # type: ignore[assignment]
            # Raw CloudFormation properties: property classes inside Fn::If are not rendered by CDK.
            cfn_bucket.add_property_override("ReplicationConfiguration", Fn.condition_if(
                replicate.logical_id,
                {
                    "Role": role.role_arn,
                    "Rules": [{
                        "Id": "to-secondary-region", "Status": "Enabled", "Priority": 1,
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Enabled"},
                        "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                        "Destination": {"Bucket": destination, "StorageClass": "STANDARD_IA",
                                        "EncryptionConfiguration": {"ReplicaKmsKeyID": replica_key_arn}},
                    }],
                },
                Aws.NO_VALUE,
            ))
        data_key.grant_decrypt(role)
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Encrypt", "kms:GenerateDataKey"],
                                               resources=[f"arn:{Aws.PARTITION}:kms:{region}:{Aws.ACCOUNT_ID}:key/*"],
                                               conditions={"ForAnyValue:StringEquals": {
                                                   "kms:ResourceAliases": replica_key_alias()}}))
        role.node.find_child("DefaultPolicy").node.default_child.cfn_options.condition = replicate
