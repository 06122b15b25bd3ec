"""Fixtures of the orchestration tests: a processed bucket in the session emulator holding sample data."""
from __future__ import annotations

import uuid

import boto3
import pytest
from sample_lake import make_events, write_lake

from barometer_local.emulator import REGION
from barometer_sql import LakeLocation


def new_bucket(emulator, stem: str = "processed") -> str:
    """A bucket of its own for a test (the emulator is shared by the whole session)."""
    name = f"t-{stem}-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=emulator.url, region_name=REGION).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def sample_lake():
    return make_events()


@pytest.fixture(scope="session")
def filled_lake(emulator, sample_lake) -> LakeLocation:
    """A processed bucket holding the sample lake (read-only for tests: they share it)."""
    location = LakeLocation(processed_bucket=new_bucket(emulator), s3_endpoint=emulator.url, region=REGION)
    write_lake(location.filesystem(), location.processed_bucket, sample_lake)
    return location


@pytest.fixture
def empty_lake(emulator) -> LakeLocation:
    return LakeLocation(processed_bucket=new_bucket(emulator), s3_endpoint=emulator.url, region=REGION)
