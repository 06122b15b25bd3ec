"""The emulator's journal of acknowledged Kinesis puts (barometer_local/journal.py): a SIGKILL of the emulator
between two snapshots loses none of them, and doubles none."""
from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from barometer_local.emulator import FAKE_CREDENTIALS, REGION, free_port, wait_until_ready
from barometer_local.journal import JOURNAL_DIR

REPO = Path(__file__).resolve().parents[2]
STREAM = "journal-test"


class Emulator:
    """The durable emulator server in a process of its own; snapshots only when stopped (interval 10 min)."""

    def __init__(self, state: Path):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "barometer_local.emulator_server", "--state-dir", str(state),
             "--snapshot-interval", "600", "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(state / "emulator.log", "a"))  # noqa: SIM115
        wait_until_ready(f"http://127.0.0.1:{self.port}", timeout_s=120)
        self.kinesis = boto3.client(
            "kinesis", endpoint_url=f"http://127.0.0.1:{self.port}", region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}))

    def put(self, start: int, count: int) -> None:
        for first in range(start, start + count, 25):
            records = [{"Data": json.dumps({"n": n}).encode(), "PartitionKey": f"k{n % 3}"}
                       for n in range(first, min(first + 25, start + count))]
            answer = self.kinesis.put_records(StreamName=STREAM, Records=records)
            assert answer["FailedRecordCount"] == 0

    def records(self) -> dict[str, list[int]]:
        """Every record's n, per partition key, in stream order."""
        by_key: dict[str, list[int]] = {}
        for shard in self.kinesis.list_shards(StreamName=STREAM)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=10000)
                for record in page["Records"]:
                    by_key.setdefault(record["PartitionKey"], []).append(json.loads(record["Data"])["n"])
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return by_key

    def stop(self, sig: int) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=120)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path


def expected(count: int) -> dict[str, list[int]]:
    return {f"k{k}": [n for n in range(count) if n % 3 == k] for k in range(3)}


def test_puts_acknowledged_after_the_last_snapshot_survive_a_sigkill_once_each(state):
    # Given a stream with 60 records in a snapshot (taken when the emulator was stopped)
    emulator = Emulator(state)
    emulator.kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    emulator.put(0, 60)
    emulator.stop(signal.SIGTERM)
    emulator = Emulator(state)
    assert emulator.records() == expected(60)
    # and 140 more acknowledged by the next emulator, which takes no snapshot before it is SIGKILLed,
    # beside a put it refused (no such stream): never acknowledged, never replayed
    emulator.put(60, 140)
    with pytest.raises(ClientError):
        emulator.kinesis.put_records(StreamName="no-such-stream", Records=[{"Data": b"x", "PartitionKey": "k"}])
    emulator.stop(signal.SIGKILL)
    # When an emulator starts on the folder again
    emulator = Emulator(state)
    try:
        # Then every acknowledged record is on the stream once, each key's records in the order they were put
        assert emulator.records() == expected(200)
        assert "replayed 6 Kinesis put(s)" in (state / "emulator.log").read_text()
        # And after a snapshot holds them (Ctrl-C), the journal they came from is gone: a third start has them once
        emulator.stop(signal.SIGTERM)
        segments = sorted((state / "emulator" / JOURNAL_DIR).glob("*.jsonl"))
        assert all(path.stat().st_size == 0 for path in segments), [p.name for p in segments]
        emulator = Emulator(state)
        assert emulator.records() == expected(200)
    finally:
        if emulator.process.poll() is None:
            emulator.stop(signal.SIGKILL)


def test_a_line_cut_by_a_crash_is_not_replayed(state):
    from barometer_local.journal import Journal

    # Given a journal whose last line was cut by a crash mid-write
    journal = Journal(state)
    journal.append({"HTTP_X_AMZ_TARGET": "Kinesis_20131202.PutRecords"}, b'{"whole": 1}')
    journal.close()
    path = state / JOURNAL_DIR / f"{journal.segment:08d}.jsonl"
    with open(path, "ab") as handle:
        handle.write(b'{"target": "Kinesis_20131202.PutRecords", "bo')
    # When it is read back
    entries = list(Journal(state).entries(1))
    # Then only the whole line is there (the cut one was never answered, so never acknowledged)
    assert [json.loads(base64.b64decode(e["body"])) for e in entries] == [{"whole": 1}]
