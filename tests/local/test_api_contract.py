"""The HTTP API's interface contract (issue #2), against the real local platform over HTTP.

One platform (moto server, provisioning, stream runner, API server) serves the whole file (module scope,
so the environment it sets is restored before any other file runs). Each test
uses its own symbols, so the tests do not depend on each other's order. Asynchronous effects are
awaited with `ApiClient.wait_for`, never with fixed sleeps.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from barometer.settings import DEFAULT_CONFIG_PATH
from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, issue_token
from barometer_local.client import ApiClient
from lambdas.api.rounding import round_derived

pytestmark = pytest.mark.emulator

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
NEW_YORK = ZoneInfo("America/New_York")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def configured_windows() -> dict[str, int]:
    """Window name -> seconds, read from barometer.yaml independently of the code under test."""
    names = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["rolling_windows"]
    return {str(n).strip(): int(str(n).strip()[:-1]) * _UNIT_S[str(n).strip()[-1]] for n in names}


WINDOWS = configured_windows()


def z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_z(text: str) -> datetime:
    assert RFC3339_UTC.match(text), f"not an RFC 3339 UTC timestamp: {text!r}"
    return datetime.fromisoformat(text)


def brute_force_rolling(points: list[tuple[datetime, float]], t: datetime) -> dict[str, float]:
    out = {}
    for name, seconds in WINDOWS.items():
        inside = [v for ts, v in points if t - timedelta(seconds=seconds) < ts <= t]
        out[name] = sum(inside) / len(inside)
    return out


def assert_same_rolling(actual: dict[str, Any], expected: dict[str, float]) -> None:
    assert set(actual) == set(expected)
    # The API answers derived values at DERIVED_DECIMALS places (docs/contracts.md, Rounding)
    for name, value in expected.items():
        assert actual[name] == round_derived(value), (name, actual[name], value)


@pytest.fixture(scope="module")
def api(platform) -> ApiClient:
    return ApiClient(platform.api_url, platform.token(), timeout_s=60)


def post_ok(api: ApiClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    status, body = api.post_events(events)
    assert status == 200, body
    assert body == {"accepted": len(events), "failed": []}
    return body


def wait_latest(api: ApiClient, kind: str, key: str, events: int, value: float) -> dict[str, Any]:
    def settled():
        status, body = api.latest(kind, key)
        return status == 200 and body.get("events") == events and body.get("value") == value and body

    return api.wait_for(settled, timeout_s=60, what=f"{kind} {key}: {events} events, latest {value}")


def quote(symbol: str, ts: datetime, price: float, **extra: Any) -> dict[str, Any]:
    return {"kind": "quote", "symbol": symbol, "price": price, "ts": z(ts), **extra}


def valid_pair(symbol: str, index: int) -> tuple[dict, dict]:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    return (quote(symbol, base + timedelta(seconds=2 * index), 10.0 + index),
            quote(symbol, base + timedelta(seconds=2 * index + 1), 20.0 + index))


def market_days(now: datetime) -> tuple[list[datetime], list[datetime]]:
    """Yesterday 15:00, 17:00, 19:00 New York time, and four instants of today before `now` (as the demo does)."""
    today_start = datetime.combine(now.astimezone(NEW_YORK).date(), datetime.min.time(), NEW_YORK)
    yesterday = [today_start - timedelta(hours=h) for h in (9, 7, 5)]
    today = [now - timedelta(minutes=m) for m in (8, 6, 4, 2)]
    if today[0] < today_start:  # just after midnight in New York: keep "today" inside today
        today = [today_start + timedelta(seconds=s) for s in (10, 20, 30, 40)]
    return yesterday, today


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [("POST", "/v1/events"), ("GET", "/v1/latest/quote"),
                                          ("GET", "/v1/alerts")])
def test_no_token_is_401(api, method, path):
    body = {"events": [quote("AUTH", datetime.now(UTC), 1.0)]} if method == "POST" else None
    status, answer = api.request(method, path, body, token=None)
    assert status == 401 and "token" in answer["error"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_a_malformed_token_is_401(api, token):
    status, _ = api.request("GET", "/v1/latest/quote", token=token or None)
    assert status == 401
    status, _ = api.request("POST", "/v1/events", {"events": []}, token=token or None)
    assert status == 401


def test_a_token_signed_with_another_key_is_401(api, tmp_path):
    status, answer = api.request("GET", "/v1/latest/quote", token=issue_token(tmp_path))
    assert status == 401 and "invalid token" in answer["error"]


def test_an_expired_token_is_401(api, platform):
    expired = issue_token(platform.state_dir, ttl_s=-60)
    for method in ("GET", "POST"):
        status, answer = api.request(method, "/v1/latest/quote" if method == "GET" else "/v1/events",
                                     {"events": [quote("AUTH", datetime.now(UTC), 1.0)]} if method == "POST" else None,
                                     token=expired)
        assert status == 401 and "expired" in answer["error"]


def test_a_read_only_token_reads_but_cannot_post(api, platform):
    read_only = issue_token(platform.state_dir, scopes=(READ_SCOPE,))
    status, answer = api.request("POST", "/v1/events", {"events": [quote("AUTH", datetime.now(UTC), 1.0)]},
                                 token=read_only)
    assert status == 403 and WRITE_SCOPE in answer["error"]
    status, _ = api.request("GET", "/v1/latest/quote", token=read_only)
    assert status == 200


def test_a_write_only_token_cannot_read(api, platform):
    write_only = issue_token(platform.state_dir, scopes=(WRITE_SCOPE,))
    status, answer = api.request("GET", "/v1/latest/quote", token=write_only)
    assert status == 403 and READ_SCOPE in answer["error"]


# -- POST /v1/events: shapes -----------------------------------------------------------------------
def test_a_valid_batch_answers_accepted_and_an_empty_failed_list(api):
    now = datetime.now(UTC).replace(microsecond=0)
    events = [quote("SHAPE", now - timedelta(minutes=5 - i), 50.0 + i, volume=10 * i) for i in range(5)]
    events.append({"kind": "weather", "city": "London", "ts": z(now - timedelta(seconds=30)), "temp_f": 50.0})
    post_ok(api, events)
    latest = wait_latest(api, "quote", "SHAPE", 5, 54.0)
    assert latest["kind"] == "quote" and latest["key"] == "SHAPE"


def test_a_full_batch_of_500_is_accepted(api):
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
    events = [quote("FULL", base + timedelta(seconds=i), 1.0 + i / 100) for i in range(500)]
    post_ok(api, events)


MALFORMED_BODIES = {
    "empty": (b"", "body"),
    "not JSON": (b"events please", "body"),
    "truncated JSON": (b'{"events": [{"kind": "quote",', "body"),
    "invalid UTF-8": (b'\xff\xfe{"events": []}', "body"),
    "JSON array": (b'[{"kind": "quote"}]', "body"),
    "JSON string": (b'"events"', "body"),
    "JSON null": (b"null", "body"),
    "JSON number": (b"42", "body"),
    "missing events": (b"{}", "events"),
    "events is an object": (b'{"events": {"kind": "quote"}}', "events"),
    "events is a string": (b'{"events": "[]"}', "events"),
    "events is null": (b'{"events": null}', "events"),
    "empty events": (b'{"events": []}', "events"),
    "unknown top-level field": (b'{"events": [], "dry_run": true}', "dry_run"),
    "misspelt events": (b'{"event": []}', "event"),
    "number with 5000 digits": (b'{"events": [{"price": 1' + b"0" * 5000 + b"}]}", "body"),
    "deeply nested arrays": (b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "body"),
}


@pytest.mark.parametrize("name", list(MALFORMED_BODIES))
def test_a_malformed_body_is_400_naming_what_is_wrong(api, name):
    raw, named = MALFORMED_BODIES[name]
    status, answer = api.request("POST", "/v1/events", raw=raw)
    assert status == 400, (status, answer)
    assert named in answer["error"]


def test_more_than_500_events_is_400(api):
    events = [quote("MANY", datetime.now(UTC) - timedelta(seconds=i), 1.0) for i in range(501)]
    status, answer = api.post_events(events)
    assert status == 400 and "events" in answer["error"] and "500" in answer["error"]


# -- POST /v1/events: bad records beside valid ones ----------------------------------------------------
def _now_z(delta: timedelta = timedelta(0)) -> str:
    return z(datetime.now(UTC) + delta)


LONG = "A" * 100_000
BAD_EVENTS: dict[str, tuple[Any, str]] = {
    # wrong types
    "price as string": ({"kind": "quote", "symbol": "AAPL", "price": "187.5", "ts": "@now"}, "price"),
    "price as boolean": ({"kind": "quote", "symbol": "AAPL", "price": True, "ts": "@now"}, "price"),
    "price as object": ({"kind": "quote", "symbol": "AAPL", "price": {"usd": 1}, "ts": "@now"}, "price"),
    "symbol as number": ({"kind": "quote", "symbol": 42, "price": 1.0, "ts": "@now"}, "symbol"),
    "ts as epoch number": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": 1_790_000_000}, "ts"),
    "volume as string": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "volume": "10"}, "volume"),
    "volume fractional": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "volume": 0.5}, "volume"),
    "temp as string": ({"kind": "weather", "city": "Seattle", "temp_c": "mild", "ts": "@now"}, "temp_c"),
    "city as list": ({"kind": "weather", "city": ["Seattle"], "temp_c": 1.0, "ts": "@now"}, "city"),
    "event is an array": ([1, 2, 3], "event"),
    "event is a string": ("AAPL 187.5", "event"),
    "event is null": (None, "event"),
    # non-finite numbers (json.dumps writes NaN/Infinity literals)
    "price NaN": ({"kind": "quote", "symbol": "AAPL", "price": float("nan"), "ts": "@now"}, "price"),
    "price Infinity": ({"kind": "quote", "symbol": "AAPL", "price": float("inf"), "ts": "@now"}, "price"),
    "temp -Infinity": ({"kind": "weather", "city": "Seattle", "temp_c": float("-inf"), "ts": "@now"}, "temp_c"),
    "wind NaN": ({"kind": "weather", "city": "Seattle", "temp_c": 1.0, "wind_mps": float("nan"), "ts": "@now"},
                 "wind_mps"),
    "price 1e400": ({"kind": "quote", "symbol": "AAPL", "price": "@1e400", "ts": "@now"}, "price"),
    "price with 400 digits": ({"kind": "quote", "symbol": "AAPL", "price": "@1" + "0" * 400, "ts": "@now"}, "price"),
    # out of range
    "price negative": ({"kind": "quote", "symbol": "AAPL", "price": -5.0, "ts": "@now"}, "price"),
    "price zero": ({"kind": "quote", "symbol": "AAPL", "price": 0, "ts": "@now"}, "price"),
    "volume negative": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "volume": -1}, "volume"),
    "humidity 101": ({"kind": "weather", "city": "Seattle", "temp_c": 1.0, "humidity_pct": 101, "ts": "@now"},
                     "humidity_pct"),
    "currency unknown": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "currency": "BTC"},
                         "currency"),
    # unknown kinds and fields
    "kind trade": ({"kind": "trade", "symbol": "AAPL", "price": 1.0, "ts": "@now"}, "kind"),
    "kind missing": ({"symbol": "AAPL", "price": 1.0, "ts": "@now"}, "kind"),
    "kind null": ({"kind": None, "symbol": "AAPL", "price": 1.0, "ts": "@now"}, "kind"),
    "unknown field": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "bid": 0.9}, "bid"),
    "city not configured": ({"kind": "weather", "city": "Atlantis", "temp_c": 1.0, "ts": "@now"}, "city"),
    # injection-looking strings
    "SQL in symbol": ({"kind": "quote", "symbol": "AAPL'; DROP TABLE quotes;--", "price": 1.0, "ts": "@now"}, "symbol"),
    "SQL in city": ({"kind": "weather", "city": "Seattle' OR '1'='1", "temp_c": 1.0, "ts": "@now"}, "city"),
    "script in symbol": ({"kind": "quote", "symbol": "<script>alert(1)</script>", "price": 1.0, "ts": "@now"},
                         "symbol"),
    "script in source": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now",
                          "source": "<img src=x onerror=alert(1)>"}, "source"),
    "path traversal in symbol": ({"kind": "quote", "symbol": "../../etc/passwd", "price": 1.0, "ts": "@now"},
                                 "symbol"),
    "path traversal in city": ({"kind": "weather", "city": "../../../etc/passwd", "temp_c": 1.0, "ts": "@now"},
                               "city"),
    "very long symbol": ({"kind": "quote", "symbol": LONG, "price": 1.0, "ts": "@now"}, "symbol"),
    "very long source": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "source": "s" * 10_000},
                         "source"),
    "very long event_id": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", "event_id": "e" * 10_000},
                           "event_id"),
    "very long kind": ({"kind": LONG, "symbol": "AAPL", "price": 1.0, "ts": "@now"}, "kind"),
    "very long field name": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now", LONG: 1}, "AAAA"),
    "unicode symbol": ({"kind": "quote", "symbol": "ÄPPL", "price": 1.0, "ts": "@now"}, "symbol"),
    "emoji symbol": ({"kind": "quote", "symbol": "📈", "price": 1.0, "ts": "@now"}, "symbol"),
    "NUL in city": ({"kind": "weather", "city": "Seattle\u0000", "temp_c": 1.0, "ts": "@now"}, "city"),
    "RTL override in source": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now",
                                "source": "feed\u202eevil"}, "source"),
    "newline after symbol": ({"kind": "quote", "symbol": "AAPL\n", "price": 1.0, "ts": "@now"}, "symbol"),
    # bad timestamps
    "ts without zone": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2026-11-24T15:04:05"}, "ts"),
    "ts date only": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2026-11-24"}, "ts"),
    "ts February 30": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2026-02-30T10:00:00Z"}, "ts"),
    "ts month 13": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2026-13-01T10:00:00Z"}, "ts"),
    "ts hour 25": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2026-11-24T25:00:00Z"}, "ts"),
    "ts far future": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "2999-01-01T00:00:00Z"}, "ts"),
    "ts two hours ahead": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "@now+2h"}, "ts"),
    "ts before 1970": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "1969-07-20T20:17:00Z"}, "ts"),
    "ts year 1 east of UTC": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "0001-01-01T00:00:00+01:00"},
                              "ts"),
    "ts words": ({"kind": "quote", "symbol": "AAPL", "price": 1.0, "ts": "yesterday"}, "ts"),
}


def _materialise(event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    out = dict(event)
    if out.get("ts") == "@now":
        out["ts"] = _now_z(-timedelta(minutes=1))
    elif out.get("ts") == "@now+2h":
        out["ts"] = _now_z(timedelta(hours=2))
    return out


def _body_with_literals(events: list[Any]) -> bytes:
    """JSON text; a string value "@<literal>" is written as that bare number literal (1e400, 1000...)."""
    text = json.dumps({"events": events})
    return re.sub(r'"@([0-9e]+)"', r"\1", text).encode()


@pytest.mark.parametrize("name", list(BAD_EVENTS))
def test_a_bad_record_is_named_while_the_valid_ones_beside_it_are_accepted(api, name):
    # Given a batch of a valid quote, one bad record and another valid quote
    bad, field = BAD_EVENTS[name]
    first, last = valid_pair("BESIDE", list(BAD_EVENTS).index(name))
    # When it is posted
    status, answer = api.request("POST", "/v1/events", raw=_body_with_literals([first, _materialise(bad), last]))
    # Then the valid ones are accepted and the bad one is reported by index with its field named: no 5xx
    assert status == 200, (status, answer)
    assert answer["accepted"] == 2
    assert [f["index"] for f in answer["failed"]] == [1]
    assert field in answer["failed"][0]["error"], answer["failed"][0]["error"]
    assert len(answer["failed"][0]["error"]) < 2_000  # a 100 kB value is not echoed back


def test_a_batch_of_only_bad_records_is_400_listing_each(api):
    bad = [_materialise(BAD_EVENTS[name][0]) for name in ("price negative", "kind trade", "ts without zone")]
    status, answer = api.post_events(bad)
    assert status == 400, answer
    assert answer["accepted"] == 0
    assert [(f["index"], f["error"].split(":")[0]) for f in answer["failed"]] == [(0, "price"), (1, "kind"), (2, "ts")]


def test_the_valid_records_of_a_mixed_batch_reach_the_latest_state(api):
    # Given valid quotes interleaved with ordinary bad records in one batch
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    names = ["price NaN", "price negative", "kind trade", "SQL in symbol", "ts without zone", "unknown field",
             "event is null", "very long symbol"]
    batch, bad_positions = [], []
    for i, name in enumerate(names):
        batch.append(quote("MIXED", base + timedelta(seconds=i), 100.0 + i))
        bad_positions.append(len(batch))
        batch.append(_materialise(BAD_EVENTS[name][0]))
    status, answer = api.post_events(batch)
    # Then exactly the bad positions fail, and every valid quote is applied to the latest state
    assert status == 200, answer
    assert answer["accepted"] == len(names)
    assert [f["index"] for f in answer["failed"]] == bad_positions
    wait_latest(api, "quote", "MIXED", len(names), 100.0 + len(names) - 1)


# -- GET /v1/latest ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def market(api) -> dict[str, Any]:
    """DROP1: yesterday's close 100.0, today 95.0, then exactly 10% below (90.0), then 89.0."""
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday, today = market_days(now)
    points = list(zip(yesterday, (99.0, 101.0, 100.0))) + list(zip(today[:3], (95.0, 90.0, 89.0)))
    events = [quote("DROP1", t, p, volume=100, source="contract-test") for t, p in points]
    post_ok(api, events)
    latest = wait_latest(api, "quote", "DROP1", len(events), 89.0)
    return {"events": events, "points": points, "latest": latest, "today": today}


