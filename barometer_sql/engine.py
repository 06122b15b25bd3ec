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
