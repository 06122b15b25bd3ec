"""Reading the feeds' state from the platform: the latest event per symbol or city (LatestTable)
and the raw zone's objects of a day. No Dagster here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from barometer.aws import retry_partial
from barometer.catalogue import LATEST_BY_KIND, RAW_PREFIX

BATCH_GET_MAX = 100  # keys per BatchGetItem call


@dataclass(frozen=True)
class Latest:
    key: str
    ts: datetime
    value: float | None
    events: int | None


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def latest_by_key(ddb: Any, latest_table: str, kind: str) -> dict[str, Latest]:
    """The latest event of every key of a kind: the keys from the GSI LATEST_BY_KIND (it holds keys only),
    the attributes from the table by BatchGetItem."""
    index = LATEST_BY_KIND
    pages = ddb.get_paginator("query").paginate(
        TableName=latest_table, IndexName=index.name, KeyConditionExpression="#kind = :kind",
        ExpressionAttributeNames={"#kind": index.pk}, ExpressionAttributeValues={":kind": {"S": kind}})
    keys = [{"pk": item["pk"]} for page in pages for item in page["Items"]]
    result: dict[str, Latest] = {}
    for item in _items(ddb, latest_table, keys):
        try:
            key, ts = item["key"]["S"], parse_ts(item["ts"]["S"])
        except (KeyError, ValueError):
            continue  # a key without an event yet
        value = float(item["value"]["N"]) if "value" in item and "N" in item["value"] else None
        events = int(item["events"]["N"]) if "events" in item and "N" in item["events"] else None
        result[key] = Latest(key, ts, value, events)
    return result


def _items(ddb: Any, table: str, keys: list[dict]) -> list[dict]:
    found: list[dict] = []

    def get(positions: list[int]) -> dict[int, str]:
        answer = ddb.batch_get_item(RequestItems={table: {
            "Keys": [keys[p] for p in positions], "ProjectionExpression": "#key, #ts, #v, #n",
            "ExpressionAttributeNames": {"#key": "key", "#ts": "ts", "#v": "value", "#n": "events"}}})
        found.extend(answer.get("Responses", {}).get(table, []))
        unprocessed = [k["pk"]["S"] for k in answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])]
        return {p: "UnprocessedKeys" for p in positions if keys[p]["pk"]["S"] in unprocessed}

    for first in range(0, len(keys), BATCH_GET_MAX):
        left = retry_partial(range(first, min(first + BATCH_GET_MAX, len(keys))), get)
        if left:
            raise RuntimeError(f"BatchGetItem on {table}: {len(left)} key(s) still unprocessed")
    return found


def raw_objects_of_day(s3: Any, raw_bucket: str, day: str) -> tuple[int, int]:
    """(objects, bytes) in the raw zone for an arrival day."""
    count = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=raw_bucket, Prefix=f"{RAW_PREFIX}dt={day}/"):
        for obj in page.get("Contents", []):
            count += 1
            size += obj["Size"]
    return count, size
