"""Values the read API derives by arithmetic (means, sums, percent changes) rounded for their readers.

Float arithmetic leaves noise (a 5-minute mean of 249.634 is 249.63400000006135); readers of the API
never need more than DERIVED_DECIMALS places of an average or a change. Values copied from events
(price, temp_c, the fields, min/max/open/close of a day) are returned as they came, unrounded.
The rule is in docs/contracts.md ("Rounding").
"""
from __future__ import annotations

import math
from typing import Any

DERIVED_DECIMALS = 4
# Columns of the daily rollups that are computed (a mean, a sum), not copied from one event.
ROLLUP_DERIVED = {"daily_ohlc": (), "daily_weather": ("temp_avg_c", "precip_mm")}


def round_derived(value: Any) -> Any:
    """A finite float to DERIVED_DECIMALS places (round half to even); anything else unchanged."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, DERIVED_DECIMALS)
        return 0.0 if rounded == 0 else rounded  # no "-0.0" for a tiny negative mean
    return value


def round_rolling(averages: Any) -> Any:
    """A `rolling` map (window -> mean or null) with each mean rounded."""
    if not isinstance(averages, dict):
        return averages
    return {window: round_derived(mean) for window, mean in averages.items()}


def round_item(item: dict[str, Any]) -> dict[str, Any]:
    """A LatestTable or AlertsTable item as the API returns it: `rolling` and `change_pct` rounded, the rest as stored."""
    out = dict(item)
    if "rolling" in out:
        out["rolling"] = round_rolling(out["rolling"])
    if "change_pct" in out:
        out["change_pct"] = round_derived(out["change_pct"])
    return out


def round_rollup_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    derived = ROLLUP_DERIVED.get(name, ())
    return {column: round_derived(value) if column in derived else value for column, value in row.items()}
