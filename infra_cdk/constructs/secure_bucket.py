"""S3 buckets: versioned, SSE-KMS with a CMK, public access blocked, TLS only, access-logged."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


def access_log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """Target of S3 server access logs. S3 log delivery supports only SSE-S3 on the target bucket."""
    return s3.Bucket(
        scope, construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(
            id="expire-access-logs", expiration=Duration.days(365),
            noncurrent_version_expiration=Duration.days(30),
            abort_incomplete_multipart_upload_after=Duration.days(7),
        )],
    )


def secure_bucket(scope: Construct, construct_id: str, *, key: kms.IKey, access_logs: s3.IBucket,
                  log_prefix: str, infrequent_after_days: int = 30, glacier_after_days: int = 180) -> s3.Bucket:
    """A data bucket: the lake zones, Athena results, audit logs."""
    return s3.Bucket(
        scope, construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(
            id="tiering",
            transitions=[
                s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                              transition_after=Duration.days(infrequent_after_days)),
                s3.Transition(storage_class=s3.StorageClass.GLACIER,
                              transition_after=Duration.days(glacier_after_days)),
            ],
            noncurrent_version_expiration=Duration.days(90),
            abort_incomplete_multipart_upload_after=Duration.days(7),
        )],
    )
