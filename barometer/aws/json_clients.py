"""The hot path's JSON-protocol clients (barometer/aws/json_protocol.py) under botocore's method names, so
the adapters, and the fakes their unit tests install, read as they would with boto3."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from barometer.aws.json_protocol import DYNAMODB, FIREHOSE, JsonProtocolClient, JsonService
from barometer.aws.retry import BACKGROUND
from barometer.aws.target import AwsTarget


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


def dynamodb_json() -> DynamoDBJson:
    """The processor's DynamoDB client for the target the environment names."""
    return _for_target(DynamoDBJson, DYNAMODB, AwsTarget.from_environment())


def firehose_json() -> FirehoseJson:
    """The processor's Firehose client for the target the environment names."""
    return _for_target(FirehoseJson, FIREHOSE, AwsTarget.from_environment())


@lru_cache(maxsize=8)
def _for_target(cls: type[JsonProtocolClient], service: JsonService, target: AwsTarget) -> Any:
    # one per target: a test or a runtime may point the environment elsewhere
    return cls.for_session(service, target.session(), target.endpoint, BACKGROUND)
