"""Where the platform is: the one place that tells local (the emulator) from AWS.

- local (default, or BAROMETER_ENV=local): resources carry the catalogue's local names; the
  emulator's URL comes from BAROMETER_AWS_ENDPOINT, else from `platform.json` that `barometer up`
  writes into `.barometer/` (or $BAROMETER_HOME).
- aws (BAROMETER_ENV=aws): buckets come from their environment variables (CloudFormation names
  them), every other resource by its catalogue name; no endpoint.

Nothing is resolved at import time: Dagster loads the definitions without a running platform.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from barometer import catalogue as catalogue

ENVIRONMENT_ENV = "BAROMETER_ENV"
HOME_ENV = "BAROMETER_HOME"
ENVIRONMENTS = ("local", "aws")
REPO_ROOT = Path(__file__).resolve().parents[1]


# The emulator accepts any credentials; without some, boto3 refuses to sign (a `dagster dev` started
# from a plain shell has none).
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _missing_credentials() -> bool:
    return not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE")


class PlatformConfigError(RuntimeError):
    """The platform cannot be located: which environment, which endpoint, which name."""


def state_dir() -> Path:
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".barometer")


def local_endpoint() -> str:
    """The emulator's URL: BAROMETER_AWS_ENDPOINT, else the running platform's platform.json."""
    endpoint = os.environ.get(catalogue.ENDPOINT_ENV)
    if endpoint:
        return endpoint
    path = state_dir() / "platform.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlatformConfigError(f"no local platform is running (no {path}); start one with `barometer up` "
                                  f"or set {catalogue.ENDPOINT_ENV}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise PlatformConfigError(f"{path}: unreadable ({exc})") from None
    endpoint = info.get("aws_endpoint") if isinstance(info, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise PlatformConfigError(f"{path}: no aws_endpoint")
    return endpoint


@dataclass(frozen=True)
class Platform:
    """A resolved environment: how to reach AWS (or the emulator) and what every resource is called."""

    kind: str
    endpoint: str | None
    region: str
    overrides: tuple[tuple[str, str], ...] = ()  # logical id -> physical name (tests, odd deployments)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def name(self, spec: Any) -> str:
        """The physical name of a catalogue resource: an override, else its environment variable (as
        the Lambda handlers read it; topics' variables hold ARNs), else the catalogue's local name
        (on AWS only buckets must be given: CloudFormation names them)."""
        override = dict(self.overrides).get(spec.logical_id)
        if override:
            return override
        value = os.environ.get(getattr(spec, "env_var", None) or "")
        if value:
            return value.rsplit(":", 1)[-1] if isinstance(spec, catalogue.TopicSpec) else value
        if not self.is_local and isinstance(spec, catalogue.BucketSpec):
            raise PlatformConfigError(f"{spec.env_var} is not set: the physical name of {spec.logical_id}")
        return spec.local_name

    def topic_arn(self, topic: catalogue.TopicSpec) -> str:
        return os.environ.get(topic.env_var) or f"arn:aws:sns:{self.region}:{self._account()}:{self.name(topic)}"

    def _account(self) -> str:
        if self.is_local:
            return "123456789012"  # the emulator's account
        return self.client("sts").get_caller_identity()["Account"]

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)
        credentials = {}
        if self.is_local and _missing_credentials():
            credentials = {"aws_access_key_id": EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           "aws_secret_access_key": EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        return boto3.session.Session(region_name=self.region, **credentials).client(
            service, endpoint_url=self.endpoint, config=config)

    def lambda_environment(self) -> dict[str, str]:
        """Environment variables that make Barometer's handlers run against this platform in-process."""
        c = catalogue.CATALOGUE
        env = {spec.env_var: self.name(spec)
               for group in (c.tables, c.buckets, c.queues, c.secrets, c.streams, c.deliveries)
               for spec in group if spec.env_var}
        env.update({topic.env_var: self.topic_arn(topic) for topic in c.topics})
        env.update(AWS_REGION=self.region, AWS_DEFAULT_REGION=self.region)
        if self.endpoint:
            env[catalogue.ENDPOINT_ENV] = self.endpoint
        if self.is_local and _missing_credentials():
            env.update(EMULATOR_CREDENTIALS)
        return env


def resolve(kind: str | None = None, *, endpoint: str | None = None, region: str | None = None,
            overrides: dict[str, str] | None = None) -> Platform:
    kind = (kind or os.environ.get(ENVIRONMENT_ENV) or "local").lower()
    if kind not in ENVIRONMENTS:
        raise PlatformConfigError(f"{ENVIRONMENT_ENV}: expected one of {', '.join(ENVIRONMENTS)}, got {kind!r}")
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if kind == "local":
        endpoint = endpoint or local_endpoint()
    return Platform(kind, endpoint, region, tuple(sorted((overrides or {}).items())))
