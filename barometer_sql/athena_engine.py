"""SQL over the lake on AWS: Athena through awswrangler, reading the Glue catalog's tables.

The rollup SQL is the same text DuckDB runs locally; it deduplicates by id itself, so it needs no
view on the Athena side. Ad hoc queries see the Glue tables as they are (compaction removes copies).
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any, Self

import pyarrow as pa

from barometer.catalogue import GLUE_DATABASE
from barometer_sql.lake import LakeLocation
from barometer_sql.result import LakeQueryError, QueryResult
from barometer_sql.rollups import render, rollup_spec
from barometer_sql.schemas import arrow_schema, conform


def _python(value: Any) -> Any:
    """pandas' missing values (NaN, NaT, NA) as None; numpy scalars and Timestamps as Python's."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except ImportError:  # pragma: no cover - awswrangler brings pandas
        pass
    return value.item() if hasattr(value, "item") else value


class AthenaEngine:
    def __init__(self, location: LakeLocation, *, database: str = GLUE_DATABASE, workgroup: str | None = None,
                 s3_output: str | None = None):
        self.location = location
        self.database = database
        self.workgroup = workgroup
        self.s3_output = s3_output or f"s3://{location.processed_bucket}/athena-results/"
        # The ground floor's session: its region and, for an emulator, its credentials (barometer.aws).
        self.session = location.target.session()

    def _read(self, sql: str):
        import awswrangler as wr
        from botocore.exceptions import BotoCoreError, ClientError

        if self.location.s3_endpoint:  # an emulator: awswrangler takes endpoints from its global config
            wr.config.s3_endpoint_url = self.location.s3_endpoint
            wr.config.athena_endpoint_url = self.location.s3_endpoint
            wr.config.glue_endpoint_url = self.location.s3_endpoint
        try:
            return wr.athena.read_sql_query(
                sql, database=self.database, ctas_approach=False, unload_approach=False,
                workgroup=self.workgroup, s3_output=self.s3_output, boto3_session=self.session,
            )
        except (wr.exceptions.QueryFailed, wr.exceptions.QueryCancelled) as exc:
            raise LakeQueryError(f"Athena: {exc}") from None
        except wr.exceptions.NoFilesFound as exc:  # the emulator's Athena never writes its result file
            raise LakeQueryError(f"Athena wrote no result file: {exc}") from None
        except (ClientError, BotoCoreError, wr.exceptions.InvalidArgument) as exc:
            raise LakeQueryError(f"Athena: {exc}") from None

    def query(self, sql: str) -> QueryResult:
        frame = self._read(sql)
        rows = tuple(tuple(_python(v) for v in row) for row in frame.itertuples(index=False, name=None))
        return QueryResult(tuple(str(c) for c in frame.columns), rows)

    def rollup(self, name: str, first_day: date | str, last_day: date | str | None = None) -> pa.Table:
        spec = rollup_spec(name)
        schema = arrow_schema(spec.columns)
        frame = self._read(render(name, first_day, last_day))
        if frame.empty:
            return schema.empty_table()
        return conform(pa.Table.from_pandas(frame, preserve_index=False), schema)

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
