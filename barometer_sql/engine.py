"""Choosing an engine, and the one call `barometer query` makes."""
from __future__ import annotations

from datetime import date
from typing import Protocol

import pyarrow as pa

from barometer_sql.lake import LakeLocation
from barometer_sql.result import LakeQueryError, QueryResult

ENGINES = ("duckdb", "athena")


class LakeEngine(Protocol):
    def query(self, sql: str) -> QueryResult: ...

    def rollup(self, name: str, first_day: date | str, last_day: date | str | None = None) -> pa.Table: ...

    def close(self) -> None: ...


def open_engine(kind: str, location: LakeLocation, **options) -> LakeEngine:
    """`duckdb` (the lake read into memory; local default) or `athena` (AWS; options: workgroup, s3_output)."""
    if kind == "duckdb":
        from barometer_sql.duckdb_engine import DuckDBEngine

        return DuckDBEngine(location, **options)
    if kind == "athena":
        from barometer_sql.athena_engine import AthenaEngine

        return AthenaEngine(location, **options)
    raise LakeQueryError(f"unknown SQL engine {kind!r}; expected one of {', '.join(ENGINES)}")


def compute_rollup(name: str, first_day: date | str, last_day: date | str | None = None, *,
                   s3_endpoint: str | None, processed_bucket: str, region: str = "us-east-1",
                   engine: str = "duckdb") -> pa.Table:
    """A rollup's rows for local days first_day..last_day, computed now from the lake (DuckDB loads only
    the source table's UTC days that the local days overlap)."""
    from barometer_sql.rollups import rollup_spec, utc_partitions

    spec = rollup_spec(name)
    location = LakeLocation(processed_bucket=processed_bucket, s3_endpoint=s3_endpoint, region=region)
    options = {}
    if engine == "duckdb":
        first_dt, last_dt = utc_partitions(first_day, last_day if last_day is not None else first_day)
        options = {"tables": (spec.source_table,), "first_dt": first_dt, "last_dt": last_dt,
                   "include_rollups": False}
    lake = open_engine(engine, location, **options)
    try:
        return lake.rollup(name, first_day, last_day)
    finally:
        lake.close()


def run_query(sql: str, *, s3_endpoint: str | None, processed_bucket: str, region: str = "us-east-1",
              engine: str = "duckdb") -> QueryResult:
    """Run one SQL statement over the lake. Raises LakeQueryError for bad SQL or an unreachable lake."""
    if not isinstance(sql, str) or not sql.strip():
        raise LakeQueryError("the SQL text is empty")
    location = LakeLocation(processed_bucket=processed_bucket, s3_endpoint=s3_endpoint, region=region)
    lake = open_engine(engine, location)
    try:
        return lake.query(sql)
    finally:
        lake.close()
