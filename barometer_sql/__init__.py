"""SQL over Barometer's lake: DuckDB locally, Athena on AWS, one SQL text per rollup.

No Dagster here: `barometer query` and the Dagster assets both use it.
"""
from barometer_sql.engine import ENGINES, LakeEngine, compute_rollup, open_engine, run_query
from barometer_sql.lake import LakeLocation
from barometer_sql.result import LakeQueryError, QueryResult
from barometer_sql.rollups import ROLLUPS, RollupError, render

__all__ = ["ENGINES", "ROLLUPS", "LakeEngine", "LakeLocation", "LakeQueryError", "QueryResult", "RollupError",
           "compute_rollup", "open_engine", "render", "run_query"]
