"""The root stack: Parameters, and one nested stack per concern, wired with construct objects."""
from __future__ import annotations

import json

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from barometer.catalogue import EVENTS_DLQ, FINOPS_TOPIC, NOTIFY_DLQ, PROCESSOR_FUNCTION, STREAM_FAILURES_DLQ
from infra_cdk.constructs.functions import FunctionPlacement, ResourceIndex
from infra_cdk.parameters import declare_parameters
from infra_cdk.stacks.alerting import AlertingStack
from infra_cdk.stacks.analytics import AnalyticsStack
from infra_cdk.stacks.cost_controls import CostControlsStack
from infra_cdk.stacks.dashboards import DashboardsStack
from infra_cdk.stacks.datastores import DatastoresStack
from infra_cdk.stacks.disaster_recovery import DisasterRecoveryStack
from infra_cdk.stacks.ingestion import IngestionStack
from infra_cdk.stacks.networking import NetworkingStack, place_functions
from infra_cdk.stacks.orchestration import OrchestrationStack, orchestrator_resources
from infra_cdk.stacks.processing import ProcessingStack
from infra_cdk.stacks.security import SecurityStack
from infra_cdk.stacks.storage import StorageStack

NESTED_STACKS = ("Security", "Networking", "Storage", "Datastores", "Alerting", "Analytics", "Ingestion",
                 "Processing", "Dashboards", "DisasterRecovery", "CostControls", "Orchestration")


class BarometerStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, raw_config: dict, **kwargs) -> None:
        super().__init__(scope, construct_id, description="Barometer: real-time stock and weather analytics",
                         **kwargs)
        params = declare_parameters(self)
        security = SecurityStack(self, "Security", params=params)
        networking = NetworkingStack(self, "Networking", params=params, log_key=security.messaging_key)
        storage = StorageStack(self, "Storage", params=params, data_key=security.data_key)
        datastores = DatastoresStack(self, "Datastores", params=params, table_key=security.table_key,
                                     data_vpc=networking.data_vpc, dax_security_group=networking.dax_sg)
        alerting = AlertingStack(self, "Alerting", params=params, messaging_key=security.messaging_key)
        analytics = AnalyticsStack(self, "Analytics", params=params, processed_bucket=storage.processed_bucket,
                                   access_logs=storage.access_logs, data_key=security.data_key,
                                   log_key=security.messaging_key)

        resources = ResourceIndex(tables=dict(datastores.tables), buckets=dict(storage.buckets),
                                  topics=dict(alerting.topics), secrets=dict(security.secrets),
                                  table_key=security.table_key, secrets_key=security.secrets_key)
        placement = FunctionPlacement(vpc=networking.app_vpc, security_group=networking.lambda_sg,
                                      env_key=security.messaging_key,
                                      config_json=json.dumps(raw_config, separators=(",", ":"), sort_keys=True))
        ingestion = IngestionStack(self, "Ingestion", params=params, messaging_key=security.messaging_key,
                                   placement=placement, resources=resources)
        processing = ProcessingStack(self, "Processing", placement=placement, resources=resources,
                                     data_key=security.data_key, log_key=security.messaging_key,
                                     glue_database=analytics.database, glue_tables=analytics.tables)
        functions = [ingestion.api_function.function, ingestion.poller_function.function] + [
            f.function for f in processing.functions.values()]
        place_functions(functions, params)  # in the VPC only with its NAT gateway (cost profiles)
        processor = processing.functions[PROCESSOR_FUNCTION.logical_id].function
        DashboardsStack(self, "Dashboards", params=params, functions=functions, processor=processor,
                        stream=ingestion.stream,
                        queues=[resources.queues[q.logical_id] for q in (EVENTS_DLQ, STREAM_FAILURES_DLQ, NOTIFY_DLQ)],
                        api=ingestion.api, workgroup=analytics.workgroup)
        disaster_recovery = DisasterRecoveryStack(self, "DisasterRecovery", params=params, backup_key=security.data_key,
                              buckets=list(storage.buckets.values()), tables=list(datastores.tables.values()),
                              api=ingestion.api)
        CostControlsStack(self, "CostControls", params=params, finops_topic=alerting.topics[FINOPS_TOPIC.logical_id])
        # Dagster on ECS (behind EnableOrchestrator: the nested stack resource carries the Condition).
        OrchestrationStack(self, "Orchestration", params=params, app_vpc=networking.app_vpc,
                           data_vpc=networking.data_vpc, security_group=networking.ec2_sg,
                           log_key=security.messaging_key, resources=orchestrator_resources(
                               resources, storage=storage, alerting=alerting, analytics=analytics,
                               ingestion=ingestion, processing=processing, disaster_recovery=disaster_recovery,
                               keys=security, config_json=placement.config_json))

        outputs = {
            "ApiUrl": ingestion.api.url,
            "TokenUrl": f"{ingestion.domain.base_url()}/oauth2/token",
            "UserPoolId": ingestion.user_pool.user_pool_id,
            "MachineClientId": ingestion.machine_client.user_pool_client_id,
            "EventsStreamName": ingestion.stream.stream_name,
            "GlueDatabase": analytics.database.ref,
            "AthenaWorkGroup": analytics.workgroup.ref,
            "AthenaResultsBucket": analytics.results_bucket.bucket_name,
        }
        for logical_id, bucket in storage.buckets.items():
            outputs[f"{logical_id}Name"] = bucket.bucket_name
        for logical_id, table in datastores.tables.items():
            outputs[f"{logical_id}Name"] = table.table_name
        for logical_id, topic in alerting.topics.items():
            outputs[f"{logical_id}TopicArn"] = topic.topic_arn
        for logical_id, queue in alerting.sensor_queues.items():
            outputs[f"{logical_id}Url"] = queue.queue_url
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
