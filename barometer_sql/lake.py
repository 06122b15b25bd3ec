"""Where the lake is, and reading its Parquet tables through pyarrow's S3 filesystem.

DuckDB has no offline httpfs here (docs/traps.md), so Parquet is read by pyarrow (which honours an
emulator endpoint) and handed to DuckDB as Arrow tables.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from barometer.aws import AwsTarget
from barometer.aws.retry import MAX_ATTEMPTS
from barometer.lake import PARTITION_COLUMN, PROCESSED_PREFIX
from barometer_sql.result import LakeQueryError
from barometer_sql.schemas import SchemaError, conform

_PARTITION_DIR = re.compile(rf"/{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})/")


@dataclass(frozen=True)
class LakeLocation:
    """The processed bucket, and the emulator's endpoint when local (None on AWS)."""

    processed_bucket: str
    s3_endpoint: str | None = None
    region: str = "us-east-1"

    @property
    def target(self) -> AwsTarget:
        """Endpoint, region, and credentials for an emulator when the shell has none (barometer.aws)."""
        return AwsTarget.at(self.s3_endpoint, self.region)

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(**self.target.s3_filesystem_options(),
                                 retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS))

    def s3_client(self):
        return self.target.client("s3")

    def table_prefix(self, table: str, zone_prefix: str = PROCESSED_PREFIX) -> str:
        return f"{self.processed_bucket}/{zone_prefix}{table}/"


def check_bucket(fs: pafs.S3FileSystem, location: LakeLocation) -> None:
    try:
        info = fs.get_file_info(location.processed_bucket)
    except OSError as exc:
        raise LakeQueryError(f"cannot reach the lake bucket {location.processed_bucket!r}: {exc}") from None
    if info.type == pafs.FileType.NotFound:
        where = f" at {location.s3_endpoint}" if location.s3_endpoint else ""
        raise LakeQueryError(f"the processed bucket {location.processed_bucket!r} does not exist{where}")


def partition_files(fs: pafs.S3FileSystem, prefix: str, first_dt: str | None = None,
                    last_dt: str | None = None) -> list[tuple[str, str]]:
    """(path, dt) of every Parquet file under `prefix` whose dt partition lies in the range."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise LakeQueryError(f"cannot list s3://{prefix}: {exc}") from None
    files = []
    for info in infos:
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        match = _PARTITION_DIR.search("/" + info.path[len(prefix):])
        if not match:
            continue  # not in a dt= partition: not part of the table
        dt = match.group(1)
        if (first_dt and dt < first_dt) or (last_dt and dt > last_dt):
            continue
        files.append((info.path, dt))
    return sorted(files)


def _read_file(fs: pafs.S3FileSystem, path: str, dt: str, schema: pa.Schema) -> pa.Table:
    try:
        table = pq.read_table(path, filesystem=fs)
    except (OSError, pa.ArrowInvalid) as exc:
        raise LakeQueryError(f"cannot read s3://{path}: {exc}") from None
    table = table.drop_columns([PARTITION_COLUMN]) if PARTITION_COLUMN in table.column_names else table
    table = table.append_column(PARTITION_COLUMN, pa.array([dt] * table.num_rows, pa.string()))
    try:
        return conform(table, schema)
    except SchemaError as exc:
        raise LakeQueryError(f"s3://{path}: {exc}") from None


def read_table(location: LakeLocation, table: str, schema: pa.Schema, *, zone_prefix: str = PROCESSED_PREFIX,
               first_dt: str | None = None, last_dt: str | None = None,
               fs: pafs.S3FileSystem | None = None) -> pa.Table:
    """Every row of a lake table (all copies, with `dt`), cast to `schema`; empty when nothing is there.

    `schema` must end with the `dt` partition column.
    """
    fs = fs or location.filesystem()
    files = partition_files(fs, location.table_prefix(table, zone_prefix), first_dt, last_dt)
    if not files:
        return schema.empty_table()
    with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
        parts = list(pool.map(lambda f: _read_file(fs, f[0], f[1], schema), files))
    return pa.concat_tables(parts)
