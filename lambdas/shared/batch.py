"""Powertools' BatchProcessor with a flush step, for stream consumers that write in bulk.

Each record is processed on its own (`process_record` returns what should be written), then
`flush` writes the successes together (BatchWriteItem, PutRecordBatch, ...) and returns the
positions of any whose write failed; those join the batch item failures, so Lambda (or the local
runner) retries from the first of them. Writes are idempotent, so the retry is harmless.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

# flush(results) -> {position in results: exception} for the writes that failed
Flush = Callable[[Sequence[Any]], dict[int, BaseException]]


class BufferedBatchProcessor(BatchProcessor):
    def __init__(self, event_type: EventType, flush: Flush, **kwargs: Any):
        super().__init__(event_type, **kwargs)
        self._flush = flush

    def process(self) -> list[tuple]:
        entries = super().process()
        succeeded = [i for i, entry in enumerate(entries) if entry[0] == "success"]
        if not succeeded:
            return entries
        failures = self._flush([entries[i][1] for i in succeeded])
        for position, exc in failures.items():
            index = succeeded[position]
            record = entries[index][2]
            self.success_messages.remove(record)
            data = self._to_batch_type(record=record, event_type=self.event_type, model=self.model)
            self.failure_handler(data, (type(exc), exc, exc.__traceback__ or sys.exc_info()[2]))
            entries[index] = ("fail", f"{type(exc).__name__}:{exc}", record)
        return entries
