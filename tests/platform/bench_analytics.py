"""Benchmark: materializing the analytics group for one local day, in-process, on the emulator.

Two days of quotes (4 symbols) and weather (3 cities) at one event per key and minute, delivered in
files of FILE_MINUTES minutes (Firehose-like), 10% delivered twice. Measures the analytics group for
the middle local day on the raw deliveries, the lake compaction of the three UTC days it reads, and
the analytics group again on the compacted lake. Run: `make bench-orchestration`; prints JSON and
writes test-artifacts/bench/orchestration.json.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(Path(__file__).parent)]

DAY = "2026-11-24"
FILE_MINUTES = int(os.environ.get("BENCH_FILE_MINUTES", "10"))
LIMIT_S = 15.0


def main() -> dict:
    import dagster as dg
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sample_lake import CITY_TZ, arrow_table

    from barometer.catalogue import PROCESSED_BUCKET
    from barometer.lake import PROCESSED_PREFIX
    from barometer.settings import get_settings
    from barometer_local.emulator import FAKE_CREDENTIALS, REGION, Emulator
    from barometer_sql import LakeLocation
    from platform_assets.definitions import build_definitions
    from platform_assets.resources import BarometerResource

    os.environ.update(FAKE_CREDENTIALS)
    settings = get_settings()
    symbols = {s: ref.timezone for s, ref in settings.symbols.items()}
    cities = {c: ref.timezone for c, ref in settings.cities.items()} or CITY_TZ
    start = datetime.fromisoformat(DAY).replace(tzinfo=UTC) - timedelta(hours=12)
    with Emulator.start() as emulator:
        from barometer_local.provision import provision

        provision(emulator.target(), webhook_url="http://127.0.0.1:9/unused")
        bucket = f"bench-processed-{uuid.uuid4().hex[:6]}"
        emulator.target().client("s3").create_bucket(Bucket=bucket)
        location = LakeLocation(bucket, emulator.url, REGION)
        fs = location.filesystem()
        events = files = 0
        for block in range(48 * 60 // FILE_MINUTES):
            quotes, weather = [], []
            for minute in range(FILE_MINUTES):
                ts = start + timedelta(minutes=block * FILE_MINUTES + minute)
                for symbol, tz in symbols.items():
                    quotes.append({"event_id": uuid.uuid4().hex, "symbol": symbol, "ts": ts, "price": 100.0 + minute,
                                   "volume": 10, "currency": "USD", "source": "bench",
                                   "local_day": ts.astimezone(ZoneInfo(tz)).date().isoformat(), "ingested_at": ts})
                for city, tz in cities.items():
                    weather.append({"event_id": uuid.uuid4().hex, "city": city, "ts": ts, "temp_c": 5.0 + minute,
                                    "humidity_pct": 50.0, "wind_mps": 3.0, "precip_mm": 0.1, "pressure_hpa": 1000.0,
                                    "source": "bench", "local_day": ts.astimezone(ZoneInfo(tz)).date().isoformat(),
                                    "ingested_at": ts})
            dt = (start + timedelta(minutes=block * FILE_MINUTES)).date().isoformat()
            for table, rows in (("quotes", quotes), ("weather", weather)):
                rows = rows + rows[:: 10]  # at-least-once: some records delivered twice
                pq.write_table(arrow_table(rows, table, pa.timestamp("us")),
                               f"{bucket}/{PROCESSED_PREFIX}{table}/dt={dt}/delivery-{block:04d}.parquet", filesystem=fs)
                events += len(rows)
                files += 1
        barometer = BarometerResource(environment="local", endpoint=emulator.url, region=REGION,
                                      name_overrides={PROCESSED_BUCKET.logical_id: bucket})
        defs = build_definitions({"barometer": barometer})
        job = defs.resolve_implicit_global_asset_job_def()
        graph = defs.resolve_asset_graph()

        def run(selection: str, partition: str) -> float:
            keys = list(dg.AssetSelection.from_string(selection).resolve(graph))
            began = time.perf_counter()
            with dg.instance_for_test() as instance:
                assert job.execute_in_process(instance=instance, partition_key=partition, asset_selection=keys,
                                              raise_on_error=True).success
            return time.perf_counter() - began

        raw_s = run("group:analytics", DAY)
        compaction_s = sum(run("key:lake/quotes or key:lake/weather", d) for d in ("2026-11-23", DAY, "2026-11-25"))
        compacted_s = run("group:analytics", DAY)
    result = {"benchmark": "analytics group, one local day, in-process executor, emulator",
              "events_delivered": events, "files": files, "file_minutes": FILE_MINUTES,
              "analytics_on_deliveries_s": round(raw_s, 2), "lake_compaction_3_days_s": round(compaction_s, 2),
              "analytics_on_compacted_lake_s": round(compacted_s, 2), "limit_s": LIMIT_S,
              "within_limit": max(raw_s, compacted_s) < LIMIT_S}
    out = REPO / "test-artifacts" / "bench" / "orchestration.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
