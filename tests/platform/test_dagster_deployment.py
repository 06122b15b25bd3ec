"""The deployment in the graph: external assets derived from the catalogue, with lineage into the lake, observed
from the emulator over HTTP (DescribeStreamSummary, DescribeTable, DescribeDeliveryStream, S3 bucket settings,
CloudWatch GetMetricData), and where the emulator has no such resource (Lambda functions, a Kinesis-sourced
delivery) with recorded responses in the shapes AWS documents (botocore's Stubber validates them)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import dagster as dg
import pytest
from botocore.stub import Stubber
from platform_helpers import create_table_like, new_bucket

from barometer import catalogue as c
from barometer.aws import EMULATOR_ACCOUNT
from barometer.lake import LAKE_TABLES
from barometer_local.emulator import REGION
from platform_assets.definitions import build_definitions, defs
from platform_assets.deployment import DEPLOYED_KEYS, deployment_key
from platform_assets.deployment.assets import LOCAL_RUNTIME, NOT_FOUND
from platform_assets.deployment.describe import describe_delivery, describe_function, fault
from platform_assets.deployment.graph import deployed
from platform_assets.resources import BarometerResource

pytestmark = pytest.mark.emulator


def key(text: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(text)


def test_every_deployed_resource_of_the_catalogue_is_an_asset_of_the_deployment_group():
    catalogue = c.CATALOGUE
    resources = (*catalogue.streams, *catalogue.functions, *catalogue.tables, *catalogue.deliveries,
                 *catalogue.buckets)
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs() if spec.group_name == "deployment"}
    assert set(specs) == {deployment_key(r) for r in resources} == set(DEPLOYED_KEYS)
    assert specs[key("deployment/events_stream")].metadata["catalogue_name"] == "barometer-events"
    assert specs[key("deployment/processor_function")].kinds == {"aws", "lambda"}


def test_lineage_runs_from_the_feeds_through_the_stream_and_the_processor_into_the_lake():
    graph = defs.resolve_asset_graph()

    def parents(text: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(key(text)).parent_keys}

    assert parents("deployment/events_stream") == {"ingestion/stock_feed", "ingestion/weather_feed",
                                                   "deployment/api_function", "deployment/poller_function"}
    assert parents("deployment/processor_function") == {"deployment/events_stream"}
    for table in ("metrics_table", "latest_table"):
        assert parents(f"deployment/{table}") == {"deployment/processor_function"}
    # the notifier keeps its delivery ledger in AlertsTable (UpdateItem)
    assert parents("deployment/alerts_table") == {"deployment/processor_function", "deployment/notifier_function"}
    for table in LAKE_TABLES:
        assert parents(f"deployment/processed_{table}_delivery") == {"deployment/processor_function"}
        assert parents(f"lake/{table}") == {f"deployment/processed_{table}_delivery"}
    # the raw delivery reads the stream itself and writes the raw zone (the processor quarantines there)
    assert parents("deployment/raw_delivery") == {"deployment/events_stream"}
    assert parents("deployment/raw_bucket") == {"deployment/raw_delivery", "deployment/processor_function"}
    assert parents("deployment/processed_bucket") == {f"deployment/processed_{t}_delivery" for t in LAKE_TABLES}


def test_the_graph_follows_the_catalogue_not_a_list_of_names():
    # Given a catalogue with one more table that the processor writes
    extra = replace(c.METRICS_TABLE, logical_id="RollupsTable", local_name="barometer-rollups",
                    env_var="BAROMETER_ROLLUPS_TABLE")
    processor = replace(c.PROCESSOR_FUNCTION, access=(*c.PROCESSOR_FUNCTION.access,
                                                      c.Access("RollupsTable", c.READ_WRITE)))
    catalogue = replace(c.CATALOGUE, tables=(*c.TABLES, extra),
                        functions=tuple(processor if f is c.PROCESSOR_FUNCTION else f for f in c.FUNCTIONS))
    # When the deployment's assets are derived from it
    parts = {part.key.to_user_string(): part for part in deployed(catalogue)}
    # Then the table is there, downstream of the processor, and every part comes after its parents
    assert parts["deployment/rollups_table"].deps == (key("deployment/processor_function"),)
    order = list(parts)
    assert all(order.index(d.to_user_string()) < order.index(name)
               for name, part in parts.items() for d in part.deps if d.to_user_string() in parts)


def put_metric(cloudwatch, namespace: str, dimension: str, name: str, metric: str, values: list[float],
               unit: str = "Count") -> None:
    # A few seconds in the past: the job reads up to its own "now", which can fall within the same second as a
    # datum stamped "now" here: 1 run in 3 then missed it (the datum counted as after the window).
    now = datetime.now(UTC) - timedelta(seconds=5)
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": [{"Name": dimension, "Value": name}], "Unit": unit, "Value": value,
         "Timestamp": now - timedelta(minutes=n)} for n, value in enumerate(values)])


@pytest.fixture
def deployment(emulator, provisioned):
    """Tables, buckets and function names of this test, metrics in the emulator's CloudWatch for them, and the
    catalogue's stream and deliveries (provisioned)."""
    suffix = uuid.uuid4().hex[:8]
    names = {spec.logical_id: create_table_like(emulator, spec, f"t-dep-{spec.logical_id}-{suffix}")
             for spec in c.TABLES}
    names.update({spec.logical_id: new_bucket(emulator, spec.logical_id.lower()) for spec in c.BUCKETS})
    names.update({spec.logical_id: f"t-{spec.local_name}-{suffix}" for spec in c.FUNCTIONS})
    ddb = boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION)
    for n in range(3):
        ddb.put_item(TableName=names["MetricsTable"], Item={"pk": {"S": f"quote#K{n}"}, "sk": {"S": "s"}})
    cloudwatch = boto3.client("cloudwatch", endpoint_url=emulator.url, region_name=REGION)
    processor = names["ProcessorFunction"]
    put_metric(cloudwatch, "AWS/Lambda", "FunctionName", processor, "Errors", [2, 3])
    put_metric(cloudwatch, "AWS/Lambda", "FunctionName", processor, "Throttles", [1])
    put_metric(cloudwatch, "AWS/Lambda", "FunctionName", processor, "IteratorAge", [1500, 4200, 900], "Milliseconds")
    put_metric(cloudwatch, "AWS/DynamoDB", "TableName", names["MetricsTable"], "WriteThrottleEvents", [4])
    return names


