"""Daily rollups for the read API.

Where the rows come from is a port (`RollupSource`, the `rollups` of the handler's `Ports`). On AWS
the default reads the extract Dagster keeps in the lake (`barometer.lake.extract_key`, written by the
`web_extracts` asset) with plain boto3, so the Lambda needs neither pyarrow nor Athena. The local
runtime plugs in a source that computes the rollup over the emulator's lake with DuckDB
(`barometer_local.rollups`, through `lambdas.api.handler.use_rollup_source`), so fresh events show
without Dagster.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from barometer import catalogue as r
from barometer.aws import resource_name
from barometer.core.vocabulary import KEY_FIELD, QUOTE, WEATHER
from barometer.lake import extract_key
from lambdas.api.http import HttpError

KEY_COLUMN = {"daily_ohlc": KEY_FIELD[QUOTE], "daily_weather": KEY_FIELD[WEATHER]}
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits only, as RFC 3339


class RollupSource(Protocol):
    def rows(self, name: str, first: date, last: date) -> list[dict[str, Any]]:
        """The rollup's rows for local days first..last (any key); raises HttpError when unavailable."""


class ExtractRollups:
    """The extract Dagster's `web_extracts` asset writes to the processed bucket."""

    def rows(self, name: str, first: date, last: date) -> list[dict[str, Any]]:
        return [row for row in _extract_rows(name) if first.isoformat() <= str(row.get("day")) <= last.isoformat()]


def _day(value: str | None, name: str, default: date) -> date:
    if value is None or value == "":
        return default
    text = value[:10] if len(value) > 10 and value[10] in "Tt " else value
    if not _DAY.match(text):
        raise HttpError(400, f"{name}: expected a day YYYY-MM-DD or an RFC 3339 timestamp")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise HttpError(400, f"{name}: not a valid day") from None
    # No event is older than the epoch; the bounds keep day arithmetic (defaults, the engine's ranges) in range.
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HttpError(400, f"{name}: must be a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def read_rollup(source: RollupSource, name: str, key: str | None, start: str | None, end: str | None
                ) -> list[dict[str, Any]]:
    """The rows of rollup `name` from `source` for days start..end (default: the 30 days before today), by key."""
    if name not in KEY_COLUMN:
        raise HttpError(404, f"unknown rollup: {name[:40]} (daily_ohlc or daily_weather)")
    today = datetime.now(UTC).date()
    last = _day(end, "to", today)
    first = _day(start, "from", last - timedelta(days=30))
    if first > last:
        raise HttpError(400, "from: must not be after to")
    if (last - first).days > MAX_DAYS:
        raise HttpError(400, f"from: at most {MAX_DAYS} days per request")
    return _filtered(source.rows(name, first, last), name, key)


def _extract_rows(name: str) -> list[dict[str, Any]]:
    import json

    from botocore.exceptions import ClientError

    from barometer.aws import client

    bucket = resource_name(r.PROCESSED_BUCKET.env_var)
    try:
        body = client("s3").get_object(Bucket=bucket, Key=extract_key(name))["Body"].read()
    except ClientError as exc:
        if exc.response["Error"].get("Code") in ("NoSuchKey", "404"):
            return []  # not materialized yet: no rows rather than an error
        raise HttpError(503, f"the rollup extract could not be read: {exc.response['Error'].get('Code')}") from exc
    return list(json.loads(body).get("rows") or [])


def _filtered(rows: list[dict[str, Any]], name: str, key: str | None) -> list[dict[str, Any]]:
    column = KEY_COLUMN[name]
    if key:
        rows = [row for row in rows if row.get(column) == key]
    rows.sort(key=lambda row: (row.get(column) or "", row.get("day") or ""))
    return rows
