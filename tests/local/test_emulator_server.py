"""The emulator's primary-key Query reads only the queried partition (barometer_local.emulator_server),
with moto's own results: order, key conditions, limits, paging and direction."""
from __future__ import annotations

import random
import uuid

import pytest

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def table(emulator):
    ddb = emulator.target().client("dynamodb")
    name = f"partition-query-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"},
                                           {"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                              "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                            {"AttributeName": "sk", "KeyType": "RANGE"}]}])
    rng = random.Random(5)
    items = [{"pk": f"k{i % 7}", "sk": f"{rng.random():.9f}", "g": f"g{i % 3}"} for i in range(700)]
    for start in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}} for item in items[start:start + 25]]})
    yield ddb, name, items
    ddb.delete_table(TableName=name)


def _pages(ddb, **kwargs) -> list[str]:
    keys = []
    while True:
        page = ddb.query(**kwargs)
        keys.extend(i["sk"]["S"] for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("forward", [True, False])
def test_a_key_range_query_pages_through_exactly_its_partition(table, forward):
    ddb, name, items = table
    # Given 700 items over 7 partitions; When one partition's range is queried 9 items a page
    got = _pages(ddb, TableName=name, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b", Limit=9,
                 ExpressionAttributeValues={":p": {"S": "k3"}, ":a": {"S": "0.2"}, ":b": {"S": "0.7"}},
                 ScanIndexForward=forward, ConsistentRead=True)
    # Then exactly that partition's items in the range come back, in key order
    wanted = sorted((i["sk"] for i in items if i["pk"] == "k3" and "0.2" <= i["sk"] <= "0.7"), reverse=not forward)
    assert got == wanted and len(wanted) > 9


def test_an_exclusive_start_key_inside_the_range_continues_after_it(table):
    ddb, name, items = table
    ordered = sorted(i["sk"] for i in items if i["pk"] == "k1")
    page = ddb.query(TableName=name, KeyConditionExpression="pk = :p", Limit=5,
                     ExpressionAttributeValues={":p": {"S": "k1"}},
                     ExclusiveStartKey={"pk": {"S": "k1"}, "sk": {"S": ordered[10]}})
    assert [i["sk"]["S"] for i in page["Items"]] == ordered[11:16]


def test_index_queries_and_missing_partitions_are_moto_s_own(table):
    ddb, name, items = table
    got = _pages(ddb, TableName=name, IndexName="by_g", KeyConditionExpression="g = :g",
                 ExpressionAttributeValues={":g": {"S": "g2"}})
    assert got == sorted(i["sk"] for i in items if i["g"] == "g2")
    assert ddb.query(TableName=name, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "nobody"}})["Items"] == []


def test_the_emulator_runs_the_partition_query_fix(emulator):
    assert emulator.process is not None and "barometer_local.emulator_server" in emulator.process.args
    from moto.dynamodb.models.table import Table

    from barometer_local.emulator_server import install

    install()
    assert getattr(Table.query, "_barometer_partition_query", False)
