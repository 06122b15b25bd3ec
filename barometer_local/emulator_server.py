"""The emulator's process: moto's server, with its performance fixes applied before it serves (this module's,
and those of emulator_speedups, emulator_parse, emulator_wire, emulator_http, emulator_gc and, around moto's
dispatcher, emulator_dispatch).

moto 5.2.5 answers a Query on a table's primary key by sorting every item of the whole table
(`Table.all_items()`), then keeping the queried partition: a Query costs O(table), not O(partition).
The hot path reads window departures back from MetricsTable with small Queries, so against a table of
50,000 events each one took tens of milliseconds and the local pipeline slowed to a crawl as the table
grew (docs/traps.md). Within a primary-key Query this hands moto only the queried partition, which is
exactly the set it would have kept; results, order, paging and errors are moto's own. Index queries and
scans are untouched.

Run as `python -m barometer_local.emulator_server -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

_partition = threading.local()  # the hash key of the primary-key Query this thread is answering


def install() -> None:
    from moto.dynamodb.models.table import Table

    from barometer_local import emulator_http, emulator_parse, emulator_speedups, emulator_wire

    emulator_speedups.install()  # idempotent, like the rest of install()
    emulator_parse.install()
    emulator_wire.install()
    emulator_http.install()
    _install_kinesis_positions()  # idempotent too
    _install_atomic_conditional_writes()
    if getattr(Table.query, "_barometer_partition_query", False):
        return
    all_items, query = Table.all_items, Table.query

    def partition_items(self: Table) -> list[Any]:
        hash_key = getattr(_partition, "hash_key", None)
        if hash_key is None or not self.range_key_attr:
            return all_items(self)
        return list(self.items.get(hash_key, {}).values())

    def partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any):
        index_name = kwargs["index_name"] if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        if index_name or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _partition.hash_key = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _partition.hash_key = None

    partition_query._barometer_partition_query = True  # type: ignore[attr-defined]
    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]


MOTO_SHARD_METHODS: tuple = ()  # moto's own, kept by the first install (tests compare with them)


def _install_kinesis_positions() -> None:
    """moto 5.2.5's Kinesis shard finds its last sequence number by listing every key (each PutRecords
    record O(stream)) and answers GetRecords by walking the shard from its first record (each read
    O(stream)): with durable state a stream of a million records made both crawl. A shard's keys are
    consecutive integers (each record takes the last + 1; trimming removes the oldest), so the first and
    last are the ends of its ordered dict and a read starts by index. Results are moto's own; a shard
    whose keys are not consecutive (never seen) takes moto's walk."""
    from moto.kinesis.models import Shard

    if getattr(Shard.get_records, "_barometer_by_index", False):
        return
    global MOTO_SHARD_METHODS
    MOTO_SHARD_METHODS = (Shard.get_records, Shard.get_min_sequence_number, Shard.get_max_sequence_number)
    walk = Shard.get_records

    def first(self: Shard) -> int:
        return next(iter(self.records)) if self.records else 0

    def last(self: Shard) -> int:
        return next(reversed(self.records)) if self.records else 0

    def get_records(self: Shard, last_sequence_id: str, limit: int | None):
        after = int(last_sequence_id)
        low, high = first(self), last(self)
        if not self.records or len(self.records) != high - low + 1:
            return walk(self, last_sequence_id, limit)
        start = max(after + 1, low)
        stop = high + 1 if limit is None else min(high + 1, start + limit)
        results = [self.records[n] for n in range(start, stop)]
        if not results:
            return [], after, 0
        behind = self.records[high].created_at - results[-1].created_at
        return results, results[-1].sequence_number, int(behind * 1000)

    # moto's put_record reads the last sequence number and then stores under the next one ("not safe for
    # concurrency", its own comment): two threads of the server putting at once took one number and the
    # second record overwrote the first, acknowledged and lost (bench/faults.py found it). One lock per
    # process serialises a shard's puts and the reads that walk its ordered dict (a read racing a put
    # raised "OrderedDict mutated during iteration"); the GIL serialises them anyway.
    put_record, shard_lock = Shard.put_record, threading.RLock()

    def locked_put_record(self: Shard, *args: Any, **kwargs: Any) -> Any:
        with shard_lock:
            return put_record(self, *args, **kwargs)

    def locked_get_records(self: Shard, last_sequence_id: str, limit: int | None):
        with shard_lock:
            return get_records(self, last_sequence_id, limit)

    locked_get_records._barometer_by_index = True  # type: ignore[attr-defined]
    Shard.get_min_sequence_number = first  # type: ignore[method-assign]
    Shard.get_max_sequence_number = last  # type: ignore[method-assign]
    Shard.get_records = locked_get_records  # type: ignore[method-assign]
    Shard.put_record = locked_put_record  # type: ignore[method-assign]


