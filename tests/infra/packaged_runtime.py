"""A stand-in for the Lambda runtime: the packaged code asset alone, in a virtual environment that holds only
what the python runtime (boto3, botocore and their dependencies) and the Powertools layer provide, at the
versions uv.lock pins. Handlers run in a subprocess, with an environment given whole (nothing inherited),
and report every module they imported from outside the asset, that environment and the standard library.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from barometer.catalogue import (
    CATALOGUE,
    EVENTS_STREAM,
    PROCESSOR_FUNCTION,
    PROVIDER_KEYS_SECRET,
    SLACK_WEBHOOK_SECRET,
    WEATHER_TOPIC,
)
from barometer_local.provision import create_table
from infra_cdk.constructs.code_asset import REPO_ROOT, locked_version

UV = REPO_ROOT / ".venv-tools" / "bin" / "uv"
# The python runtime's SDK and its dependencies.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# The Powertools layer: the library, its dependency and the tracer's X-Ray SDK.
LAYER_DISTRIBUTIONS = ("aws-lambda-powertools", "typing-extensions", "aws-xray-sdk", "wrapt")

RUNNER = '''
import importlib, json, os, sys, sysconfig, traceback

request = json.loads(open(sys.argv[1], encoding="utf-8").read())
module, _, name = request["handler"].rpartition(".")


class Context:
    function_name = request["function_name"]
    memory_limit_in_mb = request["memory_mb"]
    invoked_function_arn = f"arn:aws:lambda:{os.environ['AWS_REGION']}:000000000000:function:{function_name}"
    aws_request_id = "packaged-asset-test"

    def get_remaining_time_in_millis(self):
        return 30_000


outcome = {"results": [], "error": None}
try:
    handler = getattr(importlib.import_module(module), name)
    for event in request["events"]:
        outcome["results"].append(handler(event, Context()))
except BaseException:
    outcome["error"] = traceback.format_exc()
roots = [os.path.realpath(p) + os.sep for p in
         (request["asset"], sys.prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])]
runner = os.path.realpath(__file__)  # this script (as __main__ and under any alias a library gives it)
outcome["leaks"] = sorted({os.path.realpath(m.__file__) for m in list(sys.modules.values())
                           if getattr(m, "__file__", None) and os.path.realpath(m.__file__) != runner
                           and not any(os.path.realpath(m.__file__).startswith(r) for r in roots)})
outcome["sys_path"] = sys.path
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(outcome, out, default=str)
'''


class PackagedRuntimeError(RuntimeError):
    """The clean environment could not be built."""


@dataclass(frozen=True)
class PackagedRuntime:
    asset: Path  # a copy of the code asset, alone in its folder (the function's /var/task)
    venv: Path
    workdir: Path

    @classmethod
    def build(cls, asset_source: Path, workdir: Path) -> PackagedRuntime:
        asset = workdir / "task"
        shutil.copytree(asset_source, asset)
        venv = workdir / "runtime"
        pins = [f"{name}=={locked_version(name)}" for name in RUNTIME_DISTRIBUTIONS + LAYER_DISTRIBUTIONS]
        for command in ([str(UV), "venv", "--quiet", "--python", "3.11", str(venv)],
                        [str(UV), "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"),
                         *pins]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0:
                raise PackagedRuntimeError(f"{' '.join(command[:3])}: {done.stderr.strip()}")
        (workdir / "runner.py").write_text(RUNNER, encoding="utf-8")
        return cls(asset, venv, workdir)

    def invoke(self, handler: str, events: list[dict], environment: dict[str, str], *, function_name: str,
               memory_mb: int) -> dict[str, Any]:
        """Run `handler` on each event in turn (one warm container), with exactly `environment` (plus the
        asset as the task root on the path, as Lambda puts it)."""
        request = self.workdir / f"{function_name}-request.json"
        result = self.workdir / f"{function_name}-result.json"
        request.write_text(json.dumps({"handler": handler, "events": events, "asset": str(self.asset),
                                       "function_name": function_name, "memory_mb": memory_mb}), encoding="utf-8")
        env = {**environment, "PYTHONPATH": str(self.asset), "LAMBDA_TASK_ROOT": str(self.asset),
               "PATH": os.defpath, "PYTHONNOUSERSITE": "1"}
        done = subprocess.run([str(self.venv / "bin" / "python"), "-s", str(self.workdir / "runner.py"),
                               str(request), str(result)],
                              cwd=self.asset, env=env, capture_output=True, text=True, timeout=120, check=False)
        if not result.exists():
            raise AssertionError(f"{handler} died: {done.returncode}\n{done.stderr[-4000:]}")
        outcome = json.loads(result.read_text(encoding="utf-8"))
        outcome["log"] = done.stdout + done.stderr
        return outcome


def aws_client(endpoint: str, region: str, credentials: dict[str, str]) -> Callable[[str], Any]:
    """A client factory for the emulator with these credentials (AWS_ACCESS_KEY_ID, ... variables)."""
    keys = {k.lower(): v for k, v in credentials.items()
            if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    return lambda service: boto3.client(service, endpoint_url=endpoint, region_name=region, **keys)


@dataclass
class Cloud:
    """The catalogue's resources in the emulator, under one test module's own names."""

    physical: dict[str, str]  # env var -> what CloudFormation's reference resolves to (name, or ARN)
    arns: dict[str, str]  # logical id -> ARN
    sensor_queue: str  # URL of a queue subscribed to WeatherAlerts (raw delivery): what SNS delivered


def provision_cloud(client: Callable[[str], Any], region: str, webhook_url: str) -> Cloud:
    """Every catalogue resource a function uses, named with a fresh suffix (the emulator is shared)."""
    suffix = uuid.uuid4().hex[:8]
    ddb, s3, sqs, sns, secrets, firehose, kinesis = (
        client(s) for s in ("dynamodb", "s3", "sqs", "sns", "secretsmanager", "firehose", "kinesis"))
    physical, arns = {}, {}
    for table in CATALOGUE.tables:
        physical[table.env_var] = f"{table.local_name}-{suffix}"
        create_table(ddb, table, physical[table.env_var])
        arns[table.logical_id] = ddb.describe_table(TableName=physical[table.env_var])["Table"]["TableArn"]
    for bucket in CATALOGUE.buckets:
        physical[bucket.env_var] = f"{bucket.local_name}-{suffix}"
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=physical[bucket.env_var], **location)
        arns[bucket.logical_id] = f"arn:aws:s3:::{physical[bucket.env_var]}"
    for queue in CATALOGUE.queues:
        physical[queue.env_var] = f"{queue.local_name}-{suffix}"
        url = sqs.create_queue(QueueName=physical[queue.env_var])["QueueUrl"]
        arns[queue.logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
    for topic in CATALOGUE.topics:
        physical[topic.env_var] = arns[topic.logical_id] = sns.create_topic(
            Name=f"{topic.local_name}-{suffix}")["TopicArn"]
    sensor = sqs.create_queue(QueueName=f"weather-sensor-{suffix}")["QueueUrl"]
    sensor_arn = sqs.get_queue_attributes(QueueUrl=sensor, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=physical[WEATHER_TOPIC.env_var], Protocol="sqs", Endpoint=sensor_arn,
                  Attributes={"RawMessageDelivery": "true"})
    physical[EVENTS_STREAM.env_var] = f"{EVENTS_STREAM.local_name}-{suffix}"
    kinesis.create_stream(StreamName=physical[EVENTS_STREAM.env_var], ShardCount=EVENTS_STREAM.local_shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=physical[EVENTS_STREAM.env_var], WaiterConfig={"Delay": 0.2})
    arns[EVENTS_STREAM.logical_id] = kinesis.describe_stream_summary(StreamName=physical[EVENTS_STREAM.env_var])[
        "StreamDescriptionSummary"]["StreamARN"]
    for delivery in CATALOGUE.deliveries:
        if delivery.env_var:
            physical[delivery.env_var] = f"{delivery.local_name}-{suffix}"
            arns[delivery.logical_id] = firehose.create_delivery_stream(
                DeliveryStreamName=physical[delivery.env_var], DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration={
                    "RoleARN": "arn:aws:iam::000000000000:role/firehose", "Prefix": delivery.prefix,
                    "BucketARN": arns[delivery.bucket]})["DeliveryStreamARN"]
    values = {SLACK_WEBHOOK_SECRET.logical_id: {"url": webhook_url}, PROVIDER_KEYS_SECRET.logical_id: {}}
    for secret in CATALOGUE.secrets:  # by ARN, as the template passes them
        physical[secret.env_var] = arns[secret.logical_id] = secrets.create_secret(
            Name=f"{secret.local_name}-{suffix}", SecretString=json.dumps(values[secret.logical_id]))["ARN"]
    return Cloud(physical, arns, sensor)


def stream_batches(kinesis, stream_name: str, region: str, wanted: Callable[[bytes], bool] = lambda data: True
                   ) -> list[dict]:
    """The stream's records (those `wanted`), one Lambda Kinesis event per shard, as the mapping hands them."""
    arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamARN"]
    batches = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = [r for r in kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
                   if wanted(r["Data"])]
        if records:
            batches.append({"Records": [{
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                            "sequenceNumber": r["SequenceNumber"], "data": base64.b64encode(r["Data"]).decode(),
                            "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
                "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventName": "aws:kinesis:record",
                "eventID": f"{shard['ShardId']}:{r['SequenceNumber']}", "awsRegion": region,
                "eventSourceARN": arn,
                "invokeIdentityArn": f"arn:aws:iam::000000000000:role/{PROCESSOR_FUNCTION.local_name}"}
                for r in records]})
    return batches
