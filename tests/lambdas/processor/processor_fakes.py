"""In-memory stand-ins for the processor's ports, with DynamoDB's contracts (conditional writes, consistent
reads, sort-key order) and its capacity units computed from item sizes (lambdas/processor/capacity.py)."""
from __future__ import annotations

import base64
import copy
import json
from bisect import bisect_right, insort
from dataclasses import dataclass
from pathlib import Path

from barometer.core.itemsize import item_size
from barometer.core.timeutil import parse_rfc3339, to_epoch_us
from barometer.core.windows import departure_sk_bounds
from barometer.ddb import from_item, to_item
from lambdas.processor.capacity import CapacityMeter, query_units, read_units, write_units
from lambdas.processor.errors import AlertStoreError, PublishError, SinkError, StateConflictError, StoreError
from lambdas.processor.ports import Ports

EVENTS = Path(__file__).parent / "events"
FIRST_SEQ = 49590338271490256608559692538361571095921575989136600000  # 56 digits, as Kinesis gives them


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def sequence_numbers(event: dict) -> list[str]:
    return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]


def kinesis_event(payloads: list[dict | str], first_seq: int = FIRST_SEQ, seqs: list[int] | None = None) -> dict:
    """A Kinesis event of these payloads (dicts JSON-encoded), at consecutive sequence numbers from first_seq."""
    template = load_event("kinesis_mixed.json")["Records"][0]
    seqs = seqs or [first_seq + i for i in range(len(payloads))]
    records = []
    for payload, seq in zip(payloads, seqs):
        data = payload if isinstance(payload, str) else json.dumps(payload)
        record = copy.deepcopy(template)
        record["kinesis"].update(sequenceNumber=str(seq), data=base64.b64encode(data.encode()).decode())
        record["eventID"] = f"shardId-000000000000:{seq}"
        records.append(record)
    return {"Records": records}


def quote(symbol: str, price: float, ts: str, event_id: str) -> dict:
    return {"kind": "quote", "symbol": symbol, "price": price, "ts": ts, "volume": 100, "currency": "USD",
            "source": "test", "event_id": event_id}


@dataclass
class LambdaContext:
    function_name: str = "barometer-processor"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:barometer-processor"
    aws_request_id: str = "request-1"


class TallyMeter(CapacityMeter):
    """Also keeps the totals of every batch (the handler takes the meter's units once per batch)."""

    def __init__(self) -> None:
        super().__init__(estimate=True)
        self.read_total = self.write_total = 0.0

    def take(self) -> tuple[float, float]:
        read, write = super().take()
        self.read_total += read
        self.write_total += write
        return read, write

    def totals(self) -> tuple[float, float]:
        self.take()
        return self.read_total, self.write_total


class Calls(list):
    """Every call in the order the ports saw them: (port, what)."""


class Crash(Exception):
    """The container dies here (its warm caches are lost with it)."""


class FakeLake:
    def __init__(self, calls: Calls):
        self.calls = calls
        self.failing: set[str] = set()  # event ids the delivery stream rejects
        self.rows: dict[str, list[dict]] = {}

    def put(self, table, records):
        self.calls.append(("lake", [r["event_id"] for r in records]))
        failed = {i: SinkError(f"PutRecordBatch: {r['event_id']} failed") for i, r in enumerate(records)
                  if r["event_id"] in self.failing}
        self.rows.setdefault(table, []).extend(r for i, r in enumerate(records) if i not in failed)
        return failed


class FakeQuarantine:
    def __init__(self, calls: Calls):
        self.calls = calls
        self.failing: set[str] = set()  # sequence numbers
        self.rejections: list = []

    def put(self, rejections):
        self.calls.append(("quarantine", [r.sequence_number for r in rejections]))
        failed = {i: SinkError(f"quarantine put of {r.sequence_number} failed") for i, r in enumerate(rejections)
                  if r.sequence_number in self.failing}
        self.rejections.extend(r for i, r in enumerate(rejections) if i not in failed)
        return failed


class FakeMetricsTable:
    """Items by (pk, sk), stored through DynamoDB's wire form; a Query in sort-key order."""

    def __init__(self, calls: Calls, meter: CapacityMeter):
        self.calls, self.meter = calls, meter
        self.items: dict[tuple[str, str], dict] = {}
        self._sorted: dict[str, list[str]] = {}  # pk -> sort keys in order
        self.failing: set[str] = set()  # event ids whose write fails
        self.writes: list[str] = []  # event ids written, every time
        self.lookups: list[list[tuple[str, str]]] = []
        self.queries: list[tuple[str, int, int, int, str | None]] = []

    def write(self, items):
        self.calls.append(("metrics", [i["event_id"] for i in items]))
        failed = {}
        for n, item in enumerate(items):
            if item["event_id"] in self.failing:
                failed[n] = SinkError(f"BatchWriteItem: {item['event_id']} unprocessed")
                continue
            key = (item["pk"], item["sk"])
            if key not in self.items:
                insort(self._sorted.setdefault(key[0], []), key[1])
            self.items[key] = from_item(to_item(item))
            self.writes.append(item["event_id"])
            self.meter.write(None, lambda item=item: write_units(item))
        return failed

    def stored_seqs(self, keys):
        self.calls.append(("lookup", list(keys)))
        self.lookups.append(list(keys))
        self.meter.read(None, lambda: len(keys))
        return {k: int(self.items[k].get("seq", 0)) for k in keys if k in self.items}

    def fetch(self, pk, after_us, upto_us, limit, after_id=None):
        self.queries.append((pk, after_us, upto_us, limit, after_id))
        lower, upper = departure_sk_bounds(after_us, upto_us, after_id)
        sks = self._sorted.get(pk, [])
        chosen = [sk for sk in sks[bisect_right(sks, lower):bisect_right(sks, upper)]][:limit]
        items = [self.items[(pk, sk)] for sk in chosen]
        self.meter.read(None, lambda: query_units(items))
        return [(to_epoch_us(parse_rfc3339(i["ts"])), i["event_id"], float(i["value"]), int(i.get("seq", 0)))
                for i in items]


