"""The local Slack receiver as a slow Slack: posts shown at once, answered late, held, or dropped unanswered."""
from __future__ import annotations

import http.client
import threading
import urllib.request

import pytest

from barometer_local.webhook import WebhookReceiver


def send(url: str, timeout_s: float = 30.0) -> int:
    request = urllib.request.Request(url, data=b'{"text": "slow"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.status


def wait_until_held(receiver: WebhookReceiver) -> None:
    for _ in range(1000):
        if receiver.held() == 1:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the post was never held")


@pytest.fixture
def receiver(tmp_path):
    with WebhookReceiver(tmp_path) as running:
        yield running


def test_a_late_answer_still_shows_the_post(receiver):
    # given answers delayed beyond the client's patience
    receiver.delay_answers(1.0)
    # when a client posts and gives up
    with pytest.raises(TimeoutError):
        send(receiver.url, timeout_s=0.2)
    # then the post was recorded all the same (Slack showed it)
    assert [p["body"]["text"] for p in receiver.posts()] == ["slow"]


def test_held_posts_are_recorded_then_answered_at_release(receiver):
    receiver.hold_answers()
    statuses: list[int] = []
    client = threading.Thread(target=lambda: statuses.append(send(receiver.url)))
    client.start()
    receiver.wait_for_posts(1)
    wait_until_held(receiver)
    assert statuses == []
    receiver.release_answers()
    client.join(10)
    assert statuses == [200] and receiver.held() == 0


def test_a_dropped_post_has_no_answer_at_all(receiver):
    receiver.hold_answers()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            send(receiver.url)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what the client saw
            errors.append(exc)

    client = threading.Thread(target=call)
    client.start()
    receiver.wait_for_posts(1)
    wait_until_held(receiver)
    receiver.release_answers(drop=True)
    client.join(10)
    # the client sent its post and saw the connection closed without a status line
    assert len(errors) == 1 and isinstance(errors[0], http.client.RemoteDisconnected)
    assert len(receiver.posts()) == 1
