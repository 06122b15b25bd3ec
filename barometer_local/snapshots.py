"""Durable emulator state: moto's backends pickled to the state folder, restored at the next start.

moto keeps every resource in memory (one `BackendDict` per service). The emulator server writes all of
them to `<state>/emulator/state.pickle` every few seconds while something changes, and once more when
it is stopped (SIGTERM, which `barometer up` sends at Ctrl-C and the kernel sends when `up` dies), and
loads them before it serves again. A snapshot is consistent: requests that may change state wait at a
gate while it is taken, so it holds each request entirely or not at all. They wait only while the
emulator forks: the child pickles its copy-on-write image and exits, as Redis saves.

The stream runner's positions (`checkpoints.json`) are taken into the same snapshot under the same gate
and written back at restore: restored Kinesis shards and restored positions always agree. The runner
checkpoints only after a batch's writes, so the positions in a snapshot never pass the data in it; the
batches after them are read again after a restore, which the processor absorbs (idempotent by Kinesis
sequence number) and the raw zone too (its object names come from a batch's first sequence number).

What a crash between two snapshots does not lose: the events acknowledged since the last one, which are
journaled before their answer leaves and put back on the stream at the next start (barometer_local/
journal.py). The interval grows with the snapshot's cost (at most a tenth of the time is spent
snapshotting), see docs/local.md for the figures.
"""
from __future__ import annotations

import copyreg
import gc
import io
import json
import os
import pickle
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from barometer_local.journal import JOURNALED_TARGETS, Journal, replay

SNAPSHOT_DIR = "emulator"
SNAPSHOT_FILE = "state.pickle"
SNAPSHOT_INFO = "state.json"
CHECKPOINTS_FILE = "checkpoints.json"
FORMAT = 1
# With the journal, a longer interval loses nothing acknowledged; a shorter one made the pipeline's p99 at
# high rates 1.1-1.9 s (every 2 s) instead of 0.75-0.88 s (docs/benchmarks.md).
MIN_INTERVAL_S = 15.0
MAX_SHARE = 0.1  # of wall time spent snapshotting: the interval is at least 1/MAX_SHARE x the last duration
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # S3's reads and listings, moto's own API
# JSON-protocol actions that change nothing: they run beside a snapshot and do not call for one. The
# stream runner polls with them all the time, so counting them would snapshot an idle platform forever.
READ_ONLY_TARGETS = frozenset({
    "Kinesis_20131202.GetRecords", "Kinesis_20131202.GetShardIterator", "Kinesis_20131202.ListShards",
    "Kinesis_20131202.DescribeStream", "Kinesis_20131202.DescribeStreamSummary", "Kinesis_20131202.ListStreams",
    "DynamoDB_20120810.GetItem", "DynamoDB_20120810.BatchGetItem", "DynamoDB_20120810.Query",
    "DynamoDB_20120810.Scan", "DynamoDB_20120810.DescribeTable", "DynamoDB_20120810.ListTables",
    "DynamoDBStreams_20120810.GetRecords", "DynamoDBStreams_20120810.GetShardIterator",
    "DynamoDBStreams_20120810.DescribeStream", "AmazonSQS.GetQueueUrl", "AmazonSQS.GetQueueAttributes",
    "AmazonSQS.ListQueues", "secretsmanager.GetSecretValue", "secretsmanager.DescribeSecret",
})
# Changes state, but only what a redelivery repairs (a received message's visibility): it waits at the
# gate like any change, and does not by itself call for a snapshot.
UNCOUNTED_TARGETS = frozenset({"AmazonSQS.ReceiveMessage"})

_LOCK_TYPE = type(threading.Lock())
_RLOCK_TYPE = type(threading.RLock())


class SnapshotError(RuntimeError):
    """A snapshot could not be written or read back."""


