"""The local platform serves Lambda's Invoke API for the catalogue's functions (what Dagster's poll job
uses): announced in platform.json, loopback only, running the functions with the platform's environment."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from barometer.catalogue import POLLER_FUNCTION
from barometer_local.client import ApiClient
from barometer_local.paths import platform_file, read_json

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def lambda_client(platform):
    endpoint = read_json(platform_file(), {})["lambda_endpoint"]
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))


def test_platform_json_names_a_loopback_lambda_endpoint(platform):
    endpoint = urlsplit(read_json(platform_file(), {})["lambda_endpoint"])
    assert endpoint.scheme == "http" and endpoint.hostname == "127.0.0.1" and endpoint.port


def test_the_poller_invoked_over_the_lambda_api_feeds_the_platform(platform, lambda_client):
    # Given the running platform, when its poller is invoked for one symbol through the Invoke API
    minute = datetime.now(UTC).replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")
    response = lambda_client.invoke(FunctionName=POLLER_FUNCTION.local_name, LogType="Tail",
                                    Payload=json.dumps({"time": minute, "symbols": ["AAPL"], "cities": []}))
    # Then it answers its summary and its log tail ...
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"polled": 1, "put": 1, "failed": []}
    assert base64.b64decode(response["LogResult"]).decode().splitlines()[-1].startswith("REPORT RequestId:")
    # ... and the event went where the platform's functions put events: the API shows it
    api = ApiClient(platform.api_url, platform.token(), timeout_s=30)

    def polled():  # nothing else feeds this platform: AAPL exists only if the poll's event went through
        status, body = api.latest("quote", "AAPL")
        return status == 200 and body

    assert api.wait_for(polled, timeout_s=60, what="AAPL's polled quote in the latest state")["events"] == 1


def test_a_function_outside_the_catalogue_is_not_found(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="barometer-nothing")
