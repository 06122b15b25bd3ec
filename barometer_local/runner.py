"""The stream runner: does locally what the Lambda service, Firehose and SNS do on AWS.

One process: every event source mapping of the catalogue, per shard and with its settings (Kinesis ->
processor), Kinesis -> raw zone, staging -> processed Parquet, and the poller's schedule when asked for.
While the runner runs forever, each shard's mapping has a thread of its own, as AWS polls and invokes
every shard concurrently: a batch never waits for another shard's batch or for the Firehose work, which
runs in the main loop. SNS -> notifier and SNS -> local mailbox have a thread too (on AWS, SNS invokes
the notifier apart from the stream's consumer): a slow or failing webhook never delays the data path.
`drain()` (tests, the demo) does everything in its one loop.
Positions are checkpointed in the state folder, so killing the runner and starting it again resumes
without losing or doubling anything.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from barometer import catalogue as r
from barometer.aws import AwsTarget
from barometer.aws.json_protocol import KINESIS
from barometer_local import provision as prov
from barometer_local.checkpoints import CheckpointStore
from barometer_local.firehose import ProcessedDelivery, RawDelivery, warm_parquet_writer
from barometer_local.invoker import Invoker, MetricSink
from barometer_local.json_calls import JsonCalls
from barometer_local.mailbox import Mailbox, NotifierPump
from barometer_local.mapping import ShardMapping
from barometer_local.sources import DynamoShardReader, KinesisShardReader, ShardFeed

# The status file is how `barometer health`, the dashboard and the benchmark's flow control see progress: a
# small local file, so a fresh one costs nothing (the emulator never sees it).
STATUS_INTERVAL_S = 0.25
STREAM_AGE_IDLE_S = 30.0  # well inside the API's 2-minute freshness (lambdas/api/health.py LAG_FRESH)


@dataclass
class RunnerOptions:
    flush_seconds: float = 2.0
    poll_interval_s: float | None = None  # run the poller on this schedule (None: never)
    idle_sleep_s: float = 0.05
    metrics_flush_s: float = 2.0
    # The SNS thread's pause when its queues are empty: alerts are rare, and each idle pass costs the emulator
    # two ReceiveMessage calls that the data path's calls would queue behind.
    sns_idle_s: float = 0.25
    # Each shard's consumer in an execution environment of its own (a child process, as on AWS), so shards
    # run concurrently; off, every shard shares one in-process handler that runs a batch at a time.
    isolated_consumers: bool = False


@dataclass
class RunnerStats:
    started_at: str = ""
    loops: int = 0
    consumers: dict[str, dict[str, Any]] = field(default_factory=dict)


def local_environment(endpoint: str) -> dict[str, str]:
    """What the handlers run in this process need: the emulator as their AWS, and local resource names."""
    return {**AwsTarget.emulator(endpoint).environment(), **r.CATALOGUE.local_environment(),
            "POWERTOOLS_METRICS_NAMESPACE": "Barometer", "POWERTOOLS_LOG_LEVEL": os.environ.get(
                "POWERTOOLS_LOG_LEVEL", "WARNING")}


class Runner:
    def __init__(self, aws: AwsTarget, state_dir: Path, options: RunnerOptions):
        self.aws, self.options = aws, options
        self.state_dir = state_dir
        self.checkpoints = CheckpointStore(state_dir / "checkpoints.json")
        self.metrics = MetricSink(aws.client("cloudwatch"))
        self.sqs = aws.client("sqs")
        self.s3 = aws.client("s3")
        self.mappings: list[tuple[str, ShardMapping]] = []
        self.raw: list[RawDelivery] = []
        self.processed = ProcessedDelivery(self.s3, r.PROCESSED_BUCKET.local_name, options.flush_seconds)
        self.poller: Invoker | None = None
        self.next_poll = 0.0
        self.stats = RunnerStats(started_at=datetime.now(UTC).isoformat())
        self._stop = False
        self._sns_thread: threading.Thread | None = None
        self._sns_stop = threading.Event()
        self._consumer_threads: list[threading.Thread] = []
        self._consumers_stop = threading.Event()
        self._build()

    # -- wiring --------------------------------------------------------------------------------
    def _queue_url(self, name: str) -> str:
        return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def _build(self) -> None:
        kinesis = self.aws.client("kinesis")
        summary = kinesis.describe_stream_summary(StreamName=r.EVENTS_STREAM.local_name)["StreamDescriptionSummary"]
        stream_id = f"{summary['StreamARN']}@{summary['StreamCreationTimestamp'].timestamp():.0f}"
        shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=r.EVENTS_STREAM.local_name)["Shards"]]
        failure_url = self._queue_url(r.STREAM_FAILURES_DLQ.local_name)
        # Every consumer of a shard (the processor's mapping, the raw delivery) reads it through one feed.
        def position_key(consumer: str, shard: str) -> str:
            return f"{consumer}|{stream_id}|{shard}"

        raw_key = {shard: position_key("firehose-raw", shard) for shard in shards}
        consumer_keys = {shard: [raw_key[shard]] + [position_key(f.local_name, shard) for f in r.FUNCTIONS
                                                    if f.mapping and f.mapping.source_kind == "kinesis"]
                         for shard in shards}
        feeds = {shard: ShardFeed(KinesisShardReader(
            kinesis, r.EVENTS_STREAM.local_name, summary["StreamARN"], shard,
            ShardFeed.start_after([self.checkpoints.get(k) for k in consumer_keys[shard]]),
            JsonCalls(self.aws, KINESIS))) for shard in shards}

        for function in r.FUNCTIONS:
            mapping = function.mapping
            if mapping is None:
                continue
            isolated = mapping.source_kind == "kinesis" and self.options.isolated_consumers
            # Isolated shards import the handler in their own processes only, never in the runner's.
            invoker = None if isolated else Invoker(function, self.metrics)
            if mapping.source_kind == "kinesis":
                for shard in shards:
                    key = position_key(function.local_name, shard)
                    reader = feeds[shard].consumer(self.checkpoints.get(key))
                    shard_invoker = Invoker(function, self.metrics, isolated=True) if isolated else invoker
                    self.mappings.append((function.local_name, ShardMapping(
                        mapping, shard_invoker, reader, self.checkpoints, key, self.sqs, failure_url, self.metrics)))
            else:
                streams = self.aws.client("dynamodbstreams")
                table = r.CATALOGUE.by_logical_id(mapping.source)
                stream_arn = self.aws.client("dynamodb").describe_table(
                    TableName=table.local_name)["Table"]["LatestStreamArn"]
                description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
                for shard in description["Shards"]:
                    key = f"{function.local_name}|{stream_arn}|{shard['ShardId']}"
                    reader = DynamoShardReader(streams, stream_arn, shard["ShardId"], self.checkpoints.get(key))
                    self.mappings.append((function.local_name, ShardMapping(
                        mapping, invoker, reader, self.checkpoints, key, self.sqs, failure_url, self.metrics)))

        for shard in shards:
            reader = feeds[shard].consumer(self.checkpoints.get(raw_key[shard]))
            self.raw.append(RawDelivery(reader, self.s3, r.RAW_BUCKET.local_name, self.checkpoints, raw_key[shard],
                                        self.options.flush_seconds))

        notifier = Invoker(r.NOTIFIER_FUNCTION, self.metrics)
        self.notifier = NotifierPump(self._queue_url(prov.NOTIFIER_QUEUE), lambda event, _: notifier.invoke(event),
                                     self._queue_url(r.NOTIFY_DLQ.local_name),
                                     function_name=r.NOTIFIER_FUNCTION.local_name, sqs=self.sqs)
        self.mailbox = Mailbox(self.state_dir, self._queue_url(prov.EMAIL_QUEUE), sqs=self.sqs)
        if self.options.poll_interval_s:
            self.poller = Invoker(r.POLLER_FUNCTION, self.metrics)

    # -- the loop ------------------------------------------------------------------------------
    def run_once(self, force_flush: bool = False) -> int:
        """One pass over every consumer; returns how many records moved."""
        moved = 0
        if not self._consumer_threads:
            for _, mapping in self.mappings:
                moved += mapping.step()
        for raw in self.raw:
            moved += raw.step(force=force_flush)
        moved += self.processed.step(force=force_flush)
        if self._sns_thread is None:
            moved += self.sns_step()
        if self.poller and time.monotonic() >= self.next_poll:
            self.next_poll = time.monotonic() + (self.options.poll_interval_s or 60)
            self._poll()
        self.stats.loops += 1
        return moved

    def sns_step(self) -> int:
        """SNS's deliveries: alert messages to the notifier, and to the local mailbox; how many moved."""
        pumped = self.notifier.pump(max_rounds=5)
        return pumped.delivered + pumped.failed + len(self.mailbox.drain(max_rounds=5))

    def start_sns_worker(self) -> None:
        """Run SNS's deliveries on their own thread from now on (run_once no longer does them)."""
        if self._sns_thread is not None:
            return
        self._sns_stop.clear()
        self._sns_thread = threading.Thread(target=self._sns_loop, name="sns-deliveries", daemon=True)
        self._sns_thread.start()

    def stop_sns_worker(self, timeout_s: float = 60.0) -> None:
        """Let the SNS thread finish the invocation in hand (a notifier post is bounded by its timeout)."""
        thread = self._sns_thread
        if thread is None:
            return
        self._sns_stop.set()
        thread.join(timeout_s)
        self._sns_thread = None

    def _sns_loop(self) -> None:
        while not self._sns_stop.is_set():
            try:
                moved = self.sns_step()
            except Exception as exc:  # noqa: BLE001 - the emulator restarting, say: never let the thread die
                print(f"[runner] SNS delivery failed: {exc}", file=sys.stderr)
                moved = 0
            if not moved:
                self._sns_stop.wait(self.options.sns_idle_s)

    def start_consumer_threads(self) -> None:
        """Each shard's mapping on a thread of its own from now on (run_once no longer steps them)."""
        if self._consumer_threads:
            return
        self._consumers_stop.clear()
        for name, mapping in self.mappings:
            thread = threading.Thread(target=self._consume, args=(mapping,), daemon=True,
                                      name=f"mapping-{name}-{mapping.reader.shard_id}")
            self._consumer_threads.append(thread)
            thread.start()

    def stop_consumer_threads(self, timeout_s: float = 120.0) -> None:
        """Let each thread finish the batch in hand (its checkpoint follows), then stop."""
        self._consumers_stop.set()
        for thread in self._consumer_threads:
            thread.join(timeout_s)
        self._consumer_threads = []

    def _consume(self, mapping: ShardMapping) -> None:
        while not self._consumers_stop.is_set():
            try:
                moved = mapping.step()
            except Exception as exc:  # noqa: BLE001 - the emulator restarting, say: the shard waits and goes on
                print(f"[runner] {mapping.reader.shard_id}: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._consumers_stop.wait(1.0)
                continue
            if not moved:
                self._consumers_stop.wait(self.options.idle_sleep_s)

    def run_forever(self) -> None:
        last_metrics = time.monotonic()
        last_status = 0.0
        threading.Thread(target=warm_parquet_writer, name="warm-parquet", daemon=True).start()
        self.start_sns_worker()
        self.start_consumer_threads()
        while not self._stop:
            moved = self.run_once()
            now = time.monotonic()
            if now - last_metrics >= self.options.metrics_flush_s:
                self.metrics.flush()
                last_metrics = now
            if now - last_status >= STATUS_INTERVAL_S:
                self.write_status()
                last_status = now
            if not moved:
                time.sleep(self.options.idle_sleep_s)
        self.stop_consumer_threads()
        for _, mapping in self.mappings:
            mapping.invoker.close()
        self.stop_sns_worker()
        for raw in self.raw:
            if raw.buffer:
                raw.flush()
        self.processed.step(force=True)
        self.metrics.flush()
        self.write_status()

    def stop(self, *_: Any) -> None:
        self._stop = True

    def drain(self, timeout_s: float = 60.0, quiet_passes: int = 3) -> None:
        """Run until nothing moves for a few passes (tests and the demo)."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline and quiet < quiet_passes:
            moved = self.run_once(force_flush=True)
            quiet = quiet + 1 if moved == 0 else 0
        self.metrics.flush()
        self.write_status()

    def _poll(self) -> None:
        try:
            self.poller.invoke({"source": "barometer.local-scheduler",
                                "time": datetime.now(UTC).isoformat(timespec="seconds")})
        except Exception as exc:  # noqa: BLE001 - a failed poll is logged; the runner keeps serving
            print(f"[runner] poll failed: {exc}", file=sys.stderr)

    # -- status --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        consumers: dict[str, dict[str, Any]] = {}
        for name, mapping in self.mappings:
            entry = consumers.setdefault(name, {"processed": 0, "discarded": 0, "buffered": 0, "lag_ms": 0.0})
            entry["processed"] += mapping.processed
            entry["discarded"] += mapping.discarded
            entry["buffered"] += len(mapping.buffer)
            if arrival := mapping.oldest_arrival():
                entry["lag_ms"] = max(entry["lag_ms"], round((time.time() - arrival) * 1000, 1))
        consumers["firehose-raw"] = {"processed": sum(x.delivered for x in self.raw),
                                     "buffered": sum(len(x.buffer) for x in self.raw)}
        consumers["firehose-processed"] = {"processed": self.processed.delivered}
        return {"pid": os.getpid(), "started_at": self.stats.started_at, "loops": self.stats.loops,
                "updated_at": datetime.now(UTC).isoformat(), "consumers": consumers}

    def write_status(self) -> None:
        from barometer_local.paths import write_json_atomic

        write_json_atomic(self.state_dir / "runner-status.json", self.status(), durable=False)
        self._report_stream_age()

    def _report_stream_age(self) -> None:
        """Kinesis's GetRecords.IteratorAgeMilliseconds, as AWS reports it on every read: the age of the oldest
        record the stream's Lambda consumers have not processed yet, 0 once they have drained it (the API's
        stream lag as of now, lambdas/api/health.py)."""
        now = time.time()
        ages = [now - arrival for _, mapping in self.mappings
                if isinstance(mapping.reader, KinesisShardReader) and (arrival := mapping.oldest_arrival())]
        # An idle stream's zero is repeated every STREAM_AGE_IDLE_S only: the emulator keeps every datum.
        last_at, last_age = getattr(self, "_stream_age_reported", (0.0, 0.0))
        if not ages and not last_age and now - last_at < STREAM_AGE_IDLE_S:
            return
        self._stream_age_reported = (now, max(ages, default=0.0))
        self.metrics.add("AWS/Kinesis", {
            "MetricName": "GetRecords.IteratorAgeMilliseconds", "Unit": "Milliseconds",
            "Dimensions": [{"Name": "StreamName", "Value": r.EVENTS_STREAM.local_name}],
            "Timestamp": datetime.fromtimestamp(now, UTC), "Value": round(max(ages, default=0.0) * 1000, 1)})


def main(argv: list[str] | None = None) -> int:
    """`python -m barometer_local.runner --endpoint URL`: the runner as its own process."""
    import argparse

    parser = argparse.ArgumentParser(prog="barometer-runner", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="URL of the running emulator")
    parser.add_argument("--state-dir", type=Path, help="state folder (default: $BAROMETER_HOME or .barometer)")
    parser.add_argument("--flush-seconds", type=float, default=2.0, help="Firehose buffer interval (default 2)")
    parser.add_argument("--poll-interval", type=float, default=None, help="run the poller every N seconds")
    parser.add_argument("--in-process", action="store_true",
                        help="run every shard's consumer in this process, one batch at a time (default: each shard "
                             "in an execution environment of its own, concurrently, as on AWS)")
    args = parser.parse_args(argv)
    os.environ.update(local_environment(args.endpoint))
    from barometer_local.paths import state_dir

    runner = Runner(AwsTarget.emulator(args.endpoint), args.state_dir or state_dir(),
                    RunnerOptions(flush_seconds=args.flush_seconds, poll_interval_s=args.poll_interval,
                                  isolated_consumers=not args.in_process))
    signal.signal(signal.SIGTERM, runner.stop)
    signal.signal(signal.SIGINT, runner.stop)
    runner.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
