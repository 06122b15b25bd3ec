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
    from barometer_local.provision import create_table

    create_table(boto3.client("dynamodb", endpoint_url=emulator.url, region_name=REGION), spec, name)
    return name
