"""The processed lake (Firehose) and the quarantine (raw bucket + events DLQ): the handler's ports Lake
and Quarantine, as the validator wrote them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import client, resource_name
from barometer.lake import quarantine_key
from lambdas.processor.errors import SinkError
from lambdas.processor.outcomes import Rejection
from lambdas.shared.lake import put_lake_records

SQS_BATCH_MAX = 10


@cache
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
        key = quarantine_key(r.arrival[:10], r.shard_id, r.sequence_number)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json")
        except ClientError as exc:
            failed[i] = SinkError(f"quarantine put to s3://{bucket}/{key} failed: {exc.response['Error'].get('Code')}")
            continue
        messages.append((i, {"reason": r.reason, "errors": body["errors"], "object": f"s3://{bucket}/{key}",
                             "sequence_number": r.sequence_number, "shard_id": r.shard_id}))
    if messages:
        try:
            url = _queue_url(catalogue.EVENTS_DLQ.env_var)
        except ClientError as exc:  # only these records fail (and are retried), not the whole batch
            for i, _ in messages:
                failed[i] = SinkError(f"DLQ lookup failed: {exc.response['Error'].get('Code')}")
            return failed
        for start in range(0, len(messages), SQS_BATCH_MAX):
            chunk = messages[start:start + SQS_BATCH_MAX]
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
    """The processed lake's delivery streams, one per lake table."""

    def put(self, table: str, records: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
        return put_lake_records(table, records)


class QuarantineSink:
    def put(self, rejections: Sequence[Rejection]) -> dict[int, SinkError]:
        return quarantine(rejections)
