"""The lake layout: zones and prefixes, table schemas, and the key encodings of the tables' items.

One declaration for Firehose's Glue tables (CDK), the local Parquet writer, the Glue catalog
registration, the SQL over the lake, the handlers and Dagster. Types are Glue/Hive type names. Every
table is partitioned by `dt` (UTC date: of arrival in the raw zone, of the event in the processed one).
"""
from __future__ import annotations

from datetime import datetime

from barometer.core.timeutil import format_fixed
from barometer.core.vocabulary import KEY_FIELD, KIND_FIELDS, QUOTE, WEATHER

PARTITION_COLUMN = "dt"

# -- zones (S3 key prefixes) ---------------------------------------------------------------------
RAW_PREFIX = "raw/"  # raw bucket: every record exactly as received, by arrival day
QUARANTINE_PREFIX = "quarantine/"  # raw bucket: records that failed validation, one object each
PROCESSED_PREFIX = "processed/"  # processed bucket: the lake tables, Parquet, by event day
ERRORS_PREFIX = "errors/"  # Firehose's records it could not deliver, per delivery stream
ROLLUP_PREFIX = "rollups/"  # processed bucket: the rollups Dagster materializes, by local day
EXTRACTS_PREFIX = "extracts/"  # processed bucket: each rollup's recent rows as JSON for the read API
INCIDENTS_PREFIX = "incidents/"  # processed bucket: each local day's alerts as incidents, JSON


def extract_key(rollup: str) -> str:
    return f"{EXTRACTS_PREFIX}{rollup}.json"


def quarantine_key(arrival_day: str, shard_id: str, sequence_number: str) -> str:
    """One object per quarantined record, named by where it was on the stream (a retry rewrites it)."""
    return f"{QUARANTINE_PREFIX}{PARTITION_COLUMN}={arrival_day}/{shard_id}-{sequence_number}.json"


# -- tables ----------------------------------------------------------------------------------------
def _event_table(kind: str, fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return (("event_id", "string"), (KEY_FIELD[kind], "string"), ("ts", "timestamp"), *fields,
            ("source", "string"), ("local_day", "string"), ("ingested_at", "timestamp"))


LAKE_SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "quotes": _event_table(QUOTE, (("price", "double"), ("volume", "bigint"), ("currency", "string"))),
    "weather": _event_table(WEATHER, tuple((name, "double") for name in KIND_FIELDS[WEATHER])),
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
LAKE_TABLES = tuple(LAKE_SCHEMAS)

# The column that identifies a row; the lake is written at least once, readers keep one row per id.
LAKE_ID_COLUMN = {"quotes": "event_id", "weather": "event_id", "alerts": "alert_id"}

KIND_TO_TABLE = {QUOTE: "quotes", WEATHER: "weather"}


def columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in LAKE_SCHEMAS[table])


# -- DynamoDB key encodings -----------------------------------------------------------------------
# MetricsTable sorts a key's events by sk = "<fixed-width UTC ts>#<event id>" (string order is time
# order). '$' sorts right after '#', so "<ts>$" is above every sk of that instant and below the next
# instant's; "0" is below and "~" above every sk (and every alert ts_key, encoded the same way).
SK_FIRST = "0"
SK_LAST = "~"


def item_pk(kind: str, key: str) -> str:
    """The partition key of a symbol's or city's items: MetricsTable and LatestTable by event kind,
    AlertsTable by alert kind."""
    return f"{kind}#{key}"


def metrics_sk(ts: datetime, event_id: str) -> str:
    return f"{format_fixed(ts)}#{event_id}"


def sk_after_instant(ts: datetime) -> str:
    """Above every MetricsTable sk (and AlertsTable ts_key) at instant `ts`, below those after it."""
    return format_fixed(ts) + "$"


def sk_day_bounds(day: str) -> tuple[str, str]:
    """(lower, upper) around every MetricsTable sk (and AlertsTable ts_key) of UTC day `day` (YYYY-MM-DD)."""
    return f"{day}T", f"{day}T{SK_LAST}"


def alert_sk(local_day: str, rule: str) -> str:
    """AlertsTable's sort key: one alert per key, rule and local day."""
    return f"{local_day}#{rule}"


def alert_ts_key(ts: datetime, key: str, rule: str) -> str:
    """AlertsTable's by-time index key (sorts as MetricsTable's sk does)."""
    return f"{format_fixed(ts)}#{key}#{rule}"
