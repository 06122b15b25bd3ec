"""The processor's MetricsTable writes (lambdas/processor/tables.py), against the real emulator."""
from __future__ import annotations

import pytest

from barometer import catalogue as r
from barometer_local.provision import provision
from barometer_local.runner import local_environment
from lambdas.processor.capacity import CapacityMeter
from lambdas.processor.tables import DynamoMetricsTable

pytestmark = pytest.mark.emulator


@pytest.fixture
def provisioned(emulator, monkeypatch):
    from barometer import aws

    for key, value in local_environment(emulator.url).items():
        monkeypatch.setenv(key, value)
    aws.reset_clients()
    provision(emulator.target(), "http://127.0.0.1:9/")
    yield emulator.target().client("dynamodb")
    aws.reset_clients()


def test_a_batch_holding_the_same_event_twice_is_written_once(provisioned):
    # Given a batch where a re-sent event sits beside its original (BatchWriteItem rejects a key twice)
    original = {"pk": "quote#DUPE", "sk": "2026-11-24T15:00:00.000000Z#e1", "value": 1.5, "ingested_at": "a"}
    batch = [original, {"pk": "quote#DUPE", "sk": "2026-11-24T15:00:01.000000Z#e2", "value": 2.5},
             {**original, "ingested_at": "b"}]
    # When it is written
    meter = CapacityMeter(estimate=True)
    failures = DynamoMetricsTable(meter).write(batch)
    # Then nothing fails, each key is stored once (its last copy), and two items' units are counted
    assert failures == {}
    items = provisioned.query(TableName=r.METRICS_TABLE.local_name, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": {"S": "quote#DUPE"}})["Items"]
    assert sorted(i["sk"]["S"] for i in items) == sorted({b["sk"] for b in batch})
    assert next(i for i in items if i["sk"]["S"] == original["sk"])["ingested_at"]["S"] == "b"
    assert meter.take() == (0.0, 2.0)
