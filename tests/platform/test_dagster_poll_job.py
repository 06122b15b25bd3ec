"""The poll job reaches the poller as on AWS: dagster-aws Pipes invokes the Lambda through Lambda's Invoke
API, here the local runtime's (barometer_local.lambda_api, over HTTP), which runs the handler against
the emulator with the function's own environment; its events land on the events stream."""
from __future__ import annotations

import json
import os
import uuid

import boto3
import dagster as dg
import pytest

from barometer.catalogue import CATALOGUE, EVENTS_STREAM, POLLER_FUNCTION
from barometer.settings import get_settings
from barometer_local.emulator import REGION
from barometer_local.lambda_api import LambdaApiServer
from platform_assets.definitions import build_definitions
from platform_assets.environment import LAMBDA_ENDPOINT_ENV, PlatformConfigError, lambda_target, resolve
from platform_assets.resources import BarometerResource

pytestmark = pytest.mark.emulator


def stream_records(kinesis, stream: str) -> list[dict]:
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        records += [json.loads(r["Data"]) for r in response["Records"]]
    return records


@pytest.fixture
def function_environment(emulator_env, provisioned, monkeypatch):
    """What the poller's stack gives it locally (the local platform's process environment), with an
    events stream of this test's own."""
    for key, value in CATALOGUE.local_environment().items():
        monkeypatch.setenv(key, value)
    kinesis = boto3.client("kinesis", endpoint_url=emulator_env.url, region_name=REGION)
    stream = f"t-events-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    monkeypatch.setenv(EVENTS_STREAM.env_var, stream)
    return kinesis, stream


@pytest.fixture
def lambda_endpoint():
    server = LambdaApiServer(None, [POLLER_FUNCTION])
    yield server.start("127.0.0.1", 0)
    server.stop()


def poll(emulator, lambda_endpoint: str, event: dict) -> dg.ExecuteInProcessResult:
    barometer = BarometerResource(environment="local", endpoint=emulator.url, region=REGION,
                                  lambda_endpoint=lambda_endpoint)
    job = build_definitions({"barometer": barometer}).resolve_job_def("poll_feeds")
    return job.execute_in_process(run_config={"ops": {"poll_providers": {"config": {"event": event}}}},
                                  raise_on_error=False)


def test_a_poll_puts_one_event_per_symbol_and_city_on_the_stream(emulator, function_environment, lambda_endpoint):
    kinesis, stream = function_environment
    before = dict(os.environ)
    # When the poll job runs for one minute (the simulator providers: no network)
    result = poll(emulator, lambda_endpoint, {"time": "2026-11-24T15:00:00Z"})
    # Then the op's output is the function's summary, every configured symbol and city has its event on
    # the stream, and the process environment is as before
    assert result.success
    summary = result.output_for_node("poll_providers")
    settings = get_settings()
    assert summary["put"] == len(settings.symbols) + len(settings.cities) and summary["failed"] == []
    events = stream_records(kinesis, stream)
    assert {e.get("symbol") or e.get("city") for e in events} == set(settings.symbols) | set(settings.cities)
    assert dict(os.environ) == before


def test_a_function_error_fails_the_op_with_lambdas_error(emulator, function_environment, lambda_endpoint,
                                                           monkeypatch):
    # Given a poller whose events stream does not exist
    monkeypatch.setenv(EVENTS_STREAM.env_var, f"t-missing-{uuid.uuid4().hex[:8]}")
    # When the poll job runs
    result = poll(emulator, lambda_endpoint, {"time": "2026-11-24T15:00:00Z", "cities": []})
    # Then the op fails, naming the function error Pipes got from the Invoke API
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "Lambda Function Error (Unhandled)" in str(failure.step_failure_data.error)


@pytest.fixture
def state_home(monkeypatch, tmp_path):
    for name in ("BAROMETER_AWS_ENDPOINT", "BAROMETER_ENV", LAMBDA_ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    return tmp_path


def test_locally_lambda_is_the_platforms_invoke_api_not_the_emulator(state_home, monkeypatch):
    # Given a running platform's platform.json
    (state_home / "platform.json").write_text(json.dumps({"aws_endpoint": "http://127.0.0.1:4566",
                                                          "lambda_endpoint": "http://127.0.0.1:4999"}))
    platform = resolve("local")
    # Then Lambda calls go to its Invoke API, signed as the emulator's calls are
    target = lambda_target(platform)
    assert target.endpoint == "http://127.0.0.1:4999"
    assert (target.region, target.credentials) == (platform.target.region, platform.target.credentials)
    # And an explicit endpoint, then the environment variable, come first
    monkeypatch.setenv(LAMBDA_ENDPOINT_ENV, "http://127.0.0.1:5001")
    assert lambda_target(platform).endpoint == "http://127.0.0.1:5001"
    assert lambda_target(platform, "http://127.0.0.1:5002").endpoint == "http://127.0.0.1:5002"


def test_a_platform_json_without_a_lambda_endpoint_is_a_configuration_error(state_home):
    (state_home / "platform.json").write_text(json.dumps({"aws_endpoint": "http://127.0.0.1:4566"}))
    with pytest.raises(PlatformConfigError, match="no lambda_endpoint"):
        lambda_target(resolve("local"))


def test_on_aws_lambda_is_awss_own(state_home):
    platform = resolve("aws")
    assert lambda_target(platform) == platform.target and lambda_target(platform).endpoint is None


def test_the_poll_schedule_is_off_unless_asked_for():
    from platform_assets.ingestion.poll import poll_schedule

    assert poll_schedule.cron_schedule == "* * * * *"
    assert poll_schedule.default_status == dg.DefaultScheduleStatus.STOPPED
