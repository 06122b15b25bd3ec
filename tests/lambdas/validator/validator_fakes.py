"""In-memory stand-ins for the validator's ports (processed lake, MetricsTable, quarantine)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from lambdas.shared.errors import SinkError
from lambdas.validator.handler import Ports

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def sequence_numbers(event: dict) -> list[str]:
    return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]


def payload(event: dict, index: int) -> dict:
    return json.loads(base64.b64decode(event["Records"][index]["kinesis"]["data"]))


class Calls(list):
    """Every write in the order the sinks saw them: (sink, what)."""


class FakeLake:
    def __init__(self, calls: Calls, failing_event_ids=()):
        self.calls, self.failing = calls, set(failing_event_ids)
        self.rows: dict[str, list[dict]] = {}

    def put(self, table, records):
        self.calls.append(("lake", [r["event_id"] for r in records]))
        failed = {i: SinkError(f"PutRecordBatch: {r['event_id']} failed") for i, r in enumerate(records)
                  if r["event_id"] in self.failing}
        self.rows.setdefault(table, []).extend(r for i, r in enumerate(records) if i not in failed)
        return failed


class FakeMetricsTable:
    def __init__(self, calls: Calls, failing_event_ids=()):
        self.calls, self.failing = calls, set(failing_event_ids)
        self.items: dict[tuple[str, str], dict] = {}

    def write(self, items):
        self.calls.append(("metrics", [i["event_id"] for i in items]))
        failed = {n: SinkError(f"BatchWriteItem: {i['event_id']} unprocessed") for n, i in enumerate(items)
                  if i["event_id"] in self.failing}
        self.items.update({(i["pk"], i["sk"]): i for n, i in enumerate(items) if n not in failed})
        return failed


class FakeQuarantine:
    def __init__(self, calls: Calls, failing_sequence_numbers=()):
        self.calls, self.failing = calls, set(failing_sequence_numbers)
        self.rejections: list = []

    def put(self, rejections):
        self.calls.append(("quarantine", [r.sequence_number for r in rejections]))
        failed = {i: SinkError(f"quarantine put of {r.sequence_number} failed") for i, r in enumerate(rejections)
                  if r.sequence_number in self.failing}
        self.rejections.extend(r for i, r in enumerate(rejections) if i not in failed)
        return failed


def fake_ports(lake_fails=(), metrics_fails=(), quarantine_fails=()):
    calls = Calls()
    lake = FakeLake(calls, lake_fails)
    table = FakeMetricsTable(calls, metrics_fails)
    quarantine = FakeQuarantine(calls, quarantine_fails)
    return Ports(lake=lake, metrics_table=table, quarantine=quarantine), lake, table, quarantine, calls
