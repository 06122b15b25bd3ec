"""`barometer import`'s rate (make bench, section `import`): N rows of a CSV validated and posted to a
running local platform, beside the platform's sustained end-to-end rate (section e2e).

Two figures: `import_rows_per_s`, rows read, validated and accepted by the API per second (what the
command's progress line shows; the goal is at least the platform's e2e_events_per_s, so an import never
waits on itself), and `drained_rows_per_s`, rows per second until the processor has applied the last row
of every key (LatestTable), which the platform's own rate bounds.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SYMBOLS = 100


def write_csv(path: Path, rows: int, start: datetime) -> dict[str, str]:
    """Quotes over SYMBOLS keys, one second apart; the last timestamp of each key."""
    last: dict[str, str] = {}
    with path.open("w") as out:
        out.write("symbol,price,volume,ts\n")
        for i in range(rows):
            symbol, ts = f"IMP{i % SYMBOLS:03d}", (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(f"{symbol},{100 + (i % 997) / 100},{i},{ts}\n")
            last[symbol] = ts
    return last


def measure(settings, *, rows: int, e2e_events_per_s: float | None, progress=print,
            drain_timeout_s: float = 300.0) -> dict[str, Any]:
    from barometer_local.client import ApiClient
    from barometer_local.emulator import free_port
    from barometer_local.importer import run_import
    from barometer_local.paths import HOME_ENV
    from barometer_local.platform import LocalPlatform, PlatformOptions

    saved_env = dict(os.environ)
    state = Path(tempfile.mkdtemp(prefix="barometer-bench-import-"))
    os.environ[HOME_ENV] = str(state)
    platform = LocalPlatform(state, PlatformOptions(api_port=free_port(), flush_seconds=1.0))
    try:
        progress(f"import: starting the local platform (state in {state})")
        platform.start(progress=lambda text: progress(f"  {text}"))
        platform.wait_ready()
        source = state / "history.csv"
        last = write_csv(source, rows, datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
        api = ApiClient(platform.api_url, platform.token(), timeout_s=60)
        progress(f"import: {rows:,} rows of {len(last)} symbols")
        started = time.monotonic()
        report = run_import([source], settings, api.send_events, kind="quote")
        imported_s = time.monotonic() - started
        if report.exit_code != 0:
            raise RuntimeError(f"the bench's import did not go through: {report.error or report.files[0].samples}")

        def drained() -> bool:
            return all(api.latest("quote", symbol)[1].get("ts") == ts for symbol, ts in last.items())

        api.wait_for(drained, timeout_s=drain_timeout_s, interval_s=0.5, what="every key's last imported row")
        drained_s = time.monotonic() - started
    finally:
        platform.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(state, ignore_errors=True)
    rate, drained_rate = round(rows / imported_s, 1), round(rows / drained_s, 1)
    meets = e2e_events_per_s is not None and rate >= e2e_events_per_s
    progress(f"import: {rate:,} rows/s validated and accepted ({imported_s:.1f} s); every key applied after "
             f"{drained_s:.1f} s ({drained_rate:,} rows/s end to end)")
    if e2e_events_per_s is not None:
        progress(f"  beside the platform's sustained e2e rate {e2e_events_per_s:,} events/s: "
                 f"{'met' if meets else 'MISSED'} (goal: at least that rate)")
    return {"import_rows_per_s": rate, "drained_rows_per_s": drained_rate, "imported_s": round(imported_s, 2),
            "drained_s": round(drained_s, 2), "e2e_events_per_s_compared": e2e_events_per_s, "meets_target": meets,
            "parameters": {"rows": rows, "symbols": SYMBOLS, "batch": 500, "flush_seconds": 1.0}}
