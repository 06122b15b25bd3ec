"""The Dagster resources. Where AWS is comes from barometer.aws (through `environment.py`); names too."""
from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from barometer_sql import LakeLocation, open_engine
from barometer_sql.engine import LakeEngine
from barometer.catalogue import PROCESSED_BUCKET
from platform_assets.environment import Platform, lambda_target, resolve


class BarometerResource(dg.ConfigurableResource):
    """The platform (AWS or the local emulator): names, clients, the lake and its SQL engine.

    Every field is optional: by default the environment decides (BAROMETER_ENV, platform.json).
    """

    environment: str | None = None  # local | aws; default: $BAROMETER_ENV, else local
    endpoint: str | None = None  # the emulator's URL; default: $BAROMETER_AWS_ENDPOINT, else platform.json
    region: str | None = None
    sql_engine: str | None = None  # duckdb | athena; default: duckdb locally, athena on AWS
    athena_workgroup: str | None = None
    lambda_endpoint: str | None = None  # locally, the Invoke API's URL; default: platform.json's lambda_endpoint
    # logical id -> physical name, for a resource named differently than the catalogue says
    name_overrides: dict[str, str] = Field(default_factory=dict)

    _platform: Platform | None = PrivateAttr(default=None)

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = resolve(self.environment, endpoint=self.endpoint, region=self.region,
                                     overrides=self.name_overrides)
        return self._platform

    def name(self, spec: Any) -> str:
        return self.platform.name(spec)

    def client(self, service: str) -> Any:
        return self.platform.client(service)

    def lambda_client(self) -> Any:
        """Lambda's API: AWS's on AWS, the local runtime's Invoke API locally (the emulator runs no function)."""
        return lambda_target(self.platform, self.lambda_endpoint).client("lambda")

    def lake(self) -> LakeLocation:
        platform = self.platform
        return LakeLocation(processed_bucket=self.name(PROCESSED_BUCKET), s3_endpoint=platform.endpoint,
                            region=platform.region)

    @property
    def engine_kind(self) -> str:
        return self.sql_engine or ("duckdb" if self.platform.is_local else "athena")

    def sql(self, **options) -> LakeEngine:
        """An engine over the lake; DuckDB takes `tables`, `first_dt`, `last_dt` to load less."""
        if self.engine_kind == "athena":
            return open_engine("athena", self.lake(), workgroup=self.athena_workgroup)
        return open_engine("duckdb", self.lake(), **options)


def build_resources() -> dict[str, Any]:
    return {"barometer": BarometerResource()}
