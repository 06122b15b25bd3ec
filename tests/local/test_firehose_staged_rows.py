"""The local processed delivery's reading of staged JSON lines (barometer_local/firehose.py staged_rows):
pyarrow's JSON reader gives the tables the row-by-row reading gives, and what it cannot read is read row by row."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from barometer.lake import LAKE_SCHEMAS, LAKE_TABLES, PARTITION_COLUMN
from barometer_local.firehose import _arrow_schema, _rows_one_by_one, staged_rows

TIMESTAMPS = ["2026-11-30T23:59:59.999999Z", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00.5Z", "2026-11-30T10:00:00.000001Z"]


def staged(table: str, count: int) -> list[bytes]:
    """JSON lines as the handlers stage them (barometer.core.records): every column, some null, two days."""
    lines = []
    for n in range(count):
        row = {}
        for name, kind in LAKE_SCHEMAS[table]:
            if n % 5 == 4 and name not in ("ts", "event_id", "alert_id"):
                row[name] = None
            elif kind == "timestamp":
                row[name] = TIMESTAMPS[n % len(TIMESTAMPS)]
            elif kind == "double":
                row[name] = n if n % 2 else n + 0.25  # JSON integers in double columns too
            elif kind == "bigint":
                row[name] = n * 1000
            else:
                row[name] = f"{name}-{n}"
        row[PARTITION_COLUMN] = row["ts"][:10]
        row["unexpected"] = "a field the schema does not have"
        lines.append(json.dumps(row, separators=(",", ":")) + "\n")
    return ["".join(lines[:3]).encode(), "".join(lines[3:]).encode()]  # two staged objects


def expected(bodies: list[bytes], table: str) -> dict[str, pa.Table]:
    return {dt: pa.Table.from_pylist(rows, schema=_arrow_schema(table))
            for dt, rows in _rows_one_by_one(bodies, table).items()}


@pytest.mark.parametrize("table", LAKE_TABLES)
def test_staged_lines_read_by_pyarrow_are_the_row_by_row_tables(table):
    # Given a table's staged objects over two days
    bodies = staged(table, 11)
    # When they are read
    got = staged_rows(bodies, table)
    # Then each day's table is the row-by-row reading's: same schema, rows, order and values
    want = expected(bodies, table)
    assert list(got) == list(want) == ["2026-11-30", "2026-12-01"]
    for dt in want:
        assert got[dt].schema == want[dt].schema
        assert got[dt].to_pylist() == want[dt].to_pylist()


def test_a_timestamp_with_an_offset_is_read_as_the_same_instant_in_utc():
    bodies = staged("quotes", 2)
    row = json.loads(bodies[0].splitlines()[0])
    row["ts"] = "2026-12-01T01:30:00.25+02:00"
    bodies.append(json.dumps(row).encode())
    got = staged_rows(bodies, "quotes")
    assert got == expected(bodies, "quotes")
    assert str(got[row[PARTITION_COLUMN]].column("ts")[-1]) == "2026-11-30 23:30:00.250000+00:00"


def test_a_row_without_its_partition_fails_the_delivery_as_before():
    bodies = staged("weather", 2)
    row = json.loads(bodies[0].splitlines()[0])
    del row[PARTITION_COLUMN]
    with pytest.raises(KeyError, match=PARTITION_COLUMN):
        staged_rows([*bodies, json.dumps(row).encode()], "weather")


def test_blank_lines_and_objects_without_a_final_newline_are_read():
    bodies = [b.rstrip(b"\n") + b"\n\n" for b in staged("alerts", 6)]
    bodies[-1] = bodies[-1].rstrip(b"\n")
    assert staged_rows(bodies, "alerts") == expected(bodies, "alerts")
    assert sum(t.num_rows for t in staged_rows(bodies, "alerts").values()) == 6
