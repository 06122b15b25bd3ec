"""The OpenAPI document (barometer/api_spec/openapi.yaml) and the handler agree on what the API is."""
from __future__ import annotations

from barometer.api_spec import load, openapi_json, operations
from lambdas.api.handler import router

# Served by the local server itself, not by the API function.
SERVED_BY_THE_LOCAL_SERVER = {("GET", "/v1/openapi.json")}


def test_every_route_the_handler_serves_is_in_the_document_and_vice_versa():
    assert set(router.routes()) == operations() - SERVED_BY_THE_LOCAL_SERVER


def test_the_document_is_openapi_3_1_and_every_reference_resolves():
    document = load()
    assert document["openapi"].startswith("3.1")

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]  # a KeyError names a dangling reference


def test_every_operation_documents_its_errors_and_its_auth():
    document = load()
    for (method, path) in operations(document):
        operation = document["paths"][path][method.lower()]
        security = operation.get("security", document["security"])
        if security:  # a protected operation answers 401 and 403 in the document's error shape
            assert {"401", "403", "400"} <= set(operation["responses"]), (method, path)
        assert "operationId" in operation and any(code.startswith("2") for code in operation["responses"])


def test_the_json_form_is_the_yaml_document():
    import json

    assert json.loads(openapi_json()) == load()
