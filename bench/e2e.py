"""End to end on the embedded default: POST /v1/events -> Kinesis -> processor -> MetricsTable and
LatestTable, on the real local platform; beside it, the emulator's own DynamoDB
BatchWriteItem throughput (the ceiling: the pipeline writes every event to DynamoDB at least once).

Load: batches of 500 valid events (quotes over many symbols, weather over the configured cities;
timestamps now-ish, strictly increasing per key) from one client, keeping at most `backlog`
events posted but not yet visible in LatestTable, so the pipeline is saturated without an unbounded
queue. Visibility: a key's `events` count in LatestTable says how many of its events the processor
has applied (in the order they were posted: one partition key per symbol or city), and `updated_at`
says when that item was built; see `Watcher`.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from barometer import catalogue as r
from barometer.core.events import event_local_day, parse_event
from barometer.core.records import metrics_item
from barometer.core.timeutil import format_public
from barometer.ddb import to_item
from barometer_local.snapshots import logged_snapshots
from bench import workload

BATCH = 500  # the API's largest batch
WRITE_BATCH = 25  # BatchWriteItem's largest batch
# The sample's reads cost the emulator ~3 ms per key: rarer while the pipeline is saturated.
SATURATED_POLL_S = 2.0
STATUS_READ_S = 0.05  # the flow control reads the runner's status file (a local file, no emulator call) this often


# -- load ------------------------------------------------------------------------------------------
class LiveLoad:
    """Valid events stamped at generation time, strictly increasing per key."""

    def __init__(self, settings, extra_symbols: int, weather_share: float = 0.1, seed: int = 7):
        self.rng = random.Random(seed)
        self.symbols = list(settings.symbols) + workload.extra_symbols(extra_symbols)
        self.cities = list(settings.cities)
        self.weather_share = weather_share
        self.prices = {s: 50.0 + self.rng.random() * 400 for s in self.symbols}
        self.last: dict[str, datetime] = {}

    def _ts(self, pk: str) -> str:
        ts = datetime.now(UTC)
        previous = self.last.get(pk)
        if previous is not None and ts <= previous:
            ts = previous + timedelta(microseconds=1)
        self.last[pk] = ts
        return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def batch(self, size: int) -> tuple[list[dict[str, Any]], list[str]]:
        rng = self.rng
        events, keys = [], []
        for _ in range(size):
            if rng.random() < self.weather_share:
                city = rng.choice(self.cities)
                pk = f"weather#{city}"
                events.append({"kind": "weather", "city": city, "ts": self._ts(pk),
                               "temp_c": round(rng.uniform(0, 20), 2), "humidity_pct": round(rng.uniform(30, 90), 1),
                               "wind_mps": round(rng.uniform(0, 10), 2), "precip_mm": round(rng.uniform(0, 2), 2),
                               "source": "bench"})
            else:
                symbol = rng.choice(self.symbols)
                pk = f"quote#{symbol}"
                self.prices[symbol] *= 1 + rng.gauss(0, 0.001)
                events.append({"kind": "quote", "symbol": symbol, "price": round(self.prices[symbol], 4),
                               "ts": self._ts(pk), "volume": rng.randrange(1, 10_000), "source": "bench"})
            keys.append(pk)
        return events, keys


class Watcher(threading.Thread):
    """Turns LatestTable's per-key `events` counts into per-event visibility times.

    Latency comes from a sample of keys read every `poll_s` (one BatchGetItem with a projection: a
    Scan of every key that often cost the emulator more than the pipeline did). Progress for the
    flow control comes from the stream runner's status file (events the processor applied), which
    costs the emulator nothing; `final_check` then reads every key once.

    An item has one `updated_at`, its last batch's. A read that finds a key's count grown by the events
    of two POSTs stamps the earlier POST's events with the later batch's time: an upper bound, counted in
    `events_stamped_late`. Reading more often than POSTs are sent keeps those few (with reads every 0.5 s
    and a POST every ~0.6 s, 4.7% of the paced phase's events were, enough to set its p99 alone).
    """

    def __init__(self, ddb, table: str, sample: list[str], status_path: Path, poll_s: float):
        super().__init__(name="bench-latest-watcher", daemon=True)
        self.ddb, self.table, self.sample, self.status_path, self.poll_s = ddb, table, sample, status_path, poll_s
        self.lock = threading.Lock()
        self.posted: dict[str, list[tuple[float, str]]] = {}  # pk -> (POST start, phase) of its events, in order
        self.seen: dict[str, int] = {}
        self.applied = 0  # events the processor has taken care of (runner status)
        self.latency_stamp: dict[str, list[float]] = {}  # per phase, by updated_at (when the item was built)
        self.latency_poll: dict[str, list[float]] = {}  # per phase, by the end of the read that first saw it
        self.latency_sent: dict[str, list[float]] = {}  # per phase, the POST start of each event timed above
        # Events whose key had taken a later POST's events too when the read first saw them: the item's one
        # `updated_at` is the later batch's, so their latency is an upper bound (see `observe`).
        self.stamped_late: dict[str, int] = {}
        self.wake = threading.Event()  # set to read at once (a new phase's poll interval starts now)
        self.reads = 0
        self.read_s = 0.0
        self.stop_flag = threading.Event()
        self.error: BaseException | None = None

    def add_posted(self, keys: list[str], at: float, phase: str) -> None:
        with self.lock:
            for pk in keys:
                self.posted.setdefault(pk, []).append((at, phase))

    def read(self, pks: list[str]) -> list[dict[str, Any]]:
        items = []
        for start in range(0, len(pks), 100):
            request = {self.table: {"Keys": [{"pk": {"S": pk}} for pk in pks[start:start + 100]],
                                    "ConsistentRead": True, "ProjectionExpression": "#pk, #events, #updated",
                                    "ExpressionAttributeNames": {"#pk": "pk", "#events": "events",
                                                                 "#updated": "updated_at"}}}
            while request:
                page = self.ddb.batch_get_item(RequestItems=request)
                items.extend(page.get("Responses", {}).get(self.table, []))
                request = page.get("UnprocessedKeys") or None
        return items

    @staticmethod
    def state(item: dict[str, Any]) -> tuple[str, int, float]:
        stamp = datetime.fromisoformat(item["updated_at"]["S"]).timestamp()
        return item["pk"]["S"], int(item["events"]["N"]), stamp

    def observe(self) -> None:
        started = time.time()
        items = self.read(self.sample)
        done = time.time()
        self.reads += 1
        self.read_s += done - started
        with self.lock:
            for item in items:
                pk, count, stamp = self.state(item)
                seen = self.seen.get(pk, 0)
                posted = self.posted.get(pk, [])
                count = min(count, len(posted))
                newest = posted[count - 1][0] if count > seen else 0.0
                for sent, phase in posted[seen:count]:
                    self.latency_stamp.setdefault(phase, []).append(max(0.0, stamp - sent))
                    self.latency_sent.setdefault(phase, []).append(sent)
                    if sent != newest:
                        self.stamped_late[phase] = self.stamped_late.get(phase, 0) + 1
                    self.latency_poll.setdefault(phase, []).append(done - sent)
                self.seen[pk] = max(seen, count)

    def read_status(self) -> None:
        from barometer_local.paths import read_json

        try:
            status = read_json(self.status_path, {}) or {}
        except ValueError:
            return
        consumer = status.get("consumers", {}).get(r.PROCESSOR_FUNCTION.local_name, {})
        self.applied = max(self.applied, int(consumer.get("processed", 0)))

    def final_check(self) -> tuple[float, dict[str, tuple[int, int]]]:
        """(time the last event became visible, keys whose count differs: pk -> (posted, in LatestTable))."""
        with self.lock:
            expected = {pk: len(times) for pk, times in self.posted.items()}
        last, wrong = 0.0, {}
        found = {}
        for item in self.read(sorted(expected)):
            pk, count, stamp = self.state(item)
            found[pk] = count
            last = max(last, stamp)
        for pk, count in expected.items():
            if found.get(pk, 0) != count:
                wrong[pk] = (count, found.get(pk, 0))
        return last, wrong

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set():
                self.read_status()
                self.observe()
                self.wake.wait(self.poll_s)
                self.wake.clear()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            self.error = exc


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_seconds(pid: int, running_children: bool = False) -> float:
    """utime + stime of a process and its waited-for children, from /proc; with `running_children`, also
    of its children still running (the runner's shard consumers run in child processes of their own)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir() if running_children else ():
        if entry.name.isdigit() and (child := _stat(int(entry.name))) and child[1] == str(pid):
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def sample_keys(load: LiveLoad, size: int) -> list[str]:
    """Keys whose every event is timed: the first city (a busy key) and symbols spread over the list."""
    symbols = [f"quote#{s}" for s in load.symbols]
    step = max(1, len(symbols) // max(size - 1, 1))
    return [f"weather#{load.cities[0]}"] + symbols[::step][:size - 1] if load.cities else symbols[::step][:size]


class Driver:
    """Posts the load and waits for it; one watcher over every phase (LatestTable counts are cumulative)."""

    def __init__(self, platform, settings, extra_symbols: int, poll_s: float, sample_size: int, progress):
        from barometer_local.client import ApiClient

        self.api = ApiClient(platform.api_url, platform.token(), timeout_s=60)
        self.load = LiveLoad(settings, extra_symbols)
        self.watcher = Watcher(platform.target().client("dynamodb"), r.LATEST_TABLE.local_name,
                               sample_keys(self.load, sample_size), platform.state_dir / "runner-status.json", poll_s)
        self.watcher.read_status()
        self.baseline = self.watcher.applied
        self.posted = 0
        self.phases: dict[str, tuple[float, float]] = {}  # phase -> (first POST, end of posting)
        self.status_read_at = 0.0
        self.progress = progress

    def in_latest(self) -> int:
        if self.watcher.error:
            raise self.watcher.error
        # The flow control's view of progress must be fresh: the watcher reads the status file only every
        # 2 s while saturated, and a view that stale holds back posts the pipeline could already take.
        if time.monotonic() - self.status_read_at >= STATUS_READ_S:
            self.watcher.read_status()
            self.status_read_at = time.monotonic()
        return self.watcher.applied - self.baseline

    def post(self, phase: str, seconds: float, max_events: int, backlog: int, rate: float | None) -> dict[str, Any]:
        """Batches of 500 for `seconds` (or `max_events`): as fast as `backlog` allows, or paced at `rate`."""
        posted, post_s, batches = 0, 0.0, 0
        started = time.time()
        next_report = started + 5
        while posted < max_events and time.time() - started < seconds:
            size = min(BATCH, max_events - posted)
            while self.posted - self.in_latest() > max(backlog - size, 0):
                time.sleep(0.01)
            if rate:
                time.sleep(max(0.0, started + posted / rate - time.time()))
                if time.time() - started >= seconds:
                    break
            events, keys = self.load.batch(size)
            sent = time.time()
            self.watcher.add_posted(keys, sent, phase)
            status, body = self.api.post_events(events)
            post_s += time.time() - sent
            if status != 200 or body.get("accepted") != size:
                raise RuntimeError(f"POST /v1/events answered {status}: {str(body)[:500]} (every event was valid)")
            posted += size
            self.posted += size
            batches += 1
            if time.time() >= next_report:
                next_report += 5
                self.progress(f"  {phase}: {time.time() - started:5.1f}s, posted {posted:,}, "
                              f"{self.posted - self.in_latest():,} not yet in LatestTable")
        self.phases[phase] = (started, time.time())
        return {"events": posted, "started": started, "post_s": post_s, "batches": batches}

    def drain(self, timeout_s: float) -> float:
        """Wait until LatestTable counts every posted event; the time the last one became visible."""
        deadline = time.time() + timeout_s
        while self.in_latest() < self.posted and time.time() < deadline:
            time.sleep(0.05)
        for _ in range(3):  # the status file can run a moment ahead of what a read shows
            self.watcher.observe()
            last_visible, wrong = self.watcher.final_check()
            if not wrong:
                return last_visible
            time.sleep(1.0)
        shown = dict(list(wrong.items())[:5])
        raise RuntimeError(f"{len(wrong)} keys of LatestTable do not count what was posted within {timeout_s:.0f}s "
                           f"(posted, found): {shown}")

    def latency(self, phase: str) -> dict[str, Any]:
        lat = self.watcher.latency_stamp.get(phase, [])
        sampled = sum(1 for pk in self.watcher.sample for _, p in self.watcher.posted.get(pk, []) if p == phase)
        if len(lat) != sampled or not lat:
            raise RuntimeError(f"{phase}: timed {len(lat)} of the {sampled} events of the sampled keys")
        poll = self.watcher.latency_poll[phase]
        p99 = _percentile(lat, 0.99)
        return {"p50_ms": round(statistics.median(lat) * 1000, 1), "p99_ms": round(p99 * 1000, 1),
                "max_ms": round(max(lat) * 1000, 1), "poll_p50_ms": round(statistics.median(poll) * 1000, 1),
                "poll_p99_ms": round(_percentile(poll, 0.99) * 1000, 1), "events_timed": len(lat),
                "events_stamped_late": self.watcher.stamped_late.get(phase, 0),
                "tail": tail_batches(lat, self.watcher.latency_sent[phase], p99, self.phases[phase][0])}

    def snapshots(self, phase: str, emulator_log: Path) -> list[dict[str, Any]]:
        """The emulator's snapshots while a phase posted (and up to 5 s after), from its log; `at_s` is
        seconds into the phase."""
        start, end = self.phases[phase]
        return [{"at_s": round(taken["at"] - start, 2), "paused_ms": taken["paused_ms"], "total_s": taken["total_s"],
                 "cpu_s": taken["cpu_s"], "mb": taken["mb"]}
                for taken in logged_snapshots(emulator_log) if start <= taken["at"] <= end + 5]


def tail_batches(latencies: list[float], sent: list[float], threshold: float, started: float,
                 top: int = 5) -> list[dict[str, Any]]:
    """The POSTs whose timed events reached `threshold` (the p99): when in the phase they were sent, how many
    events of each, and the slowest; the worst `top`, in the order they were sent. One slow POST of 500
    events holds ~1.5% of a phase's timed events, enough to set its p99 alone."""
    batches: dict[float, list[float]] = {}
    for latency, at in zip(latencies, sent):
        if latency >= threshold:
            batches.setdefault(at, []).append(latency)
    worst = sorted(batches.items(), key=lambda kv: -max(kv[1]))[:top]
    return [{"at_s": round(at - started, 2), "events": len(values), "max_ms": round(max(values) * 1000, 1)}
            for at, values in sorted(worst)]


def run_load(platform, settings, *, seconds: float, max_events: int, extra_symbols: int, backlog: int,
             latency_seconds: float, poll_s: float, drain_timeout_s: float, progress=print, sample_size: int = 24,
             after_saturated=None, operations_path: Path | None = None) -> dict[str, Any]:
    driver = Driver(platform, settings, extra_symbols, poll_s, sample_size, progress)
    pids = {"emulator": platform.emulator.process.pid, "runner": platform.runner.pid, "bench+api": os.getpid()}
    operations_before = _operations_so_far(pids["emulator"], operations_path)
    cpu_before = {name: _cpu_seconds(pid, name == "runner") for name, pid in pids.items()}
    driver.watcher.start()
    try:
        progress(f"  saturated: posting for {seconds:.0f}s (at most {max_events:,} events, {backlog:,} in flight)")
        driver.watcher.poll_s = SATURATED_POLL_S  # its latency is queueing anyway: spare the emulator
        busy = driver.post("saturated", seconds, max_events, backlog, rate=None)
        last_visible = driver.drain(drain_timeout_s)
        cpu = {name: round(_cpu_seconds(pid, name == "runner") - cpu_before[name], 2) for name, pid in pids.items()}
        operations = _phase_operations(operations_before, _operations_so_far(pids["emulator"], operations_path),
                                       busy["events"])
        elapsed = last_visible - busy["started"]
        rate = busy["events"] / elapsed
        progress(f"  saturated: {busy['events']:,} events in LatestTable {elapsed:.1f}s after the first POST: "
                 f"{rate:,.1f} events/s")
        if after_saturated is not None:
            after_saturated()
        paced_rate = rate / 2
        progress(f"  paced: posting at {paced_rate:,.1f} events/s (half the sustained rate) for {latency_seconds:.0f}s")
        driver.watcher.poll_s = poll_s
        driver.watcher.wake.set()  # not after the rest of a saturated-phase wait: the first paced POST is timed too
        paced = driver.post("paced", latency_seconds, max_events, backlog, rate=paced_rate)
        driver.drain(drain_timeout_s)
    finally:
        driver.watcher.stop_flag.set()
        driver.watcher.wake.set()
        driver.watcher.join(timeout=10)
    at_half, saturated = driver.latency("paced"), driver.latency("saturated")
    at_half["snapshots"] = driver.snapshots("paced", platform.state_dir / "logs" / "emulator.log")
    return {
        "e2e_events_per_s": round(rate, 1),
        "e2e_p50_ms": at_half["p50_ms"], "e2e_p99_ms": at_half["p99_ms"],
        "latency_at_half_rate": {**at_half, "events": paced["events"], "rate_events_per_s": round(paced_rate, 1)},
        "latency_saturated": saturated,
        "api_accept_events_per_s": round(busy["events"] / busy["post_s"], 1),
        "api_post_ms_per_batch": round(busy["post_s"] / busy["batches"] * 1000, 1),
        "events": busy["events"], "keys": len(driver.watcher.posted), "seconds": round(elapsed, 2),
        "latency_sample_keys": driver.watcher.sample,
        "cpu_seconds_saturated": cpu,
        **({"emulator_operations_saturated": operations} if operations else {}),
        "watcher": {"reads": driver.watcher.reads,
                    "mean_read_ms": round(driver.watcher.read_s / max(driver.watcher.reads, 1) * 1000, 1)},
    }


# -- the ceiling -----------------------------------------------------------------------------------
def ddb_ceiling(ddb, settings, items: int, progress=print) -> dict[str, Any]:
    """Items/s of sequential 25-item BatchWriteItem calls into a fresh table, MetricsTable-shaped items."""
    table = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    ingested = format_public(datetime.now(UTC))
    now = datetime.now(UTC)
    requests = []
    for obj in workload.events(settings, items, seed=11):
        event = parse_event(obj, settings, now)
        requests.append({"PutRequest": {"Item": to_item(metrics_item(event, event_local_day(event, settings),
                                                                         ingested))}})
    try:
        started = time.perf_counter()
        for i in range(0, len(requests), WRITE_BATCH):
            pending = requests[i:i + WRITE_BATCH]
            while pending:
                response = ddb.batch_write_item(RequestItems={table: pending})
                pending = response.get("UnprocessedItems", {}).get(table, [])
        elapsed = time.perf_counter() - started
        count = ddb.describe_table(TableName=table)["Table"].get("ItemCount")
    finally:
        ddb.delete_table(TableName=table)
    rate = items / elapsed
    progress(f"emulator DynamoDB BatchWriteItem: {rate:,.0f} items/s ({items:,} MetricsTable-shaped items, "
             f"25 per call, one client, {elapsed:.1f}s)")
    if count is not None and count != items:
        raise RuntimeError(f"the ceiling table holds {count} items, {items} were written")
    return {"emulator_ddb_items_per_s": round(rate, 1), "ceiling_seconds": round(elapsed, 2)}


# -- where the emulator's time goes (optional) -----------------------------------------------------
@contextlib.contextmanager
def probed_emulator(stats_path: Path, profile_every: int = 0):
    """Make the platform start `bench.emulator_probe` (moto plus a per-operation timer) instead of moto."""
    from barometer_local import emulator as em

    original = em.Emulator.__dict__["start"]

    def start(cls, port=None, log_path=None, **_durability):  # a fresh home each run: nothing to restore
        port = port or em.free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.emulator_probe", "-H", "127.0.0.1", "-p", str(port), "--stats",
             str(stats_path), "--profile-every", str(profile_every)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **em.FAKE_CREDENTIALS},
            cwd=Path(__file__).resolve().parents[1], start_new_session=True)
        emulator = cls(f"http://127.0.0.1:{port}", process)
        em.wait_until_ready(emulator.url)
        return emulator

    em.Emulator.start = classmethod(start)
    try:
        yield
    finally:
        em.Emulator.start = original


def _operations_so_far(emulator_pid: int, operations_path: Path | None, timeout_s: float = 10.0) -> dict[str, Any]:
    """The probe's totals so far (it writes them to `operations_path` on SIGUSR1); {} without the probe."""
    if operations_path is None:
        return {}
    asked = time.time()
    os.kill(emulator_pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            snapshot = json.loads(operations_path.read_text())
            if snapshot["taken"] >= asked:
                return snapshot["operations"]
        time.sleep(0.02)
    raise RuntimeError(f"the emulator probe wrote no snapshot to {operations_path} within {timeout_s:.0f}s")


def _phase_operations(before: dict[str, Any], after: dict[str, Any], events: int) -> dict[str, Any]:
    """Per operation, what the emulator spent between two snapshots, per call and per event of the phase."""
    phase = {}
    for name, total in after.items():
        start = before.get(name, {"seconds": 0.0, "cpu_seconds": 0.0, "calls": 0})
        calls, cpu = total["calls"] - start["calls"], total["cpu_seconds"] - start["cpu_seconds"]
        if calls:
            phase[name] = {"calls": calls, "cpu_seconds": round(cpu, 3),
                           "cpu_ms_per_call": round(cpu / calls * 1000, 3),
                           "cpu_ms_per_event": round(cpu / max(events, 1) * 1000, 4),
                           "calls_per_event": round(calls / max(events, 1), 4)}
    return dict(sorted(phase.items(), key=lambda kv: -kv[1]["cpu_seconds"]))


def _top_operations(stats_path: Path, top: int = 12) -> dict[str, Any]:
    try:
        stats = json.loads(stats_path.read_text())
    except (OSError, ValueError):
        return {}
    ranked = sorted(stats.items(), key=lambda kv: -kv[1].get("cpu_seconds", kv[1]["seconds"]))[:top]
    return {name: {**value, "ms_per_call": round(value["seconds"] / max(value["calls"], 1) * 1000, 2),
                   "cpu_ms_per_call": round(value.get("cpu_seconds", 0.0) / max(value["calls"], 1) * 1000, 2)}
            for name, value in ranked}


PROFILES_DIR = Path(__file__).resolve().parent / "emulator-profiles"


def _keep_profiles(stats_path: Path, progress) -> None:
    """Move the probe's cProfile samples out of the run's state folder (it is deleted) into PROFILES_DIR."""
    kept = sorted(stats_path.parent.glob(stats_path.name + ".*.pstats"))
    if not kept:
        return
    PROFILES_DIR.mkdir(exist_ok=True)
    for path in kept:
        shutil.move(str(path), PROFILES_DIR / path.name.removeprefix(stats_path.name + "."))
    progress(f"  cProfile samples of {len(kept)} operations in {PROFILES_DIR} "
             f"(read with: python -m pstats {PROFILES_DIR}/<operation>.pstats)")


# -- the section -----------------------------------------------------------------------------------
def measure(settings, *, seconds: float, max_events: int, extra_symbols: int, backlog: int, latency_seconds: float,
            poll_s: float, ceiling_items: int, progress=print, drain_timeout_s: float = 180.0,
            emulator_profile: bool = False, profile_every: int = 0) -> dict[str, Any]:
    from barometer_local.emulator import free_port
    from barometer_local.paths import HOME_ENV
    from barometer_local.platform import LocalPlatform, PlatformOptions

    saved_env = dict(os.environ)
    state = Path(tempfile.mkdtemp(prefix="barometer-bench-"))
    stats_path = state / "emulator-operations.json"
    os.environ[HOME_ENV] = str(state)
    platform = LocalPlatform(state, PlatformOptions(api_port=free_port(), flush_seconds=1.0))
    operations: dict[str, Any] = {}
    try:
        with probed_emulator(stats_path, profile_every) if emulator_profile else contextlib.nullcontext():
            progress(f"end to end: starting the local platform (state in {state})")
            platform.start(progress=lambda text: progress(f"  {text}"))
        platform.wait_ready()
        ceiling = ddb_ceiling(platform.target().client("dynamodb"), settings, ceiling_items, progress)
        progress(f"end to end: batches of {BATCH} over {len(settings.symbols) + extra_symbols} symbols and "
                 f"{len(settings.cities)} cities")
        # One 6-10 s measurement swings by a third between runs, and within one (1,014-1,807 items/s on one
        # day): the ceiling is the mean of one just before the saturated phase and one just after it drained.
        afters: list[dict[str, Any]] = []
        e2e = run_load(platform, settings, seconds=seconds, max_events=max_events, extra_symbols=extra_symbols,
                       backlog=backlog, latency_seconds=latency_seconds, poll_s=poll_s,
                       drain_timeout_s=drain_timeout_s, progress=progress, after_saturated=lambda: afters.append(
                           ddb_ceiling(platform.target().client("dynamodb"), settings, ceiling_items, progress)),
                       operations_path=Path(f"{stats_path}.snapshot") if emulator_profile else None)
        after = afters[0]
        runs = [ceiling["emulator_ddb_items_per_s"], after["emulator_ddb_items_per_s"]]
        ceiling = {"emulator_ddb_items_per_s": round(sum(runs) / len(runs), 1), "ceiling_runs_items_per_s": runs,
                   "ceiling_seconds": round(ceiling["ceiling_seconds"] + after["ceiling_seconds"], 2)}
    finally:
        platform.stop()
        if emulator_profile:
            operations = _top_operations(stats_path)
            _keep_profiles(stats_path, progress)
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(state, ignore_errors=True)
    if "emulator_operations_saturated" in e2e:
        progress("  emulator CPU by operation in the saturated phase (ms per event, calls per event): " + ", ".join(
            f"{name} {v['cpu_ms_per_event']:.3f} ({v['calls_per_event']:.3f})"
            for name, v in list(e2e["emulator_operations_saturated"].items())[:10]))
    if operations:
        e2e["emulator_operations"] = operations
        progress("  emulator CPU (wall) seconds by operation (ceiling + load): " + ", ".join(
            f"{name} {v.get('cpu_seconds', 0):.1f}s ({v['seconds']:.1f}s)/{v['calls']}" for name, v in operations.items()))
    ratio = e2e["e2e_events_per_s"] / ceiling["emulator_ddb_items_per_s"]
    half, busy = e2e["latency_at_half_rate"], e2e["latency_saturated"]
    progress(f"end to end: {e2e['e2e_events_per_s']:,} events/s POST -> LatestTable (sustained); latency at half "
             f"that rate p50 {half['p50_ms']:,} ms, p99 {half['p99_ms']:,} ms ({half['events_timed']:,} events of "
             f"{len(e2e['latency_sample_keys'])} keys timed, {half['events_stamped_late']:,} of them stamped by a later POST's "
             f"batch); saturated p50 {busy['p50_ms']:,} ms, p99 {busy['p99_ms']:,} ms")
    progress("  at half rate, the POSTs with events at or above the p99 (s into the phase: events, slowest): " + ", ".join(
        f"{b['at_s']}s: {b['events']}, {b['max_ms']:,} ms" for b in half["tail"]) + "; the emulator's snapshots: " + (
        ", ".join(f"{t['at_s']}s ({t['mb']} MB, paused {t['paused_ms']} ms, {t['total_s']} s, CPU {t['cpu_s']} s)" for t in half["snapshots"])
        or "none"))
    progress(f"  beside the emulator's DynamoDB ceiling {ceiling['emulator_ddb_items_per_s']:,} items/s (mean of "
             f"{' and '.join(f'{x:,}' for x in ceiling['ceiling_runs_items_per_s'])}, before and after the saturated phase): "
             f"{ratio:.2f} of it (aim >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'})")
    progress(f"  API accepted {e2e['api_accept_events_per_s']:,} events/s ({e2e['api_post_ms_per_batch']} ms per POST); "
             f"CPU seconds during the saturated phase: {e2e['cpu_seconds_saturated']}")
    return {**e2e, **ceiling, "e2e_vs_ceiling_ratio": round(ratio, 3), "meets_target": ratio >= 0.5,
            "parameters": {"seconds": seconds, "max_events": max_events, "latency_seconds": latency_seconds,
                           "batch": BATCH, "saturated_poll_s": SATURATED_POLL_S, "symbols": len(settings.symbols) + extra_symbols,
                           "cities": len(settings.cities), "backlog_events": backlog, "poll_s": poll_s,
                           "ceiling_items": ceiling_items, "flush_seconds": 1.0, "clients": 1,
                           "emulator_profile": emulator_profile}}
