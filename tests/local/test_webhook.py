"""The local Slack-compatible webhook receiver (barometer_local.webhook)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from barometer_local.webhook import WEBHOOK_PATH, WebhookReceiver


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def receiver(tmp_path):
    with WebhookReceiver(tmp_path) as running:
        yield running


def test_accepts_a_slack_payload_like_slack_and_records_it(receiver, tmp_path):
    # Given a running receiver
    assert receiver.url.startswith("http://127.0.0.1:") and receiver.url.endswith(WEBHOOK_PATH)
    # When a Slack payload is posted
    status, answer = post(receiver.url, json.dumps({"text": "hello", "blocks": [{"type": "divider"}]}).encode())
    # Then it answers like Slack and records the post in memory and on disk
    assert (status, answer) == (200, "ok")
    [recorded] = receiver.posts()
    assert recorded["path"] == WEBHOOK_PATH
    assert recorded["body"] == {"text": "hello", "blocks": [{"type": "divider"}]}
    assert recorded["headers"]["content-type"] == "application/json"
    assert recorded["received_at"].endswith("Z")
    lines = (tmp_path / "webhook" / "posts.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [recorded]


def test_get_posts_returns_the_recorded_posts_as_json(receiver):
    post(receiver.url, b'{"text": "one"}')
    post(receiver.url, b'{"blocks": [{"type": "divider"}]}')
    with urllib.request.urlopen(receiver.base_url + "/posts", timeout=5) as response:
        assert response.headers["Content-Type"] == "application/json"
        posts = json.loads(response.read())
    assert [p["body"] for p in posts] == [{"text": "one"}, {"blocks": [{"type": "divider"}]}]


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"text": ""}', b'{"blocks": []}', b'{"attachments": [1]}',
                                  b"\xff\xfe"])
def test_rejects_what_slack_rejects_with_invalid_payload(receiver, body):
    assert post(receiver.url, body) == (400, "invalid_payload")
    assert receiver.posts() == []
    assert receiver.rejected()[0]["status"] == 400


def test_injected_failures_answer_500_then_recover(receiver):
    # Given two injected failures
    receiver.fail_next(2, status=500)
    payload = b'{"text": "retry me"}'
    # Then the first two posts fail and are not recorded, the third is accepted
    assert post(receiver.url, payload)[0] == 500
    assert post(receiver.url, payload)[0] == 500
    assert post(receiver.url, payload) == (200, "ok")
    assert len(receiver.posts()) == 1
    assert [r["reason"] for r in receiver.rejected()] == ["injected failure", "injected failure"]


def test_injected_delay_provokes_a_client_timeout(receiver):
    receiver.fail_next(1, status=500, delay_s=1.0)
    request = urllib.request.Request(receiver.url, data=b'{"text": "slow"}', method="POST")
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.2)


def test_a_restarted_receiver_keeps_earlier_posts(tmp_path):
    # Given a receiver that recorded a post and stopped
    with WebhookReceiver(tmp_path) as first:
        post(first.url, b'{"text": "before restart"}')
    # When a new receiver starts on the same state directory
    with WebhookReceiver(tmp_path) as second:
        post(second.url, b'{"text": "after restart"}')
        # Then it serves both
        assert [p["body"]["text"] for p in second.posts()] == ["before restart", "after restart"]


def test_unknown_get_path_is_404_and_wait_for_posts_times_out(receiver):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(receiver.base_url + "/nope", timeout=5)
    assert caught.value.code == 404
    with pytest.raises(TimeoutError):
        receiver.wait_for_posts(1, timeout_s=0.1)
