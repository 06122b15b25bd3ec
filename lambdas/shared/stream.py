"""Kinesis adapter: put events on the events stream (API and poller share it)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from barometer.aws import BatchCallError, client, resource_name, retry_partial
from barometer.aws.retry import rejected_records
from barometer.catalogue import EVENTS_STREAM

MAX_RECORDS_PER_CALL = 500


class StreamError(RuntimeError):
    """The events stream could not take the records."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    data: bytes
    partition_key: str


def put_records(records: Sequence[StreamRecord], kinesis: Any = None) -> dict[int, str]:
    """Put records, sending throttled ones again. Returns {index: error} of records still not accepted.
    `kinesis`: a client of the caller's own budget (barometer.aws.retry), else the shared one."""
    stream = resource_name(EVENTS_STREAM.env_var)
    kinesis = kinesis or client("kinesis")

    def send(pending: list[int]) -> dict[int, str]:
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": records[i].data, "PartitionKey": records[i].partition_key} for i in pending])
        return rejected_records(pending, response["Records"])

    failed: dict[int, str] = {}
    for start in range(0, len(records), MAX_RECORDS_PER_CALL):
        try:
            failed.update(retry_partial(range(start, min(start + MAX_RECORDS_PER_CALL, len(records))), send))
        except BatchCallError as exc:
            raise StreamError(f"PutRecords on {stream} failed: {exc.code}") from exc.cause
    return failed
