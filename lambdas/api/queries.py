"""The API's read-store port on DynamoDB: latest state, series, alerts (items as plain dicts)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import PARTIAL_RETRY, BatchCallError, client, resource_name, retry_partial
from barometer.ddb import from_item
from barometer.lake import item_pk
from lambdas.api.errors import ReadError
from lambdas.api.rounding import round_item

BATCH_GET_MAX = 100  # keys per BatchGetItem call (DynamoDB's limit)


def _query(**kwargs: Any) -> dict[str, Any]:
    try:
        return client("dynamodb").query(**kwargs)
    except ClientError as exc:
        raise ReadError(f"Query {kwargs.get('TableName')}: {exc.response['Error'].get('Code')}") from exc


class DynamoReadStore:
    """Table names are read per call (from the catalogue's environment variables), clients are shared."""

    def latest(self, kind: str, key: str) -> dict[str, Any] | None:
        table = resource_name(catalogue.LATEST_TABLE.env_var)
        try:
            item = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": item_pk(kind, key)}}).get("Item")
        except ClientError as exc:
            raise ReadError(f"GetItem {item_pk(kind, key)}: {exc.response['Error'].get('Code')}") from exc
        return round_item(from_item(item)) if item else None

    def latest_page(self, kind: str, prefix: str | None, limit: int, start: dict | None
                    ) -> tuple[list[dict], dict | None]:
        """Every symbol or city of a kind, optionally those whose name starts with `prefix`, in key order.

        The GSI catalogue.LATEST_BY_KIND holds keys only (a key state update then writes nothing to it): the page's keys
        come from the index, the items from the table by BatchGetItem (100 keys a call).
        """
        table = resource_name(catalogue.LATEST_TABLE.env_var)
        condition = "#kind = :kind"
        values: dict[str, Any] = {":kind": {"S": kind}}
        if prefix:
            condition += " AND begins_with(#key, :prefix)"
            values[":prefix"] = {"S": prefix}
        kwargs: dict[str, Any] = {
            "TableName": table, "IndexName": catalogue.LATEST_BY_KIND.name,
            "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
            "ExpressionAttributeNames": {"#kind": "kind", **({"#key": "key"} if prefix else {})}, "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = _query(**kwargs)
        keys = [{"pk": i["pk"]} for i in response.get("Items", [])]
        found: dict[str, dict] = {}

        def get(positions: list[int]) -> dict[int, str]:
            answer = client("dynamodb").batch_get_item(RequestItems={table: {"Keys": [keys[p] for p in positions]}})
            for item in answer.get("Responses", {}).get(table, []):
                found[item["pk"]["S"]] = item
            unprocessed = {k["pk"]["S"] for k in answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])}
            return {p: "UnprocessedKeys" for p in positions if keys[p]["pk"]["S"] in unprocessed}

        for first in range(0, len(keys), BATCH_GET_MAX):
            try:
                left = retry_partial(range(first, min(first + BATCH_GET_MAX, len(keys))), get)
            except BatchCallError as exc:
                raise ReadError(f"BatchGetItem {table}: {exc.code}") from exc
            if left:
                raise ReadError(f"BatchGetItem {table}: {len(left)} key(s) still unprocessed after "
                                f"{PARTIAL_RETRY.attempts} tries")
        # In the index's order; a key whose item is gone meanwhile is left out.
        items = [round_item(from_item(found[k["pk"]["S"]])) for k in keys if k["pk"]["S"] in found]
        return items, response.get("LastEvaluatedKey")

    def metrics_range(self, pk: str, lower_sk: str, upper_sk: str, limit: int | None = None,
                      start: dict | None = None, projection: bool = False) -> tuple[list[dict], dict | None]:
        """MetricsTable items of one key with lower_sk <= sk <= upper_sk, in time order."""
        kwargs: dict[str, Any] = {
            "TableName": resource_name(catalogue.METRICS_TABLE.env_var),
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": lower_sk}, ":hi": {"S": upper_sk}},
        }
        if projection:
            kwargs["ProjectionExpression"] = "sk, #v"
            kwargs["ExpressionAttributeNames"] = {"#v": "value"}
        items: list[dict] = []
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - len(items)
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = _query(**kwargs)
            items.extend(from_item(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start or (limit is not None and len(items) >= limit):
                return items, start

    def alerts_by_kind(self, kind: str, lower: str, upper: str, limit: int, start: dict | None,
                       newest_first: bool) -> tuple[list[dict], dict | None]:
        kwargs: dict[str, Any] = {
            "TableName": resource_name(catalogue.ALERTS_TABLE.env_var), "IndexName": "by_kind_ts",
            "KeyConditionExpression": "#kind = :kind AND ts_key BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#kind": "kind"},
            "ExpressionAttributeValues": {":kind": {"S": kind}, ":lo": {"S": lower}, ":hi": {"S": upper}},
            "Limit": limit, "ScanIndexForward": not newest_first,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = _query(**kwargs)
        return [round_item(from_item(i)) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def alerts_of_key(self, kind: str, key: str) -> Iterator[dict]:
        kwargs: dict[str, Any] = {
            "TableName": resource_name(catalogue.ALERTS_TABLE.env_var), "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": item_pk(kind, key)}},
        }
        while True:
            response = _query(**kwargs)
            yield from (round_item(from_item(i)) for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
