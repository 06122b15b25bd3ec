"""The deployment as assets: the events stream, the Lambda functions, the DynamoDB tables, the Firehose
deliveries and the lake's buckets, one external asset each, all derived from barometer/catalogue.py.

Lineage follows the data, from what the catalogue says each part writes:
- a function depends on its event source mapping's stream (the processor on the events stream);
- the stream, a table or a bucket depends on the functions that write into it (PutRecords, PutItem or
  UpdateItem, PutObject), the stream also on the feeds it carries;
- a delivery depends on the functions that put records into it (DirectPut), or, when no function does,
  on the stream it reads (the raw delivery is Kinesis-sourced);
- a bucket depends on the deliveries into it; each lake table (lake group) on its processed delivery.
Reads are not lineage: the API reads the tables it serves, which would otherwise close a cycle.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg

from barometer import catalogue as c
from platform_assets.ingestion.assets import FEEDS, feed_key

GROUP = "deployment"
# Modes under which a function changes a resource (catalogue.ACCESS_MODES): its writers in the lineage.
WRITES = frozenset({c.WRITE, c.READ_WRITE, c.READ_UPDATE, c.PUT_OBJECTS})
STREAM, FUNCTION, TABLE, DELIVERY, BUCKET = "stream", "function", "table", "delivery", "bucket"
KINDS = {STREAM: "kinesis", FUNCTION: "lambda", TABLE: "dynamodb", DELIVERY: "firehose", BUCKET: "s3"}


@dataclass(frozen=True)
class Deployed:
    """One resource of the deployment as the graph shows it."""

    kind: str  # STREAM | FUNCTION | TABLE | DELIVERY | BUCKET
    spec: Any  # its catalogue spec
    key: dg.AssetKey
    deps: tuple[dg.AssetKey, ...]


def deployment_key(spec: Any) -> dg.AssetKey:
    """deployment/<logical id in snake case>: EventsStream -> deployment/events_stream."""
    return dg.AssetKey([GROUP, re.sub(r"(?<!^)(?=[A-Z])", "_", spec.logical_id).lower()])


def _writers(logical_id: str, catalogue: c.Catalogue) -> list[dg.AssetKey]:
    return [deployment_key(f) for f in catalogue.functions
            if any(a.resource == logical_id and a.mode in WRITES for a in f.access)]


def _deps(kind: str, spec: Any, catalogue: c.Catalogue) -> list[dg.AssetKey]:
    if kind == FUNCTION:
        return [deployment_key(catalogue.by_logical_id(spec.mapping.source))] if spec.mapping else []
    writers = _writers(spec.logical_id, catalogue)
    if kind == STREAM:
        return [feed_key(feed) for feed in FEEDS] + writers
    if kind == DELIVERY:
        # A delivery no function writes to reads a stream (KinesisStreamAsSource); the catalogue has one.
        return writers or [deployment_key(s) for s in catalogue.streams]
    if kind == BUCKET:
        return [deployment_key(d) for d in catalogue.deliveries if d.bucket == spec.logical_id] + writers
    return writers


def _description(kind: str, spec: Any) -> str:
    if kind == FUNCTION:
        return f"Lambda function {spec.local_name}: {spec.description}"
    if kind == STREAM:
        return f"Kinesis stream {spec.local_name} (retention {spec.retention_hours} h): every event, from the API and the poller"
    if kind == TABLE:
        return f"DynamoDB table {spec.local_name} (key {spec.pk}{', ' + spec.sk if spec.sk else ''})"
    if kind == DELIVERY:
        return (f"Firehose delivery {spec.local_name}: {spec.output_format} into {spec.prefix} of "
                f"{spec.bucket}")
    return f"S3 bucket {spec.local_name} (CloudFormation names it on AWS: {spec.env_var})"


def deployed(catalogue: c.Catalogue = c.CATALOGUE) -> list[Deployed]:
    """Every resource of the graph, upstream before downstream (the order observations are reported in)."""
    groups = ((STREAM, catalogue.streams), (FUNCTION, catalogue.functions), (TABLE, catalogue.tables),
              (DELIVERY, catalogue.deliveries), (BUCKET, catalogue.buckets))
    parts = {deployment_key(spec): Deployed(kind, spec, deployment_key(spec), tuple(_deps(kind, spec, catalogue)))
             for kind, specs in groups for spec in specs}
    order = TopologicalSorter({key: [d for d in part.deps if d in parts] for key, part in parts.items()})
    return [parts[key] for key in order.static_order()]


def asset_spec(part: Deployed) -> dg.AssetSpec:
    return dg.AssetSpec(
        part.key, group_name=GROUP, deps=list(part.deps), kinds={"aws", KINDS[part.kind]},
        description=_description(part.kind, part.spec),
        metadata={"logical_id": part.spec.logical_id, "catalogue_name": part.spec.local_name})


DEPLOYED = deployed()
DEPLOYED_KEYS = [part.key for part in DEPLOYED]
