"""The hot path's JSON-protocol clients (barometer/aws/json_protocol.py) under botocore's method names, so
the adapters, and the fakes their unit tests install, read as they would with boto3."""
from __future__ import annotations

from typing import Any

from barometer.aws.json_protocol import JsonProtocolClient


class DynamoDBJson(JsonProtocolClient):
    """The processor's DynamoDB calls: one PutItem per key per batch, items in chunks of 25 or 100."""

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("GetItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchWriteItem", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchGetItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self.call("Query", params)


class FirehoseJson(JsonProtocolClient):
    """The processed lake's PutRecordBatch: every event of a batch once (botocore walked each record's shape)."""

    def put_record_batch(self, **params: Any) -> dict[str, Any]:
        return self.call("PutRecordBatch", params)
