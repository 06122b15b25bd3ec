"""Fixtures of the orchestration tests: a processed bucket in the session emulator holding sample data."""
from __future__ import annotations

import pytest
from platform_helpers import new_bucket
from sample_lake import make_events, write_lake

from barometer_local.emulator import REGION
from barometer_sql import LakeLocation


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


@pytest.fixture(scope="session")
def provisioned(emulator):
    """The catalogue's resources in the session emulator (the local platform's own provisioning)."""
    from barometer_local.provision import provision

    return provision(emulator.target(), webhook_url="http://127.0.0.1:9/unused")


@pytest.fixture
def barometer(emulator, provisioned):
    """The orchestrator's resource, pointed at the emulator (local environment)."""
    from platform_assets.resources import BarometerResource

    return BarometerResource(environment="local", endpoint=emulator.url, region=REGION)
