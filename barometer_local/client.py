"""A small HTTP client for Barometer's API (demo, tests, benchmarks)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode


class ApiResponse(NamedTuple):
    status: int
    body: Any
    headers: dict[str, str]  # names in lower case

    def retry_after_s(self, default: float = 1.0) -> float:
        """Retry-After in seconds (its delta-seconds form; anything else: the default)."""
        try:
            return max(0.0, float(self.headers.get("retry-after", default)))
        except ValueError:
            return default


class ApiClient:
    def __init__(self, base_url: str, token: str | None, timeout_s: float = 30.0):
        self.base_url, self.token, self.timeout_s = base_url.rstrip("/"), token, timeout_s

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                raw: bytes | None = None, token: str | None = ...) -> tuple[int, Any]:
        """(status, decoded JSON body or text). Never raises for HTTP error statuses."""
        status, decoded, _ = self.send(method, path, body, params, raw, token)
        return status, decoded

    def send(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
             raw: bytes | None = None, token: str | None = ...) -> ApiResponse:
        """The response with its headers. Never raises for HTTP error statuses (URLError/OSError when
        nothing answered)."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"}
        bearer = self.token if token is ... else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return ApiResponse(response.status, _decode(response.read()), _headers(response.headers))
        except urllib.error.HTTPError as exc:
            return ApiResponse(exc.code, _decode(exc.read()), _headers(exc.headers))

    def post_events(self, events: list[dict[str, Any]]) -> tuple[int, Any]:
        return self.request("POST", "/v1/events", {"events": events})

    def send_events(self, events: list[dict[str, Any]]) -> ApiResponse:
        """POST /v1/events with the response's headers (Retry-After)."""
        return self.send("POST", "/v1/events", {"events": events})

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return self.request("GET", path, params=params or None)

    def latest(self, kind: str, key: str) -> tuple[int, Any]:
        return self.get(f"/v1/latest/{kind}/{quote(key, safe='')}")

    def wait_for(self, predicate, timeout_s: float = 60.0, interval_s: float = 0.25, what: str = "condition"):
        """Poll `predicate()` until it returns a truthy value; TimeoutError naming `what` otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            time.sleep(interval_s)


def _headers(message: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in (message.items() if message is not None else ())}


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
