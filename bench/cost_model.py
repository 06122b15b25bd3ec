"""Issue 9's cost model: what one event costs on AWS in the first design and in hot path v2.

Inputs: DynamoDB units and item sizes counted by simulating a week per key (bench/cost_sim.py), the
pure hot path timed per record on this machine, AWS call latencies and fleet shape stated below
(`Assumptions`), and list prices (bench/prices.json). Outputs per case (1 event/min or 1/s per key;
the configured windows, and with 7d added; 0% and 5% duplicates): DynamoDB write/read units, Lambda
invocations and GB-seconds, Kinesis/Firehose/S3 units and $ per million events, old beside new; and
the throughput of one shard's consumer (`shard_throughput`, formula in docs/benchmarks.md).

CPU time measured here is scaled to Lambda's: below 1,769 MB a function gets that fraction of one
vCPU, so its CPU-bound time is this machine's x 1769 / memory (taking one of its cores as one vCPU).
"""
from __future__ import annotations

import base64
import gzip
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from barometer import catalogue, ddb
from barometer.config import Settings, Window, parse_duration
from barometer.core import keystate
from barometer.core.events import Event, event_local_day, parse_event
from barometer.core.records import event_from_metrics_item, lake_record, metrics_item
from barometer.core.rules import evaluate
from bench import cost_sim
from bench import first_design as old_state

PRICES = Path(__file__).resolve().parent / "prices.json"
GB = 2**30
RATES = {"1/min": 60, "1/s": 1}
DUPLICATE_SHARES = (0.0, 0.05)
# The first design's functions (catalogue before issue 9): validator on Kinesis, aggregator on the
# MetricsTable stream, rules on the LatestTable stream.
OLD_FUNCTIONS = {"validator": 512, "aggregator": 512, "rules": 256}
OLD_RULES_BATCH = 100


@dataclass(frozen=True)
class Assumptions:
    """What the model takes as given (stated, not measured)."""

    keys: int = 1000  # keys on one shard
    batch: int = 500  # Kinesis batch size of the consumer
    batching_window_s: float = 1.0
    # The consumer's pool (WORKERS in lambdas/processor/pool.py): keys applied (departure Queries),
    # BatchWriteItem chunks and PutItems, that many at a time
    threads: int = 32
    parallelization_factor: int = 2  # concurrent batches per shard (the catalogue's Kinesis mapping)
    # p50 latencies inside one region, milliseconds
    put_item_ms: float = 6.0
    batch_write_ms: float = 10.0  # BatchWriteItem of 25 items
    batch_get_ms: float = 6.0  # BatchGetItem (<= 100 keys)
    query_ms: float = 5.0
    firehose_put_batch_ms: float = 30.0  # PutRecordBatch of up to 500 records
    kinesis_consumers: int = 2  # the consumer and the raw Firehose delivery each read every record
    delivery_flush_s: int = 60  # Firehose buffer interval (the buffers never fill 64 MB at these rates)
    active_deliveries: int = 2  # raw + the processed table of the events' kind
    poller_run_s: float = 1.0  # the every-minute poll (idle cost), 256 MB
    container_hours: float = 4.0  # a warm consumer's life: cold-start reads amortize to ~0 over it


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    return json.loads(path.read_text())


def consumer_memory_mb() -> int:
    """The new design's consumer: the catalogue's function fed by the Kinesis stream."""
    for spec in catalogue.FUNCTIONS:
        if spec.mapping is not None and spec.mapping.source_kind == "kinesis":
            return spec.memory_mb
    raise LookupError("no function of the catalogue reads the events stream")


def latest_index_copies() -> int:
    """Index writes per LatestTable put: an index projecting ALL is written with the item; KEYS_ONLY
    is not written when the index keys (kind, key) do not change."""
    projection = catalogue.LATEST_BY_KIND.projection
    return 1 if projection == "ALL" else 0


def cpu_scale(memory_mb: int, prices: dict) -> float:
    return max(1.0, prices["lambda"]["one_vcpu_at_mb"] / memory_mb)


# -- the batch a consumer sees ---------------------------------------------------------------------------
def batch_fill(interval_s: int, a: Assumptions) -> int:
    """Records per invocation: within max(batching window, the feed's interval) every key sends
    max(1, window / interval) events (a 1/min poller puts every key at once), capped at the batch size."""
    span = max(a.batching_window_s, interval_s)
    return int(min(a.batch, max(1, a.keys * span / interval_s)))


# -- measured CPU per record ------------------------------------------------------------------------------
def _continuation(case: cost_sim.Case, latest: Event, seq: int, n: int) -> list[tuple[Event, int]]:
    step = case.interval_s * 1_000_000
    out = []
    for i in range(1, n + 1):
        us = latest.epoch_us + i * step
        price = round(latest.value * (1 + 0.0001 * ((i * 7919) % 11 - 5)), 2)
        event = Event(case.kind, case.key, cost_sim._utc(us), f"simulator:quote:{case.key}:{us // 1_000_000}",
                      price, {"price": price, "volume": 100 + (i * 104729) % 49_900, "currency": "USD"}, "simulator")
        out.append((event, seq + i))
    return out


