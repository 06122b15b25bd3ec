"""The API's small router: path parameters, 404 and 405, error bodies."""
from __future__ import annotations

import json

from barometer_local.server import proxy_event
from lambdas.api.http import HttpError, Router


def make_router() -> Router:
    router = Router()

    @router.route("GET", "/v1/latest/{kind}/{key}")
    def latest(request):
        return {"kind": request.params["kind"], "key": request.params["key"], "q": request.param("q")}

    @router.route("POST", "/v1/events")
    def post(request):
        raise HttpError(400, "events: must be an array of events")

    @router.route("GET", "/v1/created")
    def created(request):
        return 201, {"ok": True}

    return router


def call(router: Router, method: str, path: str, query: dict | None = None):
    response = router.resolve(proxy_event(method, path, query or {}, {}, None, {}))
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_path_parameters_are_url_decoded():
    status, body, headers = call(make_router(), "GET", "/v1/latest/weather/New%20York", {"q": "x"})
    assert status == 200 and body == {"kind": "weather", "key": "New York", "q": "x"}
    assert headers["Content-Type"] == "application/json"


def test_a_trailing_slash_is_the_same_resource():
    assert call(make_router(), "GET", "/v1/latest/quote/AAPL/")[0] == 200


def test_an_unknown_path_is_404():
    status, body, _ = call(make_router(), "GET", "/v1/latest/quote")
    assert status == 404 and "no such resource" in body["error"]


def test_a_known_path_with_another_method_is_405_with_allow():
    status, body, headers = call(make_router(), "DELETE", "/v1/events")
    assert status == 405 and headers["Allow"] == "POST" and "DELETE" in body["error"]


def test_an_http_error_becomes_its_status_and_message():
    status, body, _ = call(make_router(), "POST", "/v1/events")
    assert status == 400 and body == {"error": "events: must be an array of events"}


def test_a_handler_may_choose_its_status():
    assert call(make_router(), "GET", "/v1/created")[:2] == (201, {"ok": True})
