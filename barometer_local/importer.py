"""`barometer import`: files of events into the running platform, through the API's own validation.

Each row is validated here first with the contract's parser (barometer.core.events, what POST /v1/events
runs), so a refused row is reported with its line and reasons and never sent; the accepted ones are posted
in batches (at most the API's 500) by one poster thread while the next batch is read, in file order (the
stream keeps a key's events in order, so the processor applies them in time order when the file is). Every
event is sent with its `event_id` (the row's, else the contract's content hash of the normalised event), so
a retried batch or a second import of the same file is a duplicate the processor writes nowhere.
"""
from __future__ import annotations

import json
import queue
import sys
import threading
import time
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from barometer.config import Settings
from barometer.core.errors import FieldError, ValidationError
from barometer.core.events import parse_event
from barometer_local.client import ApiResponse
from barometer_local.import_files import Row, Source, open_source, rejects_original

MAX_BATCH = 500              # the API's limit per request (lambdas/api/handler.py MAX_EVENTS_PER_REQUEST)
RETRY_BUDGET_S = 120.0       # how long one batch may be retried (503, 429, no answer) before giving up
OTHER_5XX_ATTEMPTS = 3       # a 500/502/504 is usually not transient (a handler failing): few attempts
SAMPLES_SHOWN = 10           # refusals listed per file in the summary (all are in the rejects file)


class ImportApiError(RuntimeError):
    """The platform could not take the events (not answering, refusing the token, failing)."""


class EventPoster(Protocol):
    def __call__(self, events: list[dict[str, Any]]) -> ApiResponse: ...


@dataclass
class FileReport:
    path: Path
    unit: str
    rejects_path: Path
    rows: int = 0
    accepted: int = 0
    refused: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileReport]
    seconds: float
    error: str | None = None   # the import stopped: the rows after the last accepted batch were not sent

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def refused(self) -> int:
        return sum(f.refused for f in self.files)

    @property
    def exit_code(self) -> int:
        return 2 if self.error else 1 if self.refused else 0


class _Rejects:
    """The rejects files: one JSON object per refused row. Opened at the first refusal; an earlier run's
    file at the same path is removed first, so the file always describes the last run."""

    def __init__(self, reports: Sequence[FileReport]):
        self._lock = threading.Lock()
        self._handles: dict[Path, TextIO] = {}
        for path in {r.rejects_path for r in reports}:
            path.unlink(missing_ok=True)

    def write(self, report: FileReport, where: int, reason: str, errors: list[dict[str, str]], original: Any) -> None:
        record = {"file": str(report.path), report.unit: where, "reason": reason, "errors": errors,
                  "input": original}
        with self._lock:
            report.refused += 1
            if len(report.samples) < SAMPLES_SHOWN:
                report.samples.append(f"{report.unit} {where}: {reason}")
            handle = self._handles.get(report.rejects_path)
            if handle is None:
                handle = self._handles[report.rejects_path] = report.rejects_path.open("a", encoding="utf-8")
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()


class Progress:
    """One progress line: rewritten in place on a terminal (at most 5 times a second), else printed
    every `plain_every_s` seconds."""

    def __init__(self, stream: TextIO, plain_every_s: float = 5.0, enabled: bool = True):
        self.stream, self.enabled = stream, enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.every = 0.2 if self.tty else plain_every_s
        self._lock = threading.Lock()
        self.started = self._last = time.monotonic()
        self._width = 0
        self.source: Source | None = None
        self.report: FileReport | None = None

    def start_file(self, source: Source, report: FileReport) -> None:
        self.source, self.report = source, report

    def update(self, force: bool = False) -> None:
        if not self.enabled or self.report is None:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.every:
                return
            self._last = now
            line = self._line(now)
            if self.tty:
                self.stream.write("\r" + line.ljust(self._width))
                self._width = len(line)
            else:
                self.stream.write(f"[import] {line}\n")
            self.stream.flush()

    def _line(self, now: float) -> str:
        report, source = self.report, self.source
        done = report.accepted + report.refused
        rate = done / max(now - self.started, 1e-6)
        text = (f"{report.path.name}: {done:,} rows ({report.accepted:,} accepted, {report.refused:,} refused), "
                f"{rate:,.0f} rows/s")
        fraction = None
        if source.total_rows:
            fraction = min(1.0, done / source.total_rows)
        elif source.total_bytes:
            fraction = min(1.0, source.bytes_read() / source.total_bytes)
        if fraction is not None:
            text += f", {fraction:.0%}"
            if 0 < fraction < 1 and rate > 0:
                remaining = (now - self.started) * (1 - fraction) / fraction
                text += f", ETA {int(remaining) // 60}:{int(remaining) % 60:02d}"
        return text

    def finish(self) -> None:
        if self.enabled and self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


