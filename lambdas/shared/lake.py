"""The processed lake's delivery streams (Firehose): one per lake table."""
from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any, Sequence

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import client, resource_name
from lambdas.shared.errors import SinkError

FIREHOSE_BATCH_MAX = 500


@lru_cache(maxsize=None)
def _delivery_stream(table: str) -> str:
    return resource_name(catalogue.delivery_for_table(table).env_var)


def put_lake_records(table: str, records: Sequence[dict[str, Any]], attempts: int = 5) -> dict[int, SinkError]:
    """PutRecordBatch (JSON lines) to the table's processed delivery stream; failures by position."""
    stream = _delivery_stream(table)
    firehose = client("firehose")
    failed: dict[int, SinkError] = {}
    for start in range(0, len(records), FIREHOSE_BATCH_MAX):
        pending = list(range(start, min(start + FIREHOSE_BATCH_MAX, len(records))))
        for attempt in range(attempts):
            try:
                response = firehose.put_record_batch(
                    DeliveryStreamName=stream,
                    Records=[{"Data": (json.dumps(records[i], separators=(",", ":")) + "\n").encode()} for i in pending],
                )
            except ClientError as exc:
                for i in pending:
                    failed[i] = SinkError(f"PutRecordBatch on {stream} failed: {exc.response['Error'].get('Code')}")
                pending = []
                break
            if not response.get("FailedPutCount"):
                pending = []
                break
            pending = [i for i, r in zip(pending, response["RequestResponses"]) if "ErrorCode" in r]
            time.sleep(min(0.05 * 2**attempt, 2.0))
        for i in pending:
            failed[i] = SinkError(f"PutRecordBatch on {stream}: record still failing after {attempts} tries")
    return failed
