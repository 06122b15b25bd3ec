"""LatestTable and MetricsTable access for the aggregator (the handler's ports LatestStates and History)."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import client, resource_name
from barometer.core.timeutil import format_fixed, from_epoch_us
from barometer.ddb import from_item, to_attr, to_item


class StateConflictError(RuntimeError):
    """Another writer changed the key's state since it was read (optimistic lock)."""


class StoreError(RuntimeError):
    """LatestTable or MetricsTable could not be read or written."""


class LatestTable:
    """Each key's state, written whole under an optimistic lock on its `version`."""

    def load(self, pk: str) -> dict[str, Any] | None:
        table = resource_name(catalogue.LATEST_TABLE.env_var)
        try:
            response = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        except ClientError as exc:
            raise StoreError(f"GetItem {pk} on {table}: {exc.response['Error'].get('Code')}") from exc
        return from_item(response.get("Item"))

    def save(self, item: dict[str, Any], expected_version: int) -> None:
        """Write the whole state if nobody else wrote since `expected_version` was read."""
        table = resource_name(catalogue.LATEST_TABLE.env_var)
        if expected_version == 0:
            condition, values = "attribute_not_exists(pk)", {}
        else:
            condition, values = "version = :v", {":v": to_attr(expected_version)}
        kwargs: dict[str, Any] = {"TableName": table, "Item": to_item(item), "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            client("dynamodb").put_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"].get("Code") == "ConditionalCheckFailedException":
                raise StateConflictError(item["pk"]) from exc
            raise StoreError(f"PutItem {item['pk']} on {table}: {exc.response['Error'].get('Code')}") from exc


class MetricsHistory:
    """The events of MetricsTable, read back where a rolling window's edge cuts a minute."""

    def values_between(self, pk: str, lo_us: int, hi_us: int) -> list[float]:
        """Values of one key with lo < ts <= hi."""
        table = resource_name(catalogue.METRICS_TABLE.env_var)
        # sk = "<fixed ts>#<event id>": every sk of an instant sorts after "<fixed ts>#" and before "<fixed ts>$".
        lower = format_fixed(from_epoch_us(lo_us)) + "$"
        upper = format_fixed(from_epoch_us(hi_us)) + "$"
        values: list[float] = []
        kwargs: dict[str, Any] = {
            "TableName": table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": lower}, ":hi": {"S": upper}},
            "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "value"},
        }
        try:
            while True:
                response = client("dynamodb").query(**kwargs)
                values.extend(float(i["value"]["N"]) for i in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return values
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except ClientError as exc:
            raise StoreError(f"Query {pk} on {table}: {exc.response['Error'].get('Code')}") from exc
