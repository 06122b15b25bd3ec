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

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from barometer.aws.emulator import EMULATOR_CREDENTIALS
from barometer.catalogue import (
    API_FUNCTION,
    CATALOGUE,
    CONFIG_JSON_ENV,
    ENDPOINT_ENV,
    EVENTS_STREAM,
    NOTIFIER_FUNCTION,
    POLLER_FUNCTION,
    PROCESSOR_FUNCTION,
    WEATHER_TOPIC,
)
from barometer_local.server import proxy_event
from infra.packaged_runtime import Cloud, aws_client, provision_cloud, stream_batches
from infra.test_infra_functions import _function

pytestmark = [pytest.mark.infra, pytest.mark.emulator]

REGION = "eu-central-1"  # apart from the local runtime's us-east-1 and the template test's eu-west-1
CLAIMS = {"scope": "barometer/events.write barometer/read", "client_id": "packaged-asset-test",
          "token_use": "access"}


def _aws(emulator, service: str):
    return aws_client(emulator.url, REGION, EMULATOR_CREDENTIALS.environment())(service)


@pytest.fixture(scope="module")
def cloud(emulator, receiver) -> Cloud:
    return provision_cloud(aws_client(emulator.url, REGION, EMULATOR_CREDENTIALS.environment()), REGION,
                           receiver.url)


def _environment(synthesized, spec, emulator, cloud: Cloud, credentials: dict[str, str] | None = None
                 ) -> dict[str, str]:
    """The function's environment as the template declares it, each reference resolved to the emulator's
    resource as CloudFormation resolves it (Ref of a secret or topic: its ARN; of the rest: its name)."""
    _, props = _function(synthesized, spec)
    env = {name: value if isinstance(value, str) else cloud.physical[name]
           for name, value in props["Environment"]["Variables"].items()}
    assert set(env) == {CONFIG_JSON_ENV, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} | {
        CATALOGUE.by_logical_id(r).env_var for r in spec.uses}
    credentials = credentials or EMULATOR_CREDENTIALS.environment()
    return {**env, **credentials, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            ENDPOINT_ENV: emulator.url, "POWERTOOLS_TRACE_DISABLED": "true"}


def _invoke(runtime, synthesized, spec, emulator, cloud: Cloud, events: list[dict],
            credentials: dict[str, str] | None = None) -> list:
    outcome = runtime.invoke(spec.handler, events, _environment(synthesized, spec, emulator, cloud, credentials),
                             function_name=spec.local_name, memory_mb=spec.memory_mb)
    assert outcome["error"] is None, outcome["error"] + outcome["log"][-3000:]
    # Nothing came from the project's own environment: the asset, the clean environment, the standard library
    assert outcome["leaks"] == [], outcome["leaks"]
    return outcome["results"]


def _sns_event(emulator, cloud: Cloud, sqs=None) -> dict:
    """The alerts published to WeatherAlerts, read back from a raw-delivery subscription, as SNS hands
    them to a subscribed function."""
    messages = (sqs or _aws(emulator, "sqs")).receive_message(QueueUrl=cloud.sensor_queue, MaxNumberOfMessages=10,
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


def test_every_handler_runs_from_the_packaged_asset_alone(synthesized, runtime, cloud, emulator, receiver):
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
    batches = stream_batches(_aws(emulator, "kinesis"), cloud.physical[EVENTS_STREAM.env_var], REGION)
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
    (post,) = receiver.wait_for_posts(1)
    assert "London" in json.dumps(post)


def test_the_clean_environment_holds_no_project_package(runtime):
    site = {p.name.split("-")[0].lower() for p in (runtime.venv / "lib").glob("python3*/site-packages/*.dist-info")}
    assert "barometer" not in site and "moto" not in site and "pyyaml" not in site
    assert site >= {"boto3", "botocore", "aws_lambda_powertools"}
