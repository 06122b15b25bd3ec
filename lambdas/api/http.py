"""A small router for API Gateway's REST proxy events.

Powertools' event handler would do, but importing it takes ~300 ms on these machines, more than
the whole cold-start budget of a handler (200 ms); routing a handful of paths needs far less.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class HttpError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str | None
    claims: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        body = event.get("body")
        if body is not None and event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        return cls(
            method=(event.get("httpMethod") or "GET").upper(), path=event.get("path") or "/",
            query={k: v for k, v in (event.get("queryStringParameters") or {}).items() if v is not None},
            headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
            body=body, claims=authorizer.get("claims") or authorizer,
        )

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)


# Every 503 is retryable and says when: a paused or throttled stream recovers within seconds.
RETRY_AFTER_S = 1


def response(status: int, payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    extra = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {}
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **extra, **(headers or {})},
            "body": json.dumps(payload, separators=(",", ":"))}


Handler = Callable[..., Any]  # (request, *context) -> body, or (status, body)


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern, Handler]] = []
        self._templates: list[tuple[str, str]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """`pattern` like /v1/latest/{kind}/{key}; a {name} matches one URL-decoded path segment."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")

        def register(fn: Handler) -> Handler:
            self._routes.append((method, regex, fn))
            self._templates.append((method, pattern))
            return fn

        return register

    def routes(self) -> list[tuple[str, str]]:
        """(method, pattern) of every route, as registered (barometer/api_spec must list each)."""
        return list(self._templates)

    def resolve(self, event: dict[str, Any], *context: Any) -> dict[str, Any]:
        """The response to a proxy event; the matching route is called with the request and `context`."""
        from urllib.parse import unquote

        request = Request.from_event(event)
        allowed = []
        for method, regex, fn in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items()}
            try:
                result = fn(request, *context)
            except HttpError as exc:
                return response(exc.status, {"error": exc.message, **exc.extra})
            if isinstance(result, tuple):
                return response(result[0], result[1])
            return response(200, result)
        if allowed:
            return response(405, {"error": f"method {request.method} not allowed on {request.path}"},
                            {"Allow": ", ".join(sorted(set(allowed)))})
        return response(404, {"error": f"no such resource: {request.path}"})
