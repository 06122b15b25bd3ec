"""Firehose delivery, done locally: the emulator's Firehose cannot read Kinesis or write Parquet.

- RawDelivery reads the events stream (as a Kinesis-sourced delivery stream does) and writes gzip
  JSON lines, every record exactly as received, to raw/dt=YYYY-MM-DD/ (dt = arrival date, UTC).
- ProcessedDelivery takes the JSON that the handlers' PutRecordBatch calls left in the staging
  prefix (the emulator's Firehose does write S3) and writes Parquet partitioned by table and dt,
  as Firehose's record format conversion and dynamic partitioning do on AWS.

Object names are derived from their first record (raw) or first staging object (processed): after
a crash, the same group is written again under the same name, so nothing is doubled or lost.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import time
from datetime import UTC, datetime
from typing import Any

from barometer import catalogue as r
from barometer.core.timeutil import parse_rfc3339
from barometer.lake import LAKE_SCHEMAS, LAKE_TABLES, PARTITION_COLUMN, PROCESSED_PREFIX, RAW_PREFIX
from barometer_local.checkpoints import CheckpointStore
from barometer_local.provision import STAGING_PREFIX
from barometer_local.sources import KinesisShardReader


class RawDelivery:
    def __init__(self, reader: KinesisShardReader, s3, bucket: str, checkpoints: CheckpointStore, key: str,
                 flush_seconds: float):
        self.reader, self.s3, self.bucket = reader, s3, bucket
        self.checkpoints, self.checkpoint_key = checkpoints, key
        self.flush_seconds = flush_seconds
        self.buffer: list[dict[str, Any]] = []
        self.buffer_bytes = 0
        self.first_buffered_at = 0.0
        self.next_read_at = 0.0
        self.delivered = 0

    def step(self, force: bool = False) -> int:
        records = []
        if time.monotonic() >= self.next_read_at:
            records = self.reader.read(5000)
            if not records:
                self.next_read_at = time.monotonic() + 0.25
        if records:
            if not self.buffer:
                self.first_buffered_at = time.monotonic()
            self.buffer.extend(records)
            self.buffer_bytes += sum(len(x["kinesis"]["data"]) for x in records)
        due = self.buffer and (force or self.buffer_bytes >= 4_000_000
                               or time.monotonic() - self.first_buffered_at >= self.flush_seconds)
        if due:
            return self.flush()
        return 0

    def flush(self) -> int:
        first = self.buffer[0]["kinesis"]
        arrival = datetime.fromtimestamp(first["approximateArrivalTimestamp"], UTC)
        lines = []
        for record in self.buffer:
            data = base64.b64decode(record["kinesis"]["data"])
            lines.append(data if data.endswith(b"\n") else data + b"\n")
        body = gzip.compress(b"".join(lines), compresslevel=6)
        key = (f"{RAW_PREFIX}dt={arrival:%Y-%m-%d}/{r.RAW_DELIVERY.local_name}-{self.reader.shard_id}-"
               f"{arrival:%Y-%m-%d-%H-%M-%S}-{first['sequenceNumber']}.gz")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentEncoding="gzip",
                           ContentType="application/x-ndjson")
        count = len(self.buffer)
        self.checkpoints.set(self.checkpoint_key, self.buffer[-1]["kinesis"]["sequenceNumber"])
        self.delivered += count
        self.buffer, self.buffer_bytes = [], 0
        return count


def _arrow_schema(table: str):
    import pyarrow as pa

    types = {"string": pa.string(), "double": pa.float64(), "bigint": pa.int64(),
             "timestamp": pa.timestamp("us", tz="UTC")}
    return pa.schema([(name, types[kind]) for name, kind in LAKE_SCHEMAS[table]])


def _convert(row: dict[str, Any], table: str) -> dict[str, Any]:
    out = {}
    for name, kind in LAKE_SCHEMAS[table]:
        value = row.get(name)
        if value is not None and kind == "timestamp":
            value = parse_rfc3339(value)
        elif value is not None and kind == "double":
            value = float(value)
        out[name] = value
    return out


def warm_parquet_writer() -> None:
    """Pay the Parquet writer's imports now: pyarrow loads pandas on a table's first build, ~1.5 s of one
    core, and the first delivery came a second after the first events, on the loop that also feeds the
    shards (docs/benchmarks.md). Runs on a thread of its own at the runner's start; a delivery that comes
    sooner waits on the import lock, as it would have imported anyway."""
    import pyarrow as pa
    import pyarrow.json  # staged_rows reads with it: imported here too, off the delivery loop
    import pyarrow.parquet as pq

    table = LAKE_TABLES[0]
    pq.write_table(pa.Table.from_pylist([], schema=_arrow_schema(table)), io.BytesIO(), compression="snappy")


class ProcessedDelivery:
    def __init__(self, s3, bucket: str, flush_seconds: float, max_objects: int = 500):
        self.s3, self.bucket = s3, bucket
        self.flush_seconds, self.max_objects = flush_seconds, max_objects
        self.last_run = 0.0
        self.delivered = 0

    def step(self, force: bool = False) -> int:
        if not force and time.monotonic() - self.last_run < self.flush_seconds:
            return 0
        self.last_run = time.monotonic()
        total = 0
        for table in LAKE_TABLES:
            total += self._deliver_table(table)
        self.delivered += total
        return total

    def _staged(self, table: str) -> list[str]:
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{STAGING_PREFIX}{table}/"):
            keys.extend(o["Key"] for o in page.get("Contents", []))
            if len(keys) >= self.max_objects:
                break
        return sorted(keys)[: self.max_objects]

    def _deliver_table(self, table: str) -> int:
        import pyarrow.parquet as pq

        keys = self._staged(table)
        if not keys:
            return 0
        bodies = [self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() for key in keys]
        by_dt = staged_rows(bodies, table)
        name = hashlib.blake2b(keys[0].encode(), digest_size=8).hexdigest()
        for dt, rows in by_dt.items():
            sink = io.BytesIO()
            pq.write_table(rows, sink, compression="snappy")
            self.s3.put_object(Bucket=self.bucket, Key=f"{PROCESSED_PREFIX}{table}/{PARTITION_COLUMN}={dt}/part-{name}.parquet",
                               Body=sink.getvalue())
        for start in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                               "Quiet": True})
        return sum(rows.num_rows for rows in by_dt.values())


def staged_rows(bodies: list[bytes], table: str) -> dict[str, Any]:
    """The staged JSON lines as one Arrow table per `dt`, in the order they were staged.

    pyarrow's JSON reader parses them in C++ (the handlers write every timestamp as RFC 3339 UTC with a
    Z, which it reads); row by row in Python this was a tenth of the runner's CPU (docs/benchmarks.md,
    "Session 7"). Lines it refuses, or rows without a `dt`, are read row by row as before, which reads every
    RFC 3339 form (or fails the delivery, as it always did, leaving the staged objects for the next one)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    schema = _arrow_schema(table)
    options = pj.ParseOptions(explicit_schema=schema.append(pa.field(PARTITION_COLUMN, pa.string())),
                              unexpected_field_behavior="ignore")
    try:
        read = pj.read_json(io.BytesIO(b"\n".join(bodies)), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        read = None
    if read is None or read[PARTITION_COLUMN].null_count:
        return {dt: pa.Table.from_pylist(rows, schema=schema) for dt, rows in _rows_one_by_one(bodies, table).items()}
    dts = read[PARTITION_COLUMN]
    return {dt: read.filter(pc.equal(dts, dt)).drop_columns([PARTITION_COLUMN]) for dt in dts.unique().to_pylist()}


def _rows_one_by_one(bodies: list[bytes], table: str) -> dict[str, list[dict[str, Any]]]:
    by_dt: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        for line in body.splitlines():
            if line.strip():
                row = json.loads(line)
                by_dt.setdefault(row[PARTITION_COLUMN], []).append(_convert(row, table))
    return by_dt
