"""Where AWS is, and how to talk to it: the one answer for the Lambdas, Dagster, SQL and the local runtime.

- `target`: `AwsTarget` (endpoint, region, credentials, account; clients, sessions, pyarrow options,
  handler environment) and its resolution from the environment;
- `retry`: the botocore Config every client uses and `retry_partial` for batch calls that leave
  records behind;
- `emulator`: the emulator's fixed account, region and credentials; `home`: the state folder.

The Lambda side reads everything from its environment: `client(service)` (one per process, created
on first use, never at import) and `resource_name(env_var)`.
"""
from __future__ import annotations

import os
from functools import cache
from typing import Any

from barometer.aws.emulator import EMULATOR_ACCOUNT, EMULATOR_CREDENTIALS, EMULATOR_REGION, Credentials
from barometer.aws.home import HOME_ENV, platform_file, state_dir
from barometer.aws.retry import PARTIAL_RETRY, BatchCallError, PartialRetry, client_config, retry_partial
from barometer.aws.target import AwsTarget, AwsTargetError, forget_accounts, resolve_target

__all__ = ["EMULATOR_ACCOUNT", "EMULATOR_CREDENTIALS", "EMULATOR_REGION", "HOME_ENV", "PARTIAL_RETRY",
           "AwsTarget", "AwsTargetError", "BatchCallError", "Credentials", "PartialRetry", "client",
           "client_config", "platform_file", "reset_clients", "resolve_target", "resource_name",
           "retry_partial", "state_dir"]


@cache
def client(service: str) -> Any:
    """A client for the target the environment names (BAROMETER_AWS_ENDPOINT, AWS_REGION)."""
    return AwsTarget.from_environment().client(service)


def resource_name(env_var: str) -> str:
    """The physical name of a resource, from the environment variable the catalogue gives it."""
    try:
        return os.environ[env_var]
    except KeyError:
        raise RuntimeError(f"environment variable {env_var} is not set "
                           "(see barometer/catalogue.py)") from None


def reset_clients() -> None:
    """Forget cached clients and accounts (tests and runtimes that switch endpoints)."""
    client.cache_clear()
    forget_accounts()
