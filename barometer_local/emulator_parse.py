"""JSON-protocol requests read by a walk planned once per operation, instead of moto's generic parser.

moto 5.2.5 reads every request body against the operation's botocore shape one value at a time: per
value it looks its handler up by name (`getattr(self, f"_parse_{type}")`), and per structure it asks
every member of the shape for its wire name, so each DynamoDB attribute value costs ten lookups. At
1,000 events/s that parser was 12% of the emulator's CPU (py-spy, docs/benchmarks.md "The emulator's
wire"). The same walk, planned once per operation from moto's own parser's handlers, gives the same
parameters: same keys, same order, same conversions (blobs, timestamps, numbers by moto's own methods).

A request the planned walk cannot read (a body that is not an object, a value of the wrong type, an
operation whose shapes use a handler it does not know) is read again by moto's parser, which answers
or fails exactly as it always did. Tests compare both parsers on generated requests
(tests/local/test_emulator_parse.py).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Walk = Callable[[Any], Any]


class Unplanned(Exception):
    """A shape whose handler the planned walk does not know: moto's parser reads this operation."""


def _plan(parser: Any, shape: Any, planned: dict[str, Walk | None]) -> Walk | None:
    """The walk for `shape`, or None where moto's parser returns the value itself."""
    from moto.core.parse import BaseJSONParser, RequestParser

    name = shape.name
    if name in planned:
        walk = planned[name]
        if walk is not None or shape.type_name not in ("structure", "list", "map"):
            return walk
        return lambda value: planned[name](value)  # type: ignore[misc]  (recursive: bound once planned)
    handler = getattr(parser, f"_parse_{shape.type_name}", parser._default_handle)
    function = getattr(handler, "__func__", None)
    if shape.type_name in ("structure", "list", "map"):
        planned[name] = None  # in progress: a member that refers back gets the late-bound walk above
    if handler == parser._default_handle:
        walk = None
    elif function is BaseJSONParser._parse_structure:
        walk = _structure(parser, shape, planned)
    elif function is RequestParser._parse_list:
        walk = _list(_plan(parser, shape.member, planned))
    elif function is RequestParser._parse_map:
        walk = _map(_plan(parser, shape.key, planned), _plan(parser, shape.value, planned))
    elif function in (BaseJSONParser._parse_blob, BaseJSONParser._parse_timestamp, BaseJSONParser._parse_float,
                      BaseJSONParser._parse_integer):
        walk = functools.partial(handler, shape)
    else:
        raise Unplanned(f"{shape.type_name} shape {name} has handler {handler}")
    planned[name] = walk
    return walk


def _structure(parser: Any, shape: Any, planned: dict[str, Walk | None]) -> Walk:
    if shape.is_document_type:
        return lambda value: value
    members = [(member, ref.serialization.get("name", member), _plan(parser, ref, planned))
               for member, ref in shape.members.items()]
    by_wire = {wire: (member, walk) for member, wire, walk in members}

    def structure(value: Any) -> Any:
        if value is None:
            return None
        if len(value) == 1:  # an attribute value, a key: one member present, order cannot differ
            (wire, raw), = value.items()
            found = by_wire.get(wire)
            if found is None or raw is None:
                return {}
            member, walk = found
            return {member: raw if walk is None else walk(raw)}
        parsed = {}
        get = value.get
        for member, wire, walk in members:
            raw = get(wire)
            if raw is not None:
                parsed[member] = raw if walk is None else walk(raw)
        return parsed

    return structure


def _list(walk: Walk | None) -> Walk:
    if walk is None:
        return list  # moto's list of items as they are
    return lambda node: [walk(item) for item in node]


def _map(key: Walk | None, value: Walk | None) -> Walk:
    def mapping(node: Any) -> Any:
        parsed = {}
        for k, v in node.items():
            parsed[k if key is None else key(k)] = v if value is None else value(v)
        return parsed

    return mapping


@functools.cache
def planned_parser(service: str, operation: str) -> Callable[[Any], Any] | None:
    """Body (bytes) -> parameters for one JSON-protocol operation; None where moto's parser must read it."""
    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    operation_model = get_service_model(service).operation_model(operation)
    shape = operation_model.input_shape
    if shape is None:
        return None
    parser = JSONParser(operation_model, map_type=dict)
    try:
        walk = _plan(parser, shape, {})
    except Unplanned:
        return None
    if walk is None:
        return None
    body_as_json = parser._parse_body_as_json
    return lambda body: walk(body_as_json(body))


def install() -> None:
    from moto.core import parse
    from moto.core.request import determine_request_protocol
    from moto.core.responses import BaseResponse
    from moto.core.utils import get_service_model

    if getattr(BaseResponse.parse_parameters, "_barometer_planned", False):
        return
    parse_parameters, json_parser = BaseResponse.parse_parameters, parse.PROTOCOL_PARSERS.get("json")

    def read_planned(self: Any, request: Any) -> Any:
        """The parameters by the planned walk; None where moto's parser must read the body (it then reads
        it again and answers, or fails, as it always did)."""
        if self.PROTOCOL_PARSER_MAP_TYPE is not dict or parse.PROTOCOL_PARSERS.get("json") is not json_parser:
            return None
        try:
            if determine_request_protocol(get_service_model(self.boto3_service_name), request.content_type) != "json":
                return None
            read = planned_parser(self.boto3_service_name, self._get_action())
            return None if read is None else read(request.data)
        except Exception:  # noqa: BLE001 - whatever the walk cannot read goes to moto's parser
            return None

    def planned_parse_parameters(self: Any, request: Any) -> None:
        params = read_planned(self, request)
        if params is None:
            parse_parameters(self, request)
        else:
            self.params = params

    planned_parse_parameters._barometer_planned = True  # type: ignore[attr-defined]
    BaseResponse.parse_parameters = planned_parse_parameters  # type: ignore[method-assign]
