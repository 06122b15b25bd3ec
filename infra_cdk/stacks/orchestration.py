"""OrchestrationStack: Dagster on ECS Fargate (webserver, daemon, code server, one task per run) with its
storage on RDS for PostgreSQL. The whole nested stack sits behind the EnableOrchestrator Condition.

- Tasks run in prod-app's private subnets with the orchestrator security group (no public address); they
  reach AWS through the NAT gateway (the OrchestratorNeedsNat rule refuses the stack without one).
- The webserver has no load balancer: operators reach it with ECS Exec's SSM port forwarding (IAM decides
  who may; nothing listens on the internet). docs/infra.md, "Dagster on AWS".
- The database: PostgreSQL in prod-data's isolated subnets, storage, secret and Performance Insights
  encrypted with the orchestrator's CMK, TLS forced, deletion protection, 7 days of automated backups.
- Roles: the code server (sensors) and the runs share the assets' role, which allows what the code
  location calls and nothing else; the daemon may only start, watch and stop run tasks; the webserver
  may stop them (terminate) and accept an ECS Exec session.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Duration, Fn, NestedStack, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from barometer.catalogue import (
    CATALOGUE,
    CONFIG_JSON_ENV,
    GLUE_DATABASE,
    OPS_TOPIC,
    PROCESSED_BUCKET,
    PROJECT,
    RAW_BUCKET,
    SENSOR_QUEUES,
)
from barometer.lake import EXTRACTS_PREFIX, INCIDENTS_PREFIX, PROCESSED_PREFIX, RAW_PREFIX, ROLLUP_PREFIX
from infra_cdk.constructs.encryption import customer_managed_key
from infra_cdk.constructs.functions import ResourceIndex
from infra_cdk.parameters import EstateParameters, all_of, condition, has_value
from infra_cdk.stacks.dashboards import QUICKSIGHT_TABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "deploy/dagster/Dockerfile"
CLUSTER_NAME = f"{PROJECT}-dagster"
NAMESPACE = "dagster.barometer.internal"
CODE_SERVICE = "code"
CODE_SERVER_HOST = f"{CODE_SERVICE}.{NAMESPACE}"
CODE_SERVER_PORT = 4000
WEBSERVER_PORT = 3000
LOCATION_NAME = "barometer"
DB_NAME = "dagster"
DB_USER = "dagster"
DB_PORT = 5432
DB_INSTANCE = f"{PROJECT}-dagster"
DB_SECRET_NAME = f"{PROJECT}/dagster-db"
RUN_FAMILY = f"{PROJECT}-dagster-run"
RUN_CONTAINER = "run"  # the container the EcsRunLauncher overrides (deploy/dagster/dagster.yaml)
HOME = "/opt/dagster/home"
WORKSPACE = "/opt/dagster/workspace.yaml"
FINOPS_PREFIX = "ops/finops-alerts/"  # platform_assets/finops.py keeps FinOps alerts here

# (cpu units, MiB) per task: Fargate's smallest sizes that hold Dagster with the code location loaded.
SIZES = {"webserver": (512, 1024), "daemon": (256, 1024), "code": (256, 1024), RUN_CONTAINER: (512, 2048)}

COMMANDS = {
    "webserver": ["dagster-webserver", "-h", "0.0.0.0", "-p", str(WEBSERVER_PORT), "-w", WORKSPACE],
    "daemon": ["dagster-daemon", "run", "-w", WORKSPACE],
    "code": ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", str(CODE_SERVER_PORT),
             "-m", "platform_assets.definitions", "-a", "defs", "--location-name", LOCATION_NAME],
    # The EcsRunLauncher replaces this with `dagster api execute_run ...` for each run.
    RUN_CONTAINER: ["dagster", "--help"],
}


@dataclass
class OrchestratorResources:
    """What the code location reads, writes and calls, as the other nested stacks built it."""

    environment: dict[str, str]  # catalogue env var -> deployed name or ARN (the functions' variables)
    tables: list  # DynamoDB tables (TableV2)
    raw_bucket: s3.IBucket
    processed_bucket: s3.IBucket
    athena_results: s3.IBucket
    workgroup_name: str
    ops_topic: sns.ITopic
    sensor_queues: list[sqs.IQueue]
    poller_arn: str
    stream_arn: str
    data_key: kms.IKey
    table_key: kms.IKey
    messaging_key: kms.IKey
    backup_vault_name: str
    health_check_id: str  # empty without the failover health check
    config_json: str


def orchestrator_resources(index: ResourceIndex, *, storage, alerting, analytics, ingestion, processing,
                           disaster_recovery, keys, config_json: str) -> OrchestratorResources:
    """From the other nested stacks: every catalogue variable the functions get, deployed (secrets
    excepted: the code location reads none), and what the assets' role is scoped to."""
    values: dict[str, str] = {}
    for spec in CATALOGUE.tables:
        values[spec.env_var] = index.tables[spec.logical_id].table_name
    for spec in CATALOGUE.buckets:
        values[spec.env_var] = index.buckets[spec.logical_id].bucket_name
    queues = {**index.queues, **alerting.sensor_queues}
    for spec in CATALOGUE.queues:
        values[spec.env_var] = queues[spec.logical_id].queue_name
    for spec in CATALOGUE.streams:
        values[spec.env_var] = index.streams[spec.logical_id].stream_name
    for spec in CATALOGUE.deliveries:
        if spec.env_var:
            values[spec.env_var] = processing.deliveries[spec.logical_id].resource.ref
    for spec in CATALOGUE.topics:
        values[spec.env_var] = index.topics[spec.logical_id].topic_arn
    return OrchestratorResources(
        environment=values, tables=list(index.tables.values()),
        raw_bucket=index.buckets[RAW_BUCKET.logical_id], processed_bucket=index.buckets[PROCESSED_BUCKET.logical_id],
        athena_results=analytics.results_bucket, workgroup_name=analytics.workgroup.ref,
        ops_topic=index.topics[OPS_TOPIC.logical_id],
        sensor_queues=[alerting.sensor_queues[q.logical_id] for q in SENSOR_QUEUES],
        poller_arn=ingestion.poller_function.function.function_arn,
        stream_arn=ingestion.stream.stream_arn,
        data_key=keys.data_key, table_key=keys.table_key, messaging_key=keys.messaging_key,
        backup_vault_name=disaster_recovery.vault.backup_vault_name,
        health_check_id=disaster_recovery.health_check_id, config_json=config_json)


class OrchestrationStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, app_vpc: ec2.IVpc,
                 data_vpc: ec2.IVpc, security_group: ec2.ISecurityGroup, log_key: kms.IKey,
                 resources: OrchestratorResources) -> None:
        super().__init__(scope, construct_id,
                         description="Barometer orchestration: Dagster on ECS Fargate with RDS PostgreSQL storage")
        # The whole stack, or nothing: the Condition is on the nested stack's resource in the root template.
        self.nested_stack_resource.cfn_options.condition = condition(scope, params.toggle("EnableOrchestrator"))
        self.settings = self._settings(params, resources)
        self.key = customer_managed_key(self, "OrchestratorKey", "orchestrator")
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/{PROJECT}/dagster", encryption_key=log_key,
                                       retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
        self._network(security_group)
        self.database = self._database(data_vpc, security_group, log_key)
        self.cluster = ecs.Cluster(self, "Cluster", vpc=app_vpc, cluster_name=CLUSTER_NAME,
                                   execute_command_configuration=ecs.ExecuteCommandConfiguration(
                                       kms_key=self.key, log_configuration=ecs.ExecuteCommandLogConfiguration(
                                           cloud_watch_log_group=self.log_group, cloud_watch_encryption_enabled=True),
                                       logging=ecs.ExecuteCommandLogging.OVERRIDE))
        self.namespace = servicediscovery.PrivateDnsNamespace(
            self, "Namespace", name=NAMESPACE, vpc=app_vpc, description="Barometer Dagster code server")
        self.image = ecs.ContainerImage.from_asset(str(REPO_ROOT), file=DOCKERFILE)
        self.execution_role = iam.Role(self, "ExecutionRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                                       description="Pulls the Dagster image, writes its logs, reads the database secret")
        self.assets_role = self._assets_role(resources)
        self.run_task = self._task("Run", RUN_CONTAINER, self.assets_role, resources, family=RUN_FAMILY)
        # bench/cost_idle.py prices this definition once per scheduled run.
        self.run_task.node.default_child.cfn_options.metadata = {"barometer:cost": "dagster-run"}  # type: ignore
        self.daemon_role = self._daemon_role()
        self.webserver_role = self._webserver_role()
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.services = {}
        for name, role in (("code", self.assets_role), ("daemon", self.daemon_role),
                           ("webserver", self.webserver_role)):
            task = self._task(name.title(), name, role, resources)
            self.services[name] = ecs.FargateService(
                self, f"{name.title()}Service", cluster=self.cluster, task_definition=task, desired_count=1,
                service_name=f"{PROJECT}-dagster-{name}", security_groups=[security_group], vpc_subnets=subnets,
                assign_public_ip=False, enable_execute_command=name == "webserver",
                circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
                # One daemon at a time (two would both launch the queued runs): stop the old one first.
                min_healthy_percent=0 if name == "daemon" else 100,
                max_healthy_percent=100 if name == "daemon" else 200,
                cloud_map_options=ecs.CloudMapOptions(
                    name=CODE_SERVICE, cloud_map_namespace=self.namespace, dns_record_type=servicediscovery.DnsRecordType.A,
                    dns_ttl=Duration.seconds(10)) if name == "code" else None)

    # -- network ------------------------------------------------------------------------------------------------
    def _network(self, sg: ec2.ISecurityGroup) -> None:
        """The orchestrator's group (NetworkingStack: HTTPS out only) gains the gRPC hop to the code server and
        the database port; the rules live here, with the stack that needs them."""
        sg_id = sg.security_group_id
        ec2.CfnSecurityGroupIngress(self, "CodeServerFromOrchestrator", group_id=sg_id, ip_protocol="tcp",
                                    from_port=CODE_SERVER_PORT, to_port=CODE_SERVER_PORT, source_security_group_id=sg_id,
                                    description="Dagster webserver and daemon to the code server (gRPC)")
        ec2.CfnSecurityGroupEgress(self, "CodeServerToOrchestrator", group_id=sg_id, ip_protocol="tcp",
                                   from_port=CODE_SERVER_PORT, to_port=CODE_SERVER_PORT, destination_security_group_id=sg_id,
                                   description="Dagster webserver and daemon to the code server (gRPC)")

    def _database(self, data_vpc: ec2.IVpc, orchestrator_sg: ec2.ISecurityGroup, log_key: kms.IKey) -> rds.DatabaseInstance:
        db_sg = ec2.SecurityGroup(self, "DatabaseSg", vpc=data_vpc, allow_all_outbound=False,
                                  description="Barometer Dagster database: PostgreSQL from the orchestrator only")
        db_sg.add_ingress_rule(ec2.Peer.security_group_id(orchestrator_sg.security_group_id), ec2.Port.tcp(DB_PORT),
                               "PostgreSQL from the Dagster tasks (peered prod-app)")
        ec2.CfnSecurityGroupEgress(self, "DatabaseFromOrchestrator", group_id=orchestrator_sg.security_group_id,
                                   ip_protocol="tcp", from_port=DB_PORT, to_port=DB_PORT,
                                   destination_security_group_id=db_sg.security_group_id,
                                   description="Dagster tasks to their PostgreSQL storage in prod-data")
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9)
        parameters = rds.ParameterGroup(self, "DatabaseParameters", engine=engine,
                                        description="Barometer Dagster: TLS only, connections logged",
                                        parameters={"rds.force_ssl": "1", "log_connections": "1",
                                                    "log_disconnections": "1"})
        # The log group RDS exports to, created first: encrypted, with a retention.
        db_logs = logs.LogGroup(self, "DatabaseLogs", log_group_name=f"/aws/rds/instance/{DB_INSTANCE}/postgresql",
                                encryption_key=log_key, retention=logs.RetentionDays.ONE_MONTH,
                                removal_policy=RemovalPolicy.DESTROY)
        database = rds.DatabaseInstance(
            self, "Database", engine=engine, instance_identifier=DB_INSTANCE,
            instance_type=ec2.InstanceType.of(ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MICRO),
            vpc=data_vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[db_sg], port=DB_PORT, database_name=DB_NAME, parameter_group=parameters,
            credentials=rds.Credentials.from_generated_secret(DB_USER, secret_name=DB_SECRET_NAME, encryption_key=self.key),
            storage_encrypted=True, storage_encryption_key=self.key, storage_type=rds.StorageType.GP3,
            allocated_storage=20, max_allocated_storage=100, multi_az=False, publicly_accessible=False,
            backup_retention=Duration.days(7), preferred_backup_window="03:00-03:30", copy_tags_to_snapshot=True,
            deletion_protection=True, removal_policy=RemovalPolicy.SNAPSHOT, auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=["postgresql"], enable_performance_insights=True,
            performance_insight_encryption_key=self.key,
            performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT)
        database.node.add_dependency(db_logs)
        return database

    # -- tasks ------------------------------------------------------------------------------------------------
    def _task(self, construct_id: str, name: str, role: iam.IRole, resources: OrchestratorResources,
              family: str | None = None) -> ecs.FargateTaskDefinition:
        cpu, memory = SIZES[name]
        task = ecs.FargateTaskDefinition(
            self, f"{construct_id}Task", family=family or f"{PROJECT}-dagster-{name}", cpu=cpu, memory_limit_mib=memory,
            task_role=role, execution_role=self.execution_role,
            runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.X86_64,
                                                 operating_system_family=ecs.OperatingSystemFamily.LINUX))
        for volume in ("home", "tmp"):
            task.add_volume(name=volume)
        secret = self.database.secret
        container = task.add_container(
            name, image=self.image, command=COMMANDS[name], essential=True, readonly_root_filesystem=True,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=self.log_group),
            environment=self._environment(resources, name),
            secrets={"DAGSTER_PG_USERNAME": ecs.Secret.from_secrets_manager(secret, "username"),
                     "DAGSTER_PG_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password")},
            port_mappings=[ecs.PortMapping(container_port=port) for port in
                           {"webserver": [WEBSERVER_PORT], "code": [CODE_SERVER_PORT]}.get(name, [])],
            health_check=ecs.HealthCheck(
                command=["CMD", "dagster", "api", "grpc-health-check", "-p", str(CODE_SERVER_PORT)],
                start_period=Duration.seconds(120)) if name == "code" else None)
        container.add_mount_points(ecs.MountPoint(container_path=HOME, source_volume="home", read_only=False),
                                   ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))
        return task

    def _settings(self, params: EstateParameters, r: OrchestratorResources) -> dict[str, str]:
        """The deployment's settings the assets bind as dg.EnvVar (platform_assets/resources.py DEPLOYMENT_ENV)."""
        quicksight = all_of(self, "QuickSightReady", condition(self, params.toggle("EnableQuickSight")),
                            has_value(self, params.quicksight_principal_arn))
        replicas = condition(self, params.toggle("EnableSecondaryRegion"))
        datasets = ",".join(f"{PROJECT}-{table}" for table in QUICKSIGHT_TABLES)
        return {
            "BAROMETER_ATHENA_WORKGROUP": r.workgroup_name,
            "BAROMETER_QUICKSIGHT_DATASETS": Fn.condition_if(quicksight.logical_id, datasets, "").to_string(),
            "BAROMETER_BACKUP_VAULT": r.backup_vault_name,
            "BAROMETER_REPLICA_REGIONS": Fn.condition_if(
                replicas.logical_id, params.secondary_region.value_as_string, "").to_string(),
            "BAROMETER_HEALTH_CHECK_ID": r.health_check_id,
            OPS_TOPIC.env_var: r.ops_topic.topic_arn,
        }

    def _environment(self, resources: OrchestratorResources, name: str) -> dict[str, str]:
        return {
            **resources.environment,
            **self.settings,
            CONFIG_JSON_ENV: resources.config_json,
            "BAROMETER_ENV": "aws",
            "AWS_REGION": Aws.REGION,
            "DAGSTER_HOME": HOME,
            "DAGSTER_PG_HOST": self.database.db_instance_endpoint_address,
            "DAGSTER_PG_PORT": self.database.db_instance_endpoint_port,
            "DAGSTER_PG_DB": DB_NAME,
            "PGSSLMODE": "require",
            # The family: each launch runs its latest revision (the stack registers a new one per deploy).
            "DAGSTER_RUN_TASK_DEFINITION": RUN_FAMILY,
            "DAGSTER_CONTAINER": name,
        }

    # -- roles ------------------------------------------------------------------------------------------------
    def _role(self, construct_id: str, description: str) -> iam.Role:
        return iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                        description=description)

    def _assets_role(self, r: OrchestratorResources) -> iam.Role:
        """What platform_assets and barometer_sql call (tests/infra/test_infra_orchestration.py compares the
        two), each on its resource only."""
        role = self._role("AssetsRole", "Dagster code server (sensors) and runs: what the assets call")
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION

        def allow(actions: list[str], resources: list[str], **conditions) -> None:
            role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources,
                                                   conditions=conditions or None))

        def via(service: str) -> dict:
            return {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}}

        processed, raw, results = r.processed_bucket, r.raw_bucket, r.athena_results
        # The lake: read everything in the processed zone and the raw zone; write the zones Dagster owns.
        allow(["s3:ListBucket"], [processed.bucket_arn, raw.bucket_arn])
        allow(["s3:GetObject"], [processed.arn_for_objects("*"), raw.arn_for_objects(f"{RAW_PREFIX}*")])
        allow(["s3:PutObject"], [processed.arn_for_objects(f"{prefix}*") for prefix in (
            PROCESSED_PREFIX, ROLLUP_PREFIX, EXTRACTS_PREFIX, INCIDENTS_PREFIX, FINOPS_PREFIX)])
        allow(["s3:DeleteObject"], [processed.arn_for_objects(f"{PROCESSED_PREFIX}*")])  # compaction
        allow(["kms:Decrypt", "kms:GenerateDataKey"], [r.data_key.key_arn], **via("s3"))
        # Athena in the CDK workgroup (enforced: its results bucket and scan limit), over the Glue catalog.
        allow(["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
               "athena:StopQueryExecution", "athena:GetWorkGroup"],
              [f"arn:{partition}:athena:{region}:{account}:workgroup/{r.workgroup_name}"])
        allow(["s3:GetBucketLocation", "s3:ListBucket"], [results.bucket_arn])
        allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], [results.arn_for_objects("*")])
        glue = f"arn:{partition}:glue:{region}:{account}"
        allow(["glue:GetDatabase", "glue:CreateDatabase", "glue:GetTable", "glue:CreateTable", "glue:GetPartition",
               "glue:GetPartitions", "glue:CreatePartition", "glue:BatchCreatePartition"],
              [f"{glue}:catalog", f"{glue}:database/{GLUE_DATABASE}", f"{glue}:table/{GLUE_DATABASE}/*"])
        # Operational tables: feeds, reconciliation, incidents, DR's replica status.
        tables = [t.table_arn for t in r.tables]
        allow(["dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"],
              tables + [Fn.join("", [arn, "/index/*"]) for arn in tables])
        allow(["kms:Decrypt"], [r.table_key.key_arn], **via("dynamodb"))
        # Alert sensors (in the code server): the four sensor queues.
        allow(["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
              [q.queue_arn for q in r.sensor_queues])
        allow(["kms:Decrypt"], [r.messaging_key.key_arn], **via("sqs"))
        # Failure alerting: OpsAlerts only.
        allow(["sns:Publish"], [r.ops_topic.topic_arn])
        allow(["kms:Decrypt", "kms:GenerateDataKey"], [r.messaging_key.key_arn], **via("sns"))
        allow(["lambda:InvokeFunction"], [r.poller_arn])
        # The deployment as external assets (platform_assets/deployment): describe what the stacks deployed.
        allow(["kinesis:DescribeStreamSummary"], [r.stream_arn])
        allow(["firehose:DescribeDeliveryStream"],
              [f"arn:{partition}:firehose:{region}:{account}:deliverystream/{spec.local_name}"
               for spec in CATALOGUE.deliveries])
        allow(["lambda:GetFunctionConfiguration"],
              [f"arn:{partition}:lambda:{region}:{account}:function:{spec.local_name}" for spec in CATALOGUE.functions])
        allow(["s3:GetBucketVersioning", "s3:GetReplicationConfiguration"], [processed.bucket_arn, raw.bucket_arn])
        allow(["quicksight:CreateIngestion", "quicksight:DescribeIngestion"],
              [f"arn:{partition}:quicksight:{region}:{account}:dataset/{PROJECT}-*",
               f"arn:{partition}:quicksight:{region}:{account}:dataset/{PROJECT}-*/ingestion/*"])
        allow(["route53:GetHealthCheckStatus"], [f"arn:{partition}:route53:::healthcheck/*"])
        # Actions without resource-level permissions: Resource "*" is their only valid value.
        allow(["backup:ListRecoveryPointsByResource", "cloudwatch:GetMetricData", "lambda:ListEventSourceMappings"],
              ["*"])
        return role

    def _daemon_role(self) -> iam.Role:
        """Starts each run as a task of the run family, watches it, stops it; passes only the run's roles."""
        role = self._role("DaemonRole", "Dagster daemon: launches, monitors and stops run tasks")
        self._allow_run_control(role)
        run_family = f"arn:{Aws.PARTITION}:ecs:{Aws.REGION}:{Aws.ACCOUNT_ID}:task-definition/{RUN_FAMILY}:*"
        role.add_to_policy(iam.PolicyStatement(actions=["ecs:RunTask"], resources=[run_family],
                                               conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}}))
        role.add_to_policy(iam.PolicyStatement(
            actions=["ecs:TagResource"], resources=[self._cluster_tasks()],
            conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}}))
        role.add_to_policy(iam.PolicyStatement(actions=["iam:PassRole"],
                                               resources=[self.assets_role.role_arn, self.execution_role.role_arn],
                                               conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}))
        # The launcher copies its own task's subnets and security groups (use_current_ecs_task_config) and
        # reads them from the task's network interface; DescribeNetworkInterfaces takes no resource.
        role.add_to_policy(iam.PolicyStatement(actions=["ec2:DescribeNetworkInterfaces"], resources=["*"]))
        return role

    def _webserver_role(self) -> iam.Role:
        """Terminates runs from the UI; accepts ECS Exec sessions (the SSM port forwarding operators use)."""
        role = self._role("WebserverRole", "Dagster webserver: terminates run tasks; ECS Exec for port forwarding")
        # ECS Exec's own grants (ssmmessages channels, the session log group, the session key) are added by
        # the service (enable_execute_command) to this role only.
        self._allow_run_control(role)
        return role

    def _allow_run_control(self, role: iam.Role) -> None:
        role.add_to_policy(iam.PolicyStatement(actions=["ecs:DescribeTasks", "ecs:StopTask"],
                                               resources=[self._cluster_tasks()]))
        # DescribeTaskDefinition takes no resource-level permission.
        role.add_to_policy(iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition"], resources=["*"]))

    def _cluster_tasks(self) -> str:
        return f"arn:{Aws.PARTITION}:ecs:{Aws.REGION}:{Aws.ACCOUNT_ID}:task/{CLUSTER_NAME}/*"