def observations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): {k: v.value for k, v in e.event_specific_data.asset_observation.metadata.items()}
            for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"}


def availability(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {"available"}  # the DR checks keep their own cadence
    return {e.asset_key.to_user_string(): e for e in evaluations}


def test_the_deployment_is_observed_from_the_emulator(emulator, deployment):
    barometer = BarometerResource(environment="local", endpoint=emulator.url, region=REGION, name_overrides=deployment)
    # When the observe_deployment job runs, as its schedule does
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": barometer}).resolve_job_def("observe_deployment").execute_in_process(
            instance=instance)
        stored = instance.fetch_observations(key("deployment/metrics_table"), limit=1).records
    # Then every part of the deployment was observed, and the observation is in the instance
    assert result.success
    seen = observations(result)
    assert set(seen) == {k.to_user_string() for k in DEPLOYED_KEYS}
    assert stored and stored[0].asset_observation.metadata["item_count"].value == 3
    # the stream and the tables as AWS describes them
    stream = seen["deployment/events_stream"]
    assert (stream["status"], stream["open_shards"], stream["retention_hours"]) == ("ACTIVE", 2, 24)
    table = seen["deployment/metrics_table"]
    assert (table["name"], table["status"], table["item_count"]) == (deployment["MetricsTable"], "ACTIVE", 3)
    assert (table["write_throttles"], table["read_throttles"]) == (4.0, 0.0)
    # the CloudWatch metrics of the window: sums of counts, maxima of ages, none for a metric without data
    processor = seen["deployment/processor_function"]
    assert (processor["errors"], processor["throttles"], processor["iterator_age_ms_max"]) == (5.0, 1.0, 4200.0)
    assert processor["invocations"] == 0.0 and processor["duration_ms_max"] is None
    assert processor["status"] == LOCAL_RUNTIME and processor["metrics_window_min"] == 15
    assert "iterator_age_ms_max" not in seen["deployment/api_function"]  # no stream mapping
    # the deliveries the emulator holds, and the raw one it does not (the local runtime reads the stream)
    quotes = seen["deployment/processed_quotes_delivery"]
    assert (quotes["status"], quotes["type"]) == ("ACTIVE", "DirectPut")
    assert seen["deployment/raw_delivery"]["status"] == NOT_FOUND
    bucket = seen["deployment/raw_bucket"]
    assert (bucket["name"], bucket["status"], bucket["replication_rules"]) == (deployment["RawBucket"], "AVAILABLE", 0)
    # and each part's `available` check: passed where the emulator serves it, a WARN saying why where it cannot
    checks = availability(result)
    assert set(checks) == set(seen)
    failing = {name for name, check in checks.items() if not check.passed}
    assert failing == {"deployment/raw_delivery"} | {f"deployment/{f}_function" for f in
                                                     ("api", "poller", "processor", "notifier")}
    assert all(checks[name].severity == dg.AssetCheckSeverity.WARN for name in failing)
    assert checks["deployment/processor_function"].metadata["problem"].value.startswith("not described locally")
    assert checks["deployment/raw_delivery"].metadata["problem"].value.startswith("not deployed: ")


