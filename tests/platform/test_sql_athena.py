"""The Athena engine against the emulator's Athena, which records queries but returns no results."""
from __future__ import annotations

import boto3
import pytest

from barometer_sql import LakeQueryError, open_engine, render

pytestmark = pytest.mark.emulator


def test_a_rollup_sends_the_same_sql_text_to_athena_in_the_barometer_database(empty_lake):
    # Given the Athena engine pointed at the emulator
    athena = boto3.client("athena", endpoint_url=empty_lake.s3_endpoint, region_name=empty_lake.region)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    # When a rollup runs (the emulator's Athena writes no result file, which must read as a clear error)
    with open_engine("athena", empty_lake) as engine, pytest.raises(LakeQueryError, match="no result file"):
        engine.rollup("daily_weather", "2026-11-24")
    # Then Athena received exactly the SQL that DuckDB runs, in the Glue database, writing to the lake bucket
    (new_id,) = set(athena.list_query_executions()["QueryExecutionIds"]) - before
    execution = athena.get_query_execution(QueryExecutionId=new_id)["QueryExecution"]
    assert execution["Query"] == render("daily_weather", "2026-11-24")
    assert execution["QueryExecutionContext"]["Database"] == "barometer"
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(
        f"s3://{empty_lake.processed_bucket}/athena-results/")


def test_an_unknown_engine_is_refused(empty_lake):
    with pytest.raises(LakeQueryError, match="unknown SQL engine 'spark'"):
        open_engine("spark", empty_lake)
