"""The rows of an import file (CSV, JSON Lines, Parquet) as event objects, each with where it came from.

A reader yields `Row`s: the object to validate (the contract's field names and JSON types), or the reason
the row could not even be read (a CSV row with the wrong number of cells, a line that is not JSON). Problems
with the whole file (unreadable, an unknown column, a timestamp column without a zone) raise
`ImportFileError` before any row is sent. Empty cells and nulls mean "field absent".
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from barometer.core.events import QUOTE_FIELDS, WEATHER_FIELDS, NonFinite, decode_json
from barometer.core.vocabulary import KINDS

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
             ".pq": "parquet"}
EVENT_FIELDS = frozenset(QUOTE_FIELDS | WEATHER_FIELDS)
# Every field whose contract type is a number (the rest are strings): CSV cells are converted to these.
NUMERIC_FIELDS = frozenset(EVENT_FIELDS - {"kind", "symbol", "city", "ts", "source", "event_id", "currency"})
_INTEGER = re.compile(r"^[+-]?\d+$")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, wrong format, a column that is no event field)."""


@dataclass(slots=True)
class Row:
    where: int                     # line of the file (CSV, JSON Lines) or row number (Parquet), from 1
    obj: Any = None                # the event object to validate
    problem: str | None = None     # why the row could not be read (then obj is None)
    field_problems: dict[str, str] | None = None  # cells that are not what their field needs (CSV)
    original: Any = None           # what the rejects file shows: the cells, the line or the row


@dataclass(slots=True)
class Source:
    path: Path
    format: str
    unit: str                      # "line" or "row": how `where` is named in messages
    rows: Iterator[Row]
    total_rows: int | None         # known up front (Parquet), else None
    total_bytes: int | None
    bytes_read: Callable[[], int]  # progress through the file when the row count is not known


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ImportFileError(f"{path}: cannot tell the format from the name; pass --format "
                              f"({'|'.join(FORMATS)})")
    return fmt


def open_source(path: Path, fmt: str | None, kind: str | None) -> Source:
    """The rows of one file; `kind` fills rows that name none."""
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if fmt == "parquet":
        return _parquet(path, kind)
    counter = _ByteCounter(path)
    rows = _csv_rows(counter, path, kind) if fmt == "csv" else _jsonl_rows(counter, kind)
    return Source(path, fmt, "line", rows, None, path.stat().st_size, lambda: counter.count)


class _ByteCounter:
    """The file's lines as text, counting the bytes handed out (progress for files of unknown row count)."""

    def __init__(self, path: Path):
        self.path, self.count = path, 0

    def lines(self) -> Iterator[str]:
        try:
            with self.path.open("rb") as handle:
                first = True
                for raw in handle:
                    self.count += len(raw)
                    if first and raw.startswith(b"\xef\xbb\xbf"):  # a BOM, as spreadsheets write
                        raw = raw[3:]
                    first = False
                    yield raw.decode("utf-8", "replace")
        except OSError as exc:
            raise ImportFileError(f"{self.path}: cannot read it ({exc.strerror})") from None


def _with_kind(obj: dict[str, Any], kind: str | None) -> dict[str, Any]:
    if kind is not None and obj.get("kind") in (None, ""):
        obj["kind"] = kind
    return obj


# -- CSV ------------------------------------------------------------------------------------------
def check_columns(path: Path, columns: list[str], kind: str | None) -> None:
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise ImportFileError(f"{path}: column(s) given twice: {', '.join(twice)}")
    unknown = [c for c in columns if c not in EVENT_FIELDS]
    if unknown:
        raise ImportFileError(f"{path}: column(s) {', '.join(map(repr, unknown))} are not event fields "
                              f"(fields: {', '.join(sorted(EVENT_FIELDS))})")
    if "kind" not in columns and kind is None:
        raise ImportFileError(f"{path}: no 'kind' column: pass --kind ({'|'.join(KINDS)})")


def _cell(name: str, text: str, problems: dict[str, str]) -> Any:
    if name not in NUMERIC_FIELDS:
        return text
    try:
        return int(text) if _INTEGER.match(text) else float(text)
    except ValueError:
        problems[name] = f"must be a number (got {text[:40]!r})"
        return text


def _csv_rows(counter: _ByteCounter, path: Path, kind: str | None) -> Iterator[Row]:
    """Reads and checks the header now (a bad header raises before any row is sent), the rows lazily."""
    reader = csv.reader(counter.lines())
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1: not a CSV header ({exc})") from None
    if header is None:
        return iter(())
    columns = [name.strip() for name in header]
    check_columns(path, columns, kind)
    return _csv_body(reader, columns, kind)


def _csv_body(reader, columns: list[str], kind: str | None) -> Iterator[Row]:
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(start, problem=f"not a CSV row ({exc})")
            start = reader.line_num + 1
            continue
        where, start = start, reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue  # a blank line
        if len(cells) != len(columns):
            yield Row(where, problem=f"has {len(cells)} cells, the header names {len(columns)}", original=cells)
            continue
        problems: dict[str, str] = {}
        obj = {name: _cell(name, text.strip(), problems)
               for name, text in zip(columns, cells) if text.strip()}
        yield Row(where, _with_kind(obj, kind), field_problems=problems or None,
                  original=dict(zip(columns, cells)))


# -- JSON Lines -----------------------------------------------------------------------------------
def _jsonl_rows(counter: _ByteCounter, kind: str | None) -> Iterator[Row]:
    for number, line in enumerate(counter.lines(), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = decode_json(text)
        except ValueError as exc:
            yield Row(number, problem=f"not valid JSON ({exc})", original=text[:1000])
            continue
        if isinstance(obj, dict):
            _with_kind(obj, kind)
        yield Row(number, obj, original=obj)  # made JSON-safe only if refused (rejects_original)


def _jsonable(obj: Any) -> Any:
    """The object for the rejects file (NaN/Infinity literals as their text)."""
    if isinstance(obj, NonFinite):
        return obj.literal
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    return obj


# -- Parquet --------------------------------------------------------------------------------------
def _parquet(path: Path, kind: str | None) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ImportFileError(f"{path}: not a readable Parquet file ({exc})") from None
    schema = parquet.schema_arrow
    check_columns(path, list(schema.names), kind)
    if "ts" in schema.names:
        ts_type = schema.field("ts").type
        if pa.types.is_timestamp(ts_type) and ts_type.tz is None:
            raise ImportFileError(f"{path}: column 'ts' is a timestamp without a time zone; write it as a "
                                  "timestamp with time zone (UTC) or as RFC 3339 text")
        if pa.types.is_date(ts_type):
            raise ImportFileError(f"{path}: column 'ts' holds dates; events need a time with a zone")
    done = [0]

    def rows() -> Iterator[Row]:
        number = 0
        for batch in parquet.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                number += 1
                obj = {k: _parquet_value(v) for k, v in record.items() if v is not None}
                yield Row(number, _with_kind(obj, kind), original=obj)
            done[0] = number

    return Source(path, "parquet", "row", rows(), parquet.metadata.num_rows, None, lambda: done[0])


def _parquet_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return float(value)
    return value


def rejects_original(row: Row) -> Any:
    """What a rejects record shows of the row (JSON-safe)."""
    original = _jsonable(row.original)
    try:
        json.dumps(original)
    except (TypeError, ValueError):
        return repr(original)[:1000]
    return original
