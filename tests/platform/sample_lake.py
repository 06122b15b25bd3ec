"""Sample lake content written the way the platform writes it, and the rollups computed in plain Python.

Events span local days in several timezones (so local day and UTC `dt` differ), every table is
delivered at least once (some events in two files), and files disagree on timestamp encodings.
"""
from __future__ import annotations

import random
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from barometer.lake import LAKE_SCHEMAS, PROCESSED_PREFIX

SYMBOL_TZ = {"AAPL": "America/New_York", "SAP": "Europe/Berlin"}
CITY_TZ = {"Seattle": "America/Los_Angeles", "London": "Europe/London"}
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _local_day(ts: datetime, tz: str) -> str:
    return ts.astimezone(ZoneInfo(tz)).date().isoformat()


@dataclass
class SampleLake:
    quotes: list[dict] = field(default_factory=list)
    weather: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)


def make_events(seed: int = 7, hours: int = 60, step_minutes: int = 20) -> SampleLake:
    """Quotes and weather every `step_minutes` for `hours` from START, plus a few alerts."""
    rng = random.Random(seed)
    lake = SampleLake()
    for i in range(hours * 60 // step_minutes):
        ts = START + timedelta(minutes=step_minutes * i, seconds=rng.randint(0, 59))
        for symbol, tz in SYMBOL_TZ.items():
            lake.quotes.append({
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex, "symbol": symbol, "ts": ts,
                "price": round(rng.uniform(90, 110), 2), "volume": rng.choice([None, rng.randint(0, 5000)]),
                "currency": "USD" if symbol != "SAP" else "EUR", "source": "test",
                "local_day": _local_day(ts, tz), "ingested_at": ts + timedelta(seconds=2),
            })
        for city, tz in CITY_TZ.items():
            lake.weather.append({
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex, "city": city, "ts": ts,
                "temp_c": round(rng.uniform(-5, 15), 1), "humidity_pct": rng.uniform(40, 90),
                "wind_mps": rng.choice([None, round(rng.uniform(0, 20), 1)]),
                "precip_mm": rng.choice([None, 0.0, round(rng.uniform(0, 3), 1)]),
                "pressure_hpa": 1013.0, "source": "test", "local_day": _local_day(ts, tz),
                "ingested_at": ts + timedelta(seconds=3),
            })
    for n, (symbol, tz) in enumerate(SYMBOL_TZ.items()):
        ts = START + timedelta(hours=14 + n)
        lake.alerts.append({
            "alert_id": f"alert-{symbol}", "kind": "market", "key": symbol, "rule": "market_drop", "ts": ts,
            "value": 80.0, "reference_price": 100.0, "change_pct": -20.0, "metric": None, "op": None,
            "threshold": 10.0, "local_day": _local_day(ts, tz), "event_id": f"event-{symbol}",
        })
    ts = START + timedelta(hours=30)
    lake.alerts.append({
        "alert_id": "alert-London-heavy_rain", "kind": "weather", "key": "London", "rule": "heavy_rain",
        "ts": ts, "value": 31.0, "reference_price": None, "change_pct": None, "metric": "precip_mm", "op": ">=",
        "threshold": 30.0, "local_day": _local_day(ts, CITY_TZ["London"]), "event_id": "event-London",
    })
    return lake


def arrow_table(rows: list[dict], table: str, ts_type: pa.DataType) -> pa.Table:
    """Rows of a lake table as Arrow, its timestamps as `ts_type` (Firehose and compaction differ)."""
    columns = {}
    for name, hive in LAKE_SCHEMAS[table]:
        values = [row[name] for row in rows]
        if hive == "timestamp":
            columns[name] = pa.array(values, pa.timestamp("us", "UTC")).cast(ts_type)
        else:
            columns[name] = pa.array(values, {"string": pa.string(), "double": pa.float64(),
                                              "bigint": pa.int64()}[hive])
    return pa.table(columns)


def write_lake(fs: pafs.S3FileSystem, bucket: str, lake: SampleLake, duplicate_every: int = 5) -> int:
    """Write the events into processed/{table}/dt=YYYY-MM-DD/ in two files per partition with
    different timestamp encodings; every `duplicate_every`-th row is delivered a second time, in
    the other file, with a later ingested_at. Returns the number of files written."""
    files = 0
    for table, rows in (("quotes", lake.quotes), ("weather", lake.weather), ("alerts", lake.alerts)):
        by_dt: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_dt[row["ts"].astimezone(UTC).date().isoformat()].append(row)
        for dt, part in by_dt.items():
            first, second = part[::2], part[1::2]
            second = second + [
                {**row, **({"ingested_at": row["ingested_at"] + timedelta(minutes=5)} if "ingested_at" in row else {})}
                for row in first[::duplicate_every]
            ]
            for n, (chunk, ts_type) in enumerate(((first, pa.timestamp("ms", "UTC")), (second, pa.timestamp("us")))):
                if chunk:
                    path = f"{bucket}/{PROCESSED_PREFIX}{table}/dt={dt}/barometer-processed-{table}-{n}.parquet"
                    pq.write_table(arrow_table(chunk, table, ts_type), path, filesystem=fs)
                    files += 1
    return files


# --- the rollups, computed independently of any SQL -----------------------------------------

def expected_daily_ohlc(lake: SampleLake) -> dict[tuple[str, str], dict]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for q in lake.quotes:
        groups[(q["symbol"], q["local_day"])].append(q)
    result = {}
    for key, quotes in groups.items():
        ordered = sorted(quotes, key=lambda q: (q["ts"], q["event_id"]))
        result[key] = {
            "open": ordered[0]["price"], "close": ordered[-1]["price"],
            "high": max(q["price"] for q in quotes), "low": min(q["price"] for q in quotes),
            "volume": sum(q["volume"] or 0 for q in quotes), "trades": len(quotes),
        }
    return result


def expected_daily_weather(lake: SampleLake) -> dict[tuple[str, str], dict]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for w in lake.weather:
        groups[(w["city"], w["local_day"])].append(w)
    result = {}
    for key, obs in groups.items():
        temps = [w["temp_c"] for w in obs]
        winds = [w["wind_mps"] for w in obs if w["wind_mps"] is not None]
        result[key] = {
            "temp_min_c": min(temps), "temp_max_c": max(temps), "temp_avg_c": statistics.fmean(temps),
            "precip_mm": sum(w["precip_mm"] or 0.0 for w in obs), "max_wind_mps": max(winds) if winds else None,
            "observations": len(obs),
        }
    return result


def expected_alert_summary(lake: SampleLake) -> dict[tuple[str, str, str], dict]:
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for a in lake.alerts:
        groups[(a["local_day"], a["kind"], a["rule"])].append(a)
    return {
        key: {"alerts": len(alerts), "keys_affected": len({a["key"] for a in alerts}),
              "first_ts": min(a["ts"] for a in alerts).replace(tzinfo=None),
              "last_ts": max(a["ts"] for a in alerts).replace(tzinfo=None)}
        for key, alerts in groups.items()
    }


def local_days(lake: SampleLake) -> list[str]:
    return sorted({row["local_day"] for rows in (lake.quotes, lake.weather) for row in rows})
