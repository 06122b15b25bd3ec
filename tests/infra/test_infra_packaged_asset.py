"""The packaged asset is what runs: every handler from the synthesized code asset alone, in a clean
environment (the runtime's boto3/botocore and the Powertools layer's packages, nothing of the project's
virtualenv), with the template's environment variables (references resolved to the emulator's resources),
against the emulator over HTTP, one realistic event per trigger, chained as on AWS:

schedule input -> poller -> stream;  API Gateway event with authorizer claims -> API -> stream;
the stream's own records -> processor -> tables, lake, alert topic;  the topic's message -> notifier -> Slack.

Differences from Lambda, on purpose: Python 3.11 (the project's; the runtime is 3.12), the X-Ray daemon is
absent (POWERTOOLS_TRACE_DISABLED), and BAROMETER_AWS_ENDPOINT points the SDK at the emulator.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from barometer.aws.emulator import EMULATOR_CREDENTIALS
from barometer.catalogue import (
    API_FUNCTION,
    CATALOGUE,
    CONFIG_JSON_ENV,
    ENDPOINT_ENV,
    EVENTS_STREAM,
    FUNCTIONS,
    NOTIFIER_FUNCTION,
    POLLER_FUNCTION,
    PROCESSOR_FUNCTION,
    PROVIDER_KEYS_SECRET,
    SLACK_WEBHOOK_SECRET,
    WEATHER_TOPIC,
)
from barometer_local.provision import create_table
from barometer_local.server import proxy_event
from barometer_local.webhook import WebhookReceiver

from infra.packaged_runtime import PackagedRuntime
from infra.test_infra_functions import _function

pytestmark = [pytest.mark.infra, pytest.mark.emulator]

REGION = "eu-central-1"  # apart from the local runtime's us-east-1 and the template test's eu-west-1
CLAIMS = {"scope": "barometer/events.write barometer/read", "client_id": "packaged-asset-test",
          "token_use": "access"}


def _aws(emulator, service: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        **{k.lower(): v for k, v in EMULATOR_CREDENTIALS.environment().items()
                           if k.startswith("AWS_") and "REGION" not in k})


@pytest.fixture(scope="module")
def runtime(synthesized, tmp_path_factory):
    _, props = _function(synthesized, FUNCTIONS[0])
    asset = synthesized.outdir / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
    return PackagedRuntime.build(asset, tmp_path_factory.mktemp("packaged"))


@dataclass
class Cloud:
    """The catalogue's resources in the emulator, under this module's own names."""

    physical: dict[str, str]  # env var -> what CloudFormation's reference resolves to (name, or ARN)
    sensor_queue: str  # URL of a queue subscribed to WeatherAlerts (raw delivery): what SNS delivered
    receiver: WebhookReceiver


@pytest.fixture(scope="module")
def cloud(emulator, tmp_path_factory):
    suffix = uuid.uuid4().hex[:8]
    ddb, s3, sqs, sns, secrets, firehose, kinesis = (
        _aws(emulator, s) for s in ("dynamodb", "s3", "sqs", "sns", "secretsmanager", "firehose", "kinesis"))
    physical = {}
    for table in CATALOGUE.tables:
        physical[table.env_var] = f"{table.local_name}-{suffix}"
        create_table(ddb, table, physical[table.env_var])
    for bucket in CATALOGUE.buckets:
        physical[bucket.env_var] = f"{bucket.local_name}-{suffix}"
        s3.create_bucket(Bucket=physical[bucket.env_var], CreateBucketConfiguration={"LocationConstraint": REGION})
    for queue in CATALOGUE.queues:
        physical[queue.env_var] = f"{queue.local_name}-{suffix}"
        sqs.create_queue(QueueName=physical[queue.env_var])
    for topic in CATALOGUE.topics:
        physical[topic.env_var] = sns.create_topic(Name=f"{topic.local_name}-{suffix}")["TopicArn"]
    sensor = sqs.create_queue(QueueName=f"weather-sensor-{suffix}")["QueueUrl"]
    sensor_arn = sqs.get_queue_attributes(QueueUrl=sensor, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=physical[WEATHER_TOPIC.env_var], Protocol="sqs", Endpoint=sensor_arn,
                  Attributes={"RawMessageDelivery": "true"})
    physical[EVENTS_STREAM.env_var] = f"{EVENTS_STREAM.local_name}-{suffix}"
    kinesis.create_stream(StreamName=physical[EVENTS_STREAM.env_var], ShardCount=EVENTS_STREAM.local_shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=physical[EVENTS_STREAM.env_var], WaiterConfig={"Delay": 0.2})
    for delivery in CATALOGUE.deliveries:
        if delivery.env_var:
            physical[delivery.env_var] = f"{delivery.local_name}-{suffix}"
            firehose.create_delivery_stream(
                DeliveryStreamName=physical[delivery.env_var], DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration={
                    "RoleARN": "arn:aws:iam::000000000000:role/firehose", "Prefix": delivery.prefix,
                    "BucketARN": f"arn:aws:s3:::{physical[CATALOGUE.by_logical_id(delivery.bucket).env_var]}"})
    with WebhookReceiver(tmp_path_factory.mktemp("webhook")) as receiver:
        values = {SLACK_WEBHOOK_SECRET.logical_id: {"url": receiver.url}, PROVIDER_KEYS_SECRET.logical_id: {}}
        for secret in CATALOGUE.secrets:  # by ARN, as the template passes them
            physical[secret.env_var] = secrets.create_secret(
                Name=f"{secret.local_name}-{suffix}", SecretString=json.dumps(values[secret.logical_id]))["ARN"]
        yield Cloud(physical, sensor, receiver)


def _environment(synthesized, spec, emulator, cloud: Cloud) -> dict[str, str]:
    """The function's environment as the template declares it, each reference resolved to the emulator's
    resource as CloudFormation resolves it (Ref of a secret or topic: its ARN; of the rest: its name)."""
    _, props = _function(synthesized, spec)
    env = {name: value if isinstance(value, str) else cloud.physical[name]
           for name, value in props["Environment"]["Variables"].items()}
    assert set(env) == {CONFIG_JSON_ENV, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} | {
        CATALOGUE.by_logical_id(r).env_var for r in spec.uses}
    return {**env, **EMULATOR_CREDENTIALS.environment(), "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            ENDPOINT_ENV: emulator.url, "POWERTOOLS_TRACE_DISABLED": "true"}


def _invoke(runtime, synthesized, spec, emulator, cloud: Cloud, events: list[dict]) -> list:
    outcome = runtime.invoke(spec.handler, events, _environment(synthesized, spec, emulator, cloud),
                             function_name=spec.local_name, memory_mb=spec.memory_mb)
    assert outcome["error"] is None, outcome["error"] + outcome["log"][-3000:]
    # Nothing came from the project's own environment: the asset, the clean environment, the standard library
    assert outcome["leaks"] == [], outcome["leaks"]
    return outcome["results"]


def _stream_records(emulator, cloud: Cloud) -> dict[str, list[dict]]:
    """Every record on the events stream, per shard, as Lambda's Kinesis event carries them."""
    kinesis, name = _aws(emulator, "kinesis"), cloud.physical[EVENTS_STREAM.env_var]
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    batches = {}
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        batches[shard["ShardId"]] = [{
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                        "sequenceNumber": r["SequenceNumber"], "data": base64.b64encode(r["Data"]).decode(),
                        "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventName": "aws:kinesis:record",
            "eventID": f"{shard['ShardId']}:{r['SequenceNumber']}", "awsRegion": REGION, "eventSourceARN": arn,
            "invokeIdentityArn": f"arn:aws:iam::000000000000:role/{PROCESSOR_FUNCTION.local_name}"}
            for r in records]
    return batches