class Gate:
    """Requests that may change state pass through concurrently; `closed()` waits until none is inside
    and keeps new ones waiting while it lasts."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._inside = 0
        self._closed = False
        self.changes = 0  # requests that may have changed state, since the count was last taken

    def enter(self, counted: bool = True) -> None:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._inside += 1
            self.changes += counted

    def leave(self) -> None:
        with self._cond:
            self._inside -= 1
            if not self._inside:
                self._cond.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._closed = True
            while self._inside:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()

    def wrap(self, app: Callable, journal: Journal | None = None) -> Callable:
        """A WSGI app whose state-changing requests pass this gate, body included. With a journal, a
        Kinesis put answered 200 is journaled before its answer leaves (barometer_local/journal.py)."""
        def gated(environ: dict[str, Any], start_response: Callable) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if environ.get("REQUEST_METHOD", "GET") in READ_ONLY_METHODS or target in READ_ONLY_TARGETS:
                return app(environ, start_response)
            body = None
            if journal is not None and target in JOURNALED_TARGETS:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
            status: list[str] = []

            def recording_start_response(code: str, headers: list, exc_info: Any = None) -> Any:
                status.append(code)
                return start_response(code, headers, exc_info)

            self.enter(counted=target not in UNCOUNTED_TARGETS)
            try:
                result = app(environ, recording_start_response)
                try:
                    answer = [b"".join(result)]
                finally:
                    if hasattr(result, "close"):
                        result.close()
                if body is not None and status and status[-1].startswith("200"):
                    journal.append(environ, body)  # inside the gate: a snapshot holds both or neither
                return answer
            finally:
                self.leave()
        return gated


def _backend_dicts() -> list:
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


_BASE_ATTRIBUTES = frozenset({"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"})


def _extras(backend_dict: Any) -> dict[str, Any]:
    """What a service's BackendDict subclass keeps beside its backends: S3's bucket -> account index,
    without which a restored bucket is invisible and created again empty."""
    return {name: value for name, value in vars(backend_dict).items() if name not in _BASE_ATTRIBUTES}


def limited_size_dict(items: dict) -> Any:
    """A DynamoDB item's attributes rebuilt without the size check of each __setitem__: unpickled
    key by key it re-sums the whole item per attribute (20,000 events took 40 s to restore)."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attrs, items)
    return attrs


_SCALAR_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL"})


def dynamo_scalar(type_: str, value: Any) -> Any:
    """A scalar DynamoDB attribute value rebuilt from (type, value): two fields, as DynamoType.__init__
    would set them from {type: value}, without a state dictionary per value in the snapshot."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    attribute = DynamoType.__new__(DynamoType)
    attribute.type, attribute.value = type_, value
    return attribute


def _reduce_dynamo_type(attribute: Any) -> Any:
    if attribute.type in _SCALAR_TYPES and len(vars(attribute)) == 2:
        return dynamo_scalar, (attribute.type, attribute.value)
    return object.__reduce_ex__(attribute, pickle.HIGHEST_PROTOCOL)  # lists, maps, sets: as they are


_ITEM_FIELDS = frozenset({"hash_key", "range_key", "attrs"})


def dynamo_item(hash_key: Any, range_key: Any, names: tuple, values: tuple) -> Any:
    """A DynamoDB item of scalar attributes rebuilt from its names and (type, value) pairs: one call per
    item instead of one object per attribute, and no size re-check (the item passed it when written)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    item = Item.__new__(Item)  # moto's BaseModel.__new__: the instance is tracked as a constructed one is
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    new, put = DynamoType.__new__, dict.__setitem__
    for name, (type_, value) in zip(names, values):
        attribute = new(DynamoType)
        attribute.type, attribute.value = type_, value
        put(attrs, name, attribute)
    item.hash_key, item.range_key, item.attrs = hash_key, range_key, attrs
    return item


def _reduce_item(item: Any) -> Any:
    values = tuple((v.type, v.value) for v in item.attrs.values())
    if vars(item).keys() == _ITEM_FIELDS and all(t in _SCALAR_TYPES for t, _ in values):
        # Interned names: pickle stores each distinct name once and refers to it after that.
        return dynamo_item, (item.hash_key, item.range_key, tuple(sys.intern(n) for n in item.attrs), values)
    return object.__reduce_ex__(item, pickle.HIGHEST_PROTOCOL)


def _pickler(buffer: Any) -> pickle.Pickler:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # moto keeps locks in some models (SQS queues' Condition); a restored model gets fresh ones.
    table = copyreg.dispatch_table.copy()
    table[threading.Condition] = lambda _: (threading.Condition, ())
    table[_LOCK_TYPE] = lambda _: (threading.Lock, ())
    table[_RLOCK_TYPE] = lambda _: (threading.RLock, ())
    table[LimitedSizeDict] = lambda attrs: (limited_size_dict, (dict(attrs),))
    table[DynamoType] = _reduce_dynamo_type
    table[Item] = _reduce_item
    pickler.dispatch_table = table
    return pickler


@dataclass
class SnapshotInfo:
    bytes: int
    seconds_paused: float
    seconds_total: float
    written_at: float
    cpu_seconds: float = 0.0  # the pickling's own CPU time: what the snapshot took from everything else


def snapshot_line(info: SnapshotInfo) -> str:
    """The log line of a periodic snapshot (`logged_snapshots` reads them back)."""
    return (f"snapshot at {info.written_at - info.seconds_total:.3f}: {info.bytes / 1e6:.1f} MB, requests paused "
            f"{info.seconds_paused * 1000:.0f} ms, {info.seconds_total:.1f} s in all, {info.cpu_seconds:.1f} s of CPU")


