"""SQL over the lake on one machine: DuckDB over the processed zone's Parquet (read by pyarrow).

Tables, each also as `barometer.<name>` (the Glue database's name, so Athena SQL runs unchanged):
- `quotes`, `weather`, `alerts`: one row per `event_id` (`alert_id`), since the lake is written at
  least once; with the `dt` partition column.
- `daily_ohlc`, `daily_weather`, `alert_summary`: the rollups materialized in the lake (empty until
  a rollup has run), with `dt` = the local day of the partition.
A missing table or partition reads as an empty table with the declared columns.
"""
from __future__ import annotations

from datetime import date
from typing import Self

import duckdb
import pyarrow as pa

from barometer.catalogue import GLUE_DATABASE
from barometer.lake import LAKE_ID_COLUMN, LAKE_SCHEMAS, ROLLUP_PREFIX
from barometer_sql.lake import LakeLocation, check_bucket, read_table
from barometer_sql.result import LakeQueryError, QueryResult
from barometer_sql.rollups import ROLLUPS, render, rollup_spec
from barometer_sql.schemas import arrow_schema, conform, lake_schema

# Of several copies of a row keep the first delivered (copies are identical but for ingested_at).
_COPY_ORDER = {"quotes": "ingested_at NULLS LAST, dt", "weather": "ingested_at NULLS LAST, dt", "alerts": "ts, dt"}


def dedup_sql(table: str) -> str:
    """DuckDB SQL keeping one row per id of a lake table read from `{source}`."""
    return (f"SELECT * EXCLUDE (copy_rank) FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {LAKE_ID_COLUMN[table]} ORDER BY {_COPY_ORDER[table]}) AS copy_rank "
            f"FROM {{source}}) WHERE copy_rank = 1")


class DuckDBEngine:
    """An in-memory DuckDB database holding the lake tables (loaded once, at construction)."""

    def __init__(self, location: LakeLocation, *, tables: tuple[str, ...] | None = None,
                 first_dt: str | None = None, last_dt: str | None = None, include_rollups: bool = True):
        self.location = location
        self._connection = duckdb.connect(":memory:", config={"threads": 2})
        fs = location.filesystem()
        check_bucket(fs, location)
        self._connection.execute(f'CREATE SCHEMA "{GLUE_DATABASE}"')
        for table in tuple(LAKE_SCHEMAS) if tables is None else tables:
            rows = read_table(location, table, lake_schema(table, with_partition=True),
                              first_dt=first_dt, last_dt=last_dt, fs=fs)
            self._install(table, rows, dedup_sql(table))
        if include_rollups:
            for spec in ROLLUPS.values():
                rows = read_table(location, spec.name, arrow_schema(spec.columns, with_partition=True),
                                  zone_prefix=ROLLUP_PREFIX, fs=fs)
                self._install(spec.name, rows, None)
        # The lake is loaded: nothing a query says may read or write local files from here on.
        self._connection.execute("SET enable_external_access = false")
        self._connection.execute("SET lock_configuration = true")

    def _install(self, name: str, rows: pa.Table, dedup: str | None) -> None:
        source = f"_arrow_{name}"
        self._connection.register(source, rows)
        select = dedup.format(source=source) if dedup else f"SELECT * FROM {source}"
        # A table, not a view: deduplicated once, then every query reads it.
        self._connection.execute(f'CREATE TABLE "{GLUE_DATABASE}".{name} AS {select}')
        self._connection.unregister(source)
        self._connection.execute(f'CREATE VIEW main.{name} AS SELECT * FROM "{GLUE_DATABASE}".{name}')

    def query(self, sql: str) -> QueryResult:
        try:
            cursor = self._connection.execute(sql)
            columns = tuple(d[0] for d in cursor.description or ())
            rows = tuple(tuple(row) for row in cursor.fetchall()) if columns else ()
        except duckdb.Error as exc:
            raise LakeQueryError(str(exc).strip()) from None
        return QueryResult(columns, rows)

    def query_arrow(self, sql: str) -> pa.Table:
        try:
            relation = self._connection.sql(sql)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            raise LakeQueryError(str(exc).strip()) from None

    def rollup(self, name: str, first_day: date | str, last_day: date | str | None = None) -> pa.Table:
        """The rollup's rows for the local days, typed as declared."""
        spec = rollup_spec(name)
        table = self.query_arrow(render(name, first_day, last_day))
        return conform(table, arrow_schema(spec.columns))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
