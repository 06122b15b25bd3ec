"""boto3 clients, created once per process and on first use (never at import time).

BAROMETER_AWS_ENDPOINT, when set, points every client at the local emulator; on AWS it is unset
and the SDK's normal resolution applies.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from barometer.catalogue import ENDPOINT_ENV


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30,
                    max_pool_connections=32)
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    return boto3.session.Session().client(service, endpoint_url=endpoint, config=config)


def resource_name(env_var: str) -> str:
    """The physical name of a resource, from the environment variable the catalogue gives it."""
    try:
        return os.environ[env_var]
    except KeyError:
        raise RuntimeError(f"environment variable {env_var} is not set (see barometer/catalogue.py)") from None


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    client.cache_clear()
