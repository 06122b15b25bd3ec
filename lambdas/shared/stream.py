"""Kinesis adapter: put events on the events stream (API and poller share it)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

from botocore.exceptions import ClientError

from barometer.catalogue import EVENTS_STREAM
from barometer.aws import client, resource_name

MAX_RECORDS_PER_CALL = 500


class StreamError(RuntimeError):
    """The events stream could not take the records."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    data: bytes
    partition_key: str


def put_records(records: Sequence[StreamRecord], attempts: int = 4) -> dict[int, str]:
    """Put records; retries throttled ones. Returns {index: error} of records still not accepted."""
    stream = resource_name(EVENTS_STREAM.env_var)
    kinesis = client("kinesis")
    failed: dict[int, str] = {}
    for start in range(0, len(records), MAX_RECORDS_PER_CALL):
        pending = list(range(start, min(start + MAX_RECORDS_PER_CALL, len(records))))
        for attempt in range(attempts):
            try:
                response = kinesis.put_records(
                    StreamName=stream,
                    Records=[{"Data": records[i].data, "PartitionKey": records[i].partition_key} for i in pending],
                )
            except ClientError as exc:
                raise StreamError(f"PutRecords on {stream} failed: {exc.response['Error'].get('Code')}") from exc
            retry = []
            for index, result in zip(pending, response["Records"]):
                if "ErrorCode" in result:
                    retry.append(index)
                    failed[index] = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}".strip(": ")
                else:
                    failed.pop(index, None)
            pending = retry
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
    return failed
