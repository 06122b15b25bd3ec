"""Durable local state: snapshot size, snapshot pause and restore time as the stored events grow.

`python -m bench.durable_state --events 100000 200000` fills moto in this process (no HTTP: the
fill is not what is measured) with what each event leaves in the emulator: one Kinesis record
(~190 B of JSON), one MetricsTable item (the processor's 14 attributes), and its share of the raw
and processed zones (one gzip JSON-lines object and one object of the same size per 1,000 events,
about what a 2 s Firehose buffer holds at the local rate). Then it times what the emulator does:
the snapshot (pause = requests held at the gate, total = with the write and fsync) and the restore
at the next start (unpickle + put back); with --up, `barometer up` on that folder (positions at the end of
the stream: nothing to replay) until /healthz answers, and its Ctrl-C. One JSON line per size (run one
size per process: moto cannot be mocked twice in one); docs/local.md has the figures.
"""
from __future__ import annotations

import argparse
import base64
import gc
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def fill(events: int, progress) -> None:
    import boto3
    from moto.backends import get_backend

    from barometer import catalogue as r
    from barometer_local.emulator import ACCOUNT, REGION
    from barometer_local.provision import provision

    class Target:
        def client(self, service):
            return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")

    from barometer_local.emulator_server import install

    install()  # the emulator's own fixes (Kinesis positions by index), as in the server process
    provision(Target(), "http://127.0.0.1:9/hook")
    kinesis = get_backend("kinesis")[ACCOUNT][REGION]
    ddb = get_backend("dynamodb")[ACCOUNT][REGION]
    s3 = Target().client("s3")
    stream = kinesis.describe_stream(stream_arn=None, stream_name=r.EVENTS_STREAM.local_name)
    lines: list[bytes] = []
    started = time.monotonic()
    for i in range(events):
        symbol = f"S{i % 500:03d}"
        ts = f"2026-11-{1 + (i // 86400) % 28:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000000Z"
        event = {"kind": "quote", "symbol": symbol, "price": 100 + (i % 997) / 100, "volume": i % 10000,
                 "ts": ts, "source": "bench", "event_id": f"bench-{i:09d}"}
        data = json.dumps(event).encode()
        stream.put_record(symbol, None, base64.b64encode(data).decode())
        ddb.put_item(r.METRICS_TABLE.local_name, {
            "pk": {"S": f"quote#{symbol}"}, "sk": {"S": f"{ts}#bench-{i:09d}"}, "kind": {"S": "quote"},
            "key": {"S": symbol}, "ts": {"S": ts}, "event_id": {"S": f"bench-{i:09d}"},
            "value": {"N": str(event["price"])}, "local_day": {"S": ts[:10]}, "ingested_at": {"S": ts},
            "price": {"N": str(event["price"])}, "volume": {"N": str(event["volume"])}, "currency": {"S": "USD"},
            "source": {"S": "bench"}, "seq": {"N": str(49650000000000000000000000000000 + i)}})
        lines.append(data + b"\n")
        if len(lines) == 1000 or i == events - 1:
            body = gzip.compress(b"".join(lines), compresslevel=6)
            s3.put_object(Bucket=r.RAW_BUCKET.local_name, Key=f"raw/dt=2026-11-30/bench-{i}.gz", Body=body)
            s3.put_object(Bucket=r.PROCESSED_BUCKET.local_name, Key=f"processed/quotes/dt=2026-11-30/{i}.parquet",
                          Body=body)
            lines = []
        if (i + 1) % 50000 == 0:
            rate = (i + 1) / (time.monotonic() - started)
            progress(f"  filled {i + 1:,} of {events:,} events ({rate:,.0f}/s, ETA {(events - i - 1) / rate:.0f}s)")


