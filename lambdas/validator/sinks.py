"""Where the validator writes: MetricsTable, the processed lake (Firehose) and the quarantine."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.core.errors import FieldError
from barometer.aws import PARTIAL_RETRY, BatchCallError, client, resource_name, retry_partial
from barometer.ddb import to_item
from lambdas.shared.errors import SinkError
from lambdas.shared.lake import put_lake_records

BATCH_WRITE_MAX = 25


@dataclass(frozen=True, slots=True)
class Rejection:
    """An invalid record, quarantined with its reason."""

    reason: str
    errors: tuple[FieldError, ...]
    record: str  # the record's data as received (decoded as UTF-8 with replacement)
    shard_id: str
    sequence_number: str
    arrival: str


def write_metrics(items: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
    """BatchWriteItem in chunks of 25, retrying unprocessed items. Returns failures by position.

    A batch may hold the same event twice (a re-sent duplicate); BatchWriteItem rejects a request
    with a key twice, so each key is written once and its outcome applies to every copy.
    """
    positions: dict[tuple[str, str], list[int]] = {}
    for i, item in enumerate(items):
        positions.setdefault((item["pk"], item["sk"]), []).append(i)
    unique = [items[p[-1]] for p in positions.values()]
    failed_unique = _write_unique(unique)
    keys = list(positions)
    return {i: error for u, error in failed_unique.items() for i in positions[keys[u]]}


def _write_unique(items: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
    table = resource_name(catalogue.METRICS_TABLE.env_var)
    ddb = client("dynamodb")
    requests = [{"PutRequest": {"Item": to_item(item)}} for item in items]
    by_key = {(item["pk"], item["sk"]): i for i, item in enumerate(items)}

    def send(pending: list[int]) -> dict[int, str]:
        response = ddb.batch_write_item(RequestItems={table: [requests[i] for i in pending]})
        unprocessed = response.get("UnprocessedItems", {}).get(table, [])
        return {by_key[(u["PutRequest"]["Item"]["pk"]["S"], u["PutRequest"]["Item"]["sk"]["S"])]: "unprocessed"
                for u in unprocessed}

    failed: dict[int, SinkError] = {}
    for start in range(0, len(items), BATCH_WRITE_MAX):
        try:
            unprocessed = retry_partial(range(start, min(start + BATCH_WRITE_MAX, len(items))), send)
        except BatchCallError as exc:
            failed.update({i: SinkError(f"BatchWriteItem on {table} failed: {exc.code}") for i in exc.pending})
            continue
        failed.update({i: SinkError(f"BatchWriteItem on {table}: item still unprocessed after "
                                    f"{PARTIAL_RETRY.attempts} tries") for i in unprocessed})
    return failed


@lru_cache(maxsize=None)
def _queue_url(env_var: str) -> str:
    return client("sqs").get_queue_url(QueueName=resource_name(env_var))["QueueUrl"]


def quarantine(rejections: Sequence[Rejection]) -> dict[int, SinkError]:
    """Each invalid record: its body and reason in the raw bucket, and a DLQ message with the reason.

    The object key is the record's stream position, so a retried batch overwrites rather than adds.
    """
    bucket = resource_name(catalogue.RAW_BUCKET.env_var)
    s3, sqs = client("s3"), client("sqs")
    failed: dict[int, SinkError] = {}
    messages = []
    for i, r in enumerate(rejections):
        body = {"reason": r.reason, "errors": [e.as_dict() for e in r.errors], "record": r.record,
                "shard_id": r.shard_id, "sequence_number": r.sequence_number, "arrival": r.arrival}
        key = f"{catalogue.QUARANTINE_PREFIX}dt={r.arrival[:10]}/{r.shard_id}-{r.sequence_number}.json"
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json")
        except ClientError as exc:
            failed[i] = SinkError(f"quarantine put to s3://{bucket}/{key} failed: {exc.response['Error'].get('Code')}")
            continue
        messages.append((i, {"reason": r.reason, "errors": body["errors"], "object": f"s3://{bucket}/{key}",
                             "sequence_number": r.sequence_number, "shard_id": r.shard_id}))
    if messages:
        url = _queue_url(catalogue.EVENTS_DLQ.env_var)
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            try:
                response = sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "MessageBody": json.dumps(body)} for n, (_, body) in enumerate(chunk)])
            except ClientError as exc:
                for i, _ in chunk:
                    failed[i] = SinkError(f"DLQ send failed: {exc.response['Error'].get('Code')}")
                continue
            for failure in response.get("Failed", []):
                failed[chunk[int(failure["Id"])][0]] = SinkError(f"DLQ send failed: {failure.get('Code')}")
    return failed


class LakeSink:
    """The processed lake (lambdas.validator.handler.Lake)."""

    def put(self, table: str, records: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
        return put_lake_records(table, records)


class MetricsSink:
    """MetricsTable (lambdas.validator.handler.MetricsTable)."""

    def write(self, items: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
        return write_metrics(items)


class QuarantineSink:
    """The raw bucket's quarantine and the events DLQ (lambdas.validator.handler.Quarantine)."""

    def put(self, rejections: Sequence[Rejection]) -> dict[int, SinkError]:
        return quarantine(rejections)