def _kinesis_data(event: Event) -> bytes:
    return base64.b64encode(json.dumps(event.as_dict(), separators=(",", ":")).encode())


def _best(fn: Callable[[], float], rounds: int = 3) -> float:
    return min(fn() for _ in range(rounds))


def time_new(key: cost_sim.NewKey, settings: Settings, n: int = 2000, rounds: int = 3) -> dict[str, float]:
    """Seconds of CPU per record (everything but the key's save) and per key save, on the warm key: each
    round continues the key's stream with `n` more records (the fastest round counts)."""
    state, cache, metrics = key.state, key.cache, key.metrics
    metrics.tally = None
    perf = time.perf_counter
    best = math.inf
    for _ in range(rounds):
        records = _continuation(key.case, state.latest, state.applied_seq, n)
        wires = [_kinesis_data(e) for e, _ in records]
        now = records[-1][0].ts
        started = perf()
        for (_, seq), wire in zip(records, wires):
            event = parse_event(json.loads(base64.b64decode(wire)), settings, now)
            day = event_local_day(event, settings)
            verdict = keystate.classify_batch(state, [(event, seq)])[0]
            ddb.to_item(cost_sim.new_metrics_item(event, day, seq))
            metrics.put(event, seq, 0)  # the in-memory stand-in of the BatchWriteItem (~1 us)
            if verdict is keystate.Verdict.NEW:
                applied = state.apply(event, day, seq, cache)
                evaluate(event.kind, event.key, event.ts, event.value, event.fields, event.event_id, day,
                         applied.previous_close, settings)
            json.dumps(lake_record(event, day, cost_sim.INGESTED_AT), separators=(",", ":"))
        best = min(best, (perf() - started) / n)

    def per_key() -> float:
        started = perf()
        for _ in range(n):
            ddb.to_item(keystate.to_item(state, cost_sim.UPDATED_AT))
        return (perf() - started) / n

    event, seq = records[-1]
    metrics_wire = ddb.to_item(cost_sim.new_metrics_item(event, event_local_day(event, settings), seq))
    lake_row = lake_record(event, event_local_day(event, settings), cost_sim.INGESTED_AT)
    sdk = sdk_call_s(ddb.to_item(keystate.to_item(state, cost_sim.UPDATED_AT)), metrics_wire, lake_row)
    return {"record_s": best + sdk["batch_write_item_s"] / 25 + sdk["put_record_batch_s"] / 500,
            "key_s": _best(per_key) + sdk["put_item_s"] + sdk["pool_task_s"] * 2,
            "query_s": sdk["query_s"], "lookup_call_s": sdk["batch_get_item_s"],
            "pure_record_s": best, "sdk": sdk}


