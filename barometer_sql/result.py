"""What a query returns, and the one error every engine raises."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class LakeQueryError(RuntimeError):
    """A query over the lake failed: bad SQL, an unknown table or column, or an unreachable lake."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if value is None else plain_value(value) for value in row])
        return out.getvalue()

    def to_json(self) -> str:
        """A JSON array of objects; timestamps as RFC 3339 UTC, NaN as null."""
        return json.dumps([{k: plain_value(v) for k, v in record.items()} for record in self.records()])


def plain_value(value: Any) -> Any:
    """A value CSV and JSON can carry unchanged."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the lake stores UTC without a zone
            return value.isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    return value
