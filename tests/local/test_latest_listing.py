"""The latest-state listing over the emulator: keys from the KEYS_ONLY index, items by BatchGetItem."""
from __future__ import annotations

import uuid

import pytest

from barometer import catalogue
from barometer_local.provision import create_table
from lambdas.api.queries import BATCH_GET_MAX, DynamoReadStore

pytestmark = pytest.mark.emulator


@pytest.fixture
def latest_table(emulator_env, monkeypatch):
    """LatestTable as the catalogue declares it, under a name of its own."""
    from barometer.aws import client

    name = f"latest-{uuid.uuid4().hex[:8]}"
    ddb = client("dynamodb")
    create_table(ddb, catalogue.LATEST_TABLE, name)
    monkeypatch.setenv(catalogue.LATEST_TABLE.env_var, name)
    yield ddb, name
    ddb.delete_table(TableName=name)


def put_state(ddb, table: str, kind: str, key: str, value: float) -> None:
    ddb.put_item(TableName=table, Item={
        "pk": {"S": f"{kind}#{key}"}, "kind": {"S": kind}, "key": {"S": key}, "value": {"N": str(value)},
        "ts": {"S": "2026-11-30T12:00:00Z"}, "version": {"N": "3"}})


def test_the_index_holds_keys_only(latest_table):
    ddb, table = latest_table
    (index,) = ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == catalogue.LATEST_BY_KIND.name and index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_a_page_holds_whole_items_in_key_order_across_several_batch_gets(latest_table):
    # Given more symbols than one BatchGetItem takes, and a city
    ddb, table = latest_table
    symbols = [f"S{n:03d}" for n in range(BATCH_GET_MAX + 30)]
    for n, symbol in enumerate(reversed(symbols)):
        put_state(ddb, table, "quote", symbol, float(n))
    put_state(ddb, table, "weather", "Seattle", 8.5)
    store = DynamoReadStore()
    # When the quotes are listed in two pages
    first, last = store.latest_page("quote", None, BATCH_GET_MAX + 10, None)
    second, end = store.latest_page("quote", None, BATCH_GET_MAX + 10, last)
    # Then every symbol comes once, in key order, with the attributes the index does not hold
    assert [i["key"] for i in first + second] == symbols
    assert end is None and last is not None
    assert all(i["kind"] == "quote" and "value" in i and i["version"] == 3 for i in first + second)
    assert first[0]["value"] == float(len(symbols) - 1)


def test_a_prefix_narrows_the_listing(latest_table):
    ddb, table = latest_table
    for symbol, value in (("AAPL", 1.0), ("ABNB", 2.0), ("MSFT", 3.0)):
        put_state(ddb, table, "quote", symbol, value)
    items, last = DynamoReadStore().latest_page("quote", "A", 10, None)
    assert [(i["key"], i["value"]) for i in items] == [("AAPL", 1.0), ("ABNB", 2.0)] and last is None


def test_unprocessed_keys_are_asked_for_again(latest_table, monkeypatch):
    # Given a DynamoDB that leaves some keys of each BatchGetItem unprocessed the first time
    from barometer.aws import client

    ddb, table = latest_table
    for symbol in ("AAPL", "MSFT", "NVDA"):
        put_state(ddb, table, "quote", symbol, 1.0)
    real = client("dynamodb").batch_get_item
    asked: list[int] = []

    def flaky(RequestItems):
        keys = RequestItems[table]["Keys"]
        asked.append(len(keys))
        answer = real(RequestItems={table: {"Keys": keys[:1]}})
        if keys[1:]:
            answer["UnprocessedKeys"] = {table: {"Keys": keys[1:]}}
        return answer

    monkeypatch.setattr(client("dynamodb"), "batch_get_item", flaky)
    # When the quotes are listed, Then every item comes back, the rest asked for again
    items, _ = DynamoReadStore().latest_page("quote", None, 10, None)
    assert [i["key"] for i in items] == ["AAPL", "MSFT", "NVDA"]
    assert asked == [3, 2, 1]