def test_latest_quote_has_value_ts_rolling_by_window_name_and_previous_close(market):
    latest = market["latest"]
    points = market["points"]
    last_ts = points[-1][0]
    assert latest["value"] == 89.0
    assert parse_z(latest["ts"]) == last_ts
    assert list(latest["rolling"]) == list(WINDOWS)  # keyed by the names written in barometer.yaml
    assert_same_rolling(latest["rolling"], brute_force_rolling(points, last_ts))
    assert latest["previous_close"] == 100.0
    assert latest["change_pct"] == pytest.approx(-11.0)
    for internal in ("state", "sums", "closes", "applied_seq", "version", "pk", "buckets", "recent"):
        assert internal not in latest


def test_latest_weather_is_temperature_in_celsius(api):
    now = datetime.now(UTC).replace(microsecond=0)
    post_ok(api, [{"kind": "weather", "city": "New York", "ts": z(now - timedelta(minutes=3)), "temp_c": 4.0},
                  {"kind": "weather", "city": "New York", "ts": z(now - timedelta(minutes=1)), "temp_f": 50.0}])
    latest = wait_latest(api, "weather", "New York", 2, 10.0)
    assert latest["key"] == "New York" and "previous_close" not in latest
    assert_same_rolling(latest["rolling"], brute_force_rolling(
        [(now - timedelta(minutes=3), 4.0), (now - timedelta(minutes=1), 10.0)], now - timedelta(minutes=1)))


