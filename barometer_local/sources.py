"""Shard readers that hand out records in the exact shapes Lambda delivers to a function."""
from __future__ import annotations

import base64
import threading
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from barometer_local.emulator import ACCOUNT, REGION
from barometer_local.json_calls import JsonCalls


class ShardReader:
    """Reads one shard from just after a sequence number (or from the start)."""

    def __init__(self, shard_id: str, after: str | None):
        self.shard_id = shard_id
        self.after = after
        self._iterator: str | None = None

    def read(self, limit: int) -> list[dict[str, Any]]:
        if self._iterator is None:
            self._iterator = self._new_iterator()
        try:
            response = self._get_records(self._iterator, limit)
        except ClientError as exc:
            if exc.response["Error"].get("Code") in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                self._iterator = None
                return []
            raise
        self._iterator = response.get("NextShardIterator")
        records = [self._shape(r) for r in response.get("Records", [])]
        if records:
            self.after = self.sequence_of(records[-1])
        return records

    def _new_iterator(self) -> str:
        raise NotImplementedError

    def _get_records(self, iterator: str, limit: int) -> dict[str, Any]:
        raise NotImplementedError

    def _shape(self, record: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def sequence_of(record: dict[str, Any]) -> str:
        raise NotImplementedError

    @staticmethod
    def arrival_of(record: dict[str, Any]) -> float:
        raise NotImplementedError


class KinesisShardReader(ShardReader):
    """Reads with GetRecords as JSON (barometer_local/json_calls.py): each record's base64 data and epoch arrival
    go into the Lambda event as the emulator sent them, with no decoding and encoding again in between."""

    def __init__(self, kinesis, stream_name: str, stream_arn: str, shard_id: str, after: str | None,
                 calls: JsonCalls):
        super().__init__(shard_id, after)
        self.kinesis, self.stream_name, self.stream_arn, self.calls = kinesis, stream_name, stream_arn, calls

    def _new_iterator(self) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": self.shard_id}
        if self.after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=self.after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return self.kinesis.get_shard_iterator(**kwargs)["ShardIterator"]

    def _get_records(self, iterator: str, limit: int) -> dict[str, Any]:
        return self.calls.call("GetRecords", {"ShardIterator": iterator, "Limit": min(limit, 10000)})

    def _shape(self, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                        "sequenceNumber": r["SequenceNumber"], "data": r["Data"],
                        "approximateArrivalTimestamp": float(r["ApproximateArrivalTimestamp"])},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"{self.shard_id}:{r['SequenceNumber']}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/barometer-local", "awsRegion": REGION,
            "eventSourceARN": self.stream_arn,
        }

    @staticmethod
    def sequence_of(record: dict[str, Any]) -> str:
        return record["kinesis"]["sequenceNumber"]

    @staticmethod
    def arrival_of(record: dict[str, Any]) -> float:
        return record["kinesis"]["approximateArrivalTimestamp"]


class DynamoShardReader(ShardReader):
    def __init__(self, streams, stream_arn: str, shard_id: str, after: str | None):
        super().__init__(shard_id, after)
        self.streams, self.stream_arn = streams, stream_arn

    def _new_iterator(self) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self.shard_id}
        if self.after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return self.streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _get_records(self, iterator: str, limit: int) -> dict[str, Any]:
        return self.streams.get_records(ShardIterator=iterator, Limit=min(limit, 1000))

    def _shape(self, r: dict[str, Any]) -> dict[str, Any]:
        dynamodb = _base64_binaries(dict(r["dynamodb"]))
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        return {"eventID": r.get("eventID"), "eventName": r["eventName"], "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": REGION, "dynamodb": dynamodb,
                "eventSourceARN": self.stream_arn}

    @staticmethod
    def sequence_of(record: dict[str, Any]) -> str:
        return record["dynamodb"]["SequenceNumber"]

    @staticmethod
    def arrival_of(record: dict[str, Any]) -> float:
        return float(record["dynamodb"].get("ApproximateCreationDateTime") or 0)


def _base64_binaries(value: Any) -> Any:
    """Binary attributes as Lambda delivers them in stream events: base64 text (boto3 gives bytes)."""
    if isinstance(value, dict):
        return {k: (base64.b64encode(v).decode() if k == "B" and isinstance(v, (bytes, bytearray))
                    else _base64_binaries(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(v) for v in value]
    return value


class ShardFeed:
    """One Kinesis shard read once for every local consumer of it (the processor's mapping, Firehose's raw
    delivery): on AWS each reads the shard itself, here every GetRecords costs the one emulator process, and
    reading each record twice cost it ~7% of its CPU under load.

    Each consumer has its own position (its checkpoint) and gets every record after it, in order, once. The
    feed reads from the smaller position, keeps what the slowest consumer has not passed yet, and reads no
    further while that is `window` records: a consumer that far ahead waits for the other (Firehose's raw
    delivery behind a processor that retries a batch for long), instead of the feed growing without bound.
    """

    def __init__(self, reader: KinesisShardReader, window: int = 20_000):
        self.reader, self.window = reader, window
        self._records: list[dict[str, Any]] = []  # read and not yet passed by every consumer
        self._base = 0  # index in the shard (since the feed started) of _records[0]
        self._cursors: dict[int, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def start_after(positions: list[str | None]) -> str | None:
        """Where the shared reader starts: after the smallest position (None, the start, if any is None)."""
        return None if any(p is None for p in positions) else min(positions, key=int)

    def consumer(self, after: str | None) -> FeedReader:
        with self._lock:
            number = len(self._cursors)
            self._cursors[number] = self._base
        return FeedReader(self, number, after)

    def read(self, number: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._cursors[number]
            if cursor == self._base + len(self._records) and len(self._records) < self.window:
                self._records.extend(self.reader.read(max(limit, 500)))
            start = cursor - self._base
            taken = self._records[start:start + limit]
            self._cursors[number] = cursor + len(taken)
            passed = min(self._cursors.values()) - self._base
            if passed:
                del self._records[:passed]
                self._base += passed
            return taken


class FeedReader(KinesisShardReader):
    """A consumer's reader over a ShardFeed: reads like a KinesisShardReader of its own."""

    def __init__(self, feed: ShardFeed, number: int, after: str | None):  # the feed's reader does the reading
        self.feed, self.number = feed, number
        self.shard_id, self.after = feed.reader.shard_id, after
        self.stream_name, self.stream_arn = feed.reader.stream_name, feed.reader.stream_arn
        self._skip_through = int(after) if after else None  # the feed may start before this consumer's position

    def read(self, limit: int) -> list[dict[str, Any]]:
        while True:
            records = self.feed.read(self.number, limit)
            if self._skip_through is None or not records:
                break
            records = [r for r in records if int(self.sequence_of(r)) > self._skip_through]
            if records:  # past this consumer's own position from here on
                self._skip_through = None
                break
        if records:
            self.after = self.sequence_of(records[-1])
        return records
