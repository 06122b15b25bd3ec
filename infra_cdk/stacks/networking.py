"""NetworkingStack: the prod-app and prod-data VPCs, their peering, endpoints and security groups."""
from __future__ import annotations

from aws_cdk import Aws, Fn, NestedStack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra_cdk.parameters import EstateParameters, all_of, condition

APP_CIDR = "10.10.0.0/16"
DATA_CIDR = "10.20.0.0/16"
DAX_PORT = 8111
# Interface endpoints of what the functions in prod-app reach (besides the S3/DynamoDB gateways).
INTERFACE_ENDPOINTS = {
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Kinesis": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Firehose": ec2.InterfaceVpcEndpointAwsService.KINESIS_FIREHOSE,
}


class NetworkingStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, log_key: kms.IKey) -> None:
        super().__init__(scope, construct_id, description="Barometer networking: prod-app and prod-data VPCs")
        flow_logs = logs.LogGroup(self, "FlowLogs", encryption_key=log_key, retention=logs.RetentionDays.ONE_MONTH)
        self.app_vpc = ec2.Vpc(
            self, "ProdApp", vpc_name="prod-app", ip_addresses=ec2.IpAddresses.cidr(APP_CIDR), max_azs=2,
            nat_gateways=2, restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24,
                                        map_public_ip_on_launch=False),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ],
            flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))},
        )
        self.data_vpc = ec2.Vpc(
            self, "ProdData", vpc_name="prod-data", ip_addresses=ec2.IpAddresses.cidr(DATA_CIDR), max_azs=2,
            nat_gateways=0, restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))},
        )
        self._guard_second_nat(params)
        self._peer()
        self._security_groups()
        self._endpoints(params)

    def _guard_second_nat(self, params: EstateParameters) -> None:
        """No NAT gateway without EnableNatGateway (the functions then run outside the VPC, see
        place_functions); one unless EnableMultiNat: the second AZ's private subnet then routes through the first."""
        nat = condition(self, params.toggle("EnableNatGateway"))
        multi_nat = all_of(self, "SecondNatGateway", nat, condition(self, params.toggle("EnableMultiNat")))
        public = self.app_vpc.public_subnets
        first_nat = public[0].node.find_child("NATGateway")
        second_nat = public[1].node.find_child("NATGateway")
        first_nat.cfn_options.condition = nat  # type: ignore[attr-defined]
        public[0].node.find_child("EIP").cfn_options.condition = nat  # type: ignore[attr-defined]
        second_nat.cfn_options.condition = multi_nat  # type: ignore[attr-defined]
        public[1].node.find_child("EIP").cfn_options.condition = multi_nat  # type: ignore[attr-defined]
        for subnet in self.app_vpc.private_subnets:
            subnet.node.find_child("DefaultRoute").cfn_options.condition = nat  # type: ignore[attr-defined]
        route = self.app_vpc.private_subnets[1].node.find_child("DefaultRoute")
        route.add_property_override(  # type: ignore[attr-defined]
            "NatGatewayId", Fn.condition_if(multi_nat.logical_id, second_nat.ref, first_nat.ref))  # type: ignore

    def _peer(self) -> None:
        peering = ec2.CfnVPCPeeringConnection(self, "AppToData", vpc_id=self.app_vpc.vpc_id,
                                              peer_vpc_id=self.data_vpc.vpc_id)
        for index, subnet in enumerate(self.app_vpc.private_subnets):
            ec2.CfnRoute(self, f"AppToDataRoute{index}", route_table_id=subnet.route_table.route_table_id,
                         destination_cidr_block=DATA_CIDR, vpc_peering_connection_id=peering.ref)
        for index, subnet in enumerate(self.data_vpc.isolated_subnets):
            ec2.CfnRoute(self, f"DataToAppRoute{index}", route_table_id=subnet.route_table.route_table_id,
                         destination_cidr_block=APP_CIDR, vpc_peering_connection_id=peering.ref)

    def _security_groups(self) -> None:
        self.lambda_sg = ec2.SecurityGroup(
            self, "LambdaSg", vpc=self.app_vpc, allow_all_outbound=False,
            description="Barometer Lambda functions: HTTPS out only (AWS APIs, providers, Slack)")
        self.lambda_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs and providers")
        self.lambda_sg.add_egress_rule(ec2.Peer.ipv4(DATA_CIDR), ec2.Port.tcp(DAX_PORT), "DAX in prod-data")
        self.ec2_sg = ec2.SecurityGroup(
            self, "Ec2Sg", vpc=self.app_vpc, allow_all_outbound=False,
            description="Barometer EC2 hosts (orchestrator workers): no inbound, HTTPS out")
        self.ec2_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
        self.dax_sg = ec2.SecurityGroup(
            self, "DaxSg", vpc=self.data_vpc, allow_all_outbound=False,
            description="Barometer DAX: encrypted DAX port from prod-app only")
        self.dax_sg.add_ingress_rule(ec2.Peer.ipv4(APP_CIDR), ec2.Port.tcp(DAX_PORT), "DAX from prod-app")
        self.endpoint_sg = ec2.SecurityGroup(
            self, "EndpointSg", vpc=self.app_vpc, allow_all_outbound=False,
            description="Barometer interface endpoints: HTTPS from prod-app")
        self.endpoint_sg.add_ingress_rule(ec2.Peer.ipv4(APP_CIDR), ec2.Port.tcp(443), "HTTPS from prod-app")

    def _endpoints(self, params: EstateParameters) -> None:
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.app_vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[private])
        self.app_vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
                                          subnets=[private])
        enabled = condition(self, params.toggle("EnableInterfaceEndpoints"))
        for name, service in INTERFACE_ENDPOINTS.items():
            endpoint = self.app_vpc.add_interface_endpoint(
                name, service=service, subnets=private, security_groups=[self.endpoint_sg], private_dns_enabled=True,
                open=False)  # endpoint_sg already admits HTTPS from prod-app; a second, equal rule fails to deploy
            endpoint.node.default_child.cfn_options.condition = enabled  # type: ignore[union-attr]


def place_functions(functions: list[lambda_.IFunction], params: EstateParameters) -> None:
    """Each function in prod-app's private subnets only with EnableNatGateway; otherwise outside the VPC.

    In the VPC without a NAT gateway the poller could not reach its providers nor the notifier Slack
    (interface endpoints reach AWS APIs only). Outside it they reach AWS over its public TLS endpoints,
    IAM-authorized as before; DAX is then out of reach (the DaxNeedsVpcFunctions rule refuses it)."""
    for function in functions:
        resource = function.node.default_child
        placed = resource.vpc_config  # type: ignore[union-attr]
        if placed is None:
            raise ValueError(f"{function.node.path}: expected a function placed in the VPC")
        in_vpc = condition(function, params.toggle("EnableNatGateway"))
        resource.add_property_override("VpcConfig", Fn.condition_if(  # type: ignore[union-attr]
            in_vpc.logical_id,
            {"SubnetIds": placed.subnet_ids, "SecurityGroupIds": placed.security_group_ids},
            Aws.NO_VALUE))
