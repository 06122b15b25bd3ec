"""The OpenAPI document in API Gateway's terms (infra_cdk/openapi.py): pure functions, no synthesis.

The synthesized API (methods, model, validator, gateway responses): test_infra_api_models.py.
"""
from __future__ import annotations

import copy
import json
import re

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from barometer.api_spec import load, operations
from infra_cdk.openapi import (
    DRAFT4,
    DROPPED,
    GATEWAY_RESPONSES,
    KEPT,
    KNOWN,
    SUBSCHEMA_LISTS,
    SUBSCHEMA_MAPS,
    SUBSCHEMAS,
    TRANSLATED,
    SchemaConversionError,
    document_schemas,
    envelope,
    gateway_operations,
    keywords,
    open_operations,
    to_draft4,
)

# The keywords of JSON Schema draft-04 (validation and core), what API Gateway models understand.
DRAFT4_KEYWORDS = {
    "$schema", "id", "$ref", "title", "description", "default", "definitions", "type", "enum", "format",
    "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
    "pattern", "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "required", "properties", "patternProperties", "additionalProperties", "dependencies",
    "allOf", "anyOf", "oneOf", "not",
}
QUOTE = {"kind": "quote", "symbol": "AAPL", "price": 187.5, "ts": "2026-11-24T15:04:05Z"}
WEATHER = {"kind": "weather", "city": "Seattle", "temp_c": 7.5, "ts": "2026-11-24T15:04:05Z"}


@pytest.fixture(scope="module")
def document():
    return load()


def test_every_keyword_of_the_document_is_translated_kept_or_dropped_deliberately(document):
    # Given every schema written in the document
    schemas = document_schemas(document)
    used = set().union(*(keywords(s) for s in schemas.values()))
    # Then each keyword it uses is one the converter knows (a new one fails here first, naming itself)
    assert used <= KNOWN, sorted(used - KNOWN)
    # And the converter's lists do not overlap: a keyword has one treatment
    groups = [KEPT, SUBSCHEMA_MAPS, SUBSCHEMA_LISTS, SUBSCHEMAS, TRANSLATED, DROPPED]
    assert sum(map(len, groups)) == len(KNOWN)
    # When each is converted, Then only draft-04 keywords remain, in schemas draft-04 itself accepts
    for at, schema in schemas.items():
        converted = to_draft4(schema, document, at=at)
        assert keywords(converted) <= DRAFT4_KEYWORDS, (at, keywords(converted) - DRAFT4_KEYWORDS)
        Draft4Validator.check_schema({"$schema": DRAFT4, **converted})


@pytest.mark.parametrize("keyword,value", [("prefixItems", [{}]), ("unevaluatedProperties", False),
                                           ("if", {}), ("dependentRequired", {}), ("$defs", {}),
                                           ("not too far in the future.", None)])
def test_a_keyword_the_converter_does_not_know_fails_naming_it_and_where(document, keyword, value):
    # Given a schema of the document with a keyword added (the last: what a comma in a YAML flow mapping does)
    schema = {"type": "object", "properties": {"ts": {"type": "string", keyword: value}}}
    # When it is converted, Then the conversion fails naming the keyword and its place
    with pytest.raises(SchemaConversionError, match=re.escape(f"#/properties/ts: keyword(s) {keyword} unknown")):
        to_draft4(schema, document)


def test_translations_const_exclusive_bounds_refs_and_dropped_annotations(document):
    schema = {"type": "object", "properties": {
        "kind": {"const": "quote", "examples": ["quote"]},
        "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
        "low": {"type": "number", "exclusiveMaximum": 5, "maximum": 3},
        "token": {"$ref": "#/components/schemas/PageToken"},
        "any": True}}
    converted = to_draft4(schema, document)
    props = converted["properties"]
    assert props["kind"] == {"enum": ["quote"]}  # const as a one-value enum, examples dropped
    assert props["price"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10}
    assert props["low"] == {"type": "number", "maximum": 3}  # the stricter inclusive bound stays
    # a $ref is inlined, with its type list (draft-04 has type lists)
    assert props["token"]["type"] == ["string", "null"]
    assert props["any"] == {}
    # And the input is left as it was
    assert schema["properties"]["kind"] == {"const": "quote", "examples": ["quote"]}


