"""At most one post per alert and channel, whatever happens to a post (issue 10), and the first-deploy
placeholder secret (issue 11, item 4): the handler over fakes."""
from __future__ import annotations

import pytest
from notifier_fakes import fake_ports, load_event, sns_event

from lambdas.notifier.errors import NotifierError
from lambdas.notifier.handler import lambda_handler


@pytest.fixture
def market() -> dict:
    return load_event("market_alert.json")


def test_a_post_without_an_answer_is_reported_once_and_never_reposted(market):
    # given a webhook that shows the post but never answers it in time
    ports, webhook, ledger, dead = fake_ports()
    webhook.timeouts = 1
    event = sns_event(market)
    # when the notifier runs, then the same message comes again twice
    outcomes = [lambda_handler(event, None, ports=ports) for _ in range(3)]
    # then one post was made, none raised (Lambda does not retry), the outcome is recorded unknown and
    # reported to the dead-letter queue once
    assert len(webhook.posts) == 1
    assert [o["undelivered"] for o in outcomes] == [1, 0, 0] and [o["duplicate"] for o in outcomes] == [0, 1, 1]
    assert next(iter(ledger.undelivered.values()))["state"] == "unknown outcome"
    assert [d["reason"] for d in dead.sent] == ["unknown outcome"]
    assert dead.sent[0]["errors"][0]["field"] == "slack"


def test_a_post_that_certainly_failed_is_retried_and_posted_once(market):
    ports, webhook, ledger, _ = fake_ports()
    webhook.failures = 1
    with pytest.raises(NotifierError):
        lambda_handler(sns_event(market), None, ports=ports)
    assert lambda_handler(sns_event(market), None, ports=ports)["delivered"] == 1
    assert len(webhook.posts) == 1 and not ledger.undelivered


def test_an_abandoned_attempt_is_settled_unknown_without_posting(market):
    # given an attempt recorded by an invocation that crashed before recording its outcome
    ports, webhook, ledger, dead = fake_ports()
    ledger.acquire(market)
    # when the message comes again while the lease is live, then after it expired
    with pytest.raises(NotifierError, match="another invocation"):
        lambda_handler(sns_event(market), None, ports=ports)
    ledger.expire(market)
    outcome = lambda_handler(sns_event(market), None, ports=ports)
    # then nothing is posted, and the unknown outcome is recorded and reported
    assert outcome["undelivered"] == 1 and webhook.posts == []
    assert [d["reason"] for d in dead.sent] == ["unknown outcome"]


def test_the_placeholder_secret_records_undeliverable_without_retry_or_dead_letter(market):
    # given the Slack secret still holding the first-deploy placeholder
    ports, webhook, ledger, dead = fake_ports()
    webhook.not_configured = True
    # when two alerts come
    other = {**market, "alert_id": "other", "key": "MSFT"}
    outcome = lambda_handler(sns_event(market, other), None, ports=ports)
    # then the invocation succeeds, each alert is recorded undeliverable for Slack with the reason, and the
    # dead-letter queue is not filled with them (email goes through SNS regardless)
    assert outcome["undelivered"] == 2 and dead.sent == []
    assert [u["reason"] for u in ledger.undelivered.values()] == ["slack webhook not configured"] * 2
