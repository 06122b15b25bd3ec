"""The REST API's routes, request validation and gateway responses, from the OpenAPI document.

Each operation of barometer/api_spec/openapi.yaml that needs a token becomes a resource and method of its
own (not a catch-all {proxy+}): its Cognito scopes and parameters are the document's, one request validator
checks parameters and bodies, and a JSON body is checked against the draft-04 model of its envelope
(infra_cdk/openapi.py). Gateway responses answer in the contract's error shape.
"""
from __future__ import annotations

from typing import Any

from aws_cdk import aws_apigateway as apigateway

from infra_cdk.openapi import GATEWAY_RESPONSES, JSON, BodyModel, Operation, gateway_operations

# JsonSchema's Python names for the draft-04 keywords whose name differs (the rest are snake_case).
_RENAMED = {"$schema": "schema", "$ref": "ref", "not": "not_"}
_VERSIONS = {"http://json-schema.org/draft-04/schema#": apigateway.JsonSchemaVersion.DRAFT4}
_TYPES = {t.name.lower(): t for t in apigateway.JsonSchemaType}
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMAS = ("items", "not", "additionalProperties")


class ApiDocumentError(ValueError):
    """The document asks for what the API cannot give (e.g. a scope the user pool does not define)."""


def _snake(name: str) -> str:
    return _RENAMED.get(name) or "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def json_schema(schema: dict[str, Any]) -> apigateway.JsonSchema:
    """A draft-04 schema as CDK's JsonSchema (which Model renders back into the same JSON)."""
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            value = _VERSIONS[value]
        elif key == "type":
            value = [_TYPES[t] for t in value] if isinstance(value, list) else _TYPES[value]
        elif key in _SCHEMA_MAPS:
            value = {name: json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            value = [json_schema(sub) for sub in value]
        elif key in _SCHEMAS and isinstance(value, dict):
            value = json_schema(value)
        kwargs[_snake(key)] = value
    return apigateway.JsonSchema(**kwargs)


def add_document_routes(api: apigateway.RestApi, integration: apigateway.Integration,
                        authorizer: apigateway.IAuthorizer, scopes: set[str],
                        document: dict[str, Any]) -> dict[str, apigateway.Method]:
    """One method per operation of the document that needs a token; returns them by operationId.
    `scopes` are those the user pool's resource server defines: an operation needing another fails here."""
    validator = api.add_request_validator(
        "BodyAndParameters", request_validator_name="body-and-parameters",
        validate_request_body=True, validate_request_parameters=True)
    models: dict[str, apigateway.Model] = {}

    def model(body: BodyModel) -> apigateway.Model:
        if body.name not in models:
            models[body.name] = api.add_model(f"{body.name}Model", model_name=body.name, content_type=JSON,
                                              description=f"The envelope of {body.name} (openapi.yaml)",
                                              schema=json_schema(body.schema))
        return models[body.name]

    def add(operation: Operation) -> apigateway.Method:
        unknown = sorted(set(operation.scopes) - scopes)
        if unknown:
            raise ApiDocumentError(f"{operation.operation_id} needs scope(s) {', '.join(unknown)}, which the "
                                   f"user pool does not define ({', '.join(sorted(scopes))})")
        return api.root.resource_for_path(operation.path).add_method(
            operation.method, integration, operation_name=operation.operation_id,
            authorizer=authorizer, authorization_type=apigateway.AuthorizationType.COGNITO,
            authorization_scopes=list(operation.scopes), request_validator=validator,
            request_parameters=operation.request_parameters or None,
            request_models={JSON: model(operation.body)} if operation.body else None)

    methods = {operation.operation_id: add(operation) for operation in gateway_operations(document)}
    for response in GATEWAY_RESPONSES:
        api.add_gateway_response(
            response.response_type.title().replace("_", ""), type=apigateway.ResponseType.of(response.response_type),
            status_code=response.status, templates={JSON: response.template},
            response_headers=response.headers or None)
    return methods
