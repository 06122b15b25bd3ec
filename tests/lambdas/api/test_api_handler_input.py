"""The API handler's answers to bad input that never reaches a data store (no emulator needed)."""
from __future__ import annotations

import json

import pytest

from barometer_local.server import proxy_event
from lambdas.api.handler import lambda_handler


def call(method: str, path: str, body: str | None = None, query: dict | None = None) -> tuple[int, dict]:
    response = lambda_handler(proxy_event(method, path, query or {}, {}, body, {"scope": "test"}), None)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("body, named", [
    (None, "body"), ("   ", "body"), ("{", "body"), ("[]", "body"), ("{}", "events"), ('{"events": 1}', "events"),
    ('{"events": []}', "events"), ('{"events": [], "x": 1}', "x"),
    ('{"events": [' + ",".join(["{}"] * 501) + "]}", "events"),
    ('{"events": ' + "[" * 50_000 + "]" * 50_000 + "}", "body"),
])
def test_a_body_of_the_wrong_shape_is_400_naming_it(body, named):
    status, answer = call("POST", "/v1/events", body)
    assert status == 400 and named in answer["error"]


def test_a_batch_without_any_valid_event_is_400_listing_every_one():
    # Given only invalid events, the stream is never touched
    events = [{"kind": "quote", "symbol": "AAPL", "price": -1, "ts": "2026-11-24T15:04:05Z"}, None,
              {"kind": "weather", "city": "Atlantis", "temp_c": 1, "ts": "2026-11-24T15:04:05Z"}]
    status, answer = call("POST", "/v1/events", json.dumps({"events": events}))
    assert status == 400 and answer["accepted"] == 0
    assert [(f["index"], [e["field"] for e in f["errors"]]) for f in answer["failed"]] == [
        (0, ["price"]), (1, ["event"]), (2, ["city"])]


@pytest.mark.parametrize("path, query, named", [
    ("/v1/latest/trade", {}, "kind"), ("/v1/latest/trade/AAPL", {}, "kind"), ("/v1/series/x/AAPL", {}, "kind"),
    ("/v1/alerts", {"kind": "quote"}, "kind"), ("/v1/alerts", {"key": "AAPL"}, "kind"),
    ("/v1/alerts", {"from": "today"}, "from"), ("/v1/alerts", {"to": "2026-11-24T15:04:05"}, "to"),
    ("/v1/alerts", {"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "from"),
    ("/v1/alerts", {"limit": "0"}, "limit"), ("/v1/alerts", {"limit": "\u00b2"}, "limit"),
    ("/v1/latest/quote", {"limit": "\u00b2"}, "limit"),
    ("/v1/alerts", {"from": "9999-12-31T23:59:59-01:00"}, "from"),
])
def test_a_malformed_parameter_is_400_naming_it(path, query, named):
    status, answer = call("GET", path, query=query)
    assert status == 400 and answer["error"].startswith(named), (status, answer)
