"""The Dagster resources. Where AWS is comes from barometer.aws (through `environment.py`); names too."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from barometer.catalogue import OPS_TOPIC, PROCESSED_BUCKET
from barometer_sql import LakeLocation, open_engine
from barometer_sql.engine import LakeEngine
from platform_assets.environment import Platform, lambda_target, resolve

# The CDK workgroup (encrypted results, per-query scan limit). Not in barometer/catalogue.py yet: the CDK
# app must set it on the orchestrator (its stack output AthenaWorkGroup is the name).
ATHENA_WORKGROUP_ENV = "BAROMETER_ATHENA_WORKGROUP"


class BarometerResource(dg.ConfigurableResource):
    """The platform (AWS or the local emulator): names, clients, the lake and its SQL engine.

    Every field is optional: by default the environment decides (BAROMETER_ENV, platform.json).
    """

    environment: str | None = None  # local | aws; default: $BAROMETER_ENV, else local
    endpoint: str | None = None  # the emulator's URL; default: $BAROMETER_AWS_ENDPOINT, else platform.json
    region: str | None = None
    sql_engine: str | None = None  # duckdb | athena; default: duckdb locally, athena on AWS
    # The deployment's settings (the CDK app sets the variables; build_resources binds them as dg.EnvVar):
    athena_workgroup: str | None = None  # BAROMETER_ATHENA_WORKGROUP: encrypted results, scan limit
    quicksight_datasets: str = ""  # comma-separated SPICE dataset ids
    quicksight_timeout_s: int = 900  # how long a SPICE ingestion may take before the refresh fails
    backup_vault: str = ""
    replica_regions: str = ""  # comma-separated
    health_check_id: str = ""
    max_backup_age_h: int = 26
    # The newest object's replication is normally PENDING for a while; older than this it is a fault.
    max_replication_pending_min: int = 60
    ops_topic_arn: str | None = None  # default: the catalogue's OpsAlerts topic in this account
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


    @property
    def dataset_ids(self) -> list[str]:
        return _split(self.quicksight_datasets)

    @property
    def replica_region_list(self) -> list[str]:
        return _split(self.replica_regions)

    def ops_topic(self) -> str:
        return self.ops_topic_arn or self.platform.topic_arn(OPS_TOPIC)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# Resource field -> the environment variable the deployment sets (CDK on AWS; none of them locally).
DEPLOYMENT_ENV = {
    "athena_workgroup": ATHENA_WORKGROUP_ENV,
    "quicksight_datasets": "BAROMETER_QUICKSIGHT_DATASETS",
    "quicksight_timeout_s": "BAROMETER_QUICKSIGHT_TIMEOUT_S",
    "backup_vault": "BAROMETER_BACKUP_VAULT",
    "replica_regions": "BAROMETER_REPLICA_REGIONS",
    "health_check_id": "BAROMETER_HEALTH_CHECK_ID",
    "max_backup_age_h": "BAROMETER_DR_MAX_BACKUP_AGE_H",
    "max_replication_pending_min": "BAROMETER_DR_MAX_REPLICATION_PENDING_MIN",
    "ops_topic_arn": OPS_TOPIC.env_var,
}
_INTEGERS = {"quicksight_timeout_s", "max_backup_age_h", "max_replication_pending_min"}


def deployment_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The fields whose variable the deployment set, bound as dg.EnvVar (read when a run starts, shown as
    such in the UI); unset ones keep their defaults, so the definitions load anywhere."""
    config: dict[str, Any] = {}
    for field, variable in DEPLOYMENT_ENV.items():
        if environ.get(variable):
            config[field] = dg.EnvVar.int(variable) if field in _INTEGERS else dg.EnvVar(variable)
    return config


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"barometer": BarometerResource(**deployment_config(os.environ if environ is None else environ))}
