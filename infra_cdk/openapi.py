"""The OpenAPI 3.1 document (barometer/api_spec) in the shapes an API Gateway REST API accepts.

API Gateway validates request bodies against JSON Schema draft-04 models, while OpenAPI 3.1 schemas are
JSON Schema 2020-12: `to_draft4` translates one (refs inlined, `const` as a one-value `enum`, numeric
`exclusiveMinimum` as draft-04's boolean form, annotations draft-04 lacks dropped) and refuses any keyword
it does not know, so a new keyword in the document fails the synthesis instead of being lost quietly.

`gateway_operations` reads the routes API Gateway declares from the document's paths: the operations that
need a token (the API function behind the Cognito authorizer), each with its scopes, its parameters and,
for a JSON body, the model of the body's envelope (`envelope`: what makes a request a batch at all; each
item stays the function's to validate, so good events beside bad ones still go through).

Pure functions of the document: the CDK wiring is infra_cdk/constructs/api_validation.py.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from barometer.api_spec import HTTP_METHODS

DRAFT4 = "http://json-schema.org/draft-04/schema#"
JSON = "application/json"

# Same meaning in draft-04 and 2020-12: copied as they are. (`type` lists such as [number, "null"] are
# draft-04 too.)
KEPT = frozenset({
    "type", "title", "description", "default", "enum", "format", "pattern", "minLength", "maxLength",
    "minimum", "maximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "required",
    "minProperties", "maxProperties",
})
# Same meaning, with schemas inside: copied with each subschema converted.
SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties"})
SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
SUBSCHEMAS = frozenset({"items", "not", "additionalProperties"})
# Translated into their draft-04 form.
TRANSLATED = frozenset({"$ref", "const", "exclusiveMinimum", "exclusiveMaximum"})
# Annotations draft-04 has no word for; they never change what is valid.
DROPPED = frozenset({"examples", "example", "$comment", "deprecated", "readOnly", "writeOnly"})
KNOWN = KEPT | SUBSCHEMA_MAPS | SUBSCHEMA_LISTS | SUBSCHEMAS | TRANSLATED | DROPPED

_PARAMETER_PLACES = {"query": "querystring", "path": "path", "header": "header"}
_MODEL_NAME = re.compile(r"^[A-Za-z0-9]+$")


class SchemaConversionError(ValueError):
    """A schema or operation of the document that API Gateway cannot be given as it is."""


def _pointer(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SchemaConversionError(f"$ref {ref!r}: only references inside the document (#/...) are supported")
    target: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            raise SchemaConversionError(f"$ref {ref!r}: nothing at {part!r}")
        target = target[part]
    return target


def to_draft4(schema: Any, document: dict[str, Any], *, at: str = "#", _refs: tuple[str, ...] = ()) -> Any:
    """The draft-04 equivalent of a 2020-12 schema of `document` (its `$ref`s resolved inline)."""
    if schema is True:
        return {}
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, dict):
        raise SchemaConversionError(f"{at}: a schema must be an object or a boolean (got {type(schema).__name__})")
    unknown = sorted(set(schema) - KNOWN)
    if unknown:
        raise SchemaConversionError(f"{at}: keyword(s) {', '.join(unknown)} unknown to the draft-04 converter "
                                    "(infra_cdk/openapi.py): translate or drop each deliberately")
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in _refs:
            raise SchemaConversionError(f"{at}: $ref {ref} refers to itself (a recursive schema cannot be inlined)")
        resolved = to_draft4(_pointer(document, ref), document, at=ref, _refs=(*_refs, ref))
        siblings = {k: v for k, v in schema.items() if k != "$ref" and k not in DROPPED}
        if not siblings:
            return resolved
        # 2020-12 applies a $ref beside other keywords as well as them; draft-04 ignores such siblings.
        return {"allOf": [resolved, to_draft4(siblings, document, at=at, _refs=_refs)]}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        where = f"{at}/{key}"
        if key in KEPT:
            out[key] = value
        elif key in SUBSCHEMA_MAPS:
            out[key] = {name: to_draft4(sub, document, at=f"{where}/{name}", _refs=_refs) for name, sub in value.items()}
        elif key in SUBSCHEMA_LISTS:
            out[key] = [to_draft4(sub, document, at=f"{where}/{i}", _refs=_refs) for i, sub in enumerate(value)]
        elif key == "additionalProperties" and isinstance(value, bool):
            out[key] = value  # draft-04 takes a boolean here
        elif key in SUBSCHEMAS:
            if key == "items" and isinstance(value, list):
                raise SchemaConversionError(f"{where}: an array of item schemas is prefixItems in 2020-12")
            out[key] = to_draft4(value, document, at=where, _refs=_refs)
    if "const" in schema:
        const = schema["const"]
        allowed = [v for v in schema.get("enum", [const]) if _same(v, const)]
        out["enum"] = allowed  # [] when enum and const disagree: nothing is valid, as in 2020-12
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if exclusive in schema:
            _exclusive_bound(out, schema, bound, exclusive, where=f"{at}/{exclusive}")
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _exclusive_bound(out: dict[str, Any], schema: dict[str, Any], bound: str, exclusive: str, *, where: str) -> None:
    """2020-12's numeric exclusiveMinimum n is draft-04's minimum n with exclusiveMinimum true; beside an
    inclusive bound of its own, the stricter of the two stays (draft-04 has one bound per side)."""
    limit = schema[exclusive]
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise SchemaConversionError(f"{where}: must be a number in 2020-12 (got {limit!r})")
    inclusive = schema.get(bound)
    lower = bound == "minimum"
    if inclusive is not None and (inclusive > limit if lower else inclusive < limit):
        out[bound] = inclusive
        return
    out[bound] = limit
    out[exclusive] = True


def keywords(schema: Any) -> set[str]:
    """Every keyword used in a schema and in the schemas inside it (not following $refs)."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key in SUBSCHEMA_MAPS:
            for sub in value.values():
                found |= keywords(sub)
        elif key in SUBSCHEMA_LISTS:
            for sub in value:
                found |= keywords(sub)
        elif key in SUBSCHEMAS:
            found |= keywords(value)
    return found


