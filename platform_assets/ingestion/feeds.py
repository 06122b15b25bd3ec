"""Reading the feeds' state from the platform: the latest event per symbol or city (LatestTable)
and the raw zone's objects of a day. No Dagster here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from barometer.catalogue import LATEST_TABLE, RAW_PREFIX


@dataclass(frozen=True)
class Latest:
    key: str
    ts: datetime
    value: float | None
    events: int | None


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def latest_by_key(ddb: Any, latest_table: str, kind: str) -> dict[str, Latest]:
    index = LATEST_TABLE.indexes[0]
    result: dict[str, Latest] = {}
    pages = ddb.get_paginator("query").paginate(
        TableName=latest_table, IndexName=index.name, KeyConditionExpression="#kind = :kind",
        ExpressionAttributeNames={"#kind": index.pk, "#key": index.sk, "#ts": "ts", "#v": "value", "#n": "events"},
        ExpressionAttributeValues={":kind": {"S": kind}}, ProjectionExpression="#key, #ts, #v, #n")
    for page in pages:
        for item in page["Items"]:
            try:
                key, ts = item["key"]["S"], parse_ts(item["ts"]["S"])
            except (KeyError, ValueError):
                continue  # an item still being written by the aggregator
            value = float(item["value"]["N"]) if "value" in item and "N" in item["value"] else None
            events = int(item["events"]["N"]) if "events" in item and "N" in item["events"] else None
            result[key] = Latest(key, ts, value, events)
    return result


def raw_objects_of_day(s3: Any, raw_bucket: str, day: str) -> tuple[int, int]:
    """(objects, bytes) in the raw zone for an arrival day."""
    count = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=raw_bucket, Prefix=f"{RAW_PREFIX}dt={day}/"):
        for obj in page.get("Contents", []):
            count += 1
            size += obj["Size"]
    return count, size