_SNAPSHOT_LINE = re.compile(r"snapshot at (?P<at>[0-9.]+): (?P<mb>[0-9.]+) MB, requests paused (?P<paused>[0-9]+) ms, "
                            r"(?P<total>[0-9.]+) s in all, (?P<cpu>[0-9.]+) s of CPU")


def logged_snapshots(log: Path) -> list[dict[str, Any]]:
    """The periodic snapshots an emulator log holds (`snapshot_line`): start (epoch), MB, pause, duration, CPU."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return [{"at": float(m["at"]), "mb": float(m["mb"]), "paused_ms": int(m["paused"]), "total_s": float(m["total"]),
             "cpu_s": float(m["cpu"])} for m in _SNAPSHOT_LINE.finditer(text)]


class SnapshotAbandoned(SnapshotError):
    """A background snapshot stopped for the final one (`Snapshots.stop`)."""


class Snapshots:
    def __init__(self, state_dir: Path, gate: Gate, log: Callable[[str], None] | None = None,
                 journal: Journal | None = None):
        self.state_dir = state_dir
        self.folder = state_dir / SNAPSHOT_DIR
        self.path = self.folder / SNAPSHOT_FILE
        self.gate = gate
        self.journal = journal
        self.restored_journal_segment: int | None = None
        self.log = log or (lambda m: print(f"[emulator] {m}", file=sys.stderr, flush=True))
        self.last: SnapshotInfo | None = None
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._child_lock = threading.Lock()
        self._background_child: int | None = None  # a background snapshot's process, until it is reaped

    # -- writing -------------------------------------------------------------------------------
    def write(self, fork: bool | None = None, background: bool = False) -> SnapshotInfo:
        """One consistent snapshot. With fork (the default where the OS has it), requests wait only while
        the process forks: the child pickles its copy-on-write image of the state and exits, as Redis
        saves; without fork, they wait for the whole pickling.

        A `background` snapshot (the periodic ones) pickles at the lowest priority: on a busy machine its
        seconds of pickling would otherwise take a core from the pipeline, whose p99 went over a second
        while it ran (docs/benchmarks.md). `stop` abandons it, so the final snapshot, at normal priority,
        never waits behind a starved one."""
        fork = hasattr(os, "fork") if fork is None else fork
        with self._write_lock:
            started = time.monotonic()
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{SNAPSHOT_FILE}.{os.getpid()}"
            with self.gate.closed():
                paused_at = time.monotonic()
                self.gate.changes = 0
                checkpoints = _read_text(self.state_dir / CHECKPOINTS_FILE)
                mark = self.journal.rotate() if self.journal else None
                if fork:
                    with self._child_lock:
                        if background and self._stop.is_set():
                            raise SnapshotAbandoned("the emulator is stopping")
                        child = os.fork()
                        if child == 0:  # the child: only this thread exists; no request is inside the gate
                            code = 1
                            try:
                                if background:
                                    os.nice(19)
                                self._dump(tmp, checkpoints, mark)
                                code = 0
                            except BaseException as exc:  # noqa: BLE001 - the child reports any failure, then exits
                                os.write(2, f"[emulator] snapshot failed: {type(exc).__name__}: {exc}\n".encode())
                            finally:
                                os._exit(code)
                        if background:
                            self._background_child = child
                else:
                    cpu_started = time.process_time()
                    self._dump(tmp, checkpoints, mark)
                    cpu = time.process_time() - cpu_started
                paused = time.monotonic() - paused_at
            if fork:
                status, cpu = self._reap(child)
                if os.waitstatus_to_exitcode(status) != 0:
                    tmp.unlink(missing_ok=True)
                    if background and self._stop.is_set():
                        raise SnapshotAbandoned(f"stopped for the final snapshot; {self.path} is unchanged")
                    raise SnapshotError(f"the snapshot process failed (status {status}); {self.path} is unchanged")
            size = tmp.stat().st_size
            os.replace(tmp, self.path)
            _fsync_dir(self.folder)
            if self.journal and mark is not None:
                self.journal.drop_before(mark)  # the snapshot on disk holds them
            info = SnapshotInfo(size, round(paused, 3), round(time.monotonic() - started, 3), time.time(),
                                round(cpu, 3))
            (self.folder / SNAPSHOT_INFO).write_text(json.dumps(info.__dict__))
            self.last = info
            return info

    def _reap(self, child: int) -> tuple[int, float]:
        """Wait for a snapshot process; its wait status and CPU seconds. It is reaped under the lock `stop`
        kills under, so a kill never reaches a recycled process id."""
        if hasattr(os, "waitid"):
            os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)  # exited, still ours until reaped below
        with self._child_lock:
            _, status, usage = os.wait4(child, 0)
            if self._background_child == child:
                self._background_child = None
        return status, usage.ru_utime + usage.ru_stime

    def _dump(self, tmp: Path, checkpoints: str | None, journal_segment: int | None = None) -> None:
        services = _backend_dicts()
        state = {service.service_name: {account: dict(regions) for account, regions in service.items()}
                 for service in services}
        extras = {service.service_name: _extras(service) for service in services}
        with open(tmp, "wb") as handle, _no_gc():
            _pickler(handle).dump({"format": FORMAT, "checkpoints": checkpoints, "backends": state,
                                   "extras": extras, "journal_segment": journal_segment})
            handle.flush()
            os.fsync(handle.fileno())

    def run_periodically(self, interval_s: float = MIN_INTERVAL_S) -> threading.Thread:
        def loop() -> None:
            wait = interval_s
            while not self._stop.wait(wait):
                if not self.gate.changes:
                    continue
                try:
                    info = self.write(background=True)
                except SnapshotAbandoned:
                    return
                except Exception as exc:  # noqa: BLE001 - keep serving; the next try may succeed (disk full, ...)
                    self.log(f"snapshot failed: {type(exc).__name__}: {exc}")
                    continue
                # One line per snapshot: when requests waited and for how long (the benchmark reads these
                # to tell a snapshot's pause from the pipeline's own latency).
                self.log(snapshot_line(info))
                # Its cost is what it took from the rest: the pause and the pickling's CPU. Its wall time is
                # not: at the lowest priority a busy machine stretches it without anyone waiting on it.
                wait = max(interval_s, (info.seconds_paused + info.cpu_seconds) / MAX_SHARE)
        thread = threading.Thread(target=loop, name="snapshots", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """No more background snapshots; one under way is abandoned (its process killed) so that the
        final snapshot, which the caller writes next, starts at once and at normal priority."""
        with self._child_lock:
            self._stop.set()
            if self._background_child is not None:
                os.kill(self._background_child, signal.SIGKILL)

    def replay_journal(self, app: Callable) -> int:
        """After `restore`: put the events acknowledged after the restored snapshot back on the stream
        (barometer_local/journal.py); how many requests. Without a snapshot nothing is replayed (there is no
        stream yet to put them on, and nothing was acknowledged before the first snapshot's provisioning)."""
        if self.journal is None:
            return 0
        mark = self.restored_journal_segment
        if mark is None:
            self.journal.drop_before(self.journal.segment)
            return 0
        self.journal.drop_before(mark)  # left by a crash between a snapshot's rename and its cleanup
        self.journal.continue_from(mark)
        count = replay(self.journal, mark, app)
        if count:
            self.gate.changes += count  # a snapshot soon takes them in
            self.log(f"replayed {count} Kinesis put(s) acknowledged after the snapshot")
        return count

    # -- reading -------------------------------------------------------------------------------
    def restore(self) -> bool:
        """Load the last snapshot into moto, and its positions into checkpoints.json. Without a
        snapshot, stale positions are removed (they would name streams that no longer exist)."""
        checkpoints_path = self.state_dir / CHECKPOINTS_FILE
        if not self.path.exists():
            checkpoints_path.unlink(missing_ok=True)
            return False
        started = time.monotonic()
        try:
            with open(self.path, "rb") as handle, _no_gc():
                snapshot = pickle.load(handle)
                # What was restored lives as long as the emulator: out of the collector's sight, so no
                # collection ever walks these millions of objects again (seconds each at 1 M events).
                gc.freeze()
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error to the user
            raise SnapshotError(f"cannot read the emulator snapshot {self.path}: {type(exc).__name__}: {exc}; "
                                "`barometer reset` empties the state folder") from None
        if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
            raise SnapshotError(f"{self.path} is not a snapshot this version reads; `barometer reset` empties "
                                "the state folder")
        from moto.backends import get_backend

        for service, extras in snapshot.get("extras", {}).items():
            vars(get_backend(service)).update(extras)
        for service, accounts in snapshot["backends"].items():
            backend_dict = get_backend(service)
            for account, regions in accounts.items():
                account_backends = backend_dict[account]
                for region, backend in regions.items():
                    dict.__setitem__(account_backends, region, backend)
        self.restored_journal_segment = snapshot.get("journal_segment")
        if snapshot["checkpoints"] is None:
            checkpoints_path.unlink(missing_ok=True)
        else:
            tmp = checkpoints_path.with_name(f".{CHECKPOINTS_FILE}.restore")
            tmp.write_text(snapshot["checkpoints"])
            os.replace(tmp, checkpoints_path)
        self.log(f"restored {self.path.stat().st_size / 1e6:.1f} MB of state in {time.monotonic() - started:.1f}s")
        return True


@contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of small objects are made (restore) or walked (snapshot) and none is garbage: the cyclic
    collector's passes over them only cost time (restore twice as slow with it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