class _Poster(threading.Thread):
    """Posts batches in order; records acceptances and the API's refusals; stops at the first failure."""

    def __init__(self, post: EventPoster, rejects: _Rejects, progress: Progress, sleep=time.sleep):
        super().__init__(name="import-poster", daemon=True)
        self.post, self.rejects, self.progress, self.sleep = post, rejects, progress, sleep
        self.batches: queue.Queue = queue.Queue(maxsize=4)
        self.error: str | None = None

    def submit(self, batch: list[tuple[FileReport, Row, dict[str, Any]]]) -> None:
        while not self.error and self.is_alive():
            try:
                self.batches.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue
        raise ImportApiError(self.error or "the poster thread stopped")

    def finish(self) -> None:
        self.batches.put(None)
        self.join()
        if self.error:
            raise ImportApiError(self.error)

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error:
                continue  # drain: the submitter sees the error at its next submit
            try:
                self._send(batch)
            except ImportApiError as exc:
                self.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - an answer of an unexpected shape: stop, never hang the reader
                self.error = f"unexpected answer from the API: {type(exc).__name__}: {exc}"
            self.progress.update()

    def _send(self, batch: list[tuple[FileReport, Row, dict[str, Any]]]) -> None:
        pending = list(range(len(batch)))
        deadline = time.monotonic() + RETRY_BUDGET_S
        other_5xx = 0
        while pending:
            wait = 0.5
            try:
                response = self.post([batch[i][2] for i in pending])
            except (urllib.error.URLError, OSError) as exc:
                response = None
                reason = f"the API did not answer ({getattr(exc, 'reason', exc)})"
            if response is not None:
                body = response.body if isinstance(response.body, dict) else {}
                if response.status in (401, 403):
                    raise ImportApiError(f"the API refused the token ({response.status}: {body.get('error', '')})")
                if response.status in (429, 503):
                    reason, wait = f"the API answered {response.status}", response.retry_after_s()
                elif isinstance(body.get("failed"), list):  # 200, or 400 when none was valid
                    failed = {failure["index"]: failure for failure in body["failed"]}
                    if not set(failed) <= set(range(len(pending))):
                        raise ImportApiError(f"unexpected answer from the API: failures of events it was not "
                                             f"sent ({_shown(body)})")
                    retry = []
                    for position, index in enumerate(pending):
                        report, row, _ = batch[index]
                        failure = failed.get(position)
                        if failure is None:
                            report.accepted += 1
                        elif failure.get("retryable"):
                            retry.append(index)
                        else:
                            self.rejects.write(report, row.where, f"refused by the API: {failure.get('error')}",
                                               failure.get("errors") or [], rejects_original(row))
                    pending, reason = retry, "the stream did not take some events"
                elif response.status >= 500:
                    other_5xx += 1
                    if other_5xx >= OTHER_5XX_ATTEMPTS:
                        raise ImportApiError(f"the API failed {other_5xx} times: {response.status} "
                                             f"{_shown(response.body)}")
                    reason = f"the API answered {response.status}"
                else:
                    raise ImportApiError(f"the API answered {response.status}: {_shown(response.body)}")
            if pending:
                if time.monotonic() + wait > deadline:
                    raise ImportApiError(f"{reason}; gave up after {RETRY_BUDGET_S:.0f} s of retries "
                                         f"({len(pending)} events of a batch not taken)")
                self.sleep(wait)