def document_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Every schema written in the document, by where it is: the components' and each inline one of a
    parameter, a request body or a response (a `$ref` to a component counts once, as the component)."""
    found: dict[str, Any] = {f"#/components/schemas/{name}": schema
                             for name, schema in document.get("components", {}).get("schemas", {}).items()}

    def media(content: dict[str, Any], at: str) -> None:
        for media_type, entry in (content or {}).items():
            if "schema" in entry:
                found[f"{at}/content/{media_type}/schema"] = entry["schema"]

    for name, parameter in document.get("components", {}).get("parameters", {}).items():
        if "schema" in parameter:
            found[f"#/components/parameters/{name}/schema"] = parameter["schema"]
    for name, response in document.get("components", {}).get("responses", {}).items():
        media(response.get("content"), f"#/components/responses/{name}")
        for header, spec in response.get("headers", {}).items():
            if "schema" in spec:
                found[f"#/components/responses/{name}/headers/{header}/schema"] = spec["schema"]
    for path, item in document["paths"].items():
        for method, operation in _operations_of(item):
            at = f"#/paths/{path}/{method}"
            for i, parameter in enumerate(operation.get("parameters", [])):
                if "schema" in parameter:
                    found[f"{at}/parameters/{i}/schema"] = parameter["schema"]
            media(operation.get("requestBody", {}).get("content"), f"{at}/requestBody")
            for status, response in operation.get("responses", {}).items():
                media(response.get("content"), f"{at}/responses/{status}")
    return found


def envelope(schema: dict[str, Any], *, at: str = "#") -> dict[str, Any]:
    """A request body's draft-04 schema down to its arrays, without what each item must be.

    A request body's array is a batch whose items the function validates one by one, answering for each in
    `failed` while the good ones go through (contract, docs/contracts.md): API Gateway refusing the whole
    request for one bad item would change that. So `items` is left out wherever the schema says it, and only
    what makes the body a batch at all stays. Leaving `items` out only allows more under `properties`,
    `additionalProperties`, `allOf` and `anyOf`; under `not` or `oneOf` it could refuse more, so an array
    there is refused here rather than guessed at.
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        where = f"{at}/{key}"
        if key == "items":
            continue
        if key in ("not", "oneOf"):
            if "items" in set().union(*map(keywords, value if isinstance(value, list) else [value])):
                raise SchemaConversionError(f"{where}: an array under {key} cannot be relaxed safely")
            out[key] = value
        elif key in SUBSCHEMA_MAPS:
            out[key] = {name: envelope(sub, at=f"{where}/{name}") for name, sub in value.items()}
        elif key in ("allOf", "anyOf"):
            out[key] = [envelope(sub, at=f"{where}/{i}") for i, sub in enumerate(value)]
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = envelope(value, at=where)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class BodyModel:
    name: str  # the API Gateway model's name: the component the document's body schema refers to
    schema: dict[str, Any]  # draft-04, with $schema and title


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the document's path template, e.g. /v1/latest/{kind}/{key}
    scopes: tuple[str, ...]  # OAuth scopes the token needs
    request_parameters: dict[str, bool] = field(default_factory=dict)  # method.request.<place>.<name>: required
    body: BodyModel | None = None


def _operations_of(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(method, operation) for method, operation in item.items() if method in HTTP_METHODS]


