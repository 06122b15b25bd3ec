"""AlertsTable (the de-duplicating store), the SNS alert topics and the alerts lake table: the handler's
ports AlertStore, Publisher and AlertsLake, as the rules engine used them."""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import client, resource_name
from barometer.core.itemsize import item_size
from barometer.core.notifications import alert_subject, alert_text
from barometer.core.rules import Alert
from barometer.ddb import from_item, to_item
from lambdas.processor.capacity import CapacityMeter, read_units, write_units
from lambdas.processor.errors import AlertStoreError, PublishError
from lambdas.shared.lake import put_lake_records

TOPIC_ENV = {"market": catalogue.MARKET_TOPIC.env_var, "weather": catalogue.WEATHER_TOPIC.env_var}


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "") or "ClientError"


class AlertsTable:
    def __init__(self, meter: CapacityMeter):
        self.meter = meter

    @staticmethod
    def _table() -> str:
        return resource_name(catalogue.ALERTS_TABLE.env_var)

    def store(self, item: dict[str, Any]) -> bool:
        """Conditional put: True when this is the first alert of its key, rule and local day."""
        try:
            response = client("dynamodb").put_item(TableName=self._table(), Item=to_item(item),
                                                   ConditionExpression="attribute_not_exists(pk)",
                                                   ReturnConsumedCapacity="TOTAL")
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                self.meter.write(None, lambda: write_units(item))  # a failed condition still consumes
                return False
            raise AlertStoreError(f"PutItem {item['pk']} {item['sk']}: {_code(exc)}") from exc
        self.meter.write(response, lambda: write_units(item))
        return True

    def stored(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = client("dynamodb").get_item(TableName=self._table(), Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                                   ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
        except ClientError as exc:
            raise AlertStoreError(f"GetItem {pk} {sk}: {_code(exc)}") from exc
        item = from_item(response.get("Item"))
        self.meter.read(response, lambda: 1 if item is None else read_units(item_size(item)))
        return item

    def mark_published(self, pk: str, sk: str, message_id: str) -> None:
        try:
            response = client("dynamodb").update_item(
                TableName=self._table(), Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="SET published = :t, message_id = :m",
                ExpressionAttributeValues={":t": {"BOOL": True}, ":m": {"S": message_id}},
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            raise AlertStoreError(f"UpdateItem {pk} {sk}: {_code(exc)}") from exc
        self.meter.write(response, lambda: 1)  # an alert item is well under 1 KB


class AlertTopics:
    def publish(self, alert: Alert) -> str:
        """Publish with per-protocol bodies: JSON for machines (SQS, Lambda), plain text for email."""
        message = alert.message()
        body = json.dumps(message)
        topic = resource_name(TOPIC_ENV[alert.kind])
        try:
            response = client("sns").publish(
                TopicArn=topic, Subject=alert_subject(message), MessageStructure="json",
                Message=json.dumps({"default": body, "sqs": body, "lambda": body, "email": alert_text(message)}),
                MessageAttributes={name: {"DataType": "String", "StringValue": str(message[name])}
                                   for name in ("kind", "key", "rule")},
            )
        except ClientError as exc:
            raise PublishError(f"Publish {alert.alert_id} to {topic}: {_code(exc)}") from exc
        return response["MessageId"]


class AlertsLake:
    def put(self, record: dict[str, Any]) -> None:
        """One row of the lake's alerts table; SinkError when the delivery stream did not take it."""
        failed = put_lake_records("alerts", [record])
        if failed:
            raise failed[0]
