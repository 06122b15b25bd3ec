"""POST /v1/events refuses numbers DynamoDB cannot store with a 400 naming the field (issue 10)."""
from __future__ import annotations

import json

import pytest

from barometer_local.server import proxy_event
from lambdas.api.handler import lambda_handler


@pytest.mark.parametrize("event, field", [
    ({"kind": "quote", "symbol": "AAPL", "price": 5e-324, "ts": "2026-11-24T15:04:05Z"}, "price"),
    ({"kind": "weather", "city": "Seattle", "temp_c": 5.0, "humidity_pct": 5e-324, "ts": "2026-11-24T15:04:05Z"},
     "humidity_pct"),
    ({"kind": "weather", "city": "Seattle", "temp_c": -1e-131, "ts": "2026-11-24T15:04:05Z"}, "temp_c"),
])
def test_an_unstorable_number_is_400_naming_its_field(event, field):
    # given an event whose number DynamoDB would refuse ("Number underflow"); the stream is never touched
    body = json.dumps({"events": [event]})
    # when it is posted
    response = lambda_handler(proxy_event("POST", "/v1/events", {}, {}, body, {"scope": "test"}), None)
    # then the answer is 400 and names the field
    answer = json.loads(response["body"])
    assert response["statusCode"] == 400
    assert [e["field"] for e in answer["failed"][0]["errors"]] == [field]
