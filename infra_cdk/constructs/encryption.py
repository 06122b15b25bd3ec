"""Customer-managed KMS keys: rotation on, retained on stack deletion, readable aliases."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from barometer.catalogue import PROJECT

# What a service needs of the key of an encrypted SNS topic it publishes to (SNS encrypts with a data key
# asked for with the publisher's credentials), or of a bucket it delivers objects to.
PUBLISH_TO_ENCRYPTED_TOPIC = ("kms:Decrypt", "kms:GenerateDataKey*")
DELIVER_TO_ENCRYPTED_BUCKET = ("kms:Decrypt", "kms:GenerateDataKey")


def allow_service(key: kms.Key, principal: str, actions: tuple[str, ...], *, source_account: bool) -> None:
    """Let an AWS service use `key` on this account's behalf.

    `source_account=False` only for services whose KMS requests are not documented to carry
    aws:SourceAccount (CloudWatch alarms and Cost Anomaly Detection publishing to an encrypted topic: AWS's
    statements for them have no condition, and a condition the request lacks denies it, silently). Their
    confused-deputy protection is the topic policy, which does carry the source conditions."""
    conditions = {"StringEquals": {"aws:SourceAccount": Stack.of(key).account}} if source_account else None
    key.add_to_resource_policy(iam.PolicyStatement(
        sid=f"Allow{principal.split('.')[0].title()}",
        principals=[iam.ServicePrincipal(principal)],
        actions=list(actions),
        resources=["*"],  # in a key policy "*" is this key
        conditions=conditions,
    ))


def customer_managed_key(scope: Construct, construct_id: str, purpose: str, *,
                         service_principals: tuple[str, ...] = ()) -> kms.Key:
    """A CMK with yearly rotation; `service_principals` may use it to encrypt and decrypt in this account."""
    key = kms.Key(
        scope, construct_id,
        alias=f"alias/{PROJECT}/{purpose}",
        description=f"Barometer {purpose} encryption key",
        enable_key_rotation=True,
        rotation_period=Duration.days(365),
        removal_policy=RemovalPolicy.RETAIN,
        pending_window=Duration.days(30),
    )
    for principal in service_principals:
        allow_service(key, principal,
                      ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"),
                      source_account=True)
    return key
