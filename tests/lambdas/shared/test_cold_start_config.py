"""Every function checks the configuration at cold start: a bad BAROMETER_CONFIG_JSON fails the
invocation before any record is handled, naming the key (no record quarantined, no call to AWS)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from barometer.catalogue import CONFIG_JSON_ENV
from barometer.config import ConfigError
from barometer.settings import get_settings, load_raw_config

TESTS = Path(__file__).resolve().parents[1]


def _context():
    return SimpleNamespace(function_name="f", memory_limit_in_mb=128, invoked_function_arn="arn:aws:lambda:x",
                           aws_request_id="r", get_remaining_time_in_millis=lambda: 30_000)


def _processor():
    from lambdas.processor import handler
    return handler, json.loads((TESTS / "processor/events/kinesis_mixed.json").read_text())


def _notifier():
    from lambdas.notifier import handler
    return handler, json.loads((TESTS / "notifier/events/sns_market_alert.json").read_text())


def _api():
    from lambdas.api import handler
    return handler, {"httpMethod": "GET", "path": "/v1/latest", "resource": "/v1/latest", "headers": {},
                     "queryStringParameters": None,
                     "requestContext": {"authorizer": {"claims": {"scope": "barometer/read"}}}}


def _poller():
    from lambdas.poller import handler
    return handler, {"time": "2026-11-24T15:04:00Z"}


@pytest.fixture
def bad_configuration(monkeypatch):
    # Given the deployment's configuration with a misspelt top-level key
    raw = load_raw_config()
    raw["market_drop_percent"] = raw.pop("market_drop_pct", 10)
    monkeypatch.setenv(CONFIG_JSON_ENV, json.dumps(raw))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: no AWS call may happen
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("function", [_processor, _notifier, _api, _poller], ids=lambda f: f.__name__[1:])
def test_a_bad_configuration_fails_the_cold_start_naming_the_key(bad_configuration, function):
    handler, event = function()
    default_ports = getattr(handler, "default_ports", None)
    if default_ports is not None:
        default_ports.cache_clear()  # a cold start
    if hasattr(handler, "configure"):
        handler.configure(None)
    # When the function is invoked, then the invocation fails before any record, naming the key
    with pytest.raises(ConfigError, match="market_drop_percent"):
        handler.lambda_handler(event, _context())
    if default_ports is not None:
        default_ports.cache_clear()  # nothing half-built is kept for the next test
