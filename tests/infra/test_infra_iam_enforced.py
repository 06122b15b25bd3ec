"""The functions under their own synthesized role policies, on an emulator that enforces IAM.

A moto server of its own with enforcement on (INITIAL_NO_AUTH_ACTION_COUNT: the first calls create an
administrator, every later call must be signed by a principal its policies allow). Each function's role is
created with the statements the template gives it, assumed, and its credentials are the only ones the
handler gets; the handlers run from the packaged asset (test_infra_packaged_asset.py) on one realistic event
each. The negative controls take one action out of a role and see the function fail where it needs it.

moto 5.2.5 checks resources for S3 and SQS only; for every other service it authorizes the action against
"*", so a statement scoped to one table would allow nothing there. Those statements are given Resource "*"
here (their scoping is checked on the templates, test_infra_access.py) and conditions are left out (moto
evaluates none of the KMS ones the functions carry, and no KMS call happens on the emulator's unencrypted
resources). What this run proves: every action each handler's code path takes is in its role.
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from barometer.catalogue import (
    API_FUNCTION,
    EVENTS_STREAM,
    NOTIFIER_FUNCTION,
    POLLER_FUNCTION,
    PROCESSOR_FUNCTION,
)
from barometer_local.emulator import Emulator
from barometer_local.server import proxy_event
from infra.packaged_runtime import Cloud, aws_client, provision_cloud, stream_batches
from infra.test_infra_access import _referenced
from infra.test_infra_functions import _actions, _role_statements
from infra.test_infra_packaged_asset import CLAIMS, REGION, _body, _environment, _invoke, _sns_event

pytestmark = [pytest.mark.infra, pytest.mark.emulator]

SCOPED_BY_MOTO = ("s3:", "sqs:")  # the services moto 5.2.5 authorizes per resource
ADMIN_SETUP_CALLS = 3  # CreateUser, PutUserPolicy, CreateAccessKey: then enforcement starts
TRUST_ANY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def enforcing():
    """(emulator, administrator's credentials) of a moto server that enforces IAM."""
    saved = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(ADMIN_SETUP_CALLS)
    try:
        emulator = Emulator.start()
    finally:
        if saved is None:
            os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT")
        else:
            os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = saved
    try:
        iam = aws_client(emulator.url, REGION, {"AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup"})("iam")
        iam.create_user(UserName="administrator")
        iam.put_user_policy(UserName="administrator", PolicyName="everything", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="administrator")["AccessKey"]
        yield emulator, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def admin(enforcing):
    emulator, credentials = enforcing
    return aws_client(emulator.url, REGION, credentials)


@pytest.fixture(scope="module")
def cloud(admin, receiver) -> Cloud:
    return provision_cloud(admin, REGION, receiver.url)


def _resolve(entry, cloud: Cloud) -> str:
    """A statement's resource as an ARN of the emulator's resource (its suffix, e.g. /extracts/*, kept)."""
    logical_id = _referenced(entry)
    suffix = ""
    if isinstance(entry, dict) and "Fn::Join" in entry:
        _, parts = entry["Fn::Join"]
        suffix = "".join(p for p in parts[1:] if isinstance(p, str))
    return cloud.arns[logical_id] + suffix


def _policy(synthesized, spec, cloud: Cloud, without: set[str]) -> dict:
    statements = []
    for statement in _role_statements(synthesized, spec):
        entries = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        actions = [a for a in _actions(statement) if a not in without]
        scoped = [a for a in actions if a.startswith(SCOPED_BY_MOTO)]
        if scoped:
            statements.append({"Effect": "Allow", "Action": scoped,
                               "Resource": [_resolve(e, cloud) for e in entries]})
        if len(scoped) < len(actions):
            statements.append({"Effect": "Allow", "Action": sorted(set(actions) - set(scoped)), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _role(admin, synthesized, spec, cloud: Cloud, without: frozenset[str] = frozenset()) -> dict[str, str]:
    """Credentials of a fresh role holding the function's synthesized policy (less `without`)."""
    name = f"{spec.local_name}-{uuid.uuid4().hex[:6]}"
    iam = admin("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ANY)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="synthesized",
                        PolicyDocument=json.dumps(_policy(synthesized, spec, cloud, set(without))))
    credentials = admin("sts").assume_role(RoleArn=arn, RoleSessionName=spec.local_name)["Credentials"]
    return {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"]}


def _weather(city: str, temp_c: float) -> dict:
    ts = (datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    return {"kind": "weather", "city": city, "ts": ts, "temp_c": temp_c, "event_id": f"iam-{uuid.uuid4().hex[:8]}"}


def _post(events: list[dict]) -> dict:
    return proxy_event("POST", "/v1/events", {}, {"content-type": "application/json"}, json.dumps({"events": events}),
                       CLAIMS)


def _records_of(event_id: str):
    return lambda data: event_id.encode() in data


def test_each_function_does_its_work_under_its_own_role(synthesized, runtime, enforcing, admin, cloud, receiver):
    emulator, _ = enforcing
    roles = {spec.logical_id: _role(admin, synthesized, spec, cloud)
             for spec in (API_FUNCTION, POLLER_FUNCTION, PROCESSOR_FUNCTION, NOTIFIER_FUNCTION)}
    # Given the poller's role, When the schedule's input arrives, Then every poll is put on the stream
    (schedule,) = synthesized.resources("Ingestion", "AWS::Scheduler::Schedule").values()
    (polled,) = _invoke(runtime, synthesized, POLLER_FUNCTION, emulator, cloud,
                        [json.loads(schedule["Properties"]["Target"]["Input"])], roles["PollerFunction"])
    assert polled["failed"] == [] and polled["put"] == polled["polled"] > 0
    # Given the API's role, When a client posts a heat wave, Then it is accepted
    heat = _weather("London", 45.0)
    (accepted,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud, [_post([heat])], roles["ApiFunction"])
    assert (accepted["statusCode"], _body(accepted)) == (200, {"accepted": 1, "failed": []}), accepted
    # Given the processor's role (the mapping reads the stream with it too), When it takes the batches
    stream = aws_client(emulator.url, REGION, roles["ProcessorFunction"])("kinesis")
    batches = stream_batches(stream, cloud.physical[EVENTS_STREAM.env_var], REGION)
    results = _invoke(runtime, synthesized, PROCESSOR_FUNCTION, emulator, cloud, batches, roles["ProcessorFunction"])
    # Then no record fails, and the API (reading only) serves what it wrote
    assert results == [{"batchItemFailures": []}] * len(batches)
    (latest,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud,
                        [proxy_event("GET", "/v1/latest/weather/London", {}, {}, None, CLAIMS)], roles["ApiFunction"])
    assert latest["statusCode"] == 200 and _body(latest)["event_id"] == heat["event_id"], latest
    # Given the notifier's role, When the heat alert arrives from SNS, Then it reaches Slack
    alerts = _sns_event(emulator, cloud, admin("sqs"))
    assert alerts["Records"]
    _invoke(runtime, synthesized, NOTIFIER_FUNCTION, emulator, cloud, [alerts], roles["NotifierFunction"])
    assert receiver.wait_for_posts(1)


def test_without_put_item_the_processor_cannot_save_key_state(synthesized, runtime, enforcing, admin, cloud):
    emulator, _ = enforcing
    api = _role(admin, synthesized, API_FUNCTION, cloud)
    crippled = _role(admin, synthesized, PROCESSOR_FUNCTION, cloud, without=frozenset({"dynamodb:PutItem"}))
    # Given an event on the stream and a processor role lacking only dynamodb:PutItem (the key state's save)
    cold = _weather("Seattle", -20.0)
    (accepted,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud, [_post([cold])], api)
    assert _body(accepted)["accepted"] == 1
    batches = stream_batches(admin("kinesis"), cloud.physical[EVENTS_STREAM.env_var], REGION,
                             _records_of(cold["event_id"]))
    assert batches
    # When the processor takes it
    outcome = runtime.invoke(PROCESSOR_FUNCTION.handler, batches,
                             _environment(synthesized, PROCESSOR_FUNCTION, emulator, cloud, crippled),
                             function_name=PROCESSOR_FUNCTION.local_name, memory_mb=PROCESSOR_FUNCTION.memory_mb)
    # Then the batch fails (every record of it did: Lambda retries it) on an authorization error of PutItem,
    # and the API does not serve it as Seattle's latest
    assert "All records failed processing" in outcome["error"], outcome["error"]
    assert "PutItem operation" in outcome["error"] and "403" in outcome["error"], outcome["error"]
    (latest,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud,
                        [proxy_event("GET", "/v1/latest/weather/Seattle", {}, {}, None, CLAIMS)], api)
    assert latest["statusCode"] == 404 or _body(latest)["event_id"] != cold["event_id"], latest


def test_without_put_records_the_api_answers_503_and_puts_nothing(synthesized, runtime, enforcing, admin, cloud):
    emulator, _ = enforcing
    crippled = _role(admin, synthesized, API_FUNCTION, cloud, without=frozenset({"kinesis:PutRecords"}))
    event = _weather("London", 20.0)
    (answer,) = _invoke(runtime, synthesized, API_FUNCTION, emulator, cloud, [_post([event])], crippled)
    assert answer["statusCode"] == 503, answer
    assert stream_batches(admin("kinesis"), cloud.physical[EVENTS_STREAM.env_var], REGION,
                          _records_of(event["event_id"])) == []
