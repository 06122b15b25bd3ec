"""`barometer import` against a running local platform (issue 13): CSV, JSON Lines and Parquet files with
good and bad rows; exact counts, the rejects file, exit codes, and a second import that doubles nothing."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from barometer_local.cli import main
from barometer_local.client import ApiClient

# Fixed minutes three days back: in the past whenever the test runs, within no window of today's events.
BASE = (datetime.now(UTC) - timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)


def ts(minute: int) -> str:
    return (BASE + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def api(platform):
    return ApiClient(platform.api_url, platform.token())


def stored(api: ApiClient, kind: str, key: str) -> list[dict]:
    """Every MetricsTable event of the key, through the API (one item per event)."""
    events, token = [], None
    while True:
        status, body = api.get(f"/v1/series/{kind}/{key}", limit=5000, next=token)
        if status == 404:
            return []
        assert status == 200, body
        events += body["events"]
        token = body["next"]
        if not token:
            return events


def processed_through(api: ApiClient, kind: str, key: str, sentinel_ts: str, extra: dict) -> None:
    """Post one later event of the key and wait for it: everything the key had before is processed (one
    key stays on one shard, in order)."""
    field = "symbol" if kind == "quote" else "city"
    status, body = api.post_events([{"kind": kind, field: key, "ts": sentinel_ts, **extra}])
    assert status == 200 and body["accepted"] == 1, body
    api.wait_for(lambda: any(e["ts"] == sentinel_ts for e in stored(api, kind, key)), timeout_s=90,
                 what=f"the sentinel of {kind} {key}")


def rejects(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_csv_good_rows_are_stored_bad_ones_reported_with_lines_and_a_second_import_doubles_nothing(
        platform, api, tmp_path, capsys):
    # given a CSV of quotes without a kind column: 40 good rows and 3 bad ones
    lines = ["symbol,price,volume,ts"]
    for i in range(40):
        lines.append(f"IMPCSV,{100 + i / 10},{10 * i},{ts(i)}")
    lines.insert(6, f"IMPCSV,abc,1,{ts(100)}")          # line 7: not a number
    lines.insert(11, f"IMPCSV,5,1,{ts(101)[:-1]}")       # line 12: a time without a zone
    lines.append(f"IMPCSV,-3,1,{ts(102)}")               # line 44: a negative price
    source = tmp_path / "quotes.csv"
    source.write_text("\n".join(lines) + "\n")

    # when it is imported with --kind quote
    code = main(["import", str(source), "--kind", "quote", "--batch", "16"])

    # then 40 are accepted, 3 refused with their lines and reasons, and the exit code says so
    out = capsys.readouterr().out
    assert code == 1
    assert f"{source}: 43 rows, 40 accepted, 3 refused" in out
    refused = rejects(tmp_path / "quotes.csv.rejects.jsonl")
    assert [(r["line"], r["errors"][0]["field"]) for r in refused] == [(7, "price"), (12, "ts"), (44, "price")]
    assert refused[0]["reason"] == "price: must be a number (got 'abc')"
    assert refused[0]["input"]["price"] == "abc"
    assert "line 7: price: must be a number (got 'abc')" in out
    processed_through(api, "quote", "IMPCSV", ts(200), {"price": 1.0})
    first = stored(api, "quote", "IMPCSV")
    assert len(first) == 41  # the 40 rows and the sentinel
    assert [e["fields"]["price"] for e in first[:3]] == [100.0, 100.1, 100.2]

    # when the same file is imported again
    assert main(["import", str(source), "--kind", "quote"]) == 1
    assert "43 rows, 40 accepted, 3 refused" in capsys.readouterr().out
    processed_through(api, "quote", "IMPCSV", ts(201), {"price": 1.0})

    # then nothing is doubled: the same events (same ids), plus the second sentinel
    second = stored(api, "quote", "IMPCSV")
    assert len(second) == 42
    assert {e["event_id"] for e in first} <= {e["event_id"] for e in second}


def test_jsonl_with_a_kind_column_takes_weather_and_quotes_and_refuses_bad_lines(platform, api, tmp_path, capsys):
    # given JSON Lines: weather and quotes, a line that is not JSON, an unknown field, an unknown city
    rows = [json.dumps({"kind": "weather", "city": "London", "temp_c": 5.0 + i, "ts": ts(i)}) for i in range(5)]
    rows += [json.dumps({"symbol": "IMPJSON", "price": 10.5, "ts": ts(0)}),   # no kind: --kind quote fills it
             "{not json",
             json.dumps({"kind": "quote", "symbol": "IMPJSON", "price": 11, "ts": ts(1), "colour": "red"}),
             "",
             json.dumps({"kind": "weather", "city": "Atlantis", "temp_c": 20, "ts": ts(2)}),
             json.dumps({"kind": "quote", "symbol": "IMPJSON", "price": 12, "ts": ts(3), "event_id": "given-1"})]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(rows) + "\n")

    # when it is imported
    code = main(["import", str(source), "--kind", "quote"])

    # then 7 are accepted and the 3 bad lines are refused by line number (the blank line is skipped)
    out = capsys.readouterr().out
    assert code == 1
    assert f"{source}: 10 rows, 7 accepted, 3 refused" in out
    refused = rejects(tmp_path / "mixed.jsonl.rejects.jsonl")
    assert [r["line"] for r in refused] == [7, 8, 10]
    assert refused[0]["reason"].startswith("not valid JSON")
    assert refused[1]["errors"] == [{"field": "colour", "message": "is not a field of this kind of event"}]
    assert refused[2]["errors"][0]["field"] == "city"
    processed_through(api, "quote", "IMPJSON", ts(50), {"price": 1.0})
    quotes = stored(api, "quote", "IMPJSON")
    assert [e["fields"]["price"] for e in quotes] == [10.5, 12.0, 1.0]
    assert quotes[1]["event_id"] == "given-1"


def test_parquet_rows_with_zoned_timestamps_are_imported_and_bad_rows_named_by_row(platform, api, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # given a Parquet file: 30 quotes with a timestamp column in UTC, two of them out of range
    prices = [50.0 + i for i in range(30)]
    prices[4], prices[20] = 2e9, None
    table = pa.table({"kind": ["quote"] * 30, "symbol": ["IMPPQ"] * 30, "price": prices,
                      "volume": pa.array(list(range(30)), pa.int64()),
                      "ts": pa.array([BASE + timedelta(minutes=i) for i in range(30)], pa.timestamp("us", tz="UTC"))})
    source = tmp_path / "quotes.parquet"
    pq.write_table(table, source)

    # when it is imported
    code = main(["import", str(source)])

    # then 28 are accepted and rows 5 and 21 refused
    out = capsys.readouterr().out
    assert code == 1
    assert f"{source}: 30 rows, 28 accepted, 2 refused" in out
    refused = rejects(tmp_path / "quotes.parquet.rejects.jsonl")
    assert [(r["row"], r["reason"]) for r in refused] == [
        (5, "price: must be between 1e-130 and 1e+09 (got 2e+09)"), (21, "price: is required")]
    processed_through(api, "quote", "IMPPQ", ts(300), {"price": 1.0})
    events = stored(api, "quote", "IMPPQ")
    assert len(events) == 29
    assert events[0]["ts"] == ts(0) and events[0]["fields"]["volume"] == 0


def test_a_clean_file_exits_0_and_leaves_no_rejects_file(platform, api, tmp_path, capsys):
    # given a clean CSV and a rejects file left by an earlier run
    source = tmp_path / "clean.csv"
    source.write_text("kind,city,temp_c,humidity_pct,ts\n" +
                      "".join(f"weather,Seattle,{8 + i},{60 + i},{ts(i)}\n" for i in range(12)))
    stale = tmp_path / "clean.csv.rejects.jsonl"
    stale.write_text('{"line": 3}\n')

    # when it is imported
    code = main(["import", str(source)])

    # then every row is accepted, exit 0, and no rejects file describes an earlier run
    assert code == 0
    assert "12 rows, 12 accepted, 0 refused" in capsys.readouterr().out
    assert not stale.exists()


def test_a_column_that_is_no_event_field_refuses_the_file_before_anything_is_sent(platform, api, tmp_path, capsys):
    # given a CSV with a misspelt column
    source = tmp_path / "typo.csv"
    source.write_text(f"kind,symbol,prize,ts\nquote,IMPTYPO,1.5,{ts(0)}\n")

    # when it is imported
    code = main(["import", str(source)])

    # then exit 2 naming the column, and nothing of the key exists
    assert code == 2
    assert "'prize' are not event fields" in capsys.readouterr().err
    assert stored(api, "quote", "IMPTYPO") == []


def test_a_parquet_timestamp_without_a_zone_is_refused_as_a_whole(platform, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "naive.parquet"
    pq.write_table(pa.table({"kind": ["quote"], "symbol": ["IMPNAIVE"], "price": [1.0],
                             "ts": pa.array([BASE.replace(tzinfo=None)], pa.timestamp("us"))}), source)
    assert main(["import", str(source)]) == 2
    assert "timestamp without a time zone" in capsys.readouterr().err