def _sns_event(emulator, cloud: Cloud) -> dict:
    """The alerts published to WeatherAlerts, read back from a raw-delivery subscription, as SNS hands
    them to a subscribed function."""
    messages = _aws(emulator, "sqs").receive_message(QueueUrl=cloud.sensor_queue, MaxNumberOfMessages=10,
                                                      WaitTimeSeconds=1)
    topic_arn = cloud.physical[WEATHER_TOPIC.env_var]
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                "TopicArn": topic_arn, "Subject": None, "Message": m["Body"],
                "Timestamp": datetime.now(UTC).isoformat(), "SignatureVersion": "1", "MessageAttributes": {}}}
        for m in messages.get("Messages", [])]}


def _body(response: dict) -> dict:
    return json.loads(response["body"])


def test_every_handler_runs_from_the_packaged_asset_alone(synthesized, runtime, cloud, emulator):
    now = datetime.now(UTC).replace(microsecond=0)
    # Given the schedule's exact input, When the poller runs, Then it polls every configured symbol and city
    (schedule,) = synthesized.resources("Ingestion", "AWS::Scheduler::Schedule").values()
    (polled,) = _invoke(runtime, synthesized, POLLER_FUNCTION, emulator, cloud,
                        [json.loads(schedule["Properties"]["Target"]["Input"])])
    assert polled["failed"] == [] and polled["put"] == polled["polled"] > 0
    # Given a client's POST through API Gateway's Cognito authorizer (a heat wave: later than the poll's events), When the API runs, Then both are accepted
    heat = {"kind": "weather", "city": "London", "ts": (now + timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
            "temp_c": 45.0, "event_id": f"heat-{uuid.uuid4().hex[:8]}"}
    posted = proxy_event("POST", "/v1/events", {}, {"content-type": "application/json"},
                         json.dumps({"events": [heat]}), CLAIMS)
    (accepted,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud, [posted])
    assert accepted["statusCode"] == 200, accepted
    assert _body(accepted) == {"accepted": 1, "failed": []}
    # Given the stream's own records, When the processor takes each shard's batch, Then none fails
    batches = [{"Records": records} for records in _stream_records(emulator, cloud).values() if records]
    assert sum(len(b["Records"]) for b in batches) == polled["put"] + 1
    results = _invoke(runtime, synthesized, PROCESSOR_FUNCTION, emulator, cloud, batches)
    assert results == [{"batchItemFailures": []}] * len(batches)
    # And the API reads back what the processor wrote (LatestTable through its read-only role's calls)
    read = proxy_event("GET", "/v1/latest/weather/London", {}, {}, None, CLAIMS)
    (latest,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud, [read])
    assert latest["statusCode"] == 200, latest
    assert _body(latest)["event_id"] == heat["event_id"] and _body(latest)["fields"]["temp_c"] == 45.0, latest
    # Given the heat alert the processor published, When the notifier gets it from SNS, Then Slack has it once
    alerts = _sns_event(emulator, cloud)
    assert [json.loads(r["Sns"]["Message"])["rule"] for r in alerts["Records"]] == ["heat"]
    _invoke(runtime, synthesized, NOTIFIER_FUNCTION, emulator, cloud, [alerts])
    (post,) = cloud.receiver.wait_for_posts(1)
    assert "London" in json.dumps(post)


def test_the_clean_environment_holds_no_project_package(runtime):
    site = {p.name.split("-")[0].lower() for p in (runtime.venv / "lib").glob("python3*/site-packages/*.dist-info")}
    assert "barometer" not in site and "moto" not in site and "pyyaml" not in site
    assert site >= {"boto3", "botocore", "aws_lambda_powertools"}
