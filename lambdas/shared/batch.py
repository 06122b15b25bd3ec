"""A partial batch processor with a flush step, for stream consumers that write in bulk.

Each record is processed on its own (the record handler returns what should be written), then
`flush` writes the successes together (BatchWriteItem, PutRecordBatch, ...) and returns the
positions of any whose write failed; those join the batch item failures, so Lambda (or the local
runner) retries from the first of them. Writes are idempotent, so the retry is harmless.

Built on Powertools' public extension point (`BasePartialProcessor`, as in its documented custom
partial processor), so `process_partial_response` drives it like Powertools' own `BatchProcessor`,
whose outcome it keeps: `{"batchItemFailures": [{"itemIdentifier": <sequence number>}, ...]}`, and
BatchProcessingError when every record of the batch failed (Lambda then retries the whole batch).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import BasePartialProcessor, EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

# flush(results) -> {position in results: exception} for the writes that failed
Flush = Callable[[Sequence[Any]], dict[int, BaseException]]
StreamRecord = KinesisStreamRecord | DynamoDBRecord

_STREAMS: dict[EventType, tuple[type, Callable[[Any], str]]] = {
    EventType.KinesisDataStreams: (KinesisStreamRecord, lambda record: record.kinesis.sequence_number),
    EventType.DynamoDBStreams: (DynamoDBRecord, lambda record: record.dynamodb.sequence_number),
}


class BufferedBatchProcessor(BasePartialProcessor):
    def __init__(self, event_type: EventType, flush: Flush):
        if event_type not in _STREAMS:
            raise ValueError(f"a buffered batch processor reads Kinesis or DynamoDB streams, not {event_type.value}")
        super().__init__()
        self.event_type = event_type  # process_partial_response reads it to find the event's records
        self._record_type, self._sequence_number = _STREAMS[event_type]
        self._flush = flush
        self._unwritten: list[tuple[StreamRecord, Any]] = []
        self.batch_response: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}

    def response(self) -> dict[str, list[dict[str, str]]]:
        return self.batch_response

    def _prepare(self) -> None:
        self.success_messages.clear()
        self.fail_messages.clear()
        self.exceptions.clear()
        self._unwritten = []
        self.batch_response = {"batchItemFailures": []}

    def _process_record(self, record: dict) -> tuple:
        data = self._record_type(record)  # a lazy view of the dict: it cannot fail
        try:
            result = self.handler(data)
        except Exception:  # noqa: BLE001  (a failing record is reported, as Powertools' processors do)
            return self.failure_handler(data, sys.exc_info())
        return self.success_handler(data, result)

    async def _async_process_record(self, record: dict) -> tuple:
        raise NotImplementedError("BufferedBatchProcessor is synchronous; use process_partial_response")

    def success_handler(self, record: StreamRecord, result: Any) -> tuple:
        # A record succeeds only once its result is written: the flush decides (see _clean).
        self._unwritten.append((record, result))
        return "success", result, record

    def _clean(self) -> None:
        unwritten, self._unwritten = self._unwritten, []
        if len(unwritten) + len(self.fail_messages) < len(self.records):
            return  # processing was interrupted: its exception fails the invocation, nothing is written
        failed = self._flush([result for _, result in unwritten]) if unwritten else {}
        unknown = set(failed) - set(range(len(unwritten)))
        if unknown:
            raise ValueError(f"flush reported positions it was not given: {sorted(unknown)}")
        for position, (record, _) in enumerate(unwritten):
            exc = failed.get(position)
            if exc is None:
                self.success_messages.append(record)
            else:
                self.failure_handler(record, (type(exc), exc, exc.__traceback__))
        if not self.fail_messages:
            return
        if len(self.fail_messages) == len(self.records):
            raise BatchProcessingError(
                msg=f"All records failed processing. {len(self.exceptions)} individual errors logged separately below.",
                child_exceptions=self.exceptions,
            )
        self.batch_response = {"batchItemFailures": [{"itemIdentifier": self._sequence_number(record)}
                                                     for record in self.fail_messages]}