def sdk_call_s(latest_wire: dict, metrics_wire: dict, lake_row: dict, n: int = 200) -> dict[str, float]:
    """CPU of whole AWS calls as the processor makes them, everything but the network: its JSON-protocol
    clients (barometer/aws/json_protocol.py, as barometer/aws/json_clients.py builds
    them) serialize, sign, check and parse a canned answer of the right size handed back in place of the
    socket's exchange. Per PutItem of the key state, per BatchWriteItem of 25 MetricsTable items, per
    departure Query answering 40 items, per lookup BatchGetItem of 25 keys, per Firehose PutRecordBatch of
    500 rows; and per task handed to a thread pool of `Assumptions.threads` workers and waited for.
    The socket's send and receive (http.client, TLS) are not counted. `botocore_put_item_s` is the same
    PutItem through a boto3 client with Barometer's config (a `before-send` hook answering), for comparison."""
    import http.client
    import zlib

    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.credentials import Credentials

    from barometer.aws.json_clients import DynamoDBJson, FirehoseJson
    from barometer.aws.json_protocol import DYNAMODB, FIREHOSE, JsonService
    from barometer.aws.retry import client_config

    class _Body:
        def __init__(self, data: bytes):
            self.data = data

        def stream(self, **_):
            yield self.data

    def canned(service: str, body: dict, validate: bool = True) -> Any:
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="model",
                                        aws_secret_access_key="model")
        client = session.client(service, config=client_config(validate_parameters=validate))
        raw = json.dumps(body).encode()
        content_type = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"

        def send(request, **_):
            return AWSResponse(request.url, 200, {"content-type": content_type, "x-amzn-requestid": "r"}, _Body(raw))

        client.meta.events.register(f"before-send.{service}", send)
        return client

    def canned_json(cls: type, service: JsonService, body: dict) -> Any:
        client = cls(service, f"https://{service.signing_name}.us-east-1.amazonaws.com", "us-east-1",
                     Credentials("model", "model"))
        raw = json.dumps(body).encode()
        headers = http.client.HTTPMessage()
        headers["x-amzn-requestid"], headers["x-amz-crc32"] = "r", str(zlib.crc32(raw))
        client._exchange = lambda _headers, _body: (200, headers, raw)
        return client

    capacity = {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}
    metrics_item_wire = {"pk": metrics_wire["pk"], "sk": metrics_wire["sk"], "seq": metrics_wire.get("seq", {"S": "1"})}
    dynamo = canned_json(DynamoDBJson, DYNAMODB, capacity)
    botocore_dynamo = canned("dynamodb", capacity, validate=False)
    put = {"TableName": "barometer-latest", "Item": latest_wire, "ReturnConsumedCapacity": "TOTAL",
           "ConditionExpression": "#version = :version", "ExpressionAttributeNames": {"#version": "version"},
           "ExpressionAttributeValues": {":version": {"N": "41"}}}
    write_client = canned_json(DynamoDBJson, DYNAMODB, {"UnprocessedItems": {},
                                                         "ConsumedCapacity": [capacity["ConsumedCapacity"]]})
    write = {"RequestItems": {"barometer-metrics": [{"PutRequest": {"Item": metrics_wire}}] * 25},
             "ReturnConsumedCapacity": "TOTAL"}
    query_client = canned_json(DynamoDBJson, DYNAMODB, {"Items": [metrics_wire] * 40, "Count": 40, **capacity})
    query = {"TableName": "barometer-metrics", "ConsistentRead": True, "Limit": 40, "ReturnConsumedCapacity": "TOTAL",
             "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
             "ExpressionAttributeValues": {":pk": metrics_wire["pk"], ":lo": metrics_wire["sk"], ":hi": metrics_wire["sk"]},
             "ExclusiveStartKey": {"pk": metrics_wire["pk"], "sk": metrics_wire["sk"]}}
    get_client = canned_json(DynamoDBJson, DYNAMODB, {"Responses": {"barometer-metrics": [metrics_item_wire] * 25},
                                                      "ConsumedCapacity": [capacity["ConsumedCapacity"]]})
    get = {"RequestItems": {"barometer-metrics": {"Keys": [{"pk": metrics_wire["pk"], "sk": metrics_wire["sk"]}] * 25,
                                                  "ConsistentRead": True}}, "ReturnConsumedCapacity": "TOTAL"}
    firehose = canned_json(FirehoseJson, FIREHOSE, {"FailedPutCount": 0, "Encrypted": False,
                                                    "RequestResponses": [{"RecordId": "r"}] * 500})
    row = (json.dumps(lake_row, separators=(",", ":")) + "\n").encode()
    put_batch = {"DeliveryStreamName": "barometer-quotes", "Records": [{"Data": row}] * 500}

    def timed(call: Callable[[], Any], count: int) -> Callable[[], float]:
        call()

        def run() -> float:
            started = time.perf_counter()
            for _ in range(count):
                call()
            return (time.perf_counter() - started) / count
        return run

    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=Assumptions().threads) as pool:
        def tasks() -> None:
            wait([pool.submit(int) for _ in range(500)])
        pool_task_s = _best(timed(tasks, 3)) / 500

    return {"put_item_s": _best(timed(lambda: dynamo.put_item(**put), n)),
            "botocore_put_item_s": _best(timed(lambda: botocore_dynamo.put_item(**put), n)),
            "batch_write_item_s": _best(timed(lambda: write_client.batch_write_item(**write), max(1, n // 10))),
            "query_s": _best(timed(lambda: query_client.query(**query), max(1, n // 10))),
            "batch_get_item_s": _best(timed(lambda: get_client.batch_get_item(**get), max(1, n // 10))),
            "put_record_batch_s": _best(timed(lambda: firehose.put_record_batch(**put_batch), 5)),
            "pool_task_s": pool_task_s}


def time_old(key: cost_sim.OldKey, settings: Settings, n: int = 2000, keys_n: int = 30) -> dict[str, float]:
    """Seconds of CPU per record in the validator and the aggregator, per key write in the aggregator,
    and per LatestTable stream record in the rules engine, on the warm key of the first design."""
    state = key.state
    records = _continuation(key.case, state.latest, state.applied_seq, n)
    wires = [_kinesis_data(e) for e, _ in records]
    now = records[-1][0].ts
    perf = time.perf_counter
    windows, max_s = key.case.windows, key.max_window_s
    images = []

    def validator() -> float:
        images.clear()
        started = perf()
        for wire in wires:
            parsed = parse_event(json.loads(base64.b64decode(wire)), settings, now)
            local = event_local_day(parsed, settings)
            images.append(ddb.to_item(metrics_item(parsed, local, cost_sim.INGESTED_AT)))
            json.dumps(lake_record(parsed, local, cost_sim.INGESTED_AT), separators=(",", ":"))
        return (perf() - started) / n

    def aggregator() -> float:
        fresh = old_state.state_from_item(key.last_item, key.case.kind, key.case.key)
        started = perf()
        for (_, seq), image in zip(records, images):
            item = ddb.from_item(image)
            fresh.apply(event_from_metrics_item(item), item["local_day"], seq=seq)
        return (perf() - started) / n

    v = _best(validator)
    a = _best(aggregator)
    fetch = key.metrics.values_between
    key.metrics.tally = None
    days = cost_sim.Days(key.case.timezone)
    started = perf()
    wire = None
    for event, seq in records[:keys_n]:
        applied = state.apply(event, days(event), seq=seq)
        snapshot = state.snapshot(windows, max_s, fetch)
        wire = ddb.to_item(old_state.state_to_item(state, snapshot, [applied.as_recent()], cost_sim.UPDATED_AT))
    k = (perf() - started) / keys_n
    started = perf()
    for _ in range(keys_n):
        image = ddb.from_item(wire)
        for r in image["recent"]:
            evaluate(key.case.kind, key.case.key, records[0][0].ts, r["value"], r["fields"], r["event_id"],
                     r["local_day"], r.get("previous_close"), settings)
    r = (perf() - started) / keys_n
    return {"validator_record_s": v, "aggregator_record_s": a, "aggregator_key_s": k, "rules_record_s": r}


# -- Lambda durations -------------------------------------------------------------------------------------
def pooled_phase_s(calls: float, cpu_per_call_s: float, latency_ms: float, threads: int) -> float:
    """A phase of `calls` independent calls over a pool of `threads`: each call's CPU (serialized: one
    interpreter) then its network wait, which other threads' CPU fills. CPU-bound: every call's CPU and
    the last one's wait; wait-bound: each thread's share of calls one after another."""
    if calls <= 0:
        return 0.0
    latency_s = latency_ms / 1000
    return max(calls * cpu_per_call_s + latency_s, math.ceil(calls / threads) * (cpu_per_call_s + latency_s))


def new_batch_seconds(n: int, keys: int, lookups: float, queries: float, cpu: dict, a: Assumptions,
                      scale: float, overlap: bool = True) -> float:
    """Wall time of one invocation of the new consumer, in lambdas/processor/pipeline.py's order, CPU scaled
    to the function's share of a vCPU: the records' CPU (parse, classify, items, apply, rules, lake rows)
    and the lookups (one BatchGetItem) and the lake (one PutRecordBatch) in the handler's thread; then three
    phases in the pool of `threads` (`pooled_phase_s`): the MetricsTable chunks (BatchWriteItem), the keys
    applied (their departure Queries; taken as spread over the keys, one key's windows query one after
    another), each changed key's PutItem. `overlap=False` adds every wait to every CPU second, as if no
    thread ever ran while another waited (the slow bound). Cold-start state reads are left out (amortized
    over a warm container)."""
    threads = a.threads
    chunks = math.ceil(n / 25)
    lookup_calls = math.ceil(lookups / 100)
    serial_s = scale * (n * cpu["record_s"] + lookup_calls * cpu.get("lookup_call_s", 0.0)) + (
        (a.batch_get_ms if lookups > 0 else 0.0) + a.firehose_put_batch_ms) / 1000
    # (calls, CPU per call, latency); a BatchWriteItem's CPU is counted per record in record_s
    phases = ((chunks, 0.0, a.batch_write_ms),
              (queries, scale * cpu.get("query_s", 0.0), a.query_ms),
              (keys, scale * cpu["key_s"], a.put_item_ms))
    if overlap:
        return serial_s + sum(pooled_phase_s(calls, c, latency, threads) for calls, c, latency in phases)
    return serial_s + sum(calls * c + math.ceil(calls / threads) * latency / 1000 if calls > 0 else 0.0
                          for calls, c, latency in phases)


def shard_throughput(cpu: dict, per_record: dict, a: Assumptions, memory_mb: int, prices: dict,
                     rate_per_key_s: float = 1.0) -> dict[str, Any]:
    """Events per second one shard's consumer sustains (parallelization factor 1), full batches."""
    n = a.batch
    keys = min(n, a.keys)  # a key's records of one batch are saved once
    lookups, queries = per_record["lookups"] * n, per_record["queries"] * n
    seconds = new_batch_seconds(n, keys, lookups, queries, cpu, a, cpu_scale(memory_mb, prices))
    return {"batch": n, "keys_per_batch": keys, "lookups_per_batch": round(lookups, 2),
            "queries_per_batch": round(queries, 2), "batch_seconds": round(seconds, 4),
            "events_per_s": round(n / seconds),
            "events_per_s_with_parallelization": round(a.parallelization_factor * n / seconds),
            "parallelization_factor": a.parallelization_factor,
            "events_per_s_by_threads": {t: round(n / new_batch_seconds(n, keys, lookups, queries, cpu,
                                                                       replace(a, threads=t),
                                                                       cpu_scale(memory_mb, prices)))
                                        for t in (8, 16, 32, 64)},
            "events_per_s_by_memory_mb": {m: round(n / new_batch_seconds(n, keys, lookups, queries, cpu, a,
                                                                         cpu_scale(m, prices)))
                                          for m in (1024, 1769)},
            "events_per_s_without_overlap": round(n / new_batch_seconds(n, keys, lookups, queries, cpu, a,
                                                                        cpu_scale(memory_mb, prices), overlap=False)),
            "cpu_seconds": round(cpu_scale(memory_mb, prices) * (
                n * cpu["record_s"] + keys * cpu["key_s"] + queries * cpu.get("query_s", 0.0)
                + math.ceil(lookups / 100) * cpu.get("lookup_call_s", 0.0)), 4),
            "offered_events_per_s": round(a.keys * rate_per_key_s),
            "cpu_scale": round(cpu_scale(memory_mb, prices), 3), "memory_mb": memory_mb, "threads": a.threads}


# -- units and dollars ------------------------------------------------------------------------------------
@dataclass
class Units:
    """Billable units per record delivered."""

    ddb_write_units: float = 0.0
    ddb_read_units: float = 0.0
    lambda_invocations: float = 0.0
    lambda_gb_s: float = 0.0
    kinesis_ingest_kb: float = 0.0
    kinesis_retrieval_kb: float = 0.0
    kinesis_put_payload_units: float = 0.0
    firehose_ingest_kb: float = 0.0
    firehose_conversion_kb: float = 0.0
    s3_puts: float = 0.0
    detail: dict = field(default_factory=dict)


def dollars_per_million(u: Units, prices: dict, kinesis_mode: str = "on_demand") -> dict[str, float]:
    d, lam, k, f, s3 = prices["dynamodb"], prices["lambda"], prices["kinesis"], prices["firehose"], prices["s3"]
    kb_gb = 1024 / GB
    lines = {
        "dynamodb": u.ddb_write_units * d["write_request_units_per_million"]
        + u.ddb_read_units * d["read_request_units_per_million"],
        "lambda": u.lambda_invocations * lam["requests_per_million"] + u.lambda_gb_s * lam["gb_second_x86"] * 1e6,
        "kinesis": (u.kinesis_ingest_kb * k["on_demand_ingest_gb"] + u.kinesis_retrieval_kb * k["on_demand_retrieval_gb"])
        * kb_gb * 1e6 if kinesis_mode == "on_demand"
        else u.kinesis_put_payload_units * k["provisioned_put_payload_units_per_million"],
        "firehose": (u.firehose_ingest_kb * f["ingest_gb"] + u.firehose_conversion_kb * f["format_conversion_gb"])
        * kb_gb * 1e6,
        "s3": u.s3_puts * s3["put_per_1000"] * 1000,
    }
    lines = {name: round(value, 4) for name, value in lines.items()}
    lines["total"] = round(sum(lines.values()), 4)
    return lines


def stream_units(u: Units, kinesis_bytes: int, lake_bytes: int, interval_s: int, a: Assumptions,
                 prices: dict) -> None:
    """Kinesis, Firehose and S3 per record: the same in both designs."""
    rounding = prices["kinesis"]["on_demand_record_rounding_kb"]
    kb = math.ceil(kinesis_bytes / 1024 / rounding) * rounding
    u.kinesis_ingest_kb = kb
    u.kinesis_retrieval_kb = kb * a.kinesis_consumers
    u.kinesis_put_payload_units = math.ceil(kinesis_bytes / (prices["kinesis"]["provisioned_put_payload_unit_kb"] * 1024))
    five = prices["firehose"]["record_rounding_kb"]
    processed = math.ceil(lake_bytes / 1024 / five) * five
    raw = math.ceil(kinesis_bytes / 1024 / five) * five
    u.firehose_ingest_kb = processed + raw
    u.firehose_conversion_kb = processed
    records_per_flush = a.keys * a.delivery_flush_s / interval_s
    u.s3_puts = a.active_deliveries / records_per_flush


def new_units(sim: dict, cpu: dict, interval_s: int, a: Assumptions, prices: dict, memory_mb: int) -> Units:
    fill = batch_fill(interval_s, a)
    keys = min(fill, a.keys)
    u = Units()
    u.ddb_write_units = sim["metrics_write_units"] + sim["latest_puts"] * sim["latest_write_units_per_put"] * (
        1 + latest_index_copies())
    u.ddb_read_units = sim["lookups"] + sim["query_read_units"]
    u.lambda_invocations = 1 / fill
    seconds = new_batch_seconds(fill, keys, sim["lookups"] * fill, sim["queries"] * fill, cpu, a,
                                cpu_scale(memory_mb, prices))
    u.lambda_gb_s = memory_mb / 1024 * math.ceil(seconds * 1000) / 1000 / fill
    u.detail = {"fill": fill, "keys_per_batch": keys, "invocation_ms": round(seconds * 1000, 1),
                "memory_mb": memory_mb, "gsi_copies": latest_index_copies()}
    return u


def old_units(sim: dict, cpu: dict, interval_s: int, a: Assumptions, prices: dict) -> Units:
    """The first design, its calls sequential as its handlers made them."""
    fill = batch_fill(interval_s, a)
    keys = min(fill, a.keys)
    puts = sim["latest_puts"]
    u = Units()
    u.ddb_write_units = sim["metrics_write_units"] + puts * sim["latest_write_units_per_put"] * 2  # by_kind ALL
    u.ddb_read_units = sim["query_read_units"]
    rules_fill = min(OLD_RULES_BATCH, max(1, round(fill * puts)))  # LatestTable stream records per batch
    u.lambda_invocations = 1 / fill + 1 / fill + puts / rules_fill
    mem = OLD_FUNCTIONS
    v = (cpu_scale(mem["validator"], prices) * fill * cpu["validator_record_s"]
         + (math.ceil(fill / 25) * a.batch_write_ms + a.firehose_put_batch_ms) / 1000)
    g = (cpu_scale(mem["aggregator"], prices) * (fill * cpu["aggregator_record_s"] + keys * puts * cpu["aggregator_key_s"])
         + (keys * puts * a.put_item_ms + sim["queries"] * fill * a.query_ms) / 1000)
    r = cpu_scale(mem["rules"], prices) * rules_fill * cpu["rules_record_s"]
    u.lambda_gb_s = (mem["validator"] / 1024 * math.ceil(v * 1000) / 1000 / fill
                     + mem["aggregator"] / 1024 * math.ceil(g * 1000) / 1000 / fill
                     + mem["rules"] / 1024 * math.ceil(r * 1000) / 1000 / rules_fill * puts)
    u.detail = {"fill": fill, "rules_fill": rules_fill, "validator_ms": round(v * 1000, 1),
                "aggregator_ms": round(g * 1000, 1), "rules_ms": round(r * 1000, 1)}
    return u


def old_with_duplicates(sim: dict, share: float) -> dict:
    """The first design with `share` duplicate records, derived from its clean run: a duplicate rewrites
    its MetricsTable item (1 unit; the MODIFY it streams is filtered out) and does nothing else."""
    out = dict(sim)
    fresh = 1 - share
    for name in ("latest_puts", "queries", "query_read_units", "query_items", "lookups"):
        out[name] = sim[name] * fresh
    out["metrics_write_units"] = sim["metrics_write_units"] * fresh + share * math.ceil(sim["metrics_item_bytes"] / 1024)
    out["metrics_writes"] = 1.0
    out["derived"] = f"from the clean run: {share:.0%} duplicates each rewrite their MetricsTable item"
    return out


# -- storage the events leave behind ------------------------------------------------------------------
def lake_bytes(events: Sequence[Event], days: Callable[[Event], str]) -> dict[str, float]:
    """Bytes per event in the raw zone (gzip JSON lines) and the processed zone (Parquet, snappy), for
    objects of `len(events)` rows, as one Firehose flush would write them."""
    raw = "".join(json.dumps(e.as_dict(), separators=(",", ":")) + "\n" for e in events).encode()
    rows = [lake_record(e, days(e), cost_sim.INGESTED_AT) for e in events]
    out = {"kinesis_record_bytes": len(raw) / len(events),
           "lake_record_bytes": sum(len(json.dumps(r, separators=(",", ":"))) for r in rows) / len(rows),
           "raw_gzip_bytes": len(gzip.compress(raw)) / len(events)}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer, compression="snappy")
        out["parquet_bytes"] = buffer.tell() / len(events)
    except ImportError:  # pragma: no cover - pyarrow is a runtime dependency
        out["parquet_bytes"] = None
    return out


def storage_per_million(metrics_item_bytes: float, lake: dict, prices: dict) -> dict[str, float]:
    """GB and $ per month that a million events keep occupying (MetricsTable has no TTL)."""
    ddb_gb = 1e6 * (metrics_item_bytes + prices["dynamodb"]["item_storage_overhead_bytes"]) / GB
    s3_gb = 1e6 * (lake["raw_gzip_bytes"] + (lake["parquet_bytes"] or 0)) / GB
    return {"metrics_table_gb": round(ddb_gb, 4),
            "metrics_table_usd_month": round(ddb_gb * (prices["dynamodb"]["storage_gb_month"]
                                                       + prices["dynamodb"]["pitr_gb_month"]), 4),
            "lake_gb": round(s3_gb, 4), "lake_usd_month": round(s3_gb * prices["s3"]["storage_gb_month"], 4)}


# -- the whole model --------------------------------------------------------------------------------------
def windows_for(settings: Settings, extra: Sequence[str] = ()) -> tuple[Window, ...]:
    windows = list(settings.windows)
    for name in extra:
        if all(w.name != name for w in windows):
            windows.append(Window(name, parse_duration(name, "--windows")))
    return tuple(windows)


def cases(settings: Settings, rates: Sequence[str] = tuple(RATES), extra_windows: Sequence[Sequence[str]] = ((), ("7d",)),
          days: int = 8) -> list[tuple[str, str, cost_sim.Case]]:
    out = []
    for rate in rates:
        for extra in extra_windows:
            windows = windows_for(settings, extra)
            label = ",".join(w.name for w in windows)
            out.append((rate, label, cost_sim.Case(RATES[rate], windows, days=days)))
    return out


def run_case(rate: str, label: str, case: cost_sim.Case, settings: Settings, prices: dict, a: Assumptions,
             progress: Callable[[str], None] = print) -> dict[str, Any]:
    memory = consumer_memory_mb()
    started = time.monotonic()
    result: dict[str, Any] = {"rate": rate, "windows": label, "days": case.days, "by_duplicates": {}}
    new_clean = cost_sim.simulate(case, "new")
    new_key = new_clean.pop("_key")
    old_clean = cost_sim.simulate(case, "old")
    old_key = old_clean.pop("_key")
    new_cpu, old_cpu = time_new(new_key, settings), time_old(old_key, settings)
    lake = lake_bytes([e for e, _ in _continuation(case, new_key.state.latest, 0, 1000)],
                      cost_sim.Days(case.timezone))
    result.update(cpu_new=new_cpu, cpu_old=old_cpu, lake=lake,
                  storage_per_million_events={"new": storage_per_million(new_clean["metrics_item_bytes"], lake, prices),
                                              "old": storage_per_million(old_clean["metrics_item_bytes"], lake, prices)})
    for share in DUPLICATE_SHARES:
        new_sim = new_clean if share == 0 else _strip(cost_sim.simulate(replace(case, duplicates=share), "new"))
        old_sim = old_clean if share == 0 else old_with_duplicates(old_clean, share)
        row = {}
        for design, sim, units in (("old", old_sim, old_units(old_sim, old_cpu, case.interval_s, a, prices)),
                                   ("new", new_sim, new_units(new_sim, new_cpu, case.interval_s, a, prices, memory))):
            stream_units(units, round(lake["kinesis_record_bytes"]), round(lake["lake_record_bytes"]), case.interval_s,
                         a, prices)
            row[design] = {"sim": sim, "units": _rounded(asdict(units)), "usd_per_million": dollars_per_million(units, prices)}
        result["by_duplicates"][f"{share:.0%}"] = row
    result["seconds"] = round(time.monotonic() - started, 1)
    progress(f"cost: {rate} per key, windows {label}: simulated {case.days} days in {result['seconds']}s; "
             f"new {_brief(result, 'new')}; old {_brief(result, 'old')}")
    return result


def _strip(sim: dict) -> dict:
    sim.pop("_key", None)
    return sim


def _rounded(values: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}


def _brief(result: dict, design: str) -> str:
    row = result["by_duplicates"]["0%"][design]
    return (f"{row['units']['ddb_write_units']:.2f} WU, {row['units']['ddb_read_units']:.2f} RU, "
            f"LatestTable {row['sim']['latest_item_bytes']:.0f} B, ${row['usd_per_million']['total']:.2f}/M")


TARGETS = {"write_units_per_event": 3.0, "read_units_per_event": 1.0, "latest_item_bytes": 2048,
           "invocations_per_batch": 1, "shard_events_per_s": 1000}


def targets(results: list[dict], throughput: dict) -> dict[str, Any]:
    """Issue 9's targets against the new design (every case, both duplicate shares)."""
    rows = [(r, share, r["by_duplicates"][share]["new"]) for r in results for share in r["by_duplicates"]]
    worst_wu = max(row["units"]["ddb_write_units"] for _, _, row in rows)
    worst_ru = max(row["units"]["ddb_read_units"] for _, _, row in rows)
    worst_item = max(row["sim"]["latest_item_bytes_max"] for _, _, row in rows)
    return {
        "write_units_per_event": {"worst": round(worst_wu, 3), "target": "<= 3", "met": worst_wu <= 3},
        "read_units_per_event": {"worst": round(worst_ru, 3), "target": "<= 1", "met": worst_ru <= 1},
        "latest_item_bytes": {"worst": worst_item, "target": "<= 2048", "met": worst_item <= 2048},
        "invocations_per_batch": {"new": 1, "old": 3, "target": "<= 1", "met": True},
        "shard_events_per_s": {"modelled": throughput["events_per_s"], "target": ">= 1000",
                               "met": throughput["events_per_s"] >= 1000},
    }


def measure(settings: Settings, *, rates: Sequence[str] = tuple(RATES),
            extra_windows: Sequence[Sequence[str]] = ((), ("7d",)), days: int = 8, assumptions: Assumptions | None = None,
            prices_path: Path = PRICES, idle: dict | None = None, progress: Callable[[str], None] = print) -> dict:
    a = assumptions or Assumptions()
    prices = load_prices(prices_path)
    results = [run_case(rate, label, case, settings, prices, a, progress)
               for rate, label, case in cases(settings, rates, extra_windows, days)]
    # The throughput model: 1,000 keys at 1 event/s each, the case with the most windows measured at 1/s.
    at_one_s = [r for r in results if r["rate"] == "1/s"] or results
    basis = max(at_one_s, key=lambda r: r["windows"].count(","))
    throughput = shard_throughput(basis["cpu_new"], basis["by_duplicates"]["5%"]["new"]["sim"], a,
                                  consumer_memory_mb(), prices)
    throughput["basis"] = f"{basis['rate']} per key, windows {basis['windows']}, 5% duplicates"
    out = {"prices": {"as_of": prices["as_of"], "region": prices["region"],
                      "checked_against_price_list": prices["checked_against_price_list"]},
           "assumptions": asdict(a), "cases": results, "throughput": throughput,
           "targets": targets(results, throughput),
           "parameters": {"days": days, "rates": list(rates), "extra_windows": [list(e) for e in extra_windows],
                          "duplicate_shares": list(DUPLICATE_SHARES), "measured_day": days,
                          "consumer_memory_mb": consumer_memory_mb(), "old_functions_mb": OLD_FUNCTIONS}}
    if idle is not None:
        out["idle_monthly_usd"] = idle
    return out


def summary(model: dict) -> dict[str, dict[str, float]]:
    """$ per million events, old and new, per case without duplicates."""
    return {f"{r['rate']} {r['windows']}": {d: r["by_duplicates"]["0%"][d]["usd_per_million"]["total"]
                                           for d in ("old", "new")} for r in model["cases"]}


# -- the printed table ------------------------------------------------------------------------------------
def table(model: dict) -> str:
    checked = "checked" if model["prices"]["checked_against_price_list"] else "NOT checked"
    lines = [(f"Prices: {model['prices']['region']}, as of {model['prices']['as_of']} (list prices, "
              f"{checked} against the AWS price list)"), "",
             ("| rate/key | windows | dup | design | WU/event | RU/event | LatestTable item | Lambda inv./event "
              "| GB-s/event | $/M DynamoDB | $/M Lambda | $/M Kinesis+Firehose+S3 | $/M total |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in model["cases"]:
        for share, row in r["by_duplicates"].items():
            for design in ("old", "new"):
                d = row[design]
                u, usd, sim = d["units"], d["usd_per_million"], d["sim"]
                lines.append(
                    f"| {r['rate']} | {r['windows']} | {share} | {design} | {u['ddb_write_units']:.2f} | "
                    f"{u['ddb_read_units']:.3f} | {_kb(sim['latest_item_bytes'])} | {u['lambda_invocations']:.4f} | "
                    f"{u['lambda_gb_s']:.6f} | {usd['dynamodb']:.2f} | {usd['lambda']:.2f} | "
                    f"{usd['kinesis'] + usd['firehose'] + usd['s3']:.2f} | {usd['total']:.2f} |")
    t = model["throughput"]
    by_threads = ", ".join(f"{n} threads {v:,}" for n, v in t["events_per_s_by_threads"].items())
    lines += ["", (f"One shard's consumer ({t['basis']}): {t['events_per_s']:,} events/s modelled per batch in "
                   f"flight, {t['events_per_s_with_parallelization']:,} with parallelization factor "
                   f"{t['parallelization_factor']} (batch {t['batch']}, {t['keys_per_batch']} keys, "
                   f"{t['batch_seconds'] * 1000:.0f} ms per batch at {t['memory_mb']} MB, CPU x{t['cpu_scale']}, "
                   f"{t['threads']} threads); offered {t['offered_events_per_s']:,}/s"),
              f"  by threads (factor 1): {by_threads}",
              "  by memory (factor 1): " + ", ".join(f"{m:,} MB {v:,}" for m, v in t["events_per_s_by_memory_mb"].items())
              + f"; CPU {t['cpu_seconds'] * 1000:.0f} ms of the batch; without overlap "
              f"{t['events_per_s_without_overlap']:,}"]
    for name, target in model["targets"].items():
        lines.append(f"  target {name}: {'met' if target['met'] else 'MISSED'} ({target})")
    idle = model.get("idle_monthly_usd")
    if idle:
        lines.append("")
        for profile, data in idle.get("profiles", {}).items():
            lines.append(f"Idle month, {profile} profile: ${data['total']:.2f}")
            for line in data["lines"]:
                lines.append(f"  {line['item']}: {line['quantity']} x ${line['unit_usd']} = ${line['usd']:.2f}")
    return "\n".join(lines)


def _kb(size: float) -> str:
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size:.0f} B"
