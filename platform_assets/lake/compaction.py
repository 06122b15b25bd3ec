"""Compaction of one processed-zone partition: all its files become one, with one row per id.

No Dagster here. The files that were read are deleted after the compacted file is written, so a
file Firehose delivers meanwhile is kept (and compacted next time); readers never lose a row.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from barometer.lake import LAKE_ID_COLUMN, PARTITION_COLUMN, PROCESSED_PREFIX
from barometer_sql.duckdb_engine import dedup_sql
from barometer_sql.lake import LakeLocation, partition_files, read_table
from barometer_sql.schemas import lake_schema
from barometer_sql.store import PARTITION_FILE, replace_partition


@dataclass(frozen=True)
class Compaction:
    table: str
    dt: str
    files_read: int
    rows_read: int
    rows: int
    uri: str | None  # None when the partition holds nothing

    @property
    def copies_removed(self) -> int:
        return self.rows_read - self.rows


def deduplicate(table: str, rows: pa.Table) -> pa.Table:
    """One row per id (the first delivered copy), ordered by time."""
    connection = duckdb.connect(":memory:", config={"threads": 2})
    try:
        connection.register("copies", rows)
        return connection.sql(dedup_sql(table).format(source="copies") + f" ORDER BY ts, {LAKE_ID_COLUMN[table]}"
                              ).to_arrow_table().select(rows.column_names)
    finally:
        connection.close()


def compact_partition(location: LakeLocation, table: str, dt: str) -> Compaction:
    fs = location.filesystem()
    files = partition_files(fs, location.table_prefix(table), dt, dt)
    if not files:
        return Compaction(table, dt, 0, 0, 0, None)
    schema = lake_schema(table, with_partition=True)
    rows_read = read_table(location, table, schema, first_dt=dt, last_dt=dt, fs=fs)
    compacted = deduplicate(table, rows_read)
    already_compact = len(files) == 1 and files[0][0].endswith("/" + PARTITION_FILE) \
        and compacted.num_rows == rows_read.num_rows
    if already_compact:
        uri = f"s3://{files[0][0]}"
    else:
        uri = replace_partition(location, PROCESSED_PREFIX, table, dt, compacted.drop_columns([PARTITION_COLUMN]),
                                fs=fs, obsolete=[path for path, _ in files])
    return Compaction(table, dt, len(files), rows_read.num_rows, compacted.num_rows, uri)
