"""A small HTTP GET port over urllib (no `requests` in the Lambda bundle), with bounded retries.

The transport is a plain callable so that tests replay recorded responses without a network.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "barometer-poller/0.1 (+https://github.com/barometer)"
MAX_BODY_BYTES = 1 << 20  # a quote or a current-weather answer is < 2 KB
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 5.0


class TransportError(OSError):
    """The request did not get an HTTP answer (DNS, connection, timeout)."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


Transport = Callable[[str, Mapping[str, str], float], HttpResponse]


def urllib_transport(url: str, headers: Mapping[str, str], timeout_s: float) -> HttpResponse:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                                                   **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpResponse(response.status, response.read(MAX_BODY_BYTES), dict(response.headers))
    except urllib.error.HTTPError as exc:  # an HTTP answer with an error status: the caller decides
        with exc:
            return HttpResponse(exc.code, exc.read(MAX_BODY_BYTES), dict(exc.headers or {}))
    except urllib.error.URLError as exc:
        raise TransportError(f"no answer from {_host(url)}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise TransportError(f"no answer from {_host(url)}: {exc}") from None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def _retry_delay(response: HttpResponse | None, attempt: int) -> float:
    delay = min(0.5 * 2**attempt, 4.0)
    if response is not None:
        retry_after = {k.lower(): v for k, v in response.headers.items()}.get("retry-after")
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
    return min(delay, MAX_RETRY_AFTER_S)


def get_with_retries(transport: Transport, url: str, *, headers: Mapping[str, str] | None = None,
                     timeout_s: float = 5.0, max_attempts: int = 3,
                     sleep: Callable[[float], None] = time.sleep) -> HttpResponse:
    """GET, retrying network errors, 429 and 5xx up to `max_attempts` in all.

    Returns the last HTTP response (whatever its status); raises TransportError when the last
    attempt got no answer at all.
    """
    response: HttpResponse | None = None
    for attempt in range(max_attempts):
        try:
            response = transport(url, headers or {}, timeout_s)
        except TransportError:
            if attempt == max_attempts - 1:
                raise
            response = None
        else:
            if response.status not in RETRY_STATUSES or attempt == max_attempts - 1:
                return response
        sleep(_retry_delay(response, attempt))
    raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def json_object(body: bytes, error: type[Exception], what: str) -> dict[str, Any]:
    """A provider's 200 body as a JSON object; `error(f"{what}: ...")` when it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise error(f"{what}: the body is not JSON ({body[:60]!r})") from None
    if not isinstance(payload, dict):
        raise error(f"{what}: expected a JSON object, got {type(payload).__name__}")
    return payload
