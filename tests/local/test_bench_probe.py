"""The benchmark's emulator probe: per-operation totals, their snapshot, and one phase's share per event."""
from __future__ import annotations

import gc
import json
import threading

from bench.e2e import _phase_operations
from bench.emulator_probe import OperationTimer


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]


def test_the_probe_counts_calls_per_operation_and_writes_its_totals_whole(tmp_path):
    # Given a probe around an application, sampling every second call with cProfile
    timer = OperationTimer(app, sample_every=2)
    environ = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem", "REQUEST_METHOD": "POST"}
    # When three calls go through it and it is asked for a snapshot
    for _ in range(3):
        assert timer(dict(environ), lambda *_: None) == [b"{}"]
    timer.snapshot(str(tmp_path / "ops.json.snapshot"))
    timer.dump(str(tmp_path / "ops.json"))
    # Then the snapshot holds the totals so far, and the dump writes the sampled profile beside them
    snapshot = json.loads((tmp_path / "ops.json.snapshot").read_text())
    assert snapshot["operations"]["dynamodb:PutItem"]["calls"] == 3
    assert not list(tmp_path.glob("*.tmp"))
    assert (tmp_path / "ops.json.dynamodb_PutItem.pstats").stat().st_size > 0


def test_collector_passes_are_counted_as_operations_of_their_own():
    timer = OperationTimer(app)
    timer.count_collections()
    try:
        gc.collect()
    finally:
        gc.callbacks.pop()
    assert timer.totals()["gc:gen2"]["calls"] >= 1


def test_a_collection_inside_a_sampled_call_does_not_deadlock_the_probe():
    # Given a probe that samples every call and counts collections, and a collector that runs at almost
    # every allocation (a sampled call builds its profile's Stats while holding the probe's lock)
    timer = OperationTimer(app, sample_every=1)
    timer.count_collections()
    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    environ = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem", "REQUEST_METHOD": "POST"}
    done = threading.Event()

    def calls() -> None:
        for _ in range(5):
            timer(dict(environ), lambda *_: None)
        done.set()

    try:
        threading.Thread(target=calls, daemon=True).start()
        finished = done.wait(30)
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.pop()
    # Then every call returns, and the passes made inside them are counted
    assert finished, "the probe deadlocked in a collection inside a sampled call"
    totals = timer.totals()
    assert totals["dynamodb:PutItem"]["calls"] == 5
    assert sum(totals.get(f"gc:gen{g}", {}).get("calls", 0) for g in range(3)) >= 5


def test_a_phase_is_the_difference_of_two_snapshots_per_event():
    # Given totals before and after a phase of 1,000 events
    before = {"dynamodb:PutItem": {"seconds": 1.0, "cpu_seconds": 0.5, "calls": 100}}
    after = {"dynamodb:PutItem": {"seconds": 3.0, "cpu_seconds": 1.5, "calls": 300},
             "kinesis:GetRecords": {"seconds": 0.4, "cpu_seconds": 0.2, "calls": 10},
             "idle:Nothing": {"seconds": 0.0, "cpu_seconds": 0.0, "calls": 0}}
    # When the phase's share is taken, then it is per call and per event, the dearest first, idle ones left out
    phase = _phase_operations(before, after, 1000)
    assert list(phase) == ["dynamodb:PutItem", "kinesis:GetRecords"]
    assert phase["dynamodb:PutItem"] == {"calls": 200, "cpu_seconds": 1.0, "cpu_ms_per_call": 5.0,
                                         "cpu_ms_per_event": 1.0, "calls_per_event": 0.2}
