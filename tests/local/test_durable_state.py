"""Durable local state (issue 13): on one state folder `barometer up` comes back with its data after
Ctrl-C and after a crash of `up`, nothing doubled; and the snapshot mechanism on its own."""
from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from barometer import catalogue as r
from barometer_local.auth import issue_token
from barometer_local.client import ApiClient
from barometer_local.emulator import FAKE_CREDENTIALS, REGION
from barometer_local.snapshots import CHECKPOINTS_FILE, Gate, Snapshots
from barometer_local.supervise import _alive
from tests.local.test_supervision import running_pids, start_up, wait_for, wait_running


def quotes(n: int, start: int, now: datetime) -> list[dict]:
    return [{"kind": "quote", "symbol": f"DUR{i % 7}", "price": 100 + i % 13, "volume": i, "source": "test",
             "event_id": f"dur-{i}", "ts": (now - timedelta(seconds=600 - i * 0.01)).isoformat()}
            for i in range(start, start + n)]


class Platform:
    """A `barometer up` in a subprocess, seen from outside (its API and its emulator)."""

    def __init__(self, home: Path):
        self.home = home
        self.process = start_up(home)
        self.children = wait_running(home, self.process)
        info = json.loads((home / "platform.json").read_text())
        wait_for(lambda: _healthz_ok(info["api_url"]), 60, "the platform to be ready")
        self.api = ApiClient(info["api_url"], issue_token(home))
        config = Config(retries={"max_attempts": 2, "mode": "standard"})
        session = boto3.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
        self.client = lambda s: session.client(s, endpoint_url=info["aws_endpoint"], config=config)

    def post(self, events: list[dict]) -> None:
        for i in range(0, len(events), 100):
            status, body = self.api.post_events(events[i:i + 100])
            assert status == 200, body

    def metrics_ids(self) -> list[str]:
        ddb, ids, kwargs = self.client("dynamodb"), [], {}
        while True:
            page = ddb.scan(TableName=r.METRICS_TABLE.local_name, **kwargs)
            ids += [item["event_id"]["S"] for item in page["Items"] if "event_id" in item]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def stream_records(self) -> int:
        kinesis = self.client("kinesis")
        total = 0
        for shard in kinesis.list_shards(StreamName=r.EVENTS_STREAM.local_name)["Shards"]:
            iterator = kinesis.get_shard_iterator(StreamName=r.EVENTS_STREAM.local_name, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
                total += len(page["Records"])
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return total

    def raw_ids(self) -> list[str]:
        s3, ids = self.client("s3"), []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=r.RAW_BUCKET.local_name):
            for obj in page.get("Contents", []):
                body = gzip.decompress(s3.get_object(Bucket=r.RAW_BUCKET.local_name, Key=obj["Key"])["Body"].read())
                ids += [json.loads(line).get("event_id") for line in body.splitlines() if line.strip()]
        return ids

    def wait_processed(self, ids: set[str]) -> None:
        wait_for(lambda: ids <= set(self.metrics_ids()) and ids <= set(self.raw_ids()), 120,
                 f"{len(ids)} events to reach MetricsTable and the raw zone")

    def stop(self, sig: int) -> None:
        os.kill(self.process.pid, sig)
        self.process.wait(timeout=150)
        wait_for(lambda: not any(_alive(pid) for pid in self.children.values()), 150, "the children to exit")

    def kill_everything(self) -> None:
        for pid in running_pids(self.home).values():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()


def _healthz_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def snapshot_written_at(home: Path) -> float:
    try:
        return json.loads((home / "emulator" / "state.json").read_text())["written_at"]
    except (OSError, ValueError, KeyError):
        return 0.0


