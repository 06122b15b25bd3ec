"""A record DynamoDB refuses to store is quarantined alone; its 25-item chunk's siblings are stored (issue 10).

Validation refuses such numbers now (tests/core/test_core_numbers.py); this is the defence behind it, for
whatever a validator lets through: here the validator is weakened back to before the fix.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from processor_fakes import FIRST_SEQ, LambdaContext, TallyMeter, kinesis_event, quote
from test_processor_emulator import aws, container, latest_item, metrics_items

from barometer import catalogue as r
from barometer.core import events as core_events
from barometer.core.timeutil import format_public
from lambdas.processor.handler import lambda_handler

pytestmark = pytest.mark.emulator
START = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


@pytest.fixture
def lax_validation(monkeypatch):
    """The validator as it was: any positive finite price, any finite number in a metric's range."""
    monkeypatch.setattr(core_events, "MIN_MAGNITUDE", 0.0)
    monkeypatch.setattr(core_events, "MIN_PRICE", 5e-324)
    monkeypatch.setattr(core_events, "_TINY", 0.0)


def test_one_unstorable_event_among_thirty_is_quarantined_alone(emulator, env, lax_validation, capsys):
    resources, _ = env
    # given a batch of 30 valid quotes of three symbols and, in the middle, one with a price of 5e-324
    # (its BatchWriteItem chunk of 25 fails whole: "Number underflow")
    payloads = [quote(f"UNS{i % 3}", 100.0 + i, format_public(START + timedelta(seconds=i)), f"uns-{i}")
                for i in range(30)]
    bad = quote("UNS1", 5e-324, format_public(START + timedelta(seconds=12, milliseconds=500)), "uns-bad")
    payloads.insert(13, bad)
    batch = kinesis_event(payloads, first_seq=FIRST_SEQ + 20_000)
    capsys.readouterr()
    # when the processor runs
    response = lambda_handler(batch, LambdaContext(), ports=container(TallyMeter()))
    # then nothing is reported for retry: the 30 are stored, the bad one quarantined
    assert response == {"batchItemFailures": []}
    stored = {i["event_id"] for s in range(3) for i in metrics_items(emulator, resources, f"quote#UNS{s}")}
    assert stored == {f"uns-{i}" for i in range(30)}
    for s in range(3):
        latest = latest_item(emulator, resources, f"quote#UNS{s}")
        assert latest["events"] == 10 and latest["event_id"] == f"uns-{27 + s}"
    # ... with its reason, in the events DLQ and the raw bucket's quarantine
    sqs = aws(emulator, "sqs")
    url = sqs.get_queue_url(QueueName=resources[r.EVENTS_DLQ.env_var])["QueueUrl"]
    messages = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                .get("Messages", [])]
    ours = [m for m in messages if m["sequence_number"] == str(FIRST_SEQ + 20_000 + 13)]
    assert len(ours) == 1 and ours[0]["reason"] == "could not be stored"
    assert "underflow" in ours[0]["errors"][0]["message"].lower()
    body = json.loads(aws(emulator, "s3").get_object(
        Bucket=resources[r.RAW_BUCKET.env_var], Key=ours[0]["object"].split("/", 3)[3])["Body"].read())
    assert json.loads(body["record"])["event_id"] == "uns-bad"
    # ... and counted as quarantined (the health report sums EventsQuarantined), not as valid
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [(m["EventsValid"], m["EventsQuarantined"]) for m in emf if "EventsValid" in m] == [([30.0], [1.0])]
