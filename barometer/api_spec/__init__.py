"""The HTTP API as an OpenAPI 3.1 document (`openapi.yaml` beside this file).

One document for every part that needs it: the local API serves it at `/v1/openapi.json`, the tests
compare it with the handler's routes and fuzz the running platform against it (schemathesis), and the
CDK app can load it for API Gateway request validation. Loading is on first use, never at import.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


@lru_cache(maxsize=1)
def _document_json() -> bytes:
    import yaml

    return json.dumps(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")), separators=(",", ":")).encode()


def load() -> dict[str, Any]:
    """A fresh copy of the document (callers may change theirs)."""
    return json.loads(_document_json())


def openapi_json() -> bytes:
    """The document as compact JSON bytes."""
    return _document_json()


def operations(document: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation in the document."""
    paths = (document or load())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in HTTP_METHODS}
