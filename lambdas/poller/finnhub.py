"""Finnhub stock quotes: `GET https://finnhub.io/api/v1/quote?symbol=AAPL`.

Response (documented at https://finnhub.io/docs/api/quote):
`{"c": 189.98, "d": 1.2, "dp": 0.64, "h": 190.3, "l": 187.9, "o": 188.1, "pc": 188.78, "t": 1732294800}`
with c = current price, pc = previous close, t = time of the last trade (epoch seconds, UTC).
Unknown symbols answer 200 with every number 0 (and d/dp null); a bad key answers 401 and the
free tier's rate limit 429, both with `{"error": "..."}`.

The key travels in the `X-Finnhub-Token` header (which Finnhub accepts like the `token` query
parameter) so that it never appears in a URL, a log line or an exception message.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote as url_quote

from barometer.config import SymbolRef
from lambdas.poller.events import quote_event
from lambdas.poller.http_get import Transport, TransportError, get_with_retries, json_object, urllib_transport
from lambdas.poller.ports import ProviderError

SOURCE = "finnhub"
BASE_URL = "https://finnhub.io/api/v1"


class FinnhubError(ProviderError):
    """Finnhub gave no usable quote for a symbol."""


def _error_detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("error")
    except (ValueError, AttributeError):
        detail = None
    return str(detail)[:200] if detail else body[:120].decode("utf-8", "replace")


def check_status(symbol: str, status: int, body: bytes) -> None:
    if status == 200:
        return
    detail = _error_detail(body)
    if status in (401, 403):
        raise FinnhubError(f"finnhub rejected the API key for {symbol} (HTTP {status}: {detail})")
    if status == 429:
        raise FinnhubError(f"finnhub rate limit reached for {symbol} (HTTP 429: {detail})")
    raise FinnhubError(f"finnhub answered HTTP {status} for {symbol}: {detail}")


def _field(payload: dict, name: str, symbol: str) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FinnhubError(f"finnhub quote for {symbol}: field {name!r} must be a finite number, got {value!r}")
    return value


def parse_quote(symbol: str, body: bytes) -> dict[str, Any]:
    """The quote event for one 200 response body."""
    payload = json_object(body, FinnhubError, f"finnhub quote for {symbol}")
    price = _field(payload, "c", symbol)
    stamp = _field(payload, "t", symbol)
    if price == 0 and stamp == 0:
        raise FinnhubError(f"finnhub has no quote for {symbol} (all-zero response: unknown symbol "
                           "or not covered by the plan)")
    if price <= 0:
        raise FinnhubError(f"finnhub quote for {symbol}: field 'c' must be a positive price, got {price!r}")
    if stamp <= 0 or stamp != int(stamp):
        raise FinnhubError(f"finnhub quote for {symbol}: field 't' must be a positive epoch second, got {stamp!r}")
    try:
        ts = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise FinnhubError(f"finnhub quote for {symbol}: field 't' is out of range ({stamp!r})") from None
    return quote_event(symbol, float(price), ts, source=SOURCE, stamp=int(stamp))


class FinnhubMarket:
    name = SOURCE

    def __init__(self, api_key: Callable[[], str], *, transport: Transport = urllib_transport,
                 base_url: str = BASE_URL, timeout_s: float = 5.0, max_attempts: int = 3,
                 sleep: Callable[[float], None] = time.sleep):
        self._api_key = api_key
        self._transport = transport
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._sleep = sleep

    def url(self, symbol: str) -> str:
        return f"{self._base_url}/quote?symbol={url_quote(symbol, safe='')}"

    def quote(self, symbol: SymbolRef, now: datetime) -> dict[str, Any]:
        try:
            response = get_with_retries(self._transport, self.url(symbol.symbol),
                                        headers={"X-Finnhub-Token": self._api_key()},
                                        timeout_s=self._timeout_s, max_attempts=self._max_attempts, sleep=self._sleep)
        except TransportError as exc:
            raise FinnhubError(f"finnhub quote for {symbol.symbol}: {exc}") from None
        check_status(symbol.symbol, response.status, response.body)
        return parse_quote(symbol.symbol, response.body)
