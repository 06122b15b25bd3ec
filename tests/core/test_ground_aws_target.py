"""Which endpoint, region, credentials and account: the rules every part of Barometer resolves by."""
from __future__ import annotations

import json

import pytest

from barometer import aws
from barometer.aws import (
    EMULATOR_ACCOUNT,
    EMULATOR_CREDENTIALS,
    AwsTarget,
    AwsTargetError,
    resolve_target,
    state_dir,
)
from barometer.aws.home import REPO_ROOT
from barometer.aws.retry import MAX_ATTEMPTS
from barometer.catalogue import CATALOGUE, MARKET_TOPIC

SHELL = ("BAROMETER_AWS_ENDPOINT", "BAROMETER_ENV", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
         "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture
def shell(monkeypatch, tmp_path):
    """A shell with no AWS settings at all, and a state folder of its own."""
    for name in SHELL:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    aws.reset_clients()
    yield tmp_path
    aws.reset_clients()


def write_platform(folder, **info) -> None:
    (folder / "platform.json").write_text(json.dumps(info))


# -- the endpoint ---------------------------------------------------------------------------------------

def test_local_is_the_default_and_finds_the_emulator_in_platform_json(shell):
    write_platform(shell, aws_endpoint="http://127.0.0.1:4566")
    assert resolve_target().endpoint == "http://127.0.0.1:4566"


def test_the_endpoint_variable_wins_over_platform_json_and_an_explicit_one_over_both(shell, monkeypatch):
    write_platform(shell, aws_endpoint="http://127.0.0.1:1")
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:2")
    assert resolve_target("local").endpoint == "http://127.0.0.1:2"
    assert resolve_target("local", endpoint="http://127.0.0.1:3").endpoint == "http://127.0.0.1:3"


def test_without_a_platform_the_error_says_how_to_start_one(shell):
    with pytest.raises(AwsTargetError, match="barometer up"):
        resolve_target("local")
    write_platform(shell, api_url="http://127.0.0.1:8080")
    with pytest.raises(AwsTargetError, match="no aws_endpoint"):
        resolve_target("local")
    (shell / "platform.json").write_text("{half")
    with pytest.raises(AwsTargetError, match="unreadable"):
        resolve_target("local")


def test_aws_has_no_endpoint_even_when_one_is_in_the_shell(shell, monkeypatch):
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:2")
    monkeypatch.setenv("BAROMETER_ENV", "AWS")
    target = resolve_target()
    assert target.endpoint is None and not target.is_emulator


def test_an_unknown_environment_is_refused(shell, monkeypatch):
    monkeypatch.setenv("BAROMETER_ENV", "gcp")
    with pytest.raises(AwsTargetError, match="BAROMETER_ENV"):
        resolve_target()


def test_a_handler_reads_its_endpoint_from_the_environment(shell, monkeypatch):
    assert AwsTarget.from_environment().endpoint is None
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:5")
    assert AwsTarget.from_environment().endpoint == "http://127.0.0.1:5"


# -- the region -----------------------------------------------------------------------------------------

def test_the_region_is_explicit_else_aws_region_else_aws_default_region_else_us_east_1(shell, monkeypatch):
    assert AwsTarget.at(None).region == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert AwsTarget.at(None).region == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert AwsTarget.at(None).region == "eu-west-1"
    assert AwsTarget.at(None, "ap-south-1").region == "ap-south-1"


# -- credentials ----------------------------------------------------------------------------------------

def test_an_emulator_gets_dummy_credentials_only_when_the_shell_has_none(shell, monkeypatch):
    assert AwsTarget.at("http://127.0.0.1:1").credentials == EMULATOR_CREDENTIALS
    assert AwsTarget.at(None).credentials is None  # AWS itself: the SDK's chain, never dummies
    monkeypatch.setenv("AWS_PROFILE", "localstack")
    assert AwsTarget.at("http://127.0.0.1:1").credentials is None
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-from-the-shell")
    assert AwsTarget.at("http://127.0.0.1:1").credentials is None


def test_the_local_runtime_signs_with_the_emulator_credentials_whatever_the_shell_holds(shell, monkeypatch):
    # Given a shell whose profile cannot produce credentials (an expired SSO login, say)
    (shell / "aws-config").write_text("[profile stale]\ncredential_process = /bin/false\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(shell / "aws-config"))
    monkeypatch.setenv("AWS_PROFILE", "stale")
    # When the local runtime makes a client for its emulator
    target = AwsTarget.emulator("http://127.0.0.1:1")
    # Then it signs with the emulator's credentials, never asking the profile
    assert target.credentials == EMULATOR_CREDENTIALS
    signer = target.client("sqs")._request_signer._credentials
    assert signer.access_key == EMULATOR_CREDENTIALS.access_key_id


def test_a_client_talks_to_the_target_with_the_one_retry_policy(shell):
    target = AwsTarget.at("http://127.0.0.1:7", "eu-west-1")
    s3 = target.client("s3")
    assert (s3.meta.endpoint_url, s3.meta.region_name) == ("http://127.0.0.1:7", "eu-west-1")
    assert s3.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert s3._request_signer._credentials.access_key == EMULATOR_CREDENTIALS.access_key_id


# -- the account ----------------------------------------------------------------------------------------

def test_the_account_is_the_emulators_locally_and_asked_of_sts_once_on_aws(shell, monkeypatch):
    calls = []

    class FakeSts:
        def get_caller_identity(self):
            calls.append(1)
            return {"Account": "111122223333"}

    monkeypatch.setattr(AwsTarget, "client", lambda self, service: FakeSts())
    assert AwsTarget.at("http://127.0.0.1:1").account() == EMULATOR_ACCOUNT and calls == []
    on_aws = AwsTarget.at(None, "eu-west-1")
    assert on_aws.account() == on_aws.account() == "111122223333"
    assert len(calls) == 1
    aws.reset_clients()
    assert on_aws.account() == "111122223333" and len(calls) == 2


def test_local_topic_arns_carry_the_emulator_account():
    arn = CATALOGUE.local_environment()[MARKET_TOPIC.env_var]
    assert arn == f"arn:aws:sns:us-east-1:{EMULATOR_ACCOUNT}:{MARKET_TOPIC.local_name}"


# -- what a handler, pyarrow and a process need ---------------------------------------------------------

def test_the_handler_environment_names_the_endpoint_region_and_only_dummy_credentials(shell):
    local = AwsTarget.at("http://127.0.0.1:1", "eu-west-1").environment()
    assert local == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
                     "BAROMETER_AWS_ENDPOINT": "http://127.0.0.1:1", **EMULATOR_CREDENTIALS.environment()}
    assert AwsTarget.at(None, "eu-west-1").environment() == {"AWS_REGION": "eu-west-1",
                                                             "AWS_DEFAULT_REGION": "eu-west-1"}


def test_pyarrow_gets_the_same_endpoint_region_and_credentials(shell):
    import pyarrow.fs as pafs

    options = AwsTarget.at("http://127.0.0.1:9", "eu-west-1").s3_filesystem_options()
    assert options["endpoint_override"] == "http://127.0.0.1:9" and options["scheme"] == "http"
    assert (options["region"], options["access_key"]) == ("eu-west-1", EMULATOR_CREDENTIALS.access_key_id)
    on_aws = AwsTarget.at(None, "eu-west-1").s3_filesystem_options()
    assert "endpoint_override" not in on_aws and "access_key" not in on_aws
    assert pafs.S3FileSystem(**options).region == "eu-west-1"  # pyarrow accepts every option


def test_lambda_side_clients_are_made_once_and_follow_the_environment(shell, monkeypatch):
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:11")
    first = aws.client("sqs")
    assert aws.client("sqs") is first and first.meta.endpoint_url == "http://127.0.0.1:11"
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:12")
    aws.reset_clients()
    assert aws.client("sqs").meta.endpoint_url == "http://127.0.0.1:12"


# -- the state folder -----------------------------------------------------------------------------------

def test_the_state_folder_is_barometer_home_else_dot_barometer_at_the_repository_root(shell, monkeypatch):
    from barometer_local import paths

    assert state_dir() == shell and paths.state_dir() == shell
    monkeypatch.delenv("BAROMETER_HOME")
    assert state_dir() == REPO_ROOT / ".barometer" == paths.REPO_ROOT / ".barometer"


def test_the_platform_file_the_runtime_writes_is_the_one_dagster_reads(shell):
    from barometer_local.paths import platform_file, write_json_atomic

    write_json_atomic(platform_file(), {"aws_endpoint": "http://127.0.0.1:4567"})
    assert resolve_target("local").endpoint == "http://127.0.0.1:4567"