@pytest.mark.parametrize("path", ["/v1/latest/quote/NOPE", "/v1/latest/weather/Atlantis",
                                  "/v1/latest/quote/..%2F..%2Fetc%2Fpasswd", "/v1/latest/quote/%27%20OR%201%3D1",
                                  "/v1/series/quote/NOPE", "/v1/series/weather/Atlantis"])
def test_an_unknown_key_is_404(api, path):
    status, answer = api.get(path)
    assert status == 404, (status, answer)
    assert "unknown" in answer["error"]


def test_an_oversized_key_is_a_4xx_not_a_5xx(api):
    # DynamoDB refuses partition keys over 2048 bytes: that must not surface as a server error.
    status, answer = api.get("/v1/latest/quote/" + "A" * 3000)
    assert 400 <= status < 500, (status, answer)


@pytest.mark.parametrize("path", ["/v1/latest/trade/AAPL", "/v1/latest/trade", "/v1/series/trade/AAPL"])
def test_an_unknown_kind_is_400(api, path):
    status, answer = api.get(path)
    assert status == 400 and "kind" in answer["error"]


def test_listing_pages_with_an_opaque_next_token_and_filters_by_prefix(api):
    # Given three symbols with a common prefix and one without
    now = datetime.now(UTC).replace(microsecond=0)
    post_ok(api, [quote(s, now - timedelta(minutes=1), 10.0) for s in ("LSTA", "LSTB", "LSTC", "OTHERL")])
    for symbol in ("LSTA", "LSTB", "LSTC", "OTHERL"):
        wait_latest(api, "quote", symbol, 1, 10.0)
    # When they are listed two at a time with q=LST
    seen, token, pages = [], None, 0
    while True:
        status, page = api.get("/v1/latest/quote", q="LST", limit=2, next=token)
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [item["key"] for item in page["items"]]
        pages += 1
        token = page["next"]
        if token is None:
            break
        assert isinstance(token, str) and pages < 10
    # Then every prefixed symbol comes exactly once, over more than one page, in their public form
    assert sorted(seen) == ["LSTA", "LSTB", "LSTC"]
    assert pages >= 2
    status, everything = api.get("/v1/latest/quote")
    assert status == 200 and {"LSTA", "LSTB", "LSTC", "OTHERL"} <= {i["key"] for i in everything["items"]}
    assert all("buckets" not in i and RFC3339_UTC.match(i["ts"]) for i in everything["items"])


