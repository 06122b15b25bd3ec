"""The lake's table schemas: one declaration for Firehose's Glue tables (CDK), the local Parquet
writer, the Glue catalog registration and the SQL over the lake.

Types are Glue/Hive type names. Every table is partitioned by `dt` (UTC date of the event, yyyy-MM-dd).
"""
from __future__ import annotations

PARTITION_COLUMN = "dt"

LAKE_SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "quotes": (
        ("event_id", "string"),
        ("symbol", "string"),
        ("ts", "timestamp"),
        ("price", "double"),
        ("volume", "bigint"),
        ("currency", "string"),
        ("source", "string"),
        ("local_day", "string"),
        ("ingested_at", "timestamp"),
    ),
    "weather": (
        ("event_id", "string"),
        ("city", "string"),
        ("ts", "timestamp"),
        ("temp_c", "double"),
        ("humidity_pct", "double"),
        ("wind_mps", "double"),
        ("precip_mm", "double"),
        ("pressure_hpa", "double"),
        ("source", "string"),
        ("local_day", "string"),
        ("ingested_at", "timestamp"),
    ),
    "alerts": (
        ("alert_id", "string"),
        ("kind", "string"),
        ("key", "string"),
        ("rule", "string"),
        ("ts", "timestamp"),
        ("value", "double"),
        ("reference_price", "double"),
        ("change_pct", "double"),
        ("metric", "string"),
        ("op", "string"),
        ("threshold", "double"),
        ("local_day", "string"),
        ("event_id", "string"),
    ),
}

# The column that identifies a row; the lake is written at least once, readers keep one row per id.
LAKE_ID_COLUMN = {"quotes": "event_id", "weather": "event_id", "alerts": "alert_id"}

KIND_TO_TABLE = {"quote": "quotes", "weather": "weather"}


def columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in LAKE_SCHEMAS[table])
