"""DatastoresStack: the DynamoDB global tables of the catalogue and the optional DAX cluster."""
from __future__ import annotations

from aws_cdk import NestedStack
from aws_cdk import aws_dax as dax
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from barometer.catalogue import LATEST_TABLE, PROJECT, TABLES
from infra_cdk.constructs.tables import catalogue_table
from infra_cdk.parameters import EstateParameters, condition


class DatastoresStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, table_key: kms.IKey,
                 data_vpc: ec2.IVpc, dax_security_group: ec2.ISecurityGroup) -> None:
        super().__init__(scope, construct_id, description="Barometer datastores: DynamoDB global tables, DAX")
        replicate = condition(self, params.toggle("EnableSecondaryRegion"))
        self.tables = {
            spec.logical_id: catalogue_table(self, spec, table_key, secondary_region=params.secondary_region,
                                             replicate=replicate)
            for spec in TABLES
        }
        self._dax(params, table_key, data_vpc, dax_security_group)

    def _dax(self, params: EstateParameters, table_key: kms.IKey, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup) -> None:
        """A read-through cache of LatestTable for the API's hot reads (only with EnableDax)."""
        enabled = condition(self, params.toggle("EnableDax"))
        latest = self.tables[LATEST_TABLE.logical_id]
        role = iam.Role(self, "DaxRole", assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
                        description="DAX access to LatestTable")
        latest.grant_read_write_data(role)
        table_key.grant_encrypt_decrypt(role)
        role.node.default_child.cfn_options.condition = enabled  # type: ignore[union-attr]
        for child in role.node.find_all():
            if isinstance(child, iam.CfnPolicy):
                child.cfn_options.condition = enabled
        subnets = dax.CfnSubnetGroup(
            self, "DaxSubnets", subnet_group_name=f"{PROJECT}-dax",
            description="prod-data isolated subnets",
            subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets])
        subnets.cfn_options.condition = enabled
        cluster = dax.CfnCluster(
            self, "Dax", cluster_name=f"{PROJECT}-dax", node_type="dax.t3.small", replication_factor=2,
            iam_role_arn=role.role_arn, subnet_group_name=subnets.ref,
            security_group_ids=[security_group.security_group_id],
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            cluster_endpoint_encryption_type="TLS",
            description="Read-through cache of LatestTable")
        cluster.cfn_options.condition = enabled
        cluster.node.add_dependency(role)
