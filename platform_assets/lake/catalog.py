"""Glue catalog registration (the "Glue crawl"): tables and partitions named directly, which works
the same on AWS and in the emulator (a crawler never finishes in the emulator)."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from barometer.lake import PARTITION_COLUMN

_PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


class CatalogError(RuntimeError):
    """The Glue catalog refused a registration."""


def _exists_ok(call, *args, **kwargs) -> bool:
    """True when created, False when it was already there."""
    try:
        call(*args, **kwargs)
        return True
    except ClientError as exc:
        if exc.response["Error"].get("Code") == "AlreadyExistsException":
            return False
        raise CatalogError(f"Glue: {exc}") from None


def ensure_table(glue: Any, database: str, table: str, columns: tuple[tuple[str, str], ...], location: str) -> bool:
    _exists_ok(glue.create_database, DatabaseInput={"Name": database})
    return _exists_ok(glue.create_table, DatabaseName=database, TableInput={
        "Name": table, "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string"}],
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns], "Location": location,
                              **_PARQUET},
    })


def register_partition(glue: Any, database: str, table: str, dt: str, location: str) -> bool:
    """Adds partition dt (its S3 folder); True when it was new."""
    return _exists_ok(glue.create_partition, DatabaseName=database, TableName=table, PartitionInput={
        "Values": [dt], "StorageDescriptor": {"Location": location, **_PARQUET},
    })

