"""Writing one partition of a lake table: one Parquet file, replacing whatever was there.

The file has a fixed name, so readers see either the old or the new partition (an S3 PUT replaces
an object atomically), never both; older files of the partition are deleted after the write.
"""
from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from barometer.lake import PARTITION_COLUMN
from barometer_sql.lake import LakeLocation
from barometer_sql.result import LakeQueryError

PARTITION_FILE = "part-00000.parquet"


def _delete(location: LakeLocation, paths: list[str]) -> None:
    """Deletes `bucket/key` paths with S3's own API: pyarrow's delete_file leaves a directory marker
    object (`dt=.../`) behind, which other readers would see as an empty file."""
    if not paths:
        return
    s3 = location.s3_client()
    prefix = f"{location.processed_bucket}/"
    keys = [path[len(prefix):] for path in paths if path.startswith(prefix)]
    for i in range(0, len(keys), 1000):
        response = s3.delete_objects(Bucket=location.processed_bucket,
                                     Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
        if response.get("Errors"):
            raise OSError(f"could not delete {response['Errors'][0]}")


def partition_dir(location: LakeLocation, zone_prefix: str, table: str, dt: str) -> str:
    return f"{location.table_prefix(table, zone_prefix)}{PARTITION_COLUMN}={dt}"


def replace_partition(location: LakeLocation, zone_prefix: str, table: str, dt: str, rows: pa.Table, *,
                      fs: pafs.S3FileSystem | None = None, obsolete: Collection[str] | None = None) -> str:
    """Write `rows` (without the partition column) as the partition's file; returns its s3 URI.

    Then deletes `obsolete` (paths the rows were read from), or, when None, every other file of the
    partition. Compaction passes what it read, so a file that arrived meanwhile is kept.
    """
    fs = fs or location.filesystem()
    directory = partition_dir(location, zone_prefix, table, dt)
    target = f"{directory}/{PARTITION_FILE}"
    if PARTITION_COLUMN in rows.column_names:
        rows = rows.drop_columns([PARTITION_COLUMN])
    try:
        pq.write_table(rows, target, filesystem=fs, compression="snappy")
        if obsolete is None:
            existing = fs.get_file_info(pafs.FileSelector(directory, recursive=True, allow_not_found=True))
            obsolete = [info.path for info in existing if info.type == pafs.FileType.File]
        _delete(location, [path for path in obsolete if path != target])
    except OSError as exc:
        raise LakeQueryError(f"cannot write s3://{target}: {exc}") from None
    return f"s3://{target}"
