"""The local Lambda Invoke API (barometer_local.lambda_api) answered over real HTTP to boto3's lambda client.

The functions are this module's own handlers (the catalogue's need the emulator: the Dagster poll job
test invokes the poller through the same server).
"""
from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore.config import Config

from barometer.catalogue import FunctionSpec
from barometer_local.invoker import MetricSink
from barometer_local.lambda_api import TAIL_BYTES, LambdaApiServer, log_tail


def echo(event, context):
    print(f"echo got {sorted(event)}")
    return {"event": event, "function": context.function_name}


def fail(event, context):
    print("about to fail")
    raise ValueError(f"no {event.get('what', 'thing')} today")


def chatty(event, context):
    for i in range(400):
        print(f"line {i:03d} é")  # 2-byte characters: a 4 KB cut may fall inside one


def unserialisable(event, context):
    return {"when": object()}


def spec(name: str, handler: str) -> FunctionSpec:
    return FunctionSpec(f"T{name}", f"t-{name}", f"{__name__}.{handler}", memory_mb=128, timeout_s=10, access=())


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.data: list[dict] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict]) -> None:
        self.data += [{"Namespace": Namespace, **d} for d in MetricData]


@pytest.fixture(scope="module")
def served():
    cloudwatch = RecordingCloudWatch()
    metrics = MetricSink(cloudwatch)
    server = LambdaApiServer(metrics, [spec("echo", "echo"), spec("fail", "fail"), spec("chatty", "chatty"),
                                       spec("unserialisable", "unserialisable")])
    url = server.start("127.0.0.1", 0)
    client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    yield client, metrics, cloudwatch
    server.stop()


def tail(response: dict) -> str:
    return base64.b64decode(response["LogResult"]).decode("utf-8")


def test_a_function_answers_its_result_by_name_or_arn(served):
    client, _, _ = served
    for name in ("t-echo", "arn:aws:lambda:us-east-1:123456789012:function:t-echo",
                 "arn:aws:lambda:us-east-1:123456789012:function:t-echo:$LATEST"):
        # When the function is invoked synchronously
        response = client.invoke(FunctionName=name, InvocationType="RequestResponse",
                                 Payload=json.dumps({"time": "2026-11-24T15:00:00Z"}))
        # Then its result is the payload, and no function error is reported
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"event": {"time": "2026-11-24T15:00:00Z"},
                                                          "function": "t-echo"}
        assert response["ExecutedVersion"] == "$LATEST" and "LogResult" not in response


def test_no_payload_is_an_empty_event(served):
    client, _, _ = served
    response = client.invoke(FunctionName="t-echo")
    assert json.loads(response["Payload"].read())["event"] == {}


def test_log_type_tail_returns_the_functions_output_framed_as_lambda_frames_it(served):
    client, _, _ = served
    response = client.invoke(FunctionName="t-echo", Payload=b'{"a": 1, "b": 2}', LogType="Tail")
    lines = tail(response).splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith(" Version: $LATEST")
    assert lines[1] == "echo got ['a', 'b']"
    assert lines[2].startswith("END RequestId: ") and lines[3].startswith("REPORT RequestId: ")
    assert "Duration: " in lines[3] and "Memory Size: 128 MB" in lines[3]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] in lines[0]


def test_the_tail_is_the_last_4_kb_and_still_valid_utf8(served):
    client, _, _ = served
    response = client.invoke(FunctionName="t-chatty", LogType="Tail")
    log = tail(response)  # strict decoding: a cut inside a character would raise
    assert len(log.encode()) <= TAIL_BYTES
    assert "line 399 é" in log and "line 000" not in log and log.splitlines()[-1].startswith("REPORT")
    assert json.loads(response["Payload"].read()) is None


@pytest.mark.parametrize("last_line", ["", "x"])  # the 4 KB cut falls inside a character with one of the two
def test_a_tail_never_starts_inside_a_character(last_line):
    log = base64.b64decode(log_tail("id", "é" * 3000 + "\n" + last_line + "\n", 1.5, 128)).decode("utf-8")
    assert log.startswith("é") and log.endswith("Memory Size: 128 MB\n") and len(log.encode()) >= TAIL_BYTES - 1


def test_a_function_error_is_unhandled_with_lambdas_error_payload_and_its_log(served):
    client, _, _ = served
    # When the function raises
    response = client.invoke(FunctionName="t-fail", Payload=b'{"what": "sun"}', LogType="Tail")
    # Then the call succeeds, and the response says the function failed, how, and where
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "no sun today"
    assert error["requestId"] and any("in fail" in frame for frame in error["stackTrace"])
    log = tail(response)
    assert "about to fail" in log and "[ERROR] ValueError: no sun today" in log


def test_a_result_that_is_not_json_is_a_marshal_error(served):
    client, _, _ = served
    response = client.invoke(FunctionName="t-unserialisable")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize("name", ["t-nothing", "t-echo:live", "arn:aws:lambda:us-east-1:123456789012:function:nope"])
def test_an_unknown_function_is_resource_not_found(served, name):
    client, _, _ = served
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName=name)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found" in raised.value.response["Error"]["Message"]


def test_a_payload_that_is_not_json_is_refused_before_the_function_runs(served):
    client, _, _ = served
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="t-fail", Payload=b"{not json")


def test_asynchronous_invocation_is_refused_rather_than_pretended(served):
    client, _, _ = served
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="only RequestResponse"):
        client.invoke(FunctionName="t-echo", InvocationType="Event")


def test_invocations_are_recorded_as_lambda_metrics(served):
    client, metrics, cloudwatch = served
    metrics.flush()
    cloudwatch.data.clear()
    client.invoke(FunctionName="t-echo")
    client.invoke(FunctionName="t-fail")
    metrics.flush()
    by_name: dict[tuple[str, str], float] = {}
    for datum in cloudwatch.data:
        key = (datum["MetricName"], datum["Dimensions"][0]["Value"])
        by_name[key] = by_name.get(key, 0) + datum["Value"]
    assert by_name[("Invocations", "t-echo")] == 1 and by_name[("Errors", "t-echo")] == 0
    assert by_name[("Invocations", "t-fail")] == 1 and by_name[("Errors", "t-fail")] == 1