def _scopes(operation: dict[str, Any], document: dict[str, Any], at: str) -> tuple[str, ...] | None:
    """The scopes of the operation's one bearer requirement; None for an operation open to anyone."""
    requirements = operation.get("security", document.get("security", []))
    if not requirements or requirements == [{}]:
        return None
    if len(requirements) != 1 or len(requirements[0]) != 1:
        raise SchemaConversionError(f"{at}: one security requirement with one scheme is what the Cognito "
                                    f"authorizer can check (got {requirements})")
    ((scheme, scopes),) = requirements[0].items()
    spec = document["components"]["securitySchemes"][scheme]
    if (spec.get("type"), spec.get("scheme")) != ("http", "bearer"):
        raise SchemaConversionError(f"{at}: security scheme {scheme!r} is not an HTTP bearer token")
    return tuple(scopes)


def _parameters(item: dict[str, Any], operation: dict[str, Any], document: dict[str, Any],
                at: str) -> dict[str, bool]:
    declared: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if "$ref" in parameter:
            parameter = _pointer(document, parameter["$ref"])
        declared[(parameter["in"], parameter["name"])] = parameter  # an operation's overrides its path's
    request_parameters = {}
    for (place, name), parameter in declared.items():
        if place not in _PARAMETER_PLACES:
            raise SchemaConversionError(f"{at}: parameter {name!r} in {place}: API Gateway declares only "
                                        f"{', '.join(sorted(_PARAMETER_PLACES))} parameters")
        request_parameters[f"method.request.{_PARAMETER_PLACES[place]}.{name}"] = bool(parameter.get("required"))
    return request_parameters


def _body(operation: dict[str, Any], document: dict[str, Any], at: str) -> BodyModel | None:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None
    if set(content) != {JSON}:
        raise SchemaConversionError(f"{at}: request bodies other than {JSON} are not modelled ({sorted(content)})")
    schema = content[JSON]["schema"]
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if not ref.startswith("#/components/schemas/") or not _MODEL_NAME.match(name):
        raise SchemaConversionError(f"{at}: the body schema must be a $ref to an alphanumeric component "
                                    "(it names the API Gateway model)")
    model = envelope(to_draft4(schema, document, at=f"{at}/requestBody"), at=ref)
    return BodyModel(name, {"$schema": DRAFT4, "title": name, **model})


def gateway_operations(document: dict[str, Any]) -> list[Operation]:
    """The operations API Gateway routes to the API function, in document order: every one that needs a
    token. One open to anyone (`security: []`) stays with the local API: on AWS the only unauthenticated
    route is the mock /health for Route 53, with no function behind it."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in _operations_of(item):
            at = f"#/paths/{path}/{method}"
            scopes = _scopes(operation, document, at)
            if scopes is None:
                continue
            found.append(Operation(operation["operationId"], method.upper(), path, scopes,
                                   _parameters(item, operation, document, at), _body(operation, document, at)))
    return found


def open_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(METHOD, path) of the operations open to anyone, which API Gateway leaves out."""
    return [(method.upper(), path) for path, item in document["paths"].items()
            for method, operation in _operations_of(item)
            if _scopes(operation, document, f"#/paths/{path}/{method}") is None]


@dataclass(frozen=True)
class GatewayResponse:
    """An API Gateway gateway response (an answer API Gateway gives without the function) in the contract's
    error shape: {"error": "<field>: what is wrong"}, the document's Error schema."""

    response_type: str
    status: str | None  # None keeps the type's own status
    template: str  # application/json; $context variables are substituted, nothing else (no VTL)
    headers: dict[str, str] = field(default_factory=dict)  # static values in single quotes


# $context.error.messageString is the message as a quoted JSON string. validationErrorString has no quoted
# form, so it goes inside quotes, as AWS's own examples write it (docs/traps.md: what is and is not measured).
GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    GatewayResponse("BAD_REQUEST_BODY", "400", '{"error":"body: $context.error.validationErrorString"}'),
    GatewayResponse("BAD_REQUEST_PARAMETERS", "400",
                    '{"error":"parameters: $context.error.validationErrorString"}'),
    GatewayResponse("UNAUTHORIZED", "401", '{"error":$context.error.messageString}',
                    {"WWW-Authenticate": "'Bearer realm=\"barometer\"'"}),
    # No resource or method matched: what the function answered behind GET /v1/{proxy+} before each route of
    # the document became a resource of its own.
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", "404", '{"error":"path: no such resource or method"}'),
    GatewayResponse("DEFAULT_4XX", None, '{"error":$context.error.messageString}'),
    GatewayResponse("DEFAULT_5XX", None, '{"error":$context.error.messageString}'),
)
