"""Least privilege: each function's role allows what the catalogue declares, and that is what its code calls.

Two comparisons per function. (1) Per resource: the synthesized role policy's actions on each resource
equal the actions of the access modes the catalogue declares for it (infra_cdk/constructs/access.py),
plus what the Lambda service does with the role for the function's triggers. (2) Per service: the AWS
operations the function's code can reach (its import closure, searched for botocore operation names)
equal the granted actions, less the documented extras below.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from barometer.catalogue import (
    API_FUNCTION,
    CATALOGUE,
    FUNCTIONS,
    NOTIFIER_FUNCTION,
    NOTIFY_DLQ,
    PROVIDER_KEYS_SECRET,
    SLACK_WEBHOOK_SECRET,
    FunctionSpec,
)
from infra.test_infra_functions import HOMES, _actions, _function, _role_statements
from infra_cdk.constructs.access import ACTIONS, AccessError, actions_for
from infra_cdk.constructs.code_asset import import_closure
from infra_cdk.constructs.functions import ON_FAILURE_KEY_ACTIONS, ON_FAILURE_QUEUE_ACTIONS

pytestmark = pytest.mark.infra

KINDS = {"table": CATALOGUE.tables, "stream": CATALOGUE.streams, "bucket": CATALOGUE.buckets,
         "queue": CATALOGUE.queues, "topic": CATALOGUE.topics, "secret": CATALOGUE.secrets,
         "delivery": CATALOGUE.deliveries}
# The Security stack's key behind each kind of resource (deliveries encrypt with Firehose's own grant).
KEY_OF_KIND = {"table": "TableKey", "stream": "MessagingKey", "bucket": "DataKey", "queue": "MessagingKey",
               "topic": "MessagingKey", "secret": "SecretsKey"}
KEYS = ("TableKey", "MessagingKey", "DataKey", "SecretsKey")
# What the Lambda service reads a Kinesis event source with (CDK's KinesisEventSource grant, the set
# Lambda's documentation lists for a stream consumer, enhanced fan-out included) and decrypts it with.
KINESIS_CONSUMER = {"kinesis:DescribeStream", "kinesis:DescribeStreamConsumer", "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards",
                    "kinesis:ListStreams", "kinesis:SubscribeToShard"}
# Granted on "*": these APIs take no resource.
TRACING = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
API_METRICS = {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}  # lambdas/api/health.py
# IAM authorizes these operations by another action's name.
IAM_ACTION_OF = {"sqs:SendMessageBatch": "sqs:SendMessage"}
# Granted but not called, each with its reason (docs/infra.md, least privilege).
UNCALLED = {
    # S3 answers a missing extract with NoSuchKey only to a caller that may list the bucket.
    API_FUNCTION.logical_id: {"s3:ListBucket"},
}
CODE_SERVICES = ("dynamodb", "kinesis", "s3", "sqs", "sns", "firehose", "secretsmanager", "cloudwatch")


def _kind(logical_id: str) -> str:
    return next(kind for kind, specs in KINDS.items() if any(s.logical_id == logical_id for s in specs))


def _referenced(entry) -> str:
    """The catalogue resource or key a policy statement's resource entry points at ("*" for none)."""
    if entry == "*":
        return "*"
    text = json.dumps(entry)
    ids = [s.logical_id for specs in KINDS.values() for s in specs if s.logical_id in text]
    ids += [k for k in KEYS if k in text]
    ids = [a for a in ids if not any(a != b and a in b for b in ids)]  # OpsAlerts is in FinOpsAlerts
    assert len(ids) == 1, f"resource {text} references {ids or 'nothing known'}"
    return ids[0]


def _granted(synthesized, spec: FunctionSpec) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = defaultdict(set)
    for statement in _role_statements(synthesized, spec):
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for entry in resources:
            granted[_referenced(entry)].update(_actions(statement))
    return dict(granted)