def wait_snapshot_settled(home: Path, after: float) -> None:
    """Until a snapshot newer than `after` was written and none followed it for a few seconds."""
    wait_for(lambda: snapshot_written_at(home) > after, 60, "a snapshot after the events")
    last, since = snapshot_written_at(home), time.monotonic()
    while time.monotonic() - since < 5:
        time.sleep(0.5)
        if snapshot_written_at(home) != last:
            last, since = snapshot_written_at(home), time.monotonic()


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill of up", "sigkill of everything"])
def test_data_survives_a_restart_on_the_same_folder_and_nothing_doubles(how, tmp_path):
    now = datetime.now(UTC)
    first_batch, second_batch = quotes(300, 0, now), quotes(200, 300, now)
    platform = Platform(tmp_path)
    try:
        # given 300 events processed by a platform
        posted_at = time.time()
        platform.post(first_batch)
        platform.wait_processed({e["event_id"] for e in first_batch})
        # when it is stopped (Ctrl-C), or `up` alone is killed, or every process of it is killed at once a
        # few seconds later (no final snapshot: the periodic one must hold everything), and started again
        if how == "sigkill of everything":
            wait_snapshot_settled(tmp_path, posted_at)
            platform.kill_everything()
            platform.process.wait()
        else:
            platform.stop(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        platform = Platform(tmp_path)
        # then everything is there, once: the stream, the operational table and the raw zone
        assert platform.stream_records() == 300
        assert sorted(platform.metrics_ids()) == sorted(e["event_id"] for e in first_batch)
        # and new events go through after the old ones without any of those being processed again
        platform.post(second_batch)
        everything = {e["event_id"] for e in first_batch + second_batch}
        platform.wait_processed(everything)
        time.sleep(3)  # a replay of old records would show up within the runner's next passes
        assert sorted(platform.metrics_ids()) == sorted(everything)
        raw = platform.raw_ids()
        assert sorted(raw) == sorted(everything), f"{len(raw)} raw records for {len(everything)} events"
        assert platform.stream_records() == 500
    finally:
        platform.kill_everything()


# -- the mechanism ---------------------------------------------------------------------------
def test_gate_keeps_changes_out_while_a_snapshot_is_taken():
    gate, log = Gate(), []
    gate.enter()

    def snapshot():
        with gate.closed():
            log.append("snapshot")

    taker = threading.Thread(target=snapshot)
    taker.start()
    time.sleep(0.2)
    # given a request inside, the snapshot waits for it
    assert log == []
    gate.leave()
    taker.join(5)
    assert log == ["snapshot"] and gate.changes == 1


def test_snapshot_restores_moto_and_the_positions_taken_with_it(tmp_path):
    from moto import mock_aws

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="t", Item={"pk": {"S": "kept"}})
        url = sqs.create_queue(QueueName="q")["QueueUrl"]  # SQS queues hold a lock: it must pickle
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        s3.create_bucket(Bucket="lake")
        s3.put_object(Bucket="lake", Key="raw/1.gz", Body=b"kept")
        (tmp_path / CHECKPOINTS_FILE).write_text('{"shard": "42"}')
        # given a snapshot, then changes after it (a later item, later positions)
        info = Snapshots(tmp_path, Gate(), log=lambda m: None).write()
        assert info.bytes > 0
        ddb.put_item(TableName="t", Item={"pk": {"S": "lost"}})
        (tmp_path / CHECKPOINTS_FILE).write_text('{"shard": "99"}')
        # when moto is emptied and the snapshot restored
        from moto.core.base_backend import BackendDict

        for backends in BackendDict._instances:
            for account in backends.values():
                account.clear()
            if hasattr(backends, "bucket_accounts"):
                backends.bucket_accounts.clear()
        assert Snapshots(tmp_path, Gate(), log=lambda m: None).restore() is True
        # then the state and the positions are those of the snapshot, together
        assert [i["pk"]["S"] for i in ddb.scan(TableName="t")["Items"]] == ["kept"]
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
        # (S3 finds a bucket through an index beside the backends: without it provisioning again made it anew)
        s3.create_bucket(Bucket="lake")
        assert s3.get_object(Bucket="lake", Key="raw/1.gz")["Body"].read() == b"kept"
        assert json.loads((tmp_path / CHECKPOINTS_FILE).read_text()) == {"shard": "42"}


def test_without_a_snapshot_stale_positions_are_dropped(tmp_path):
    (tmp_path / CHECKPOINTS_FILE).write_text('{"shard": "42"}')
    assert Snapshots(tmp_path, Gate(), log=lambda m: None).restore() is False
    assert not (tmp_path / CHECKPOINTS_FILE).exists()