def test_a_recursive_or_outside_reference_is_refused(document):
    looped = copy.deepcopy(document)
    looped["components"]["schemas"]["Node"] = {"type": "object", "properties": {
        "next": {"$ref": "#/components/schemas/Node"}}}
    with pytest.raises(SchemaConversionError, match="refers to itself"):
        to_draft4({"$ref": "#/components/schemas/Node"}, looped)
    with pytest.raises(SchemaConversionError, match="only references inside the document"):
        to_draft4({"$ref": "other.yaml#/Node"}, document)
    with pytest.raises(SchemaConversionError, match="nothing at 'Nope'"):
        to_draft4({"$ref": "#/components/schemas/Nope"}, document)


# Instances for each component schema; the converted schema must decide each as the original does.
SAMPLES = {
    "QuoteEvent": [QUOTE, {**QUOTE, "price": 0}, {**QUOTE, "price": -1}, {**QUOTE, "price": 1e9},
                   {**QUOTE, "price": 1e9 + 1}, {**QUOTE, "kind": "weather"}, {**QUOTE, "extra": 1},
                   {k: v for k, v in QUOTE.items() if k != "ts"}, {**QUOTE, "symbol": "aapl"},
                   {**QUOTE, "volume": -1}, {**QUOTE, "volume": 10}],
    "WeatherEvent": [WEATHER, {**WEATHER, "humidity_pct": 101}, {**WEATHER, "wind_mps": -1},
                     {**WEATHER, "kind": "quote"}, {**WEATHER, "symbol": "X"}],
    "EventBatch": [{"events": [QUOTE, WEATHER]}, {"events": []}, {"events": [{**QUOTE, "price": "x"}]},
                   {"events": [QUOTE], "more": 1}, {"events": [QUOTE] * 501}, [QUOTE], {"events": [42]}],
    "PageToken": [None, "abc", 1],
    "Latest": [{"kind": "quote", "key": "AAPL", "value": 1, "ts": "t"},
               {"kind": "quote", "key": "AAPL", "value": 1, "ts": "t", "state": "x"},
               {"kind": "stock", "key": "AAPL", "value": 1, "ts": "t"}],
    "Rolling": [{"5m": 1.5, "1h": None}, {"5m": "x"}],
    "RollupRow": [{"day": "2026-11-24", "open": None, "volume": 3}, {"day": "2026-11-24", "volume": 1.5}, {}],
    "Liveness": [{"status": "ok"}, {"status": "down"}],
    "Failure": [{"index": 0, "error": "price: x"}, {"index": -1, "error": "x"}],
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_converted_schema_decides_like_the_document(document, name):
    # Given the component as the document has it (2020-12) and as API Gateway would get it (draft-04)
    original = Draft202012Validator({"components": document["components"], "$ref": f"#/components/schemas/{name}"})
    converted = Draft4Validator(to_draft4(document["components"]["schemas"][name], document))
    # When both judge the same instances, Then they agree on each
    decisions = [(original.is_valid(instance), converted.is_valid(instance)) for instance in SAMPLES[name]]
    assert [a for a, _ in decisions] == [b for _, b in decisions], decisions
    # And the samples exercise both answers
    assert {a for a, _ in decisions} == {True, False}


def test_the_envelope_leaves_each_item_to_the_function(document):
    batch = to_draft4(document["components"]["schemas"]["EventBatch"], document)
    model = envelope(batch)
    # Then the per-event schemas are gone, and the batch's own rules stay
    assert "items" not in model["properties"]["events"]
    assert (model["required"], model["additionalProperties"]) == (["events"], False)
    assert (model["properties"]["events"]["minItems"], model["properties"]["events"]["maxItems"]) == (1, 500)
    # And a batch with a bad event beside a good one is no longer refused as a whole
    assert not Draft4Validator(batch).is_valid({"events": [QUOTE, {**QUOTE, "price": "x"}]})
    assert Draft4Validator(model).is_valid({"events": [QUOTE, {**QUOTE, "price": "x"}]})


def test_an_array_under_not_or_one_of_is_not_relaxed():
    for key in ("not", "oneOf"):
        sub = {"type": "array", "items": {"type": "string"}}
        with pytest.raises(SchemaConversionError, match=f"#/{key}: an array under {key}"):
            envelope({key: sub if key == "not" else [sub, {"type": "object"}]})


def test_api_gateway_routes_every_operation_that_needs_a_token_and_leaves_out_the_open_ones(document):
    routed = {(op.method, op.path) for op in gateway_operations(document)}
    opened = set(open_operations(document))
    # Then together they are every operation of the document, and none is both
    assert routed | opened == operations(document) and not routed & opened
    # And the open ones are exactly those the document marks `security: []`
    assert opened == {(m.upper(), p) for p, item in document["paths"].items() for m, op in item.items()
                      if isinstance(op, dict) and op.get("security") == []}
    assert opened == {("GET", "/healthz"), ("GET", "/v1/openapi.json")}


def test_scopes_parameters_and_body_come_from_the_document(document):
    ops = {op.operation_id: op for op in gateway_operations(document)}
    assert ops["postEvents"].scopes == ("barometer/events.write",)
    assert {op.scopes for name, op in ops.items() if name != "postEvents"} == {("barometer/read",)}
    assert ops["getSeries"].request_parameters == {
        "method.request.path.kind": True, "method.request.path.key": True,
        "method.request.querystring.from": False, "method.request.querystring.to": False,
        "method.request.querystring.limit": False, "method.request.querystring.next": False}
    assert ops["postEvents"].body.name == "EventBatch"
    assert ops["postEvents"].body.schema["$schema"] == DRAFT4
    assert [name for name, op in ops.items() if op.body] == ["postEvents"]
    # A required query parameter of the document is a required request parameter
    changed = copy.deepcopy(document)
    changed["paths"]["/v1/alerts"]["get"]["parameters"][0]["required"] = True
    (alerts,) = [op for op in gateway_operations(changed) if op.operation_id == "listAlerts"]
    assert alerts.request_parameters["method.request.querystring.kind"] is True


def test_an_operation_api_gateway_cannot_express_is_refused(document):
    cookie = copy.deepcopy(document)
    cookie["paths"]["/v1/config"]["get"]["parameters"] = [{"name": "s", "in": "cookie", "schema": {}}]
    with pytest.raises(SchemaConversionError, match="parameter 's' in cookie"):
        gateway_operations(cookie)
    two = copy.deepcopy(document)
    two["paths"]["/v1/config"]["get"]["security"] = [{"bearer": ["barometer/read"]}, {"bearer": []}]
    with pytest.raises(SchemaConversionError, match="one security requirement"):
        gateway_operations(two)


# What the function's envelope check (lambdas/api/handler.py _events_of) refuses, the model must refuse, and
# the other way round: API Gateway answering first must not change which requests get a 400.
ENVELOPES = [
    {"events": [QUOTE]}, {"events": [QUOTE] * 500}, {"events": [QUOTE] * 501}, {"events": []}, {"events": {}},
    {"events": "x"}, {}, {"events": [QUOTE], "extra": 1}, [], "events", 42, None,
    {"events": [42, "x", None, {}]}, {"events": [{**QUOTE, "price": -1}]},
]


@pytest.mark.parametrize("body", ENVELOPES, ids=lambda b: json.dumps(b)[:40])
def test_the_model_refuses_exactly_the_bodies_the_function_refuses_as_a_whole(document, body):
    from lambdas.api.handler import _events_of
    from lambdas.api.http import HttpError

    (post,) = [op for op in gateway_operations(document) if op.operation_id == "postEvents"]
    try:
        _events_of(json.dumps(body))
        function_refuses = False
    except HttpError as exc:
        assert exc.status == 400
        function_refuses = True
    assert (not Draft4Validator(post.body.schema).is_valid(body)) == function_refuses


def _render(template: str, message: str, validation: str) -> str:
    # API Gateway substitutes $context variables; messageString is the message as a JSON string.
    return (template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.validationErrorString", json.dumps(validation)[1:-1]))


def test_gateway_responses_answer_in_the_documented_error_shape(document):
    error = Draft202012Validator(document["components"]["schemas"]["Error"])
    validation = 'instance type (string) does not match any allowed primitive type (allowed: ["object"])'
    for response in GATEWAY_RESPONSES:
        # When API Gateway renders it (a message and a validation message with quotes)
        rendered = json.loads(_render(response.template, 'Missing "x"', validation))
        # Then it is the document's Error object, its message naming what is at fault
        assert error.is_valid(rendered), (response.response_type, rendered)
        assert set(rendered) == {"error"}
    by_type = {r.response_type: r for r in GATEWAY_RESPONSES}
    assert json.loads(_render(by_type["BAD_REQUEST_BODY"].template, "", validation))["error"] == f"body: {validation}"
    assert by_type["BAD_REQUEST_PARAMETERS"].template.count("validationErrorString") == 1
    # And the 401 carries the WWW-Authenticate header the document lists for it
    assert set(document["components"]["responses"]["Unauthorized"]["headers"]) == set(by_type["UNAUTHORIZED"].headers)
    assert by_type["UNAUTHORIZED"].status == "401"
