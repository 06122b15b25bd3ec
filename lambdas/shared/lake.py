"""The processed lake's delivery streams (Firehose): one per lake table."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from barometer import catalogue
from barometer.aws import PARTIAL_RETRY, BatchCallError, resource_name, retry_partial
from barometer.aws.json_clients import FirehoseJson, firehose_json
from barometer.aws.retry import rejected_records
from lambdas.shared.errors import SinkError

FIREHOSE_BATCH_MAX = 500


@cache
def _delivery_stream(table: str) -> str:
    return resource_name(catalogue.delivery_for_table(table).env_var)


def firehose() -> FirehoseJson:
    """Firehose as JSON-protocol calls (barometer/aws/json_protocol.py): botocore's serializer walked every
    record of a 500-record PutRecordBatch, ~20 us each, once per event on the hot path."""
    return firehose_json()


def put_lake_records(table: str, records: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
    """PutRecordBatch (JSON lines) to the table's processed delivery stream; failures by position."""
    stream = _delivery_stream(table)
    delivery = firehose()

    def send(pending: list[int]) -> dict[int, str]:
        response = delivery.put_record_batch(
            DeliveryStreamName=stream,
            Records=[{"Data": (json.dumps(records[i], separators=(",", ":")) + "\n").encode()} for i in pending])
        if not response.get("FailedPutCount"):
            return {}
        return rejected_records(pending, response["RequestResponses"])

    failed: dict[int, SinkError] = {}
    for start in range(0, len(records), FIREHOSE_BATCH_MAX):
        try:
            rejected = retry_partial(range(start, min(start + FIREHOSE_BATCH_MAX, len(records))), send)
        except BatchCallError as exc:
            failed.update({i: SinkError(f"PutRecordBatch on {stream} failed: {exc.code}") for i in exc.pending})
            continue
        failed.update({i: SinkError(f"PutRecordBatch on {stream}: record still failing after "
                                    f"{PARTIAL_RETRY.attempts} tries ({reason})") for i, reason in rejected.items()})
    return failed