def caught_up_positions() -> dict[str, str]:
    """The stream runner's positions at the end of every shard (its key format, barometer_local/runner.py):
    a restarted platform then has nothing to replay, and its start time is the restart's own."""
    import boto3

    from barometer import catalogue as r
    from barometer_local.emulator import REGION

    kinesis = boto3.client("kinesis", region_name=REGION)
    summary = kinesis.describe_stream_summary(StreamName=r.EVENTS_STREAM.local_name)["StreamDescriptionSummary"]
    stream_id = f"{summary['StreamARN']}@{summary['StreamCreationTimestamp'].timestamp():.0f}"
    from moto.backends import get_backend

    from barometer_local.emulator import ACCOUNT

    stream = get_backend("kinesis")[ACCOUNT][REGION].describe_stream(stream_arn=None,
                                                                     stream_name=r.EVENTS_STREAM.local_name)
    positions = {}
    for shard in stream.shards.values():
        if shard.records:
            last = str(shard.get_max_sequence_number())
            for consumer in (r.PROCESSOR_FUNCTION.local_name, "firehose-raw"):
                positions[f"{consumer}|{stream_id}|{shard.shard_id}"] = last
    return positions


def time_up(state_dir: Path, progress) -> dict:
    """`barometer up` on a folder holding the snapshot: seconds until /healthz answers 200, then seconds
    from Ctrl-C until every process exited (its final snapshot included)."""
    import signal
    import subprocess
    import urllib.request

    from barometer_local.emulator import free_port

    port = free_port()
    env = {**os.environ, "BAROMETER_HOME": str(state_dir)}
    started = time.monotonic()
    up = subprocess.Popen([sys.executable, "-m", "barometer_local.cli", "up", "--port", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            if up.poll() is not None:
                raise RuntimeError(f"barometer up exited {up.returncode}; see {state_dir / 'logs'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        ready_s = time.monotonic() - started
        progress(f"  barometer up ready in {ready_s:.1f}s")
        stopping = time.monotonic()
        up.send_signal(signal.SIGINT)
        up.wait(timeout=600)
        return {"up_ready_s": round(ready_s, 1), "up_stop_s": round(time.monotonic() - stopping, 1)}
    finally:
        if up.poll() is None:
            up.kill()


def measure(events: int, progress, up: bool = False, keep: str | None = None) -> dict:
    from moto import mock_aws
    from moto.core.base_backend import BackendDict

    from barometer_local.snapshots import Gate, Snapshots

    with mock_aws(), tempfile.TemporaryDirectory() as temporary:
        folder = keep or temporary
        Path(folder).mkdir(parents=True, exist_ok=True)
        fill(events, progress)
        gc.collect()
        if up:
            (Path(folder) / "checkpoints.json").write_text(json.dumps(caught_up_positions()))
        snapshots = Snapshots(Path(folder), Gate(), log=lambda m: None)
        info = snapshots.write()
        in_process = Snapshots(Path(folder) / "unforked", Gate(), log=lambda m: None).write(fork=False)
        for backends in BackendDict._instances:  # an emulator that starts empty, as after a restart
            for account in backends.values():
                account.clear()
        gc.collect()
        started = time.monotonic()
        snapshots.restore()
        restore_s = time.monotonic() - started
        from moto.backends import get_backend

        from barometer import catalogue as r
        from barometer_local.emulator import ACCOUNT, REGION

        table = get_backend("dynamodb")[ACCOUNT][REGION].get_table(r.METRICS_TABLE.local_name)
        stored = sum(len(partition) for partition in table.items.values())
        assert stored == events, (stored, events)  # the restore is complete
        result = {"events": events, "snapshot_mb": round(info.bytes / 1e6, 1),
                  "bytes_per_event": round(info.bytes / events), "snapshot_pause_s": info.seconds_paused,
                  "snapshot_total_s": info.seconds_total, "unforked_pause_s": in_process.seconds_paused,
                  "restore_s": round(restore_s, 2),
                  "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        if up:
            result.update(time_up(Path(folder), progress))
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.durable_state", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000], help="sizes to measure (100000)")
    parser.add_argument("--up", action="store_true", help="also time `barometer up` on the snapshot (ready, stop)")
    parser.add_argument("--keep", metavar="DIR", help="build the state folder in DIR and keep it (one size only): "
                        "`BAROMETER_HOME=DIR barometer up` then starts on it")
    args = parser.parse_args(argv)
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    if args.keep and len(args.events) > 1:
        parser.error("--keep: give one size")
    for events in args.events:
        print(f"measuring {events:,} events", file=sys.stderr, flush=True)
        print(json.dumps(measure(events, lambda m: print(m, file=sys.stderr, flush=True), up=args.up,
                                 keep=args.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