def _install_atomic_conditional_writes() -> None:
    """DynamoDB checks a write's condition and applies it as one step; moto reads the item, evaluates the
    condition and stores in three, so two server threads writing one key at once could both pass a version
    check (the processor's key-state guard). One lock per process makes each single-item write (and a
    transaction) atomic again; the GIL serialises them anyway."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend.put_item, "_barometer_atomic", False):
        return
    lock = threading.RLock()

    def atomic(method: Any) -> Any:
        def locked(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        locked._barometer_atomic = True  # type: ignore[attr-defined]
        return locked

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))


def main(argv: list[str] | None = None) -> None:
    """moto's server (its own arguments), plus `--state-dir DIR`: keep the state there (barometer_local.snapshots)."""
    import argparse

    parser = argparse.ArgumentParser(prog="barometer-emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None, help="persist and restore the state in this folder")
    parser.add_argument("--snapshot-interval", type=float, default=None, help="seconds between snapshots (min)")
    ours, rest = parser.parse_known_args(argv)
    handler = prepare()
    if ours.state_dir is None:
        from moto import server as moto_server

        from barometer_local.emulator_dispatch import direct

        moto_server.MotoRequestHandler = handler  # type: ignore[attr-defined]  (its main serves with it)
        serve = moto_server.run_simple  # its main builds the dispatcher and serves it: around it, the direct path
        moto_server.run_simple = lambda host, port, app, **options: serve(host, port, direct(app), **options)
        moto_server.main(rest)
        return
    serve_durable(rest, ours.state_dir, ours.snapshot_interval, handler)


def prepare() -> type:
    """What every emulator process serves with (this server, and the benchmark's probe): moto's fixes, the
    collector's policy (a process-wide setting, so not part of `install`, which tests call in-process);
    returns the request handler class to serve with."""
    from barometer_local.emulator_gc import freeze_survivors_of_full_passes
    from barometer_local.emulator_http import handler_class

    install()
    freeze_survivors_of_full_passes()
    return handler_class()


def serve_durable(moto_argv: list[str], state_dir: Path, interval_s: float | None, handler: type) -> None:
    import argparse
    import signal

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    from barometer_local.emulator_dispatch import direct
    from barometer_local.journal import Journal
    from barometer_local.snapshots import MIN_INTERVAL_S, SNAPSHOT_DIR, Gate, Snapshots

    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(moto_argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    gate = Gate()
    journal = Journal(state_dir / SNAPSHOT_DIR)
    snapshots = Snapshots(state_dir, gate, journal=journal)
    snapshots.restore()  # before serving: nobody sees an empty emulator on a folder with data

    def stop(*_: object) -> None:
        # The first request to stop wins: when `up` dies, its death signal and this child's watchdog both
        # send SIGTERM, and a second SystemExit raised anywhere in the `finally` below would end the process
        # before its final snapshot, silently.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]  (as moto's own main: errors answered, not raised)
    snapshots.replay_journal(app)  # what was acknowledged after the snapshot, before anyone reads the stream
    snapshots.run_periodically(interval_s or MIN_INTERVAL_S)
    try:
        run_simple(args.host, args.port, gate.wrap(direct(app), journal), threaded=True, request_handler=handler)
    finally:
        snapshots.stop()
        # Stopped by SIGTERM (Ctrl-C in `barometer up`, or `up` died): everything so far is kept.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        info = snapshots.write()
        snapshots.log(f"final snapshot: {info.bytes / 1e6:.1f} MB in {info.seconds_total:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