def test_on_aws_a_missing_resource_fails_its_check_and_the_others_are_still_observed(emulator, deployment):
    # Given the AWS branch against the emulator, which holds none of the (test-named) functions
    barometer = BarometerResource(environment="aws", endpoint=emulator.url, region=REGION, name_overrides=deployment)
    # When the deployment is observed
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": barometer}).resolve_job_def("observe_deployment").execute_in_process(
            instance=instance)
    # Then the run succeeds (the lake downstream is never held back) and every part was recorded
    assert result.success
    seen = observations(result)
    assert set(seen) == {k.to_user_string() for k in DEPLOYED_KEYS}
    assert seen["deployment/processor_function"]["status"] == NOT_FOUND
    assert seen["deployment/metrics_table"]["status"] == "ACTIVE"
    # and each missing one fails its check with ERROR severity (an OpsAlert once it starts failing)
    checks = availability(result)
    for spec in c.FUNCTIONS:
        check = checks[f"deployment/{spec.logical_id.removesuffix('Function').lower()}_function"]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert check.metadata["problem"].value.startswith("not deployed: ")
    assert checks["deployment/metrics_table"].passed and checks["deployment/events_stream"].passed


def offline_client(service: str):
    """A client that never sends: the Stubber answers (dummy endpoint, dummy credentials)."""
    return boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_a_function_and_its_stream_mapping_as_lambda_describes_them():
    lambda_client = offline_client("lambda")
    name = "barometer-processor"
    arn = f"arn:aws:lambda:{REGION}:{EMULATOR_ACCOUNT}:function:{name}"
    with Stubber(lambda_client) as stubber:
        stubber.add_response("get_function_configuration", {
            "FunctionName": name, "FunctionArn": arn, "Runtime": "python3.11", "MemorySize": 1769, "Timeout": 60,
            "LastModified": "2026-11-30T10:00:00.000+0000", "State": "Active", "LastUpdateStatus": "Successful"},
            {"FunctionName": name})
        stubber.add_response("list_event_source_mappings", {"EventSourceMappings": [{
            "UUID": "6d4c5a0e-0000-4000-8000-000000000001", "FunctionArn": arn, "State": "Enabled",
            "EventSourceArn": f"arn:aws:kinesis:{REGION}:{EMULATOR_ACCOUNT}:stream/barometer-events",
            "LastProcessingResult": "PROBLEM: Function call failed"}]}, {"FunctionName": name})
        described = describe_function(lambda_client, name, mapped=True)
        stubber.assert_no_pending_responses()
    assert described["status"] == "Active" and described["memory_mb"] == 1769
    assert (described["mapping_state"], described["mapping_last_result"]) == ("Enabled", "PROBLEM: Function call failed")
    # a mapping that cannot deliver makes the function unavailable, whatever its own state
    assert fault("function", described) == "event source mapping: PROBLEM: Function call failed"


def test_a_kinesis_sourced_delivery_as_firehose_describes_it():
    firehose = offline_client("firehose")
    stream_arn = f"arn:aws:kinesis:{REGION}:{EMULATOR_ACCOUNT}:stream/barometer-events"
    with Stubber(firehose) as stubber:
        stubber.add_response("describe_delivery_stream", {"DeliveryStreamDescription": {
            "DeliveryStreamName": "barometer-raw",
            "DeliveryStreamARN": f"arn:aws:firehose:{REGION}:{EMULATOR_ACCOUNT}:deliverystream/barometer-raw",
            "DeliveryStreamStatus": "ACTIVE", "DeliveryStreamType": "KinesisStreamAsSource", "VersionId": "3",
            "FailureDescription": {"Type": "KMS_ACCESS_DENIED", "Details": "key policy denies firehose"},
            "Source": {"KinesisStreamSourceDescription": {"KinesisStreamARN": stream_arn}},
            "Destinations": [{"DestinationId": "destinationId-000000000001", "ExtendedS3DestinationDescription": {
                "RoleARN": f"arn:aws:iam::{EMULATOR_ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::raw-bucket",
                "Prefix": "raw/", "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
                "CompressionFormat": "GZIP", "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"}}}],
            "HasMoreDestinations": False}}, {"DeliveryStreamName": "barometer-raw"})
        described = describe_delivery(firehose, "barometer-raw")
    assert (described["status"], described["type"]) == ("ACTIVE", "KinesisStreamAsSource")
    assert described["source_stream"] == stream_arn and described["destination"] == "arn:aws:s3:::raw-bucket/raw/"
    assert described["failure"] == "KMS_ACCESS_DENIED: key policy denies firehose"
    # an ACTIVE delivery that cannot write (records pile up) is not available
    assert fault("delivery", described) == "delivery failure KMS_ACCESS_DENIED: key policy denies firehose"
    assert fault("delivery", {**described, "failure": "none"}) is None


def test_without_a_platform_the_observation_fails_once_saying_how_to_start_one(tmp_path, monkeypatch):
    # Given no local platform: no endpoint in the environment, no platform.json in the state folder
    for variable in ("BAROMETER_AWS_ENDPOINT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    # When the deployment is observed
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": BarometerResource(environment="local")}).resolve_job_def(
            "observe_deployment").execute_in_process(instance=instance, raise_on_error=False)
    # Then nothing is recorded and the run fails with the reason, once
    assert not result.success and observations(result) == {}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "barometer up" in failure.step_failure_data.error.cause.message
