"""Poller test helpers: recorded provider responses replayed without a network, test settings.

A uniquely named module (not conftest) so that `from poller_fakes import ...` cannot pick up
another folder's conftest when the whole suite runs."""
from __future__ import annotations

import json
from pathlib import Path

from lambdas.poller.http_get import HttpResponse, TransportError

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
EVENTS = HERE / "events"

TEST_CONFIG = {
    "symbols": [
        {"symbol": "AAPL", "timezone": "America/New_York"},
        {"symbol": "MSFT", "timezone": "America/New_York"},
        {"symbol": "SAP", "timezone": "Europe/Berlin"},
    ],
    "cities": [
        {"name": "Seattle", "lat": 47.61, "lon": -122.33, "timezone": "America/Los_Angeles"},
        {"name": "New York", "lat": 40.71, "lon": -74.01, "timezone": "America/New_York"},
        {"name": "Sydney", "lat": -33.87, "lon": 151.21, "timezone": "Australia/Sydney"},
    ],
    "poller": {"market": "simulator", "weather": "simulator", "seed": 7},
}


def recorded(name: str) -> HttpResponse:
    """A recorded response: fixtures/<provider>/<name>.json holding {"request", "response"}."""
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    response = document["response"]
    body = response["body_text"].encode() if "body_text" in response else json.dumps(response["body"]).encode()
    return HttpResponse(response["status"], body, response.get("headers", {}))


def recorded_url(name: str) -> str:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["request"]["url"]


def scheduler_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


class ReplayTransport:
    """Answers each request with the next recorded response (or raises a queued TransportError)."""

    def __init__(self, *answers: HttpResponse | TransportError):
        self.answers = list(answers)
        self.calls: list[tuple[str, dict, float]] = []

    def __call__(self, url: str, headers, timeout_s: float) -> HttpResponse:
        self.calls.append((url, dict(headers), timeout_s))
        if not self.answers:
            raise AssertionError(f"unexpected request to {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, TransportError):
            raise answer
        return answer


class Sleeps(list):
    """Records back-off sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
