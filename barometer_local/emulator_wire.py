"""The streaming responses' JSON, built without moto's generic serializer.

moto 5.2.5 turns a result into JSON by walking the operation's botocore shape one value at a time, and
for every member of every record it asks six alias providers which key to read (`XFormedAttributePicker`).
For the stream's bulk operations that walk was most of the work: 75-85% of a GetRecords or PutRecords
call, about 55 us per record each way, and most of a Firehose PutRecordBatch (docs/benchmarks.md, "The
emulator's wire"). Their results are plain dicts of strings, numbers, bytes and datetimes whose keys are
the shapes' member names, so the same JSON comes from a walk planned once per shape.

Only that case is taken: a value of another type, a key that is not a member, a shape with its own wire
name or a response class with transformers, and the call goes back to moto's serializer. The framing
(status, Content-Type, `json.dumps` of the body) is moto's own serializer's; tests compare the bodies with
moto's for the same results (tests/local/test_emulator_wire.py).
"""
from __future__ import annotations

import base64
import functools
from datetime import datetime
from typing import Any

# (service, its response class in moto.<service>.responses, method): the operations answered this way
FAST_OPERATIONS = (
    ("kinesis", "KinesisResponse", "get_records"),
    ("kinesis", "KinesisResponse", "put_records"),
    ("firehose", "FirehoseResponse", "put_record_batch"),
    ("dynamodb", "DynamoHandler", "put_item"),  # the key-state saves: one a key a batch (session 7)
)


class Unsupported(Exception):
    """A value or shape the planned walk does not cover: moto's serializer takes the result."""


def _plan(shape: Any, planning: dict[str, list[Any]] | None = None) -> Any:
    """A shape as nested tuples: ("structure", {member: plan}), ("list", plan), ("map", plan), ("ref", [plan])
    for a shape inside itself (DynamoDB's AttributeValue holds maps and lists of AttributeValues), or a leaf
    type name. Raises Unsupported where moto's serializer would rename or special-case a value."""
    planning = {} if planning is None else planning
    if shape.serialization.get("name") or shape.serialization.get("locationNameForQueryCompatibility"):
        raise Unsupported(f"{shape.name} has a wire name of its own")
    kind = shape.type_name
    if kind in ("structure", "list", "map"):
        if shape.name in planning:
            return ("ref", planning[shape.name])  # filled in below, once the outer walk of it is planned
        planning[shape.name] = holder = [None]
    if kind == "structure":
        if shape.is_document_type:
            raise Unsupported(f"{shape.name} is a document")
        holder[0] = ("structure", {name: _plan(member, planning) for name, member in shape.members.items()})
        return holder[0]
    if kind == "list":
        holder[0] = ("list", _plan(shape.member, planning))
        return holder[0]
    if kind == "map":
        if shape.key.type_name != "string":
            raise Unsupported(f"{shape.name} has non-string keys")
        holder[0] = ("map", _plan(shape.value, planning))
        return holder[0]
    if kind in ("string", "integer", "long", "boolean", "blob", "timestamp", "float", "double"):
        if kind == "timestamp" and shape.serialization.get("timestampFormat", "unixtimestamp") != "unixtimestamp":
            raise Unsupported(f"{shape.name} is not a unix timestamp")
        return kind
    raise Unsupported(f"{shape.name} is a {kind}")


@functools.cache
def plan_for(service: str, operation: str) -> Any:
    from moto.core.utils import get_service_model

    output = get_service_model(service).operation_model(operation).output_shape
    return None if output is None else _plan(output)


@functools.cache
def _unix_converter() -> Any:
    """moto's own conversion of a timestamp to the JSON protocol's epoch seconds (resolved once: it runs
    per record)."""
    from botocore.utils import parse_to_aware_datetime
    from moto.core.serialize import TimestampSerializer

    unix = TimestampSerializer._timestamp_unixtimestamp
    return lambda value: unix(parse_to_aware_datetime(value))


def to_wire(value: Any, plan: Any) -> Any:
    """The JSON value moto's JSON serializer writes for `value` under `plan`; Unsupported otherwise."""
    if isinstance(plan, tuple):
        kind, inner = plan
        if kind == "ref":
            return to_wire(value, inner[0])
        if kind == "structure":
            if type(value) is not dict:
                raise Unsupported(f"a {type(value).__name__} where a structure goes")
            out = {}
            for key, member in value.items():
                if key not in inner:
                    raise Unsupported(f"{key} is not a member")
                if member is not None:
                    out[key] = to_wire(member, inner[key])
            return out
        if kind == "list":
            if type(value) is not list:
                raise Unsupported(f"a {type(value).__name__} where a list goes")
            return [to_wire(item, inner) for item in value]
        if type(value) is not dict:
            raise Unsupported(f"a {type(value).__name__} where a map goes")
        return {k: to_wire(v, inner) for k, v in value.items() if v is not None}
    kind_of = type(value)
    if plan == "string" and kind_of is str:
        return value
    if plan in ("integer", "long") and kind_of is int:
        return value
    if plan == "boolean" and kind_of is bool:
        return value
    if plan in ("float", "double") and kind_of in (int, float):
        return float(value)
    if plan == "blob" and kind_of in (bytes, str):
        raw = value.encode("utf-8") if kind_of is str else value
        return base64.b64encode(raw).strip().decode("utf-8")
    if plan == "timestamp" and isinstance(value, datetime):
        return _unix_converter()(value)
    raise Unsupported(f"a {kind_of.__name__} where a {plan} goes")


@functools.cache
def _wire_result_class() -> Any:
    from moto.core.responses import ActionResult

    class WireResult(ActionResult):
        """An ActionResult whose body `to_wire` built: moto's serializer only frames it."""

        def execute_result(self, context: Any) -> tuple[int, dict[str, str], str]:
            from moto import settings
            from moto.core.serialize import XFormedAttributePicker

            serializer = context.serializer_class(operation_model=context.operation_model,
                                                  pretty_print=settings.PRETTIFY_RESPONSES,
                                                  value_picker=XFormedAttributePicker())
            response = serializer._serialized_result_to_response(
                serializer._create_default_response(), self.result, context.operation_model.output_shape,
                self.result)
            return response["status_code"], response["headers"], response["body"]

    return WireResult


def fast(method: Any, service: str, operation: str) -> Any:
    from moto.core.responses import ActionResult

    @functools.wraps(method)
    def answer(self: Any) -> Any:
        result = method(self)
        if type(result) is not ActionResult or getattr(self, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None):
            return result
        try:
            plan = plan_for(service, operation)
            if plan is None:
                return result
            return _wire_result_class()(to_wire(result.result, plan))
        except Unsupported:
            return result

    answer._barometer_wire = True  # type: ignore[attr-defined]
    return answer


def install() -> None:
    import importlib

    for service, class_name, method_name in FAST_OPERATIONS:
        cls = getattr(importlib.import_module(f"moto.{service}.responses"), class_name)
        method = getattr(cls, method_name)
        if getattr(method, "_barometer_wire", False):
            continue
        operation = "".join(part.title() for part in method_name.split("_"))
        setattr(cls, method_name, fast(method, service, operation))
