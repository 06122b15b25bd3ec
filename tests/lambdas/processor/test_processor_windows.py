"""The processor's key states against brute force over several batches, and the DynamoDB units it spends
per event (item sizes by DynamoDB's rules, lambdas/processor/capacity.py)."""
from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from processor_fakes import FIRST_SEQ, Fakes, LambdaContext, kinesis_event, quote

from barometer.core.timeutil import format_public, parse_rfc3339
from barometer.settings import get_settings
from lambdas.processor.handler import lambda_handler

CONTEXT = LambdaContext()
START = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
UNITS: dict[str, tuple[float, float]] = {}  # per event (read, write), printed with -s for the report


def stamp(t: datetime) -> str:
    return format_public(t)


class BruteForce:
    """The distinct events delivered (the first delivery of each (ts, event_id) counts)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[tuple[datetime, str], float]] = {}

    def deliver(self, payload: dict) -> None:
        key = (parse_rfc3339(payload["ts"]), payload["event_id"])
        self.events.setdefault(f"quote#{payload['symbol']}", {}).setdefault(key, payload["price"])

    def windows(self, pk: str) -> dict[str, list[float]]:
        events = self.events[pk]
        t = max(events)[0]
        return {w.name: [v for (ts, _), v in events.items() if t - timedelta(seconds=w.seconds) < ts <= t]
                for w in get_settings().windows}


def test_rolling_averages_equal_brute_force_over_batches_of_late_duplicate_and_redelivered_records():
    # Given two symbols' quotes over two days in batches: mostly in order, some late (inside and past the
    # windows), some re-sent (same ts and event_id, another price, a new sequence number), one batch delivered twice
    rng = random.Random(9)
    fakes, truth = Fakes(), BruteForce()
    sent: list[dict] = []
    clock = {"AAPL": START, "MSFT": START}
    seq = FIRST_SEQ
    for number in range(8):
        payloads = []
        for n in range(rng.randint(30, 70)):
            symbol = rng.choice(("AAPL", "MSFT"))
            roll = rng.random()
            if sent and roll < 0.08:
                payloads.append({**rng.choice(sent), "price": round(rng.uniform(100, 200), 2)})
                continue
            if roll < 0.2:
                ts = clock[symbol] - timedelta(seconds=rng.choice((30, 200, 1800, 5000, 100_000)))
            else:
                clock[symbol] += timedelta(seconds=rng.choice((1, 7, 60, 240, 900, 3000)), microseconds=rng.randint(0, 999))
                ts = clock[symbol]
            payloads.append(quote(symbol, round(rng.uniform(100, 200), 2), stamp(ts), f"{symbol}-{number}-{n}"))
        sent.extend(p for p in payloads if p["event_id"].count("-") == 2)
        event = kinesis_event(payloads, first_seq=seq)
        seq += len(payloads) + 5
        # When each batch is processed (the fourth twice, as Lambda redelivers after a timeout)
        for _ in range(2 if number == 3 else 1):
            assert lambda_handler(event, CONTEXT, ports=fakes.warm) == {"batchItemFailures": []}
        for payload in payloads:
            truth.deliver(payload)
        # Then every key's windows hold exactly the distinct events with ts in (latest - W, latest]
        for pk, item in fakes.latest.items.items():
            for name, values in truth.windows(pk).items():
                assert item["rolling_counts"][name] == len(values), (number, pk, name)
                expected = math.fsum(values) / len(values)
                assert math.isclose(item["rolling"][name], expected, rel_tol=1e-12), (number, pk, name)
            assert item["events"] == len(truth.events[pk])
    assert len(fakes.metrics.items) == sum(len(e) for e in truth.events.values())


def measure(fakes: Fakes, batches: list[list[dict]], first_seq: int) -> tuple[float, float]:
    """(read units, write units) per event over these batches."""
    read_before, write_before = fakes.meter.totals()
    seq, events = first_seq, 0
    for payloads in batches:
        assert lambda_handler(kinesis_event(payloads, first_seq=seq), CONTEXT, ports=fakes.warm) == {
            "batchItemFailures": []}
        seq += len(payloads)
        events += len(payloads)
    read, write = fakes.meter.totals()
    return (read - read_before) / events, (write - write_before) / events


def steady_symbol(count: int, step_s: int) -> list[dict]:
    return [quote("AAPL", 150.0 + (i % 97) * 0.25, stamp(START + timedelta(seconds=i * step_s)),
                  f"simulator:quote:AAPL:{i}") for i in range(count)]


def test_units_per_event_in_order_late_and_duplicate():
    # Given a symbol with a quote every 10 s for 26 hours, in batches of 100 (every window full: 5m, 1h, 24h)
    fakes = Fakes()
    day = steady_symbol(9500, 10)
    measure(fakes, [day[i:i + 100] for i in range(0, 8500, 100)], FIRST_SEQ)
    # When the next 1,000 arrive in order
    in_order = measure(fakes, [day[i:i + 100] for i in range(8500, 9500, 100)], FIRST_SEQ + 10_000)
    # ... then 200 late ones (between earlier quotes), then 200 re-sent copies of earlier quotes
    late = [quote("AAPL", 151.0, stamp(START + timedelta(seconds=i * 10 + 5)), f"late-{i}") for i in range(9299, 9499)]
    late_units = measure(fakes, [late[i:i + 100] for i in (0, 100)], FIRST_SEQ + 20_000)
    copies = day[9299:9499]
    duplicate_units = measure(fakes, [copies[i:i + 100] for i in (0, 100)], FIRST_SEQ + 30_000)
    UNITS.update({"in order": in_order, "late": late_units, "duplicate": duplicate_units})
    print({k: (round(r, 3), round(w, 3)) for k, (r, w) in UNITS.items()})
    # Then in order: one MetricsTable item each and the key's state once per batch; the windows' departures
    # read back in chunks of 40 (one ~300-byte item per event for the 1h and 24h windows; the 5m one is followed
    # in full in memory): a fraction of a unit
    assert 1.0 < in_order[1] <= 1.05 and in_order[0] <= 0.5
    # late: the same writes, plus one consistent read each (the MetricsTable lookup that tells it from a duplicate)
    assert 1.0 < late_units[1] <= 1.05 and 1.0 <= late_units[0] <= 1.5
    # duplicates: the lookup alone, nothing written but the key's state once per batch
    assert duplicate_units[1] <= 0.05 and 1.0 <= duplicate_units[0] <= 1.1
    assert fakes.latest.items["quote#AAPL"]["events"] == 9500 + 200
