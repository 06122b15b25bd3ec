"""Opaque page tokens: the continuation state, base64url JSON (nothing a client should parse)."""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from lambdas.api.http import HttpError

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


def encode(state: Any) -> str | None:
    if state is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str | None, valid: Callable[[Any], bool] = lambda state: True) -> Any:
    """The state of a token; 400 when it is not one this endpoint issued (checked by `valid`)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        state = _INVALID
    if state is _INVALID or not valid(state):
        raise HttpError(400, "next: not a page token returned by this API")
    return state


_INVALID = object()


def is_ddb_key(state: Any, names: tuple[str, ...]) -> bool:
    """A DynamoDB ExclusiveStartKey made of string attributes with exactly these names."""
    return (isinstance(state, dict) and set(state) == set(names)
            and all(isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str) and len(v["S"]) <= 2048
                    for v in state.values()))


def limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise HttpError(400, f"limit: must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)
