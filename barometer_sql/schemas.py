"""Arrow schemas of the lake tables and the rollups, and the casts that make any file fit them.

The lake is written by more than one writer (Firehose's record conversion on AWS, the local
runtime's writer, compaction): timestamps may arrive with or without a zone, in ms or us, or as
RFC 3339 strings, and older files may lack a newer column. Readers cast every file to the declared
schema so that one query sees one type per column.
"""
from __future__ import annotations

import pyarrow as pa

from barometer.lake import LAKE_SCHEMAS, PARTITION_COLUMN

# Timestamps are UTC without a zone, as Glue/Athena `timestamp` columns are.
_HIVE_TO_ARROW = {
    "string": pa.string(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}


class SchemaError(ValueError):
    """A file's column cannot be read as the declared type; the message names the column."""


def arrow_type(hive_type: str) -> pa.DataType:
    try:
        return _HIVE_TO_ARROW[hive_type]
    except KeyError:
        raise SchemaError(f"unsupported column type {hive_type!r}") from None


def arrow_schema(columns: tuple[tuple[str, str], ...], with_partition: bool = False) -> pa.Schema:
    fields = [pa.field(name, arrow_type(hive)) for name, hive in columns]
    if with_partition:
        fields.append(pa.field(PARTITION_COLUMN, pa.string()))
    return pa.schema(fields)


def lake_schema(table: str, with_partition: bool = False) -> pa.Schema:
    return arrow_schema(LAKE_SCHEMAS[table], with_partition)


def _cast_column(column: pa.ChunkedArray, target: pa.DataType, name: str) -> pa.ChunkedArray:
    if column.type == target:
        return column
    try:
        if pa.types.is_timestamp(target) and (pa.types.is_string(column.type)
                                              or pa.types.is_large_string(column.type)):
            # RFC 3339 with a zone: parse as UTC-aware, then drop the zone.
            return column.cast(pa.timestamp("us", "UTC")).cast(target)
        if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type) and column.type.tz:
            return column.cast(pa.timestamp(column.type.unit)).cast(target)
        if pa.types.is_dictionary(column.type):
            return column.cast(column.type.value_type).cast(target)
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(f"column {name}: cannot read {column.type} as {target}: {exc}") from None


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table with exactly the schema's columns, in order: cast, and null where absent."""
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(_cast_column(table.column(field.name), field.type, field.name))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
