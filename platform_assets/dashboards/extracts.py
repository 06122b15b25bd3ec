"""Dashboard extracts: each rollup's recent rows as one small JSON object in the lake, which the read
API (and so the web dashboard) serves without Parquet or SQL in a Lambda. No Dagster here.

s3://{processed bucket}/extracts/{rollup}.json (`barometer.lake.extract_key`) =
{"name", "generated_at", "first_day", "last_day", "columns": [...], "rows": [{column: value}, ...]}
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from barometer.lake import extract_key
from barometer_sql.result import plain_value

EXTRACT_DAYS = 400


def build_extract(engine: Any, name: str, today: date, days: int = EXTRACT_DAYS) -> dict[str, Any]:
    first = (today - timedelta(days=days)).isoformat()
    last = (today + timedelta(days=1)).isoformat()
    result = engine.query(
        f"SELECT * EXCLUDE (dt) FROM barometer.{name} WHERE day BETWEEN '{first}' AND '{last}' "
        f"ORDER BY day, 1")
    return {"name": name, "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "first_day": first, "last_day": last, "columns": list(result.columns),
            "rows": [{k: plain_value(v) for k, v in record.items()} for record in result.records()]}


def write_extract(s3: Any, bucket: str, extract: dict[str, Any]) -> str:
    key = extract_key(extract["name"])
    s3.put_object(Bucket=bucket, Key=key, ContentType="application/json",
                  Body=json.dumps(extract, separators=(",", ":")).encode())
    return f"s3://{bucket}/{key}"
