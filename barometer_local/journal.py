"""The emulator's write-ahead journal of acknowledged events: what a crash between two snapshots would lose.

Snapshots (barometer_local/snapshots.py) are taken every few seconds while something changes, but their
interval grows with the state (at most a tenth of the time goes to snapshotting: ~40 s apart at 100k
stored events, minutes at 1 M). Every Kinesis PutRecord(s) the emulator answers 200 is therefore also
appended to a journal and fsynced before the answer leaves: acknowledged means journaled. A snapshot starts
a new journal segment while its gate holds every change, so the segments before it are exactly what the
snapshot already holds; once the snapshot is on disk they are deleted. At the next start, after the restore,
the segments from the snapshot's mark on are put back on the stream in their order. The runner's positions
come from the same snapshot, so those records are read and processed as if they had just arrived; the
processor and the raw zone treat them as new records (they were never in the restored tables or objects).

Only the events are journaled: everything else the emulator holds after them (tables, lake objects, alerts)
is derived from them by the processor and Firehose, which run again. One segment is a file of JSON lines
`{"target", "headers", "body"}` (body in base64), in `<state>/emulator/journal/`.
"""
from __future__ import annotations

import base64
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

JOURNAL_DIR = "journal"
JOURNALED_TARGETS = frozenset({"Kinesis_20131202.PutRecords", "Kinesis_20131202.PutRecord"})
_KEPT_HEADERS = ("HTTP_AUTHORIZATION", "CONTENT_TYPE", "HTTP_HOST", "HTTP_X_AMZ_DATE")


class JournalError(RuntimeError):
    """A journal segment could not be written or read back."""


class Journal:
    def __init__(self, folder: Path):
        self.folder = folder / JOURNAL_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        segments = self.segments()
        self.segment = (segments[-1] + 1) if segments else 1  # never append to a segment a crash may have cut
        self._handle: io.BufferedWriter | None = None

    def segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.jsonl") if p.stem.isdigit())

    def _path(self, segment: int) -> Path:
        return self.folder / f"{segment:08d}.jsonl"

    def append(self, environ: dict[str, Any], body: bytes) -> None:
        """Write one acknowledged request durably (returns after fsync)."""
        line = json.dumps({"target": environ.get("HTTP_X_AMZ_TARGET", ""),
                           "headers": {k: environ[k] for k in _KEPT_HEADERS if k in environ},
                           "body": base64.b64encode(body).decode()}).encode() + b"\n"
        with self._lock:
            if self._handle is None:
                self._handle = open(self._path(self.segment), "ab")  # noqa: SIM115 - kept open between appends
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def continue_from(self, segment: int) -> None:
        """Append from now on to a segment numbered at least `segment` (a restored snapshot's mark): the
        segments before a mark are taken to be in that snapshot."""
        with self._lock:
            if self._handle is None:
                self.segment = max(self.segment, segment)

    def rotate(self) -> int:
        """Start a new segment (called while the snapshot's gate holds every change); returns its number:
        every segment before it is in the snapshot being taken."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            self.segment += 1
            return self.segment

    def drop_before(self, segment: int) -> None:
        """Delete the segments a durable snapshot holds."""
        for number in self.segments():
            if number < segment:
                self._path(number).unlink(missing_ok=True)

    def entries(self, from_segment: int) -> Iterator[dict[str, Any]]:
        """Journaled requests from `from_segment` on, in order. A last line cut by a crash is skipped: its
        request was never answered, so it was never acknowledged."""
        for number in self.segments():
            if number < from_segment:
                continue
            with open(self._path(number), "rb") as handle:
                for raw in handle:
                    if not raw.endswith(b"\n"):
                        break
                    try:
                        yield json.loads(raw)
                    except ValueError as exc:
                        raise JournalError(f"{self._path(number)}: unreadable line: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def replay(journal: Journal, from_segment: int, app: Callable) -> int:
    """Put the journaled requests from `from_segment` on back through the WSGI `app`; how many. A request the
    restored emulator refuses stops the restore with its answer (it was accepted once: something is wrong)."""
    count = 0
    for entry in journal.entries(from_segment):
        body = base64.b64decode(entry["body"])
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(body)),
                   "HTTP_X_AMZ_TARGET": entry["target"], **entry["headers"]}
        status: list[str] = []
        chunks = app(environ, lambda code, headers, exc_info=None, seen=status: seen.append(code))
        answer = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        if not status or not status[0].startswith("200"):
            raise JournalError(f"replaying {entry['target']} was answered {status[:1]}: {answer[:300]!r}")
        count += 1
    return count
