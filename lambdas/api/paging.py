"""Opaque page tokens: the continuation state, base64url JSON (nothing a client should parse)."""
from __future__ import annotations

import base64
import json
from typing import Any

from lambdas.api.http import HttpError

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


def encode(state: Any) -> str | None:
    if state is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str | None) -> Any:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "next: not a page token returned by this API") from None


def limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise HttpError(400, f"limit: must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)
