"""Helpers of the orchestration tests that need the emulator (imported by name: not in conftest.py,
whose module name other folders' conftest files share)."""
from __future__ import annotations

import uuid

import boto3

from barometer_local.emulator import REGION


def new_bucket(emulator, stem: str = "processed") -> str:
    """A bucket of its own for a test (the emulator is shared by the whole session)."""
    name = f"t-{stem}-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=emulator.url, region_name=REGION).create_bucket(Bucket=name)
    return name


def create_table_like(emulator, spec, name: str) -> str:
    """A DynamoDB table with a catalogue table's keys and indexes, under another name (test isolation)."""
    ddb = boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION)
    attributes = {spec.pk: "S", **({spec.sk: "S"} if spec.sk else {})}
    keys = [{"AttributeName": spec.pk, "KeyType": "HASH"}] + (
        [{"AttributeName": spec.sk, "KeyType": "RANGE"}] if spec.sk else [])
    indexes = []
    for index in spec.indexes:
        attributes[index.pk] = "S"
        schema = [{"AttributeName": index.pk, "KeyType": "HASH"}]
        if index.sk:
            attributes[index.sk] = "S"
            schema.append({"AttributeName": index.sk, "KeyType": "RANGE"})
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}})
    ddb.create_table(TableName=name, KeySchema=keys, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t in attributes.items()],
                     **({"GlobalSecondaryIndexes": indexes} if indexes else {}))
    return name