# -- malformed parameters --------------------------------------------------------------------------------
def _token_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_PARAMETERS = [
    ("/v1/latest/quote", {"limit": "0"}, "limit"),
    ("/v1/latest/quote", {"limit": "-1"}, "limit"),
    ("/v1/latest/quote", {"limit": "abc"}, "limit"),
    ("/v1/latest/quote", {"limit": "1e3"}, "limit"),
    ("/v1/latest/quote", {"limit": "99999999999999999999"}, "limit"),
    ("/v1/latest/quote", {"limit": "\u00b2"}, "limit"),
    ("/v1/latest/quote", {"next": "!!!not-a-token"}, "next"),
    ("/v1/latest/quote", {"next": _token_of({"forged": True})}, "next"),
    ("/v1/latest/quote", {"next": _token_of([1, 2])}, "next"),
    ("/v1/series/quote/DROP1", {"from": "yesterday"}, "from"),
    ("/v1/series/quote/DROP1", {"to": "2026-11-24T15:04:05"}, "to"),
    ("/v1/series/quote/DROP1", {"from": "2026-02-30T00:00:00Z"}, "from"),
    ("/v1/series/quote/DROP1", {"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "from"),
    ("/v1/series/quote/DROP1", {"from": "0001-01-01T00:00:00+01:00"}, "from"),
    ("/v1/series/quote/DROP1", {"limit": "0"}, "limit"),
    ("/v1/series/quote/DROP1", {"next": "%%%"}, "next"),
    ("/v1/series/quote/DROP1", {"next": _token_of({"forged": True})}, "next"),
    ("/v1/series/quote/DROP1", {"next": _token_of(7)}, "next"),
    ("/v1/alerts", {"kind": "stock"}, "kind"),
    ("/v1/alerts", {"key": "DROP1"}, "kind"),
    ("/v1/alerts", {"from": "not a time"}, "from"),
    ("/v1/alerts", {"to": "2026-13-01T00:00:00Z"}, "to"),
    ("/v1/alerts", {"limit": "5001"}, "limit"),
    ("/v1/alerts", {"next": "%%%"}, "next"),
    ("/v1/alerts", {"next": _token_of({"market": {"start": {"forged": {"S": "x"}}, "done": False}})}, "next"),
    ("/v1/alerts", {"next": _token_of(["market"])}, "next"),
    ("/v1/alerts", {"kind": "market", "key": "DROP1", "next": _token_of({"offset": "x"})}, "next"),
]


@pytest.mark.parametrize("path, params, named", BAD_PARAMETERS,
                         ids=[f"{p} {json.dumps(q)[:60]}" for p, q, _ in BAD_PARAMETERS])
def test_a_malformed_parameter_is_400_naming_it(api, market, path, params, named):
    status, answer = api.get(path, **params)
    assert status == 400, (status, answer)
    assert answer["error"].startswith(named), answer["error"]


def test_unknown_paths_and_methods_are_4xx(api):
    assert api.get("/v1/nothing-here")[0] == 404
    assert api.request("DELETE", "/v1/latest/quote/DROP1")[0] == 405
    assert api.request("POST", "/v1/latest/quote", {"events": []})[0] == 405


# -- GET /v1/series --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def series(api) -> dict[str, Any]:
    """SER1: 24 quotes at sub-minute instants over the last 2 hours, with ties at one instant."""
    now = datetime.now(UTC).replace(microsecond=0)
    offsets_s = [7130, 7000, 3700, 3601, 3600, 3599, 1800, 1799.5, 900, 301, 300, 299.25, 240, 240, 240, 180,
                 120.000001, 120, 90, 61, 59, 30, 10, 1]
    points = [(now - timedelta(seconds=s), 100.0 + i * 1.25) for i, s in enumerate(offsets_s)]
    # Posted out of order, in two requests.
    events = [quote("SER1", t, p) for t, p in points]
    post_ok(api, events[12:][::-1])
    post_ok(api, events[:12][::-1])
    last = max(points, key=lambda p: p[0])
    wait_latest(api, "quote", "SER1", len(points), [p for t, p in points if t == last[0]][-1])
    return {"points": sorted(points, key=lambda p: p[0]), "now": now}


def test_series_lists_every_event_in_time_order_with_exact_rolling_averages(api, series):
    status, body = api.get("/v1/series/quote/SER1")
    assert status == 200 and body["next"] is None
    got = [(parse_z(e["ts"]), e["value"]) for e in body["events"]]
    assert [t for t, _ in got] == sorted(t for t, _ in series["points"])
    assert sorted(got) == sorted(series["points"])
    for event in body["events"]:
        assert_same_rolling(event["rolling"], brute_force_rolling(series["points"], parse_z(event["ts"])))


def test_series_from_and_to_bound_the_events_inclusively(api, series):
    points = series["points"]
    start, end = points[5][0], points[15][0]
    status, body = api.get("/v1/series/quote/SER1", **{"from": z(start), "to": z(end)})
    assert status == 200
    got = sorted((parse_z(e["ts"]), e["value"]) for e in body["events"])
    assert got == sorted(p for p in points if start <= p[0] <= end)
    # The averages still look back before `from`.
    for event in body["events"]:
        assert_same_rolling(event["rolling"], brute_force_rolling(points, parse_z(event["ts"])))
    # A zone other than UTC names the same instant.
    status, shifted = api.get("/v1/series/quote/SER1", **{"from": start.astimezone(NEW_YORK).isoformat(),
                                                          "to": end.astimezone(NEW_YORK).isoformat()})
    assert status == 200 and shifted["events"] == body["events"]


def test_series_pages_of_two_join_up_to_the_whole_series(api, series):
    status, whole = api.get("/v1/series/quote/SER1")
    assert status == 200
    pages, token = [], None
    while True:
        status, page = api.get("/v1/series/quote/SER1", limit=2, next=token)
        assert status == 200, page
        assert len(page["events"]) <= 2
        pages.append(page["events"])
        token = page["next"]
        if token is None or len(pages) > 30:
            break
    joined = [e for p in pages for e in p]
    # Same events, same rolling averages (ties at one instant straddle page boundaries).
    assert joined == whole["events"]


def test_series_of_an_empty_range_is_empty(api, series):
    status, body = api.get("/v1/series/quote/SER1", **{"from": "2001-01-01T00:00:00Z", "to": "2001-01-02T00:00:00Z"})
    assert status == 200 and body == {"events": [], "next": None}


# -- GET /v1/alerts ---------------------------------------------------------------------------------------
def _alerts(api: ApiClient, **params: Any) -> list[dict[str, Any]]:
    status, body = api.get("/v1/alerts", **params)
    assert status == 200, body
    return body["alerts"]


@pytest.fixture(scope="module")
def drop_alert(api, market) -> dict[str, Any]:
    alerts = api.wait_for(lambda: _alerts(api, kind="market", key="DROP1"), timeout_s=60, what="DROP1's alert")
    return {"alerts": alerts, **market}


def test_a_drop_of_exactly_ten_percent_raises_one_market_alert(drop_alert):
    # Given yesterday's close 100.0 and today 95.0, 90.0, 89.0: Then one alert, at the first breach
    (alert,) = drop_alert["alerts"]
    breach_ts = drop_alert["points"][4][0]
    assert (alert["kind"], alert["key"], alert["rule"], alert["value"]) == ("market", "DROP1", "market_drop", 90.0)
    assert parse_z(alert["ts"]) == breach_ts
    assert alert["reference_price"] == 100.0
    assert alert["change_pct"] == pytest.approx(-10.0)
    assert alert["local_day"] == breach_ts.astimezone(NEW_YORK).date().isoformat()


def test_alerts_filter_by_time_range(api, drop_alert):
    ts = parse_z(drop_alert["alerts"][0]["ts"])
    second = timedelta(seconds=1)
    assert len(_alerts(api, kind="market", key="DROP1", **{"from": z(ts), "to": z(ts)})) == 1
    assert _alerts(api, kind="market", key="DROP1", **{"from": z(ts + second)}) == []
    assert _alerts(api, kind="market", key="DROP1", to=z(ts - second)) == []
    assert "DROP1" in {a["key"] for a in _alerts(api, kind="market", **{"from": z(ts - second), "to": z(ts + second)})}
    assert "DROP1" not in {a["key"] for a in _alerts(api, kind="market", to=z(ts - second))}


def test_resending_the_drop_changes_nothing(api, drop_alert):
    # Given the same events sent again, followed by one new quote of the same symbol (same shard, so after them)
    newer = drop_alert["today"][3]
    status, answer = api.post_events(drop_alert["events"] + [quote("DROP1", newer, 88.0)])
    assert status == 200 and answer["accepted"] == len(drop_alert["events"]) + 1
    # When the new quote has been applied
    latest = wait_latest(api, "quote", "DROP1", len(drop_alert["events"]) + 1, 88.0)
    # Then the duplicates were not counted, and there is still exactly one alert for the day
    assert latest["previous_close"] == 100.0
    assert [a["alert_id"] for a in _alerts(api, kind="market", key="DROP1")] == [drop_alert["alerts"][0]["alert_id"]]


@pytest.fixture(scope="module")
def weather_alerts(api) -> list[dict[str, Any]]:
    """Heavy rain in Seattle and heat in London."""
    now = datetime.now(UTC).replace(microsecond=0)
    post_ok(api, [{"kind": "weather", "city": "Seattle", "ts": z(now - timedelta(minutes=2)), "temp_c": 8.0,
                   "precip_mm": 31.5},
                  {"kind": "weather", "city": "London", "ts": z(now - timedelta(minutes=1)), "temp_c": 39.0}])

    def both():
        alerts = _alerts(api, kind="weather")
        return {a["key"] for a in alerts} >= {"Seattle", "London"} and alerts

    return api.wait_for(both, timeout_s=60, what="the Seattle and London weather alerts")


def test_weather_alerts_carry_metric_op_and_threshold(api, weather_alerts):
    rain = next(a for a in weather_alerts if a["key"] == "Seattle")
    assert (rain["kind"], rain["rule"], rain["metric"], rain["op"], rain["threshold"], rain["value"]) == (
        "weather", "heavy_rain", "precip_mm", ">=", 30.0, 31.5)
    assert "reference_price" not in rain and RFC3339_UTC.match(rain["ts"])
    assert [a["rule"] for a in _alerts(api, kind="weather", key="London")] == ["heat"]


def test_alert_listing_pages_across_kinds_without_loss_or_repeats(api, drop_alert, weather_alerts):
    whole = _alerts(api)
    assert {a["kind"] for a in whole} == {"market", "weather"}
    assert [a["ts"] for a in whole] == sorted((a["ts"] for a in whole), reverse=True)  # newest first
    paged, token = [], None
    for _ in range(len(whole) + 2):
        status, page = api.get("/v1/alerts", limit=1, next=token)
        assert status == 200 and len(page["alerts"]) <= 1, page
        paged += page["alerts"]
        token = page["next"]
        if token is None:
            break
    assert sorted(a["alert_id"] for a in paged) == sorted(a["alert_id"] for a in whole)
    for alert in whole:
        assert {"kind", "key", "rule", "ts", "value"} <= set(alert)
        assert RFC3339_UTC.match(alert["ts"])
        if alert["kind"] == "market":
            assert {"reference_price", "change_pct"} <= set(alert)


def test_alerts_of_an_unknown_key_are_404(api):
    status, answer = api.get("/v1/alerts", kind="market", key="NOPE")
    assert status == 404 and "unknown" in answer["error"]