class FakeLatestTable:
    """Same contract as tables.DynamoLatestTable: a put conditional on the version read."""

    def __init__(self, calls: Calls, meter: CapacityMeter):
        self.calls, self.meter = calls, meter
        self.items: dict[str, dict] = {}
        self.loads: list[list[str]] = []
        self.saves: list[dict] = []
        self.concurrent_writes: dict[str, int] = {}  # pk -> how many saves another writer gets in first
        self.failures: dict[str, int] = {}  # pk -> how many saves fail with StoreError
        self.crash_saving: set[str] = set()  # keys whose next save the container dies in

    def load(self, pks):
        self.calls.append(("load", list(pks)))
        self.loads.append(list(pks))
        found = {pk: copy.deepcopy(self.items[pk]) for pk in pks if pk in self.items}
        self.meter.read(None, lambda: sum(read_units(item_size(i)) for i in found.values()) + len(pks) - len(found))
        return found

    def save(self, item, expected_version):
        pk = item["pk"]
        self.calls.append(("save", pk))
        if pk in self.crash_saving:
            self.crash_saving.discard(pk)
            raise Crash(f"the container died saving {pk}")
        if self.failures.get(pk):
            self.failures[pk] -= 1
            raise StoreError(f"PutItem {pk}: InternalServerError")
        self.meter.write(None, lambda: write_units(item))
        if self.concurrent_writes.get(pk):
            self.concurrent_writes[pk] -= 1
            other = copy.deepcopy(self.items.get(pk) or {"pk": pk})
            other["version"] = other.get("version", 0) + 1
            self.items[pk] = other
        if self.items.get(pk, {}).get("version", 0) != expected_version:
            raise StateConflictError(pk)
        self.items[pk] = from_item(to_item(item))
        self.saves.append(copy.deepcopy(self.items[pk]))


class FakeAlertStore:
    """Same contract as alerting.AlertsTable: the first put of a key, rule and day wins."""

    def __init__(self, calls: Calls):
        self.calls = calls
        self.items: dict[tuple[str, str], dict] = {}
        self.puts: list[tuple[str, str]] = []
        self.failures = 0

    def store(self, item):
        self.calls.append(("alert", (item["pk"], item["sk"])))
        if self.failures:
            self.failures -= 1
            raise AlertStoreError(f"PutItem {item['pk']} {item['sk']}: InternalServerError")
        key = (item["pk"], item["sk"])
        self.puts.append(key)
        if key in self.items:
            return False
        self.items[key] = copy.deepcopy(item)
        return True

    def stored(self, pk, sk):
        return copy.deepcopy(self.items.get((pk, sk)))

    def mark_published(self, pk, sk, message_id):
        self.items[(pk, sk)].update(published=True, message_id=message_id)


class FakeTopics:
    def __init__(self, calls: Calls):
        self.calls = calls
        self.published: list = []
        self.failures = 0

    def publish(self, alert):
        self.calls.append(("publish", alert.alert_id))
        if self.failures:
            self.failures -= 1
            raise PublishError(f"Publish {alert.alert_id}: InternalError")
        self.published.append(alert)
        return f"message-{len(self.published)}"


class FakeAlertsLake:
    def __init__(self, calls: Calls):
        self.calls = calls
        self.rows: list[dict] = []

    def put(self, record):
        self.calls.append(("alerts lake", record["alert_id"]))
        self.rows.append(record)


class Fakes:
    """Every port, sharing one call log and one capacity meter. `warm` is the container Lambda keeps
    invoking (its caches carry over); `ports()` is a new container (cold caches), `restart()` makes it the warm one."""

    def __init__(self) -> None:
        self.calls = Calls()
        self.meter = TallyMeter()
        self.lake = FakeLake(self.calls)
        self.quarantine = FakeQuarantine(self.calls)
        self.metrics = FakeMetricsTable(self.calls, self.meter)
        self.latest = FakeLatestTable(self.calls, self.meter)
        self.alerts = FakeAlertStore(self.calls)
        self.topics = FakeTopics(self.calls)
        self.alerts_lake = FakeAlertsLake(self.calls)
        self.warm = self.ports()

    def restart(self) -> Ports:
        self.warm = self.ports()
        return self.warm

    def ports(self) -> Ports:
        return Ports(lake=self.lake, quarantine=self.quarantine, metrics_table=self.metrics, latest=self.latest,
                     alerts=self.alerts, topics=self.topics, alerts_lake=self.alerts_lake, meter=self.meter)

    def calls_of(self, port: str) -> list:
        return [what for name, what in self.calls if name == port]
