"""The end-to-end benchmark's latency bookkeeping: which POSTs set the p99, the emulator's snapshots beside
them, and events whose read could only stamp them late."""
from __future__ import annotations

from pathlib import Path

from barometer_local.snapshots import SnapshotInfo, logged_snapshots, snapshot_line
from bench.e2e import Watcher, tail_batches


def test_the_tail_names_the_slowest_posts_in_the_order_they_were_sent():
    # Given events of four POSTs (sent at 100, 101, 102, 103 s), two of them slow
    sent = [100.0] * 3 + [101.0] * 2 + [102.0] * 2 + [103.0]
    latencies = [0.1, 0.1, 0.2, 0.9, 1.2, 0.1, 0.1, 0.8]
    # When the tail above 0.5 s is taken, keeping the worst two
    tail = tail_batches(latencies, sent, 0.5, started=100.0, top=2)
    # Then it is the two slow POSTs, when they were sent in the phase, their events above it and the slowest
    assert tail == [{"at_s": 1.0, "events": 2, "max_ms": 1200.0}, {"at_s": 3.0, "events": 1, "max_ms": 800.0}]


def test_the_snapshots_the_emulator_logs_are_read_back(tmp_path):
    # Given an emulator log with other lines and two snapshot lines as the emulator writes them
    infos = [SnapshotInfo(42_400_000, 0.026, 4.3, 1_000_004.3, 2.1), SnapshotInfo(1_500_000, 0.003, 0.2, 1_000_100.2)]
    log = tmp_path / "emulator.log"
    log.write_text("restored 1.0 MB of state in 0.1s\n" + "".join(f"[emulator] {snapshot_line(i)}\n" for i in infos))
    # When the benchmark reads it, then each snapshot's start, size, pause, duration and CPU come back
    assert logged_snapshots(log) == [
        {"at": 1_000_000.0, "mb": 42.4, "paused_ms": 26, "total_s": 4.3, "cpu_s": 2.1},
        {"at": 1_000_100.0, "mb": 1.5, "paused_ms": 3, "total_s": 0.2, "cpu_s": 0.0}]
    assert logged_snapshots(tmp_path / "missing.log") == []


class FakeLatest:
    """batch_get_item over items the test sets: pk -> (events, updated_at)."""

    def __init__(self):
        self.items: dict[str, tuple[int, str]] = {}

    def batch_get_item(self, RequestItems):
        (table, request), = RequestItems.items()
        found = [{"pk": {"S": k["pk"]["S"]}, "events": {"N": str(self.items[k["pk"]["S"]][0])},
                  "updated_at": {"S": self.items[k["pk"]["S"]][1]}} for k in request["Keys"] if k["pk"]["S"] in self.items]
        return {"Responses": {table: found}}


def test_events_a_read_finds_with_a_later_posts_are_stamped_late_and_counted():
    # Given a sampled key with two events of one POST and one of the next
    latest = FakeLatest()
    watcher = Watcher(latest, "latest", ["quote#A"], Path("/nonexistent/status.json"), poll_s=0.2)
    watcher.add_posted(["quote#A", "quote#A"], 1_000.0, "paced")
    watcher.add_posted(["quote#A"], 1_000.6, "paced")
    # When the first read sees the first POST's events alone, and the next sees the second POST's
    latest.items["quote#A"] = (2, "1970-01-01T00:16:40.300000+00:00")  # 1,000.3
    watcher.observe()
    latest.items["quote#A"] = (3, "1970-01-01T00:16:40.900000+00:00")  # 1,000.9
    watcher.observe()
    # Then each event has its own batch's stamp, and none was stamped late
    assert [round(x, 3) for x in watcher.latency_stamp["paced"]] == [0.3, 0.3, 0.3]
    assert watcher.stamped_late.get("paced", 0) == 0
    # When a third and fourth POST land before one read sees them both
    watcher.add_posted(["quote#A"], 1_001.2, "paced")
    watcher.add_posted(["quote#A"], 1_001.8, "paced")
    latest.items["quote#A"] = (5, "1970-01-01T00:16:42.000000+00:00")  # 1,002.0
    watcher.observe()
    # Then the third POST's event carries the later stamp (an upper bound) and is counted as such
    assert [round(x, 3) for x in watcher.latency_stamp["paced"][3:]] == [0.8, 0.2]
    assert watcher.stamped_late["paced"] == 1
