"""Where AWS is: the endpoint (an emulator's URL, or None for AWS itself), the region, the credentials
and the account. The Lambda handlers, Dagster, SQL over the lake and the local runtime all ask here.

Resolution (nothing happens at import time):
- the environment: BAROMETER_ENV picks `local` (default) or `aws`;
- the endpoint: on `aws` none; on `local` an explicit one, else BAROMETER_AWS_ENDPOINT, else the
  `aws_endpoint` in `platform.json` of the state folder (`$BAROMETER_HOME` or `.barometer/`);
- the region: an explicit one, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1;
- credentials: the SDK's own chain, except for an emulator when the shell names none (neither
  AWS_ACCESS_KEY_ID nor AWS_PROFILE): then the emulator's dummy ones. The local runtime, which owns
  its emulator, always signs with the emulator's credentials (`AwsTarget.emulator`);
- the account: the emulator's fixed one when there is an endpoint, else STS (asked once per target).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from barometer.aws.emulator import (
    EMULATOR_ACCOUNT,
    EMULATOR_CREDENTIALS,
    EMULATOR_REGION,
    Credentials,
    shell_has_credentials,
)
from barometer.aws.home import platform_file
from barometer.aws.retry import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, client_config
from barometer.catalogue import ENDPOINT_ENV

ENVIRONMENT_ENV = "BAROMETER_ENV"
ENVIRONMENTS = ("local", "aws")
DEFAULT_REGION = EMULATOR_REGION


class AwsTargetError(RuntimeError):
    """The platform cannot be located: which environment, which endpoint."""


@dataclass(frozen=True)
class AwsTarget:
    """One AWS to talk to. `credentials` is set only for an emulator; otherwise the SDK finds them."""

    endpoint: str | None = None
    region: str = DEFAULT_REGION
    credentials: Credentials | None = None

    @classmethod
    def at(cls, endpoint: str | None, region: str | None = None) -> AwsTarget:
        """AWS itself (endpoint None) or an emulator; dummy credentials only when the shell has none."""
        credentials = EMULATOR_CREDENTIALS if endpoint and not shell_has_credentials() else None
        return cls(endpoint or None, resolve_region(region), credentials)

    @classmethod
    def emulator(cls, endpoint: str, region: str = EMULATOR_REGION) -> AwsTarget:
        """An emulator the caller runs: signed with the emulator's credentials whatever the shell holds,
        so a stale profile never gets in the way and ARNs carry EMULATOR_ACCOUNT."""
        return cls(endpoint, region, EMULATOR_CREDENTIALS)

    @classmethod
    def from_environment(cls) -> AwsTarget:
        """As a Lambda handler sees it: BAROMETER_AWS_ENDPOINT (unset on AWS) and the region variables."""
        return cls.at(os.environ.get(ENDPOINT_ENV) or None)

    @property
    def is_emulator(self) -> bool:
        return self.endpoint is not None

    def account(self) -> str:
        return EMULATOR_ACCOUNT if self.is_emulator else _sts_account(self)

    def session(self) -> Any:
        import boto3

        keys: dict[str, str] = {}
        if self.credentials:
            keys = {"aws_access_key_id": self.credentials.access_key_id,
                    "aws_secret_access_key": self.credentials.secret_access_key,
                    "aws_session_token": self.credentials.session_token}
        return boto3.session.Session(region_name=self.region, **keys)

    def client(self, service: str) -> Any:
        """A new client (callers keep it); every one with the retry policy of barometer.aws.retry."""
        return self.session().client(service, endpoint_url=self.endpoint, config=client_config())

    def s3_filesystem_options(self) -> dict[str, Any]:
        """Keyword arguments for pyarrow.fs.S3FileSystem."""
        options: dict[str, Any] = {"region": self.region, "connect_timeout": CONNECT_TIMEOUT_S,
                                   "request_timeout": READ_TIMEOUT_S}
        if self.endpoint:
            options.update(endpoint_override=self.endpoint,
                           scheme="https" if self.endpoint.startswith("https") else "http")
        if self.credentials:
            options.update(access_key=self.credentials.access_key_id,
                           secret_key=self.credentials.secret_access_key,
                           session_token=self.credentials.session_token)
        return options

    def environment(self) -> dict[str, str]:
        """The variables that make a handler (barometer.aws.client) in this process talk to this target."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.endpoint:
            env[ENDPOINT_ENV] = self.endpoint
        if self.credentials:
            env.update(self.credentials.environment())
        return env


@lru_cache(maxsize=8)
def _sts_account(target: AwsTarget) -> str:
    return target.client("sts").get_caller_identity()["Account"]


def forget_accounts() -> None:
    _sts_account.cache_clear()


def resolve_region(region: str | None = None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def environment_kind(kind: str | None = None) -> str:
    kind = (kind or os.environ.get(ENVIRONMENT_ENV) or "local").lower()
    if kind not in ENVIRONMENTS:
        raise AwsTargetError(f"{ENVIRONMENT_ENV}: expected one of {', '.join(ENVIRONMENTS)}, got {kind!r}")
    return kind


def local_endpoint() -> str:
    """The emulator's URL: BAROMETER_AWS_ENDPOINT, else the running platform's platform.json."""
    return platform_url("aws_endpoint", ENDPOINT_ENV)


def platform_url(key: str, env_var: str) -> str:
    """A URL of the running local platform: `env_var` when set, else `key` in its platform.json."""
    url = os.environ.get(env_var)
    if url:
        return url
    path = platform_file()
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AwsTargetError(f"no local platform is running (no {path}); start one with `barometer up` "
                             f"or set {env_var}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise AwsTargetError(f"{path}: unreadable ({exc})") from None
    url = info.get(key) if isinstance(info, dict) else None
    if not isinstance(url, str) or not url:
        raise AwsTargetError(f"{path}: no {key}")
    return url


def resolve_target(kind: str | None = None, *, endpoint: str | None = None,
                   region: str | None = None) -> AwsTarget:
    """The target of an environment (`local` or `aws`; default BAROMETER_ENV, else local)."""
    if environment_kind(kind) == "local":
        endpoint = endpoint or local_endpoint()
    return AwsTarget.at(endpoint, region)
