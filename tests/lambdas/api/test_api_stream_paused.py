"""POST /v1/events against a stream that stops answering: a retryable 503 with Retry-After, not a hang (issue 10).

The emulator is one of this test's own (SIGSTOP on the shared one would stall every other test).
"""
from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from barometer import aws
from barometer import catalogue as r
from barometer.aws.retry import BACKGROUND, INTERACTIVE, client_config
from barometer_local.emulator import Emulator
from barometer_local.server import proxy_event
from lambdas.api import kinesis as api_kinesis
from lambdas.api.handler import lambda_handler

HANG_GUARD_S = 60  # only to end the test if the call hangs: the old budget held it for minutes


def post_one(event_id: str) -> dict:
    body = json.dumps({"events": [{"kind": "quote", "symbol": "AAPL", "price": 187.5, "ts": "2026-11-24T15:04:05Z",
                                   "event_id": event_id}]})
    return lambda_handler(proxy_event("POST", "/v1/events", {}, {}, body, {"scope": "test"}), None)


def test_the_api_budget_is_a_few_seconds_and_the_consumers_keep_theirs():
    # the API's Kinesis client gives up within a few seconds in the worst case; consumers keep the patient budget
    assert INTERACTIVE.worst_case_s() <= 8 < BACKGROUND.worst_case_s()
    config = client_config(budget=INTERACTIVE)
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (1.0, 2.0, 2)


@pytest.mark.emulator
def test_a_paused_stream_is_a_503_with_retry_after_and_posts_go_through_once_it_resumes(monkeypatch):
    with Emulator.start() as emulator:
        for key, value in emulator.environment().items():
            monkeypatch.setenv(key, value)
        aws.reset_clients()
        api_kinesis._kinesis_at.cache_clear()
        stream = f"{r.EVENTS_STREAM.local_name}-paused"
        emulator.target().client("kinesis").create_stream(StreamName=stream, ShardCount=1)
        monkeypatch.setenv(r.EVENTS_STREAM.env_var, stream)
        # given a healthy stream taking a POST
        assert post_one("before-pause")["statusCode"] == 200
        # when the emulator stops answering (SIGSTOP: connections are accepted, nothing is answered)
        os.kill(emulator.process.pid, signal.SIGSTOP)
        answers: list[dict] = []
        try:
            caller = threading.Thread(target=lambda: answers.append(post_one("during-pause")), daemon=True)
            caller.start()
            caller.join(HANG_GUARD_S)
        finally:
            os.kill(emulator.process.pid, signal.SIGCONT)
        # then the POST was answered 503, retryable, with Retry-After
        assert answers, "the POST hung"
        response = answers[0]
        assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
        assert "retry" in json.loads(response["body"])["error"]
        # and once the emulator answers again, so does the API
        assert post_one("after-pause")["statusCode"] == 200
    api_kinesis._kinesis_at.cache_clear()
    aws.reset_clients()
