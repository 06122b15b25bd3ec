"""Where the platform is, as Dagster sees it: an AWS target (barometer.aws) plus every resource's name.

- local (default, or BAROMETER_ENV=local): resources carry the catalogue's local names; the emulator
  is found as barometer.aws.target says (BAROMETER_AWS_ENDPOINT, else `platform.json` in the state
  folder that `barometer up` writes).
- aws (BAROMETER_ENV=aws): buckets come from their environment variables (CloudFormation names
  them), every other resource by its catalogue name; no endpoint.

Nothing is resolved at import time: Dagster loads the definitions without a running platform.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from barometer import catalogue
from barometer.aws import AwsTarget, AwsTargetError, resolve_target
from barometer.aws.target import environment_kind, platform_url

# One error for "the platform cannot be located": sensors catch it to skip without a platform.
PlatformConfigError = AwsTargetError


@dataclass(frozen=True)
class Platform:
    """A resolved environment: how to reach AWS (or the emulator) and what every resource is called."""

    kind: str
    target: AwsTarget
    overrides: tuple[tuple[str, str], ...] = ()  # logical id -> physical name (tests, odd deployments)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def endpoint(self) -> str | None:
        return self.target.endpoint

    @property
    def region(self) -> str:
        return self.target.region

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
        return (os.environ.get(topic.env_var)
                or f"arn:aws:sns:{self.region}:{self.target.account()}:{self.name(topic)}")

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def lambda_environment(self) -> dict[str, str]:
        """Environment variables that make Barometer's handlers run against this platform in-process."""
        c = catalogue.CATALOGUE
        env = {spec.env_var: self.name(spec)
               for group in (c.tables, c.buckets, c.queues, c.secrets, c.streams, c.deliveries)
               for spec in group if spec.env_var}
        env.update({topic.env_var: self.topic_arn(topic) for topic in c.topics})
        env.update(self.target.environment())
        return env


def resolve(kind: str | None = None, *, endpoint: str | None = None, region: str | None = None,
            overrides: dict[str, str] | None = None) -> Platform:
    kind = environment_kind(kind)
    return Platform(kind, resolve_target(kind, endpoint=endpoint, region=region),
                    tuple(sorted((overrides or {}).items())))


LAMBDA_ENDPOINT_ENV = "BAROMETER_LAMBDA_ENDPOINT"


def lambda_target(platform: Platform, endpoint: str | None = None) -> AwsTarget:
    """Where Lambda's Invoke API is: AWS's own on AWS. Locally the emulator runs none of our functions, so
    it is the local runtime's (barometer_local/lambda_api.py): `endpoint`, else BAROMETER_LAMBDA_ENDPOINT,
    else the `lambda_endpoint` of the running platform's platform.json."""
    if not platform.is_local:
        return platform.target
    return replace(platform.target, endpoint=endpoint or platform_url("lambda_endpoint", LAMBDA_ENDPOINT_ENV))