def _shown(body: Any) -> str:
    return (json.dumps(body) if isinstance(body, (dict, list)) else str(body))[:300]


def _refusal(exc: ValidationError, row: Row) -> tuple[str, list[dict[str, str]]]:
    errors = list(exc.errors)
    if row.field_problems:  # the cell's own text says more than "must be a number (got str)"
        errors = [FieldError(e.field, row.field_problems[e.field]) if e.field in row.field_problems else e
                  for e in errors]
    return "; ".join(map(str, errors)), [e.as_dict() for e in errors]


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def run_import(paths: Sequence[Path], settings: Settings, post: EventPoster | None, *, kind: str | None = None,
               fmt: str | None = None, rejects: Path | None = None, batch_size: int = MAX_BATCH,
               progress: Progress | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
               sleep=time.sleep) -> ImportReport:
    """Import the files in order. `post=None` validates only (nothing is sent; valid rows count as accepted).
    ImportFileError for a file that cannot be read at all (nothing of it is sent)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"--batch: must be 1..{MAX_BATCH} (got {batch_size})")
    progress = progress or Progress(sys.stderr, enabled=False)
    sources = [open_source(path, fmt, kind) for path in paths]  # every header checked before any row is sent
    reports = [FileReport(s.path, s.unit, rejects or default_rejects_path(s.path)) for s in sources]
    sink = _Rejects(reports)
    poster = _Poster(post, sink, progress, sleep) if post else None
    started = time.monotonic()
    error = None
    if poster:
        poster.start()
    try:
        pending: list[tuple[FileReport, Row, dict[str, Any]]] = []
        for source, report in zip(sources, reports):
            progress.start_file(source, report)
            now = clock()
            for row in source.rows:
                report.rows += 1
                if row.problem is not None:
                    sink.write(report, row.where, row.problem, [], rejects_original(row))
                    continue
                try:
                    event = parse_event(row.obj, settings, now=now)
                except ValidationError as exc:
                    sink.write(report, row.where, *_refusal(exc, row), rejects_original(row))
                    continue
                if poster is None:
                    report.accepted += 1
                    continue
                pending.append((report, row, event.as_dict()))
                if len(pending) >= batch_size:
                    poster.submit(pending)
                    pending, now = [], clock()
                    progress.update()
            progress.update()
        if poster:
            if pending:
                poster.submit(pending)
            poster.finish()
    except ImportApiError as exc:
        error = str(exc)
        if poster and poster.is_alive():
            poster.batches.put(None)
            poster.join(timeout=RETRY_BUDGET_S + 30)
    finally:
        sink.close()
        progress.update(force=True)
        progress.finish()
    return ImportReport(reports, time.monotonic() - started, error)


def _rows(n: int) -> str:
    return "row" if n == 1 else "rows"


def summary(report: ImportReport, dry_run: bool = False) -> str:
    verb = "valid" if dry_run else "accepted"
    lines = []
    for f in report.files:
        line = f"{f.path}: {f.rows:,} {_rows(f.rows)}, {f.accepted:,} {verb}, {f.refused:,} refused"
        if f.refused:
            line += f" (reasons in {f.rejects_path})"
        lines.append(line)
        lines += [f"  {sample}" for sample in f.samples]
        if f.refused > len(f.samples):
            lines.append(f"  ... and {f.refused - len(f.samples):,} more")
    rate = report.rows / report.seconds if report.seconds > 0 else 0.0
    lines.append(f"total: {report.rows:,} {_rows(report.rows)}, {report.accepted:,} {verb}, {report.refused:,} refused "
                 f"in {report.seconds:.1f} s ({rate:,.0f} rows/s)" + (" (dry run: nothing sent)" if dry_run else ""))
    if report.error:
        lines.append(f"stopped: {report.error}; rows after the last accepted batch were not sent "
                     "(importing the file again sends them; the rest are duplicates the platform ignores)")
    return "\n".join(lines)
