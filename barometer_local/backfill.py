"""History into the running platform: the poller over a range of minutes (`barometer poll`), and the lake's
rollups over a range of days (`barometer backfill`, Dagster's `dg launch --partition-range` in process).

`barometer poll` runs the poller's own `handle` in this process with the environment the stream runner
gives the handlers (`runner.local_environment`: the platform's emulator, local resource names), which is
what `python -m lambdas.poller` lacks outside a Lambda. Events of consecutive minutes are put on the stream
together, up to 500 per PutRecords, in time order; the poller's event ids are deterministic, so polling a
range again puts only duplicates, which the processor writes nowhere.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from barometer_local.paths import HOME_ENV, REPO_ROOT

PUT_BATCH = 500           # Kinesis PutRecords' limit
MAX_MINUTES = 31 * 24 * 60  # a month per command: longer ranges are several commands (or a real provider's API)
BACKFILL_ASSETS = "group:lake or group:analytics"  # mk/orchestration.mk's BACKFILL_ASSETS: single-run assets


class BackfillError(RuntimeError):
    """A range that cannot be run, or a platform that cannot take it."""


def minutes(first: datetime, last: datetime) -> Iterator[datetime]:
    """Every minute from `first`'s to `last`'s, both included."""
    t = first.replace(second=0, microsecond=0)
    while t <= last:
        yield t
        t += timedelta(minutes=1)


def minute_range(first: datetime, last: datetime) -> list[datetime]:
    if last < first:
        raise BackfillError("--to: must not be before --from")
    span = list(minutes(first, last))
    if len(span) > MAX_MINUTES:
        raise BackfillError(f"--from/--to: {len(span):,} minutes; at most {MAX_MINUTES:,} (31 days) per command")
    return span


@dataclass
class PollReport:
    minutes: int = 0
    polled: int = 0
    put: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


class _Buffer:
    """Collects the events of consecutive polls and puts them in batches of up to 500, in order."""

    def __init__(self, put: Callable[[list[dict[str, Any]]], dict[int, str]], report: PollReport):
        self.put, self.report, self.events = put, report, []

    def add(self, events) -> dict[int, str]:
        self.events.extend(events)
        if len(self.events) >= PUT_BATCH:
            self.flush()
        return {}  # failures are counted at the flush

    def flush(self) -> None:
        while self.events:
            batch, self.events = self.events[:PUT_BATCH], self.events[PUT_BATCH:]
            rejected = self.put(batch)
            self.report.put += len(batch) - len(rejected)
            self.report.failed += [{"kind": batch[i]["kind"], "event_id": batch[i]["event_id"],
                                    "error": f"stream: {error}"} for i, error in sorted(rejected.items())]


def poll_range(times: list[datetime], request: dict[str, Any], *, put=None, progress: TextIO | None = None,
               every_s: float = 5.0) -> PollReport:
    """Run the poller once per minute of `times`; `put` None puts on the platform's stream (the
    environment must point at it: `use_platform`)."""
    from lambdas.poller.handler import handle, logger, metrics, put_on_stream

    report = PollReport()
    buffer = _Buffer(put or put_on_stream, report)
    previous = logger.registered_handler.setStream(sys.stderr)  # stdout is for --dry-run's events
    level = logger.log_level
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # not one INFO line per minute
    started = last_shown = time.monotonic()
    try:
        for t in times:
            summary = handle({**request, "time": t.isoformat().replace("+00:00", "Z")}, put=buffer.add)
            metrics.clear_metrics()  # outside Lambda nothing flushes them; they would pile up
            report.minutes += 1
            report.polled += summary["polled"]
            report.failed += summary["failed"]
            now = time.monotonic()
            if progress is not None and (now - last_shown >= every_s or report.minutes == len(times)):
                last_shown = now
                rate = report.minutes / max(now - started, 1e-6)
                eta = (len(times) - report.minutes) / rate if rate else 0
                progress.write(f"[poll] {report.minutes:,}/{len(times):,} minutes (up to {t:%Y-%m-%d %H:%M}Z), "
                               f"{report.polled:,} events, {rate:,.0f} minutes/s, ETA {int(eta) // 60}:"
                               f"{int(eta) % 60:02d}\n")
                progress.flush()
        buffer.flush()
    finally:
        logger.registered_handler.setStream(previous)
        logger.setLevel(level)
    return report


def use_platform() -> dict[str, Any]:
    """Point this process's AWS clients and configuration at the running platform (PlatformNotRunningError
    when there is none)."""
    from barometer import aws
    from barometer_local.paths import read_platform
    from barometer_local.runner import local_environment

    info = read_platform()
    os.environ.update(local_environment(info["aws_endpoint"]))
    if info.get("config_path"):
        os.environ["BAROMETER_CONFIG"] = info["config_path"]
    aws.reset_clients()
    return info


# -- rollups over days (Dagster) ------------------------------------------------------------------
_DAGSTER_EVENT = re.compile(r" - (RUN_START|RUN_SUCCESS|RUN_FAILURE|STEP_START|STEP_SUCCESS|STEP_FAILURE|"
                            r"ASSET_MATERIALIZATION) - (.*)$")


def backfill_command(first: date, last: date, assets: str = BACKFILL_ASSETS) -> list[str]:
    """`make dagster-backfill`'s command: one in-process run over the range (single-run backfill policy)."""
    if last < first:
        raise BackfillError("--to: must not be before --from")
    dg = Path(sys.executable).with_name("dg")
    return [str(dg), "launch", "--assets", assets, "--partition-range", f"{first.isoformat()}...{last.isoformat()}"]


def run_backfill(command: list[str], state_dir: Path, log_path: Path, progress: TextIO) -> int:
    """Run it with the platform's Dagster home, keep its whole log, and show its steps as they go."""
    from barometer_local import dagster_dev

    env = {**os.environ, "DAGSTER_HOME": str(dagster_dev.prepare_home(state_dir)), HOME_ENV: str(state_dir)}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    progress.write(f"[backfill] {' '.join(command[1:])} (log: {log_path})\n")
    progress.flush()
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace")
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            match = _DAGSTER_EVENT.search(line.rstrip())
            if match:
                progress.write(f"[backfill] {time.monotonic() - started:6.1f}s {match.group(1):<21} "
                               f"{match.group(2)[:160]}\n")
                progress.flush()
        code = process.wait()
    progress.write(f"[backfill] {'done' if code == 0 else f'failed (exit {code}); see {log_path}'} in "
                   f"{time.monotonic() - started:.1f}s\n")
    progress.flush()
    return code


def summary_json(report: PollReport) -> str:
    return json.dumps({"minutes": report.minutes, "polled": report.polled, "put": report.put,
                       "failed": report.failed[:50], "failed_total": len(report.failed)})


def parse_moment(text: str, flag: str, end_of_day: bool = False) -> datetime:
    """RFC 3339, or a bare date: its first minute (UTC), or its last with `end_of_day` (--to 2026-11-24
    means the whole day)."""
    from barometer.core.timeutil import TimestampError, parse_rfc3339

    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            midnight = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            return midnight + timedelta(hours=23, minutes=59) if end_of_day else midnight
        return parse_rfc3339(text)
    except (TimestampError, ValueError) as exc:
        raise BackfillError(f"{flag}: {exc}") from None
