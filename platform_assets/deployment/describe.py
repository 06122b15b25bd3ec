"""What AWS says about each part of the deployment: the describe calls, reduced to flat metadata. No
Dagster here.

Each function takes the service's client and the physical name and returns {"status": …, …}: the status as
AWS spells it (Kinesis StreamStatus, Lambda State, DynamoDB TableStatus, Firehose DeliveryStreamStatus; a
bucket that answers is AVAILABLE). A resource AWS does not know raises `NotDeployed`; other errors are
botocore's, for the caller to report.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

# Error codes that mean "no such resource" (Kinesis, DynamoDB, Firehose and Lambda; S3).
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "NoSuchBucket", "404", "NotFound"})


class NotDeployed(Exception):
    """AWS answered that the resource does not exist."""


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in NOT_FOUND_CODES


def _call(method, **kwargs) -> dict[str, Any]:
    try:
        return method(**kwargs)
    except ClientError as exc:
        if _not_found(exc):
            raise NotDeployed(exc.response["Error"].get("Message") or str(exc)) from exc
        raise


def describe_stream(kinesis: Any, name: str) -> dict[str, Any]:
    s = _call(kinesis.describe_stream_summary, StreamName=name)["StreamDescriptionSummary"]
    return {"status": s["StreamStatus"], "open_shards": s.get("OpenShardCount", 0),
            "retention_hours": s.get("RetentionPeriodHours", 0),
            "mode": (s.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
            "encryption": s.get("EncryptionType", "NONE"), "consumers": s.get("ConsumerCount", 0)}


def describe_table(dynamodb: Any, name: str) -> dict[str, Any]:
    """ItemCount and TableSizeBytes are DynamoDB's own, refreshed about every six hours."""
    t = _call(dynamodb.describe_table, TableName=name)["Table"]
    replicas = ", ".join(f"{r.get('RegionName')}={r.get('ReplicaStatus')}" for r in t.get("Replicas") or [])
    return {"status": t["TableStatus"], "item_count": t.get("ItemCount", 0), "size_bytes": t.get("TableSizeBytes", 0),
            "billing_mode": (t.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "replicas": replicas or "none", "deletion_protection": bool(t.get("DeletionProtectionEnabled", False))}


def describe_delivery(firehose: Any, name: str) -> dict[str, Any]:
    d = _call(firehose.describe_delivery_stream, DeliveryStreamName=name)["DeliveryStreamDescription"]
    failure = d.get("FailureDescription") or {}
    destination = next(iter(d.get("Destinations") or []), {}).get("ExtendedS3DestinationDescription") or {}
    source = ((d.get("Source") or {}).get("KinesisStreamSourceDescription") or {}).get("KinesisStreamARN")
    return {"status": d["DeliveryStreamStatus"], "type": d.get("DeliveryStreamType", ""),
            "encryption": (d.get("DeliveryStreamEncryptionConfiguration") or {}).get("Status", "DISABLED"),
            "failure": f"{failure['Type']}: {failure.get('Details', '')}" if failure.get("Type") else "none",
            "source_stream": source or "none (DirectPut)",
            "destination": f"{destination.get('BucketARN', '?')}/{destination.get('Prefix', '')}" if destination else "none"}


def describe_function(lambda_client: Any, name: str, mapped: bool) -> dict[str, Any]:
    """The function's state; for a function fed by an event source mapping, the mappings' state and last
    processing result too (Lambda's "PROBLEM: …" when it cannot read its source)."""
    f = _call(lambda_client.get_function_configuration, FunctionName=name)
    out: dict[str, Any] = {"status": f.get("State", "Active"), "last_update": f.get("LastUpdateStatus", "Successful"),
                           "runtime": f.get("Runtime", ""), "memory_mb": f.get("MemorySize", 0),
                           "timeout_s": f.get("Timeout", 0), "last_modified": f.get("LastModified", "")}
    if mapped:
        mappings = []
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate(FunctionName=name):
            mappings += page.get("EventSourceMappings", [])
        out["mapping_state"] = ", ".join(m.get("State", "?") for m in mappings) or "no mapping"
        out["mapping_last_result"] = ", ".join(m.get("LastProcessingResult", "?") for m in mappings) or "none"
    return out


def describe_bucket(s3: Any, name: str) -> dict[str, Any]:
    """Versioning and replication, what the lake's recovery relies on (S3 storage metrics are daily)."""
    versioning = _call(s3.get_bucket_versioning, Bucket=name).get("Status", "Disabled")
    try:
        rules = s3.get_bucket_replication(Bucket=name)["ReplicationConfiguration"].get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ReplicationConfigurationNotFoundError":
            raise
        rules = []
    enabled = [r for r in rules if r.get("Status") == "Enabled"]
    destinations = sorted({r.get("Destination", {}).get("Bucket", "?") for r in enabled})
    return {"status": "AVAILABLE", "versioning": versioning, "replication_rules": len(enabled),
            "replication_destinations": ", ".join(destinations) or "none"}


# The statuses in which a resource serves (Kinesis and DynamoDB keep serving while UPDATING).
SERVING = {"stream": {"ACTIVE", "UPDATING"}, "table": {"ACTIVE", "UPDATING"}, "delivery": {"ACTIVE"},
           "function": {"Active"}, "bucket": {"AVAILABLE"}}


def fault(kind: str, description: dict[str, Any]) -> str | None:
    """Why a described resource cannot do its part, or None: a status other than serving, a delivery's
    failure (e.g. KMS access denied: records pile up unwritten), a failed function update, or an event
    source mapping whose last processing result is a PROBLEM."""
    status = description.get("status")
    if status not in SERVING[kind]:
        return f"status {status}"
    if kind == "delivery" and description.get("failure", "none") != "none":
        return f"delivery failure {description['failure']}"
    if kind == "function":
        if description.get("last_update") == "Failed":
            return "its last update failed"
        if "PROBLEM" in str(description.get("mapping_last_result", "")):
            return f"event source mapping: {description['mapping_last_result']}"
    return None
