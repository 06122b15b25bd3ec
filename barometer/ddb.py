"""DynamoDB attribute values <-> plain Python, without Decimal.

boto3's TypeSerializer insists on Decimal and is slow on hot paths; floats round-trip exactly
through repr(), which DynamoDB's 38-digit numbers hold.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def to_attr(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: to_attr(v) for k, v in values.items() if v is not None}


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def from_attr(attr: Mapping[str, Any]) -> Any:
    (kind, value), = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "B":  # bytes from boto3; base64 text in Lambda's stream events
        return value if isinstance(value, (bytes, bytearray)) else base64.b64decode(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {_number(v) for v in value}
    raise TypeError(f"unsupported DynamoDB type {kind}")


def from_item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: from_attr(v) for k, v in item.items()}
