"""The API's rollups computed live over the emulator's lake with DuckDB (a `RollupSource`).

On AWS the API reads the extracts Dagster writes; locally a user expects a rollup to include the
events just sent, without running Dagster, so the local runtime computes it on each request.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from barometer_sql import LakeQueryError
from barometer_sql.engine import compute_rollup
from lambdas.api.http import HttpError

# One rollup computed at a time per process: each reads the lake from the emulator and runs DuckDB on two
# threads, so concurrent ones would take the CPU and the emulator from the events being posted meanwhile
# (the API serves requests concurrently; a POST must not wait behind rollup reads). Others queue here.
_COMPUTING = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class DuckDBRollups:
    s3_endpoint: str
    processed_bucket: str

    def rows(self, name: str, first: date, last: date) -> list[dict[str, Any]]:
        try:
            with _COMPUTING:
                return compute_rollup(name, first, last, s3_endpoint=self.s3_endpoint, engine="duckdb",
                                      processed_bucket=self.processed_bucket).to_pylist()
        except LakeQueryError as exc:
            raise HttpError(503, f"the lake could not be queried: {exc}") from exc
