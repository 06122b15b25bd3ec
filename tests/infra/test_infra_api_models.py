"""The synthesized REST API against the OpenAPI document: its methods, request validator, body model and
gateway responses (infra_cdk/constructs/api_validation.py). Given = the session synthesis.

The converter itself (draft-04, envelope, operations): test_openapi_draft4.py.
"""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft4Validator

from barometer.api_spec import load
from infra_cdk.openapi import GATEWAY_RESPONSES, gateway_operations

pytestmark = pytest.mark.infra

QUOTE = {"kind": "quote", "symbol": "AAPL", "price": 187.5, "ts": "2026-11-24T15:04:05Z"}
# Not in the document: answered by API Gateway itself for Route 53 (a mock integration).
ROUTE53_HEALTH = ("GET", "/health")


@pytest.fixture(scope="module")
def api(synthesized):
    """{(METHOD, path): Method properties} of the Ingestion template, and the template's resources."""
    resources = synthesized.nested["Ingestion"]["Resources"]
    paths: dict[str, str] = {}

    def path_of(ref) -> str:
        if "Fn::GetAtt" in ref:  # the API's root resource
            return ""
        lid = ref["Ref"]
        if lid not in paths:
            props = resources[lid]["Properties"]
            paths[lid] = f"{path_of(props['ParentId'])}/{props['PathPart']}"
        return paths[lid]

    methods = {(r["Properties"]["HttpMethod"], path_of(r["Properties"]["ResourceId"]) or "/"): r["Properties"]
               for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"}
    return methods, resources


def _of_type(resources: dict, kind: str) -> dict[str, dict]:
    return {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == kind}


def test_one_method_per_operation_of_the_document_and_no_other(api):
    methods, _ = api
    document_ops = {(op.method, op.path) for op in gateway_operations(load())}
    # Then every operation that needs a token is a method of its own, and the only other is Route 53's
    assert set(methods) == document_ops | {ROUTE53_HEALTH}
    assert not [key for key in methods if "{proxy+}" in key[1]]


def test_each_method_has_the_documents_scopes_parameters_and_the_validator(api):
    methods, resources = api
    ((validator_id, validator),) = _of_type(resources, "AWS::ApiGateway::RequestValidator").items()
    assert (validator["ValidateRequestBody"], validator["ValidateRequestParameters"]) == (True, True)
    for op in gateway_operations(load()):
        method = methods[(op.method, op.path)]
        assert method["OperationName"] == op.operation_id
        assert (method["AuthorizationType"], method["AuthorizationScopes"]) == ("COGNITO_USER_POOLS", list(op.scopes))
        assert method["RequestValidatorId"] == {"Ref": validator_id}
        assert method.get("RequestParameters", {}) == op.request_parameters
        assert method["Integration"]["Type"] == "AWS_PROXY"


def test_the_post_method_has_the_model_the_converter_makes_of_the_document(api):
    methods, resources = api
    (post,) = [op for op in gateway_operations(load()) if op.body]
    models = _of_type(resources, "AWS::ApiGateway::Model")
    (model_id,) = [lid for lid, m in models.items() if m["Name"] == post.body.name]
    # Then the method's JSON body is checked against that model
    assert methods[("POST", "/v1/events")]["RequestModels"] == {"application/json": {"Ref": model_id}}
    model = models[model_id]
    assert model["ContentType"] == "application/json"
    # And the model in the template is the converter's output for the document's schema
    schema = model["Schema"] if isinstance(model["Schema"], dict) else json.loads(model["Schema"])
    assert schema == post.body.schema


@pytest.fixture(scope="module")
def batch_model(api) -> Draft4Validator:
    _, resources = api
    (model,) = _of_type(resources, "AWS::ApiGateway::Model").values()
    schema = model["Schema"] if isinstance(model["Schema"], dict) else json.loads(model["Schema"])
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def test_the_model_accepts_the_documents_examples_and_a_full_batch(batch_model):
    document = load()
    example = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert batch_model.is_valid(example)
    assert batch_model.is_valid({"events": [QUOTE] * 500})


@pytest.mark.parametrize("body", [[QUOTE], "events", None, {}, {"events": []}, {"events": [QUOTE] * 501},
                                  {"events": [QUOTE], "extra": True}, {"events": {"0": QUOTE}}],
                         ids=["array", "string", "null", "no events", "empty", "501 events", "unknown key",
                              "events not an array"])
def test_the_model_refuses_what_is_not_a_batch(batch_model, body):
    assert not batch_model.is_valid(body)


def test_a_batch_with_one_bad_event_is_left_to_the_function(batch_model):
    # Given a good event beside one with a wrong price, and beside one that is not an object at all
    for bad in ({**QUOTE, "price": "187.5"}, {**QUOTE, "price": -1}, 42):
        # Then the model lets the batch through: the function answers 200 with the bad one in `failed`
        assert batch_model.is_valid({"events": [QUOTE, bad]})


def test_gateway_responses_are_the_contracts_error_shape(api):
    _, resources = api
    deployed = {r["ResponseType"]: r for r in _of_type(resources, "AWS::ApiGateway::GatewayResponse").values()}
    assert set(deployed) == {r.response_type for r in GATEWAY_RESPONSES}
    for response in GATEWAY_RESPONSES:
        props = deployed[response.response_type]
        assert props["ResponseTemplates"] == {"application/json": response.template}
        assert props.get("StatusCode") == response.status
        assert props.get("ResponseParameters", {}) == {
            f"gatewayresponse.header.{name}": value for name, value in response.headers.items()}
    assert "$context.error.validationErrorString" in deployed["BAD_REQUEST_BODY"]["ResponseTemplates"][
        "application/json"]
