"""Counts in the operational tables that a lake partition must match (MetricsTable, AlertsTable)."""
from __future__ import annotations

from typing import Any

from barometer.catalogue import ALERTS_TABLE, LATEST_BY_KIND, LATEST_TABLE, METRICS_TABLE
from barometer.core.vocabulary import ALERT_KINDS
from barometer.lake import KIND_TO_TABLE, item_pk, sk_day_bounds

TABLE_KIND = {table: kind for kind, table in KIND_TO_TABLE.items()}


def _count(ddb: Any, **query) -> int:
    total = 0
    for page in ddb.get_paginator("query").paginate(Select="COUNT", **query):
        total += page["Count"]
    return total


def source_count(ddb: Any, names: dict[str, str], table: str, dt: str, configured_keys: set[str]) -> int:
    """How many distinct events (alerts) of UTC day `dt` the operational table holds for a lake table."""
    lower, upper = sk_day_bounds(dt)
    day_range = {":from": {"S": lower}, ":to": {"S": upper}}
    if table == "alerts":
        index = ALERTS_TABLE.indexes[0]
        return sum(_count(ddb, TableName=names[ALERTS_TABLE.logical_id], IndexName=index.name,
                          KeyConditionExpression="#pk = :kind AND #sk BETWEEN :from AND :to",
                          ExpressionAttributeNames={"#pk": index.pk, "#sk": index.sk},
                          ExpressionAttributeValues={":kind": {"S": kind}, **day_range})
                   for kind in ALERT_KINDS)
    kind = TABLE_KIND[table]
    keys = latest_keys(ddb, names[LATEST_TABLE.logical_id], kind) | configured_keys
    return sum(_count(ddb, TableName=names[METRICS_TABLE.logical_id],
                      KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
                      ExpressionAttributeValues={":pk": {"S": item_pk(kind, key)}, **day_range})
               for key in sorted(keys))


def latest_keys(ddb: Any, latest_table: str, kind: str) -> set[str]:
    index = LATEST_BY_KIND
    keys: set[str] = set()
    pages = ddb.get_paginator("query").paginate(
        TableName=latest_table, IndexName=index.name, KeyConditionExpression="#kind = :kind",
        ExpressionAttributeNames={"#kind": index.pk, "#key": index.sk},
        ExpressionAttributeValues={":kind": {"S": kind}}, ProjectionExpression="#key")
    for page in pages:
        keys.update(item[index.sk]["S"] for item in page["Items"] if index.sk in item)
    return keys
