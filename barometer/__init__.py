"""Barometer's ground floor: what every part (Lambda handlers, the CDK app, Dagster, SQL over the lake,
the local runtime) stands on.

- `barometer.core`: the pure domain (events, validation, enrichment, rolling windows, key state, rules,
  notifications); no boto3, no Powertools, no I/O.
- `barometer.catalogue`: every AWS resource's name, key schema and mapping settings.
- `barometer.lake`: the lake's layout (zones, prefixes, table schemas, key encodings).
- `barometer.config` / `barometer.settings`: the one configuration (barometer.yaml), parsed strictly.
- `barometer.aws`: the one answer to "which endpoint, region, credentials and account".

Nothing here imports `lambdas`, `barometer_local`, `barometer_sql`, `platform_assets` or `infra_cdk`.
"""
