"""Customer-managed KMS keys: rotation on, retained on stack deletion, readable aliases."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from barometer.catalogue import PROJECT


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
    stack = Stack.of(scope)
    for principal in service_principals:
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=f"Allow{principal.split('.')[0].title()}",
            principals=[iam.ServicePrincipal(principal)],
            actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            resources=["*"],  # in a key policy "*" is this key
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ))
    return key
