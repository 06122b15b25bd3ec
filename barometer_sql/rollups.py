"""The rollups: one SQL text each (in `sql/`), run unchanged on Athena and on DuckDB.

A rollup's partition is a local calendar day (`local_day`: the exchange's or the city's day). The
lake is partitioned by the UTC day of the event (`dt`), and a local day overlaps at most the UTC
days before and after it (timezones lie within UTC-12..UTC+14), so the SQL reads `dt` from one day
before to one day after the requested local days and keeps rows by `local_day`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from string import Template

SQL_DIR = Path(__file__).resolve().parent / "sql"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RollupSpec:
    name: str
    source_table: str  # the lake table it reads
    columns: tuple[tuple[str, str], ...]  # output columns, Glue/Hive types
    key: tuple[str, ...]  # the columns that identify a row
    description: str

    @property
    def sql_path(self) -> Path:
        return SQL_DIR / f"{self.name}.sql"


DAILY_OHLC = RollupSpec(
    "daily_ohlc", "quotes",
    (("symbol", "string"), ("day", "string"), ("open", "double"), ("high", "double"), ("low", "double"),
     ("close", "double"), ("volume", "bigint"), ("trades", "bigint")),
    key=("symbol", "day"),
    description="Open, high, low and close price, summed volume and quote count per symbol and exchange day",
)
DAILY_WEATHER = RollupSpec(
    "daily_weather", "weather",
    (("city", "string"), ("day", "string"), ("temp_min_c", "double"), ("temp_max_c", "double"),
     ("temp_avg_c", "double"), ("precip_mm", "double"), ("max_wind_mps", "double"),
     ("observations", "bigint")),
    key=("city", "day"),
    description="Temperature range and mean, summed precipitation, strongest wind per city and local day",
)
ALERT_SUMMARY = RollupSpec(
    "alert_summary", "alerts",
    (("day", "string"), ("kind", "string"), ("rule", "string"), ("alerts", "bigint"),
     ("keys_affected", "bigint"), ("first_ts", "timestamp"), ("last_ts", "timestamp")),
    key=("day", "kind", "rule"),
    description="Alerts per local day, kind and rule: how many, for how many symbols or cities, first and last",
)
ROLLUPS: dict[str, RollupSpec] = {spec.name: spec for spec in (DAILY_OHLC, DAILY_WEATHER, ALERT_SUMMARY)}


class RollupError(ValueError):
    """Unknown rollup or bad day range."""


def rollup_spec(name: str) -> RollupSpec:
    try:
        return ROLLUPS[name]
    except KeyError:
        raise RollupError(f"unknown rollup {name!r}; known: {', '.join(ROLLUPS)}") from None


def _day(value: date | str, what: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise RollupError(f"{what}: expected a day as YYYY-MM-DD, got {value!r}")


@cache
def _template(name: str) -> Template:
    return Template(rollup_spec(name).sql_path.read_text(encoding="utf-8"))


def utc_partitions(first_day: date | str, last_day: date | str) -> tuple[str, str]:
    """The `dt` range (inclusive) that holds every event of local days first_day..last_day."""
    first, last = _day(first_day, "first_day"), _day(last_day, "last_day")
    return (first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()


def render(name: str, first_day: date | str, last_day: date | str | None = None) -> str:
    """The rollup's SQL for local days first_day..last_day (inclusive)."""
    first = _day(first_day, "first_day")
    last = _day(last_day if last_day is not None else first, "last_day")
    if last < first:
        raise RollupError(f"last_day {last} is before first_day {first}")
    first_dt, last_dt = utc_partitions(first, last)
    # Only validated ISO dates are substituted, never free text.
    return _template(name).substitute(
        first_day=first.isoformat(), last_day=last.isoformat(), first_dt=first_dt, last_dt=last_dt,
    )
