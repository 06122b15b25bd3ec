"""Where the orchestrator finds the platform: barometer.aws locates AWS (tests/core/test_ground_aws_target.py
has those rules); the platform adds every resource's name."""
from __future__ import annotations

import json

import pytest

from barometer.aws import EMULATOR_ACCOUNT, AwsTargetError
from barometer.catalogue import MARKET_TOPIC, METRICS_TABLE, PROCESSED_BUCKET, TOPICS
from platform_assets.environment import PlatformConfigError, resolve


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("BAROMETER_AWS_ENDPOINT", "BAROMETER_ENV", "BAROMETER_PROCESSED_BUCKET", "BAROMETER_METRICS_TABLE",
                 "BAROMETER_MARKET_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAROMETER_HOME", str(tmp_path))
    return tmp_path


def test_local_takes_the_emulator_from_the_ground_floor_and_the_catalogues_local_names(clean_env):
    # Given a running platform's platform.json
    (clean_env / "platform.json").write_text(json.dumps({"aws_endpoint": "http://127.0.0.1:4566"}))
    # When the orchestrator resolves its platform
    platform = resolve()
    # Then it talks to that emulator, by local names, with ARNs in the emulator's account
    assert (platform.kind, platform.endpoint) == ("local", "http://127.0.0.1:4566")
    assert platform.name(PROCESSED_BUCKET) == PROCESSED_BUCKET.local_name
    assert platform.topic_arn(MARKET_TOPIC).split(":")[4] == EMULATOR_ACCOUNT


def test_without_a_platform_sensors_see_the_one_configuration_error(clean_env):
    # Sensors catch PlatformConfigError to skip: it must be what the ground floor raises.
    assert PlatformConfigError is AwsTargetError
    with pytest.raises(PlatformConfigError, match="barometer up"):
        resolve("local")


def test_aws_takes_buckets_from_their_variables_and_other_names_from_the_catalogue(clean_env, monkeypatch):
    platform = resolve("aws")
    assert platform.endpoint is None and platform.name(METRICS_TABLE) == METRICS_TABLE.local_name
    with pytest.raises(PlatformConfigError, match="BAROMETER_PROCESSED_BUCKET"):
        platform.name(PROCESSED_BUCKET)
    monkeypatch.setenv("BAROMETER_PROCESSED_BUCKET", "barometer-processedbucket-abc123")
    monkeypatch.setenv("BAROMETER_MARKET_TOPIC", "arn:aws:sns:eu-west-1:111122223333:market")
    assert platform.name(PROCESSED_BUCKET) == "barometer-processedbucket-abc123"
    assert platform.name(MARKET_TOPIC) == "market"


def test_overrides_come_first_and_unknown_environments_are_refused(clean_env):
    platform = resolve("local", endpoint="http://x", overrides={"MetricsTable": "t-metrics"})
    assert platform.name(METRICS_TABLE) == "t-metrics"
    assert platform.lambda_environment()["BAROMETER_METRICS_TABLE"] == "t-metrics"
    with pytest.raises(PlatformConfigError, match="BAROMETER_ENV"):
        resolve("gcp")


def test_without_credentials_the_emulator_gets_dummy_ones(clean_env, monkeypatch):
    # A `dagster dev` started from a plain shell has no AWS credentials; boto3 would refuse to sign.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    platform = resolve("local", endpoint="http://127.0.0.1:1", region="eu-west-1")
    env = platform.lambda_environment()
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["BAROMETER_AWS_ENDPOINT"] == "http://127.0.0.1:1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    credentials = platform.client("s3")._request_signer._credentials
    assert credentials is not None and credentials.access_key == env["AWS_ACCESS_KEY_ID"]
    monkeypatch.setenv("BAROMETER_RAW_BUCKET", "raw-abc")
    monkeypatch.setenv("BAROMETER_PROCESSED_BUCKET", "processed-abc")
    for topic in TOPICS:
        monkeypatch.setenv(topic.env_var, f"arn:aws:sns:eu-west-1:111122223333:{topic.local_name}")
    on_aws = resolve("aws").lambda_environment()
    assert "AWS_ACCESS_KEY_ID" not in on_aws and "BAROMETER_AWS_ENDPOINT" not in on_aws


def test_the_deployments_settings_bind_as_env_vars_only_when_set(monkeypatch):
    import dagster as dg

    from platform_assets.resources import build_resources

    # Given a deployment that sets the workgroup and the backup age, and nothing else
    environ = {"BAROMETER_ATHENA_WORKGROUP": "barometer-analytics", "BAROMETER_DR_MAX_BACKUP_AGE_H": "30"}
    resource = build_resources(environ)["barometer"]
    # Then those fields are bound to their variables (read when a run starts), the others keep defaults
    assert resource.athena_workgroup == dg.EnvVar("BAROMETER_ATHENA_WORKGROUP")
    assert resource.backup_vault == "" and resource.replica_regions == ""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    @dg.asset(required_resource_keys={"barometer"})
    def settings(context) -> tuple:
        barometer = context.resources.barometer
        return barometer.athena_workgroup, barometer.max_backup_age_h, barometer.replica_region_list

    result = dg.materialize([settings], resources={"barometer": resource})
    assert result.output_for_node("settings") == ("barometer-analytics", 30, [])
