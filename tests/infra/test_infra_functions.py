"""The functions as the catalogue declares them: handler, environment, layer, code asset, event sources."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from barometer.catalogue import (
    ALERTS_TABLE,
    CATALOGUE,
    CONFIG_JSON_ENV,
    EVENTS_DLQ,
    FUNCTIONS,
    LATEST_TABLE,
    MARKET_TOPIC,
    METRICS_TABLE,
    NOTIFIER_FUNCTION,
    NOTIFY_DLQ,
    PROCESSED_DELIVERIES,
    PROCESSOR_FUNCTION,
    QUARANTINE_PREFIX,
    RAW_BUCKET,
    STREAM_FAILURES_DLQ,
    WEATHER_TOPIC,
)
from barometer.config import parse_settings
from barometer.settings import load_raw_config

pytestmark = pytest.mark.infra
REPO_ROOT = Path(__file__).resolve().parents[2]
HOMES = {"ApiFunction": "Ingestion", "PollerFunction": "Ingestion"}


def _function(synthesized, spec) -> tuple[str, dict]:
    stack = HOMES.get(spec.logical_id, "Processing")
    functions = synthesized.resources(stack, "AWS::Lambda::Function")
    return next((lid, f["Properties"]) for lid, f in functions.items()
                if f["Properties"].get("FunctionName") == spec.local_name)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.logical_id)
def test_function_gets_the_env_vars_of_the_resources_it_uses(synthesized, spec):
    _, props = _function(synthesized, spec)
    variables = props["Environment"]["Variables"]
    # Then one variable per used resource, resolved from that resource's construct (a reference, not a string)
    for logical_id in spec.uses:
        env_var = CATALOGUE.by_logical_id(logical_id).env_var
        value = variables[env_var]
        assert isinstance(value, dict), f"{env_var} is a literal: {value!r}"
        assert logical_id in json.dumps(value), f"{env_var} does not reference {logical_id}: {value}"
    # And the configuration is barometer.yaml as JSON, valid for the handlers' parser
    config = json.loads(variables[CONFIG_JSON_ENV])
    assert config == load_raw_config()
    parse_settings(config)
    assert props["Handler"] == spec.handler
    assert props["Runtime"] == "python3.12"
    assert props["MemorySize"] == spec.memory_mb and props["Timeout"] == spec.timeout_s
    assert props["Layers"] == [{"Fn::FindInMap": ["PowertoolsLayer", {"Ref": "AWS::Region"}, "Arn"]}]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "KmsKeyArn" in props and "VpcConfig" in props


def test_powertools_layer_mapping_names_the_public_layer_per_region(synthesized):
    mapping = synthesized.nested["Processing"]["Mappings"]["PowertoolsLayer"]
    assert mapping["us-east-1"]["Arn"].startswith(
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:")
    assert all(f":lambda:{region}:" in entry["Arn"] for region, entry in mapping.items())


def test_code_asset_is_the_handlers_import_closure(synthesized):
    _, props = _function(synthesized, FUNCTIONS[0])
    asset_hash = props["Code"]["S3Key"].removesuffix(".zip")
    asset = synthesized.outdir / f"asset.{asset_hash}"
    # The repository's shipped packages, and the one distribution neither the runtime nor the layer has
    assert sorted(p.name for p in asset.iterdir()) == ["barometer", "lambdas", "tzdata"]
    files = [p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()]
    assert "barometer/catalogue.py" in files
    assert "lambdas/poller/__main__.py" not in files  # a shell entry point no handler imports
    assert not [f for f in files if "__pycache__" in f or "/tests/" in f or f.endswith(".pyc") or "dist-info" in f]
    assert "tzdata/zoneinfo/America/New_York" in files
    for spec in FUNCTIONS:  # every handler module ships
        module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert (asset / module).exists(), module


def test_a_handler_importing_an_unshipped_package_fails_synthesis(tmp_path):
    # Given a handler that imports the local runtime (not shipped to Lambda)
    from infra_cdk.constructs.code_asset import PackagingError, import_closure

    (tmp_path / "lambdas" / "bad").mkdir(parents=True)
    (tmp_path / "lambdas" / "__init__.py").write_text("")
    (tmp_path / "lambdas" / "bad" / "__init__.py").write_text("")
    (tmp_path / "lambdas" / "bad" / "handler.py").write_text(
        "def lambda_handler(event, context):\n    from barometer_local import cli\n")
    (tmp_path / "barometer_local").mkdir()
    (tmp_path / "barometer_local" / "__init__.py").write_text("")
    (tmp_path / "barometer_local" / "cli.py").write_text("")
    # When its closure is computed, Then it names the module that cannot ship
    with pytest.raises(PackagingError, match="barometer_local.cli"):
        import_closure(["lambdas.bad.handler"], root=tmp_path)


def test_a_handler_module_that_does_not_exist_fails_synthesis(tmp_path):
    # Given a catalogue handler whose module is not in the repository
    from infra_cdk.constructs.code_asset import PackagingError, import_closure

    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "__init__.py").write_text("")
    # When its closure is computed, Then it names the missing module (an asset without it would ship)
    with pytest.raises(PackagingError, match="lambdas.gone.handler"):
        import_closure(["lambdas.gone.handler"], root=tmp_path)


@pytest.mark.parametrize("spec", [f for f in FUNCTIONS if f.mapping], ids=lambda s: s.logical_id)
def test_event_source_mapping_follows_the_catalogue(synthesized, spec):
    function_id, _ = _function(synthesized, spec)
    mappings = [m["Properties"] for m in synthesized.resources("Processing", "AWS::Lambda::EventSourceMapping").values()
                if m["Properties"]["FunctionName"] == {"Ref": function_id}]
    (props,) = mappings
    mapping = spec.mapping
    assert props["BatchSize"] == mapping.batch_size
    assert props["MaximumBatchingWindowInSeconds"] == mapping.max_batching_window_s
    assert props["BisectBatchOnFunctionError"] is mapping.bisect_on_error
    assert props["MaximumRetryAttempts"] == mapping.max_retries
    assert props["MaximumRecordAgeInSeconds"] == mapping.max_record_age_s
    assert props["ParallelizationFactor"] == mapping.parallelization_factor
    assert props["StartingPosition"] == mapping.starting_position
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert STREAM_FAILURES_DLQ.logical_id in json.dumps(props["DestinationConfig"]["OnFailure"])
    assert mapping.source in json.dumps(props["EventSourceArn"])
    if mapping.event_names:
        (criteria,) = props["FilterCriteria"]["Filters"]
        assert json.loads(criteria["Pattern"]) == {"eventName": list(mapping.event_names)}
    else:
        assert "FilterCriteria" not in props


def test_notifier_hears_the_alert_topics_and_parks_failures_in_notify_dlq(synthesized):
    function_id, _ = _function(synthesized, NOTIFIER_FUNCTION)
    subscriptions = [s["Properties"] for s in synthesized.resources("Processing", "AWS::SNS::Subscription").values()
                     if s["Properties"]["Protocol"] == "lambda"]
    assert sorted(topic for s in subscriptions for topic in NOTIFIER_FUNCTION.topics_subscribed
                  if topic in json.dumps(s["TopicArn"])) == sorted(NOTIFIER_FUNCTION.topics_subscribed)
    (invoke_config,) = synthesized.resources("Processing", "AWS::Lambda::EventInvokeConfig").values()
    on_failure = invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert NOTIFY_DLQ.logical_id in json.dumps(on_failure)
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": function_id}


def _role_statements(synthesized, spec) -> list[dict]:
    """The statements of the inline policies attached to the function's role."""
    _, props = _function(synthesized, spec)
    role = props["Role"]["Fn::GetAtt"][0]
    stack = HOMES.get(spec.logical_id, "Processing")
    return [statement for policy in synthesized.resources(stack, "AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_processor_may_do_what_the_hot_path_does_and_nothing_more(synthesized):
    statements = _role_statements(synthesized, PROCESSOR_FUNCTION)

    def granted(action: str) -> str:
        return json.dumps([s["Resource"] for s in statements if action in _actions(s)])

    # Then it reads and writes the three tables (MetricsTable for departures and look-ups)
    for table in (METRICS_TABLE, LATEST_TABLE, ALERTS_TABLE):
        for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Query",
                       "dynamodb:PutItem", "dynamodb:UpdateItem"):
            assert table.logical_id in granted(action), (table.logical_id, action)
    # And puts records into the three processed deliveries, messages into the events DLQ, alerts to both topics
    for delivery in PROCESSED_DELIVERIES:
        assert delivery.logical_id in granted("firehose:PutRecordBatch")
    assert EVENTS_DLQ.logical_id in granted("sqs:SendMessage")
    for topic in (MARKET_TOPIC, WEATHER_TOPIC):
        assert topic.logical_id in granted("sns:Publish")
    # And of S3 it may only put objects into the raw bucket's quarantine zone: no read, no delete, no lake
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    assert [_actions(s) for s in s3] == [["s3:PutObject"]]
    resource = json.dumps(s3[0]["Resource"])
    assert RAW_BUCKET.logical_id in resource and f"/{QUARANTINE_PREFIX}*" in resource
    # And no action is a whole service's
    assert not [a for s in statements for a in _actions(s) if a == "*" or a.endswith(":*")]