def _declared(spec: FunctionSpec) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = defaultdict(set)
    for access in spec.access:
        kind = _kind(access.resource)
        actions, key_actions = actions_for(kind, access.mode)
        expected[access.resource].update(actions)
        if key_actions:
            expected[KEY_OF_KIND[kind]].update(key_actions)
    # What the Lambda service does with the function's role for its triggers
    if spec.mapping is not None:
        expected[spec.mapping.source].update(KINESIS_CONSUMER)
        expected["MessagingKey"].add("kms:Decrypt")
        expected[spec.mapping.on_failure_queue].update(ON_FAILURE_QUEUE_ACTIONS)
        expected["MessagingKey"].update(ON_FAILURE_KEY_ACTIONS)
    if spec is NOTIFIER_FUNCTION:  # its asynchronous invocations' on-failure destination
        expected[NOTIFY_DLQ.logical_id].update(ON_FAILURE_QUEUE_ACTIONS)
        expected["MessagingKey"].update(ON_FAILURE_KEY_ACTIONS)
    expected["*"].update(TRACING)
    if spec is API_FUNCTION:
        expected["*"].update(API_METRICS)
    return dict(expected)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.logical_id)
def test_role_allows_exactly_the_declared_access_per_resource(synthesized, spec):
    # Given the function's synthesized role policy, When its actions are grouped by the resource they name
    granted = _granted(synthesized, spec)
    # Then they are the declared modes' actions (and the triggers'), resource by resource
    assert granted == _declared(spec)


def _code_calls(spec: FunctionSpec) -> set[str]:
    """The IAM actions of the AWS operations named in the function's import closure."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    operations = {xform_name(op): f"{service}:{op}" for service in CODE_SERVICES
                  for op in session.get_service_model(service).operation_names}
    calls = set()
    for path in import_closure([spec.handler.rpartition(".")[0]]):
        for name in re.findall(r"\.(\w+)\(", path.read_text(encoding="utf-8")):
            if name in operations:
                calls.add(IAM_ACTION_OF.get(operations[name], operations[name]))
    return calls


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.logical_id)
def test_granted_actions_are_the_calls_its_code_makes(synthesized, spec):
    # Given the operations the function's code can call, When compared with the role's own grants
    # (not the keys', not the triggers', not tracing)
    declared = {action for access in spec.access for action in actions_for(_kind(access.resource), access.mode)[0]}
    declared |= API_METRICS if spec is API_FUNCTION else set()
    calls = _code_calls(spec)
    # Then nothing it calls is missing, and nothing granted goes uncalled unless documented
    assert calls - declared == set(), "called but not granted"
    assert declared - calls == UNCALLED.get(spec.logical_id, set()), "granted but never called"


def test_the_internet_facing_api_only_reads_what_it_serves():
    actions = {a for access in API_FUNCTION.access for a in actions_for(_kind(access.resource), access.mode)[0]}
    assert not {a for a in actions if re.search(r":(Put|Update|Delete|BatchWrite|Send)", a)} - {"kinesis:PutRecords"}


def test_an_access_mode_a_kind_of_resource_lacks_is_refused():
    with pytest.raises(AccessError, match="publish"):
        actions_for("table", "publish")
    assert all(kind in KEY_OF_KIND or kind == "delivery" for kind, _ in ACTIONS)


@pytest.mark.parametrize("spec", [f for f in FUNCTIONS if any(s.logical_id in f.uses for s in CATALOGUE.secrets)],
                         ids=lambda s: s.logical_id)
def test_functions_receive_secret_arns_not_names_derived_from_them(synthesized, spec):
    _, props = _function(synthesized, spec)
    variables = props["Environment"]["Variables"]
    # Then no variable is computed with Fn::Split / Fn::Select
    assert "Fn::Split" not in json.dumps(variables) and "Fn::Select" not in json.dumps(variables)
    # And each secret's variable is the secret's Ref, which CloudFormation resolves to its ARN
    stack = synthesized.nested[HOMES.get(spec.logical_id, "Processing")]
    for secret in (SLACK_WEBHOOK_SECRET, PROVIDER_KEYS_SECRET):
        if secret.logical_id in spec.uses:
            (reference,) = variables[secret.env_var].values()
            parameter = variables[secret.env_var]["Ref"]
            assert reference == parameter and parameter in stack["Parameters"]
            assert _secret_ref_is_passed_as(synthesized, parameter, secret.logical_id) == "Ref"


def _secret_ref_is_passed_as(synthesized, parameter: str, secret_id: str) -> str:
    """How the root stack fills the nested parameter: the Security stack's output of the secret's Ref."""
    security = synthesized.nested["Security"]
    output = next(o for name, o in security["Outputs"].items() if name in parameter)
    (kind,) = output["Value"]
    assert secret_id in output["Value"][kind]
    return kind
