"""An event source mapping for one shard, with the semantics the CDK app declares for AWS.

- batches of up to `batch_size` records, only those matching the filter (`event_names`);
- partial batch responses: records before the first reported failure are done, the rest retried;
- a function error with `bisect_on_error` halves the batch before the next try;
- after `max_retries` failed tries, or when records are older than `max_record_age_s`, the batch's
  description goes to the on-failure SQS destination (as Lambda sends it: no record bodies) and the
  shard moves on;
- the position is checkpointed only after the records up to it are done.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from barometer.catalogue import MappingSpec
from barometer_local.checkpoints import CheckpointStore
from barometer_local.invoker import Invoker
from barometer_local.sources import ShardReader

RETRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 4.0)
# An idle shard is read again this much later: what an event posted to an idle platform may wait before its
# batch starts (AWS polls a shard about once a second; the local target is p99 <= 1 s from POST to LatestTable).
IDLE_POLL_S = 0.1


class ShardMapping:
    def __init__(self, spec: MappingSpec, invoker: Invoker, reader: ShardReader, checkpoints: CheckpointStore,
                 checkpoint_key: str, sqs, on_failure_url: str, metrics=None):
        self.spec, self.invoker, self.reader = spec, invoker, reader
        self.checkpoints, self.checkpoint_key = checkpoints, checkpoint_key
        self.sqs, self.on_failure_url, self.metrics = sqs, on_failure_url, metrics
        self.buffer: list[dict[str, Any]] = []
        self.limit = spec.batch_size
        self.attempts = 0
        self.retry_at = 0.0
        self.next_read_at = 0.0
        self.processed = 0
        self.discarded = 0
        self.last_arrival = 0.0

    # -- reading -------------------------------------------------------------------------------
    def _wanted(self, record: dict[str, Any]) -> bool:
        return not self.spec.event_names or record.get("eventName") in self.spec.event_names

    def _fill(self) -> None:
        # Lambda polls a shard a few times a second; an idle shard is not read again sooner.
        if len(self.buffer) < self.spec.batch_size and time.monotonic() >= self.next_read_at:
            records = self.reader.read(max(self.spec.batch_size * 2, 100))
            self.buffer.extend(records)
            if not records:
                self.next_read_at = time.monotonic() + IDLE_POLL_S

    def oldest_arrival(self) -> float | None:
        """When the oldest record not yet done arrived (None when there is none). Safe from another thread
        than the one stepping this mapping: the buffer may empty between the check and the read."""
        try:
            return self.reader.arrival_of(self.buffer[0]) or None
        except IndexError:
            return None

    def _seq(self, record: dict[str, Any]) -> str:
        return self.reader.sequence_of(record)

    def _commit_through(self, index: int) -> None:
        """Records buffer[:index + 1] are done."""
        self.checkpoints.set(self.checkpoint_key, self._seq(self.buffer[index]))
        del self.buffer[:index + 1]

    # -- one step ------------------------------------------------------------------------------
    def step(self) -> int:
        """Process at most one batch; returns how many records it took care of."""
        if time.monotonic() < self.retry_at:
            return 0
        self._fill()
        if not self.buffer:
            return 0
        # A run of filtered-out records at the head is done without an invocation.
        head = 0
        while head < len(self.buffer) and not self._wanted(self.buffer[head]):
            head += 1
        if head:
            self._commit_through(head - 1)
            return head
        batch_positions = []
        for i, record in enumerate(self.buffer):
            if self._wanted(record):
                batch_positions.append(i)
                if len(batch_positions) == self.limit:
                    break
        batch = [self.buffer[i] for i in batch_positions]
        oldest_age = time.time() - self.reader.arrival_of(batch[0])
        if self.spec.max_record_age_s and self.reader.arrival_of(batch[0]) and oldest_age > self.spec.max_record_age_s:
            return self._discard(batch_positions, "RecordAgeExceeded", f"oldest record is {oldest_age:.0f}s old")
        try:
            response = self.invoker.invoke({"Records": batch})
        except Exception as exc:  # noqa: BLE001 - any invoke failure is a failed try, as Lambda retries it
            return self._failed_try(batch_positions, error=f"{type(exc).__name__}: {exc}", function_error=True)
        failures = ((response or {}).get("batchItemFailures") or []) if self.spec.report_batch_item_failures else []
        failed_seqs = {f.get("itemIdentifier") for f in failures}
        if not failed_seqs:
            self.last_arrival = self.reader.arrival_of(batch[-1])
            self._record_success(len(batch))
            self._commit_through(batch_positions[-1])
            return len(batch)
        first_failed = next((n for n, r in enumerate(batch) if self._seq(r) in failed_seqs), None)
        if first_failed is None:  # identifiers that match nothing: Lambda treats the whole batch as failed
            first_failed = 0
        if first_failed > 0:  # progress: the records before the first failure are done
            self._record_success(first_failed)
            self._commit_through(batch_positions[first_failed - 1])
            self.attempts = 0
            return first_failed
        return self._failed_try(batch_positions, error=f"{len(failed_seqs)} batch item failure(s)", function_error=False)

    def _record_success(self, count: int) -> None:
        self.processed += count
        self.attempts = 0
        self.limit = self.spec.batch_size
        if self.metrics and self.last_arrival:
            age_ms = max(0.0, (time.time() - self.last_arrival) * 1000)
            self.metrics.lambda_metric(self.invoker.spec.local_name, "IteratorAge", age_ms, "Milliseconds")

    def _failed_try(self, batch_positions: list[int], error: str, function_error: bool) -> int:
        self.attempts += 1
        if self.attempts > self.spec.max_retries:
            return self._discard(batch_positions, "RetryAttemptsExhausted", error)
        if function_error and self.spec.bisect_on_error and len(batch_positions) > 1:
            self.limit = max(1, len(batch_positions) // 2)
        self.retry_at = time.monotonic() + RETRY_BACKOFF_S[min(self.attempts - 1, len(RETRY_BACKOFF_S) - 1)]
        return 0

    def _discard(self, batch_positions: list[int], condition: str, error: str) -> int:
        """Send the batch's description to the on-failure destination and move past it."""
        first, last = self.buffer[batch_positions[0]], self.buffer[batch_positions[-1]]
        info_key = "KinesisBatchInfo" if "kinesis" in first else "DDBStreamBatchInfo"
        message = {
            "requestContext": {"requestId": "local", "functionArn": self.invoker.spec.local_name,
                               "condition": condition, "approximateInvokeCount": self.attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": error},
            "version": "1.0", "timestamp": datetime.now(UTC).isoformat(),
            info_key: {
                "shardId": self.reader.shard_id, "startSequenceNumber": self._seq(first),
                "endSequenceNumber": self._seq(last), "batchSize": len(batch_positions),
                "approximateArrivalOfFirstRecord": self.reader.arrival_of(first),
                "approximateArrivalOfLastRecord": self.reader.arrival_of(last),
                "streamArn": first.get("eventSourceARN"),
            },
        }
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(message))
        print(f"[{self.invoker.spec.local_name}] gave up on {len(batch_positions)} record(s) of "
              f"{self.reader.shard_id} ({condition}: {error})", file=sys.stderr, flush=True)
        self.discarded += len(batch_positions)
        self.attempts = 0
        self.limit = self.spec.batch_size
        self._commit_through(batch_positions[-1])
        return len(batch_positions)
