"""DuckDB over the processed zone in the emulator: deduplicated tables, rollups, missing data, errors."""
from __future__ import annotations

import json

import pytest
from sample_lake import expected_alert_summary, expected_daily_ohlc, expected_daily_weather, local_days

from barometer.lake import ROLLUP_PREFIX
from barometer_sql import LakeLocation, LakeQueryError, compute_rollup, open_engine, run_query
from barometer_sql.duckdb_engine import DuckDBEngine
from barometer_sql.rollups import ROLLUPS
from barometer_sql.store import replace_partition

pytestmark = pytest.mark.emulator


def query(location: LakeLocation, sql: str):
    return run_query(sql, s3_endpoint=location.s3_endpoint, processed_bucket=location.processed_bucket,
                     region=location.region)


def rollup(location: LakeLocation, name: str, day: str):
    return compute_rollup(name, day, s3_endpoint=location.s3_endpoint, processed_bucket=location.processed_bucket,
                          region=location.region)


def assert_rows_match(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        for column, value in row.items():
            assert actual[key][column] == pytest.approx(value, rel=1e-12), (key, column)


@pytest.fixture(scope="module")
def lake_engine(filled_lake):
    with DuckDBEngine(filled_lake) as engine:
        yield engine


def test_tables_hold_one_row_per_id_although_the_lake_has_copies(filled_lake, sample_lake, lake_engine):
    # Given a lake where every tenth row of each partition was delivered twice (see write_lake)
    # When the tables are queried, by plain name and by the Glue database's name
    result = query(filled_lake, "SELECT (SELECT count(*) FROM quotes), (SELECT count(DISTINCT event_id) FROM "
                                "barometer.quotes), (SELECT count(*) FROM weather), (SELECT count(*) FROM alerts)")
    # Then each event is there once
    assert result.rows == ((len(sample_lake.quotes), len(sample_lake.quotes), len(sample_lake.weather),
                            len(sample_lake.alerts)),)


def test_the_first_delivered_copy_is_kept(sample_lake, lake_engine):
    first = sample_lake.quotes[0]
    result = lake_engine.query(f"SELECT ingested_at, dt FROM quotes WHERE event_id = '{first['event_id']}'")
    assert result.rows == ((first["ingested_at"].replace(tzinfo=None), first["ts"].date().isoformat()),)


def test_daily_ohlc_matches_an_independent_computation(sample_lake, lake_engine):
    days = local_days(sample_lake)
    table = lake_engine.rollup("daily_ohlc", days[0], days[-1])
    assert table.schema.names == [name for name, _ in ROLLUPS["daily_ohlc"].columns]
    actual = {(r["symbol"], r["day"]): r for r in table.to_pylist()}
    assert_rows_match(actual, expected_daily_ohlc(sample_lake))


def test_daily_weather_matches_an_independent_computation(sample_lake, lake_engine):
    days = local_days(sample_lake)
    actual = {(r["city"], r["day"]): r for r in lake_engine.rollup("daily_weather", days[0], days[-1]).to_pylist()}
    assert_rows_match(actual, expected_daily_weather(sample_lake))


def test_alert_summary_matches_an_independent_computation(sample_lake, lake_engine):
    days = local_days(sample_lake)
    table = lake_engine.rollup("alert_summary", days[0], days[-1])
    actual = {(r["day"], r["kind"], r["rule"]): r for r in table.to_pylist()}
    assert actual.keys() == expected_alert_summary(sample_lake).keys()
    for key, row in expected_alert_summary(sample_lake).items():
        assert {k: actual[key][k] for k in row} == row


def test_one_local_day_reads_the_neighbouring_utc_partitions(filled_lake, sample_lake):
    # Given a local day of Seattle and New York whose events fall in two UTC days
    day = local_days(sample_lake)[1]
    expected = {k: v for k, v in expected_daily_ohlc(sample_lake).items() if k[1] == day}
    # When only that day is rolled up (DuckDB loads only the UTC days that local day overlaps)
    actual = {(r["symbol"], r["day"]): r for r in rollup(filled_lake, "daily_ohlc", day).to_pylist()}
    # Then the day is complete, and no other day is there
    assert_rows_match(actual, expected)


def test_a_lake_without_data_reads_as_empty_tables_with_their_columns(empty_lake):
    with open_engine("duckdb", empty_lake) as engine:
        assert engine.query("SELECT count(*) FROM quotes").rows == ((0,),)
        weather = engine.query("SELECT * FROM barometer.weather")
        assert weather.rows == () and weather.columns[:3] == ("event_id", "city", "ts")
        assert engine.query("SELECT * FROM daily_ohlc").columns == (
            "symbol", "day", "open", "high", "low", "close", "volume", "trades", "dt")
        assert engine.rollup("daily_weather", "2026-11-24").num_rows == 0


def test_materialized_rollups_are_tables_of_the_lake(empty_lake, sample_lake, filled_lake):
    # Given a rollup partition written to the lake's rollup zone
    day = local_days(sample_lake)[1]
    rows = rollup(filled_lake, "daily_ohlc", day)
    uri = replace_partition(empty_lake, ROLLUP_PREFIX, "daily_ohlc", day, rows)
    assert uri.endswith(f"rollups/daily_ohlc/dt={day}/part-00000.parquet")
    # When it is queried like any table
    result = query(empty_lake, "SELECT symbol, day, dt, trades FROM daily_ohlc ORDER BY symbol")
    # Then its rows are there
    expected = {k: v for k, v in expected_daily_ohlc(sample_lake).items() if k[1] == day}
    assert result.rows == tuple((s, d, d, expected[(s, d)]["trades"]) for s, d in sorted(expected))


@pytest.mark.parametrize("sql, fragment", [
    ("SELEC 1", "syntax error"),
    ("SELECT * FROM no_such_table", "no_such_table"),
    ("SELECT no_such_column FROM quotes", "no_such_column"),
    ("SELECT * FROM read_csv('/etc/hostname')", "disabled"),
    ("   ", "empty"),
])
def test_bad_sql_is_a_lake_query_error_that_says_why(empty_lake, sql, fragment):
    with pytest.raises(LakeQueryError, match=f"(?i){fragment}"):
        query(empty_lake, sql)


def test_a_missing_bucket_is_named(emulator):
    with pytest.raises(LakeQueryError, match="no-such-bucket-xyz.*does not exist"):
        run_query("SELECT 1", s3_endpoint=emulator.url, processed_bucket="no-such-bucket-xyz")


def test_results_render_as_csv_and_json(filled_lake, sample_lake):
    first_ts = min(q["ts"] for q in sample_lake.quotes if q["symbol"] == "AAPL").strftime("%Y-%m-%dT%H:%M:%SZ")
    result = query(filled_lake, "SELECT symbol, min(ts) AS first_ts, NULL AS nothing FROM quotes "
                                "WHERE symbol = 'AAPL' GROUP BY symbol")
    assert result.to_csv().splitlines() == ["symbol,first_ts,nothing", f"AAPL,{first_ts},"]
    assert json.loads(result.to_json()) == [{"symbol": "AAPL", "first_ts": first_ts, "nothing": None}]


def test_compute_rollup_loads_only_what_the_days_need(filled_lake, sample_lake):
    day = local_days(sample_lake)[2]
    table = rollup(filled_lake, "daily_weather", day)
    actual = {(r["city"], r["day"]): r for r in table.to_pylist()}
    assert_rows_match(actual, {k: v for k, v in expected_daily_weather(sample_lake).items() if k[1] == day})
