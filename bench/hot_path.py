"""Hot path: the processor's pure per-record work (issue 9, hot path v2), per batch of 500, on one core.

Per batch, as lambdas/processor/pipeline.py runs it minus the AWS calls: `parse_event` (validate,
normalise, event id) and `event_local_day` per record; the records grouped by key in stream order and
`classify_batch` per key (a NEEDS_LOOKUP record settled by `resolve_lookup` against the in-memory
MetricsTable, standing in for the BatchGetItem); the NEW records stored in the in-memory MetricsTable
with their sequence number (standing in for BatchWriteItem); `KeyState.apply` per NEW record, with a
`DepartureCache` per key reading the departing values back from that MetricsTable in chunks of 40
(the warm container's cache, kept across batches); `rules.evaluate` per applied event; and once per
key per batch `to_item` (the LatestTable item, which builds the public `view()`). Beside it, in the
same run and interleaved round by round: plain `json.loads` + `json.dumps` of the same events.
"""
from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from barometer import catalogue
from barometer.config import Settings
from barometer.core.events import event_local_day, parse_event
from barometer.core.keystate import KeyState, Verdict, classify_batch, resolve_lookup, to_item
from barometer.core.rolling import rolling_series
from barometer.core.rules import evaluate
from barometer.core.timeutil import format_public
from barometer.core.windows import DepartureCache, Entry
from bench import workload

BATCH = catalogue.PROCESSOR_FUNCTION.mapping.batch_size  # 500
DEPARTURE_CHUNK = 40  # items per departure read, as the processor reads them (lambdas/processor/pipeline.py)
SEQ_BASE = 4965 * 10**52  # Kinesis sequence numbers have 56 digits: str() of them is part of to_item
TARGET_EVENTS_PER_S = 50_000
STAGES = ("parse_event", "local_day", "classify", "store", "apply", "rules", "to_item")
_NEW, _DUPLICATE, _LOOKUP = Verdict.NEW, Verdict.DUPLICATE, Verdict.NEEDS_LOOKUP
_PAST_ANY_ID = "\uffff"


class MemoryMetrics:
    """MetricsTable in memory: per key, the items (epoch_us, event_id) -> (value, seq) in sort-key order,
    read back as a barometer.core.windows.DepartureSource (and by the lookups of NEEDS_LOOKUP records)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[tuple[int, str]]] = {}
        self.items: dict[str, dict[tuple[int, str], tuple[float, int]]] = {}

    def put(self, pk: str, epoch_us: int, event_id: str, value: float, seq: int) -> None:
        keys, items = self.keys.get(pk), self.items.get(pk)
        if keys is None:
            keys, items = self.keys[pk], self.items[pk] = [], {}
        ident = (epoch_us, event_id)
        if ident not in items:
            if not keys or keys[-1] < ident:
                keys.append(ident)
            else:  # a late event: keep sort-key order
                keys.insert(bisect_left(keys, ident), ident)
        items[ident] = (value, seq)

    def stored_seq(self, pk: str, epoch_us: int, event_id: str) -> int | None:
        found = self.items.get(pk, {}).get((epoch_us, event_id))
        return None if found is None else found[1]

    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None
              ) -> Sequence[Entry]:
        keys, items = self.keys.get(pk, []), self.items.get(pk, {})
        lo = bisect_right(keys, (after_us, _PAST_ANY_ID if after_id is None else after_id))
        hi = min(bisect_right(keys, (upto_us, _PAST_ANY_ID)), lo + limit)
        return [(us, event_id, *items[(us, event_id)]) for us, event_id in keys[lo:hi]]


class Outcome:
    __slots__ = ("alerts", "applied", "caches", "items", "last_item", "lookups", "puts", "seconds", "stages",
                 "states", "store")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.stages = dict.fromkeys(STAGES, 0.0)
        self.alerts: list = []
        self.applied = 0
        self.items = 0  # LatestTable items built: one per key per batch
        self.lookups = 0
        self.puts = 0
        self.states: dict[str, KeyState] = {}
        self.caches: dict[str, DepartureCache] = {}
        self.store = MemoryMetrics()
        self.last_item: dict[str, dict[str, Any]] = {}


def run_hot_path(batches: list[list[dict]], settings: Settings, now: datetime) -> Outcome:
    """One pass over every batch from empty state (a fresh container); timings per stage."""
    out = Outcome()
    states, caches, store, stages = out.states, out.caches, out.store, out.stages
    windows = settings.windows
    perf = time.perf_counter
    seq = SEQ_BASE
    started = perf()
    for batch in batches:
        t0 = perf()
        events = [parse_event(obj, settings, now) for obj in batch]
        t1 = perf()
        days = [event_local_day(event, settings) for event in events]
        t2 = perf()
        by_key: dict[str, list[tuple[Any, str, int]]] = {}
        for event, day in zip(events, days):
            seq += 1
            records = by_key.get(event.pk)
            if records is None:
                records = by_key[event.pk] = []
            records.append((event, day, seq))
        verdicts: dict[str, list[Verdict]] = {}
        for pk, records in by_key.items():
            state = states.get(pk)
            if state is None:
                first = records[0][0]
                state = states[pk] = KeyState(first.kind, first.key, windows)
                caches[pk] = DepartureCache(store, pk, limit=DEPARTURE_CHUNK)
            found = verdicts[pk] = classify_batch(state, [(e, s) for e, _, s in records])
            for i, verdict in enumerate(found):
                if verdict is _LOOKUP:
                    event, _, s = records[i]
                    found[i] = resolve_lookup(s, store.stored_seq(pk, event.epoch_us, event.event_id))
                    out.lookups += 1
        t3 = perf()
        put = store.put
        for pk, records in by_key.items():
            for (event, _, s), verdict in zip(records, verdicts[pk]):
                if verdict is _NEW:
                    put(pk, event.epoch_us, event.event_id, event.value, s)
                    out.puts += 1
        t4 = perf()
        applied = []
        for pk, records in by_key.items():
            state, cache, apply = states[pk], caches[pk], states[pk].apply
            for (event, day, s), verdict in zip(records, verdicts[pk]):
                if verdict is _NEW:
                    applied.append(apply(event, day, s, cache))
                elif verdict is _DUPLICATE:
                    state.skip(s)
        t5 = perf()
        for a in applied:
            e = a.event
            out.alerts.extend(evaluate(e.kind, e.key, e.ts, e.value, e.fields, e.event_id, a.local_day,
                                       a.previous_close, settings))
        t6 = perf()
        updated_at = format_public(now)
        for pk in by_key:
            state = states[pk]
            out.last_item[pk] = to_item(state, updated_at)
            state.version += 1  # as a successful conditional save does
        t7 = perf()
        out.applied += len(applied)
        out.items += len(by_key)
        for name, begin, end in zip(STAGES, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
            stages[name] += end - begin
    out.seconds = perf() - started
    return out


def run_json(texts: list[str]) -> float:
    loads, dumps, perf = json.loads, json.dumps, time.perf_counter
    started = perf()
    for text in texts:
        dumps(loads(text))
    return perf() - started


def verify(outcome: Outcome, settings: Settings, count: int) -> dict[str, Any]:
    """The benchmark measured the real work: every key's final averages and counts (in its last
    LatestTable item) equal a brute-force recount over everything stored, every event was applied
    once, and the workload's crashes raised market alerts."""
    if outcome.applied != count or outcome.puts != count:
        raise AssertionError(f"{count} distinct events, {outcome.applied} applied, {outcome.puts} stored")
    checked = 0
    for pk, item in outcome.last_item.items():
        keys, items = outcome.store.keys[pk], outcome.store.items[pk]
        times, values = [k[0] for k in keys], [items[k][0] for k in keys]
        latest = times.index(max(times))
        expected = rolling_series(times, values, settings.windows, start=latest)[0]
        for w in settings.windows:
            average, expect = item["rolling"][w.name], expected[w.name]
            inside = sum(1 for t in times if times[latest] - w.seconds * 1_000_000 < t <= times[latest])
            if average is None or abs(average - expect) > 1e-9 * max(1.0, abs(expect)):
                raise AssertionError(f"{pk} rolling {w.name}: {average} != {expect} (exact recount)")
            if item["rolling_counts"][w.name] != inside:
                raise AssertionError(f"{pk} count {w.name}: {item['rolling_counts'][w.name]} != {inside}")
        checked += 1
    market = {a.key for a in outcome.alerts if a.kind == "market"}
    weather = {a.rule for a in outcome.alerts if a.kind == "weather"}
    if not market:
        raise AssertionError("the workload's crashes raised no market alert: the rules stage did no real work")
    return {"keys_checked": checked, "market_alert_keys": sorted(market), "weather_alert_rules": sorted(weather)}


def profile_top(batches: list[list[dict]], settings: Settings, now: datetime, lines: int = 18) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_hot_path(batches, settings, now)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    return text.getvalue()


def measure(settings: Settings, count: int, rounds: int, progress=print, profile: bool = False) -> dict[str, Any]:
    objects = workload.events(settings, count)
    texts = [json.dumps(obj) for obj in objects]
    batches = [objects[i:i + BATCH] for i in range(0, len(objects), BATCH)]
    now = datetime.now(UTC)
    quotes = sum(1 for o in objects if o["kind"] == "quote")
    progress(f"hot path: {count:,} events ({quotes:,} quotes, {count - quotes:,} weather) in batches of {BATCH}, "
             f"{rounds} rounds interleaved with plain JSON")

    warm = run_hot_path(batches, settings, now)  # warm-up; also the correctness check
    checks = verify(warm, settings, count)
    caches = warm.caches.values()
    checks.update(keys=len(warm.states), item_writes_per_pass=warm.items,
                  applied_per_pass=warm.applied, lookups_per_pass=warm.lookups,
                  departure_reads_per_pass=sum(c.fetches for c in caches),
                  departure_items_read_per_pass=sum(c.items for c in caches), alerts_per_pass=len(warm.alerts))
    run_json(texts)

    hot_times, json_times, stage_rounds = [], [], []
    for n in range(rounds):
        outcome = run_hot_path(batches, settings, now)
        hot_times.append(outcome.seconds)
        stage_rounds.append(outcome.stages)
        json_times.append(run_json(texts))
        progress(f"  round {n + 1}/{rounds}: hot path {count / outcome.seconds:,.0f} events/s, "
                 f"json {count / json_times[-1]:,.0f} events/s")
    hot_s, json_s = statistics.median(hot_times), statistics.median(json_times)
    middle = hot_times.index(sorted(hot_times)[len(hot_times) // 2])
    stages_us = {name: round(stage_rounds[middle][name] / count * 1e6, 3) for name in STAGES}
    result = {
        "hot_path_events_per_s": round(count / hot_s),
        "hot_path_best_events_per_s": round(count / min(hot_times)),
        "json_events_per_s": round(count / json_s),
        "hot_path_vs_json_ratio": round(hot_s / json_s, 2),
        "hot_path_us_per_event": round(hot_s / count * 1e6, 3),
        "json_us_per_event": round(json_s / count * 1e6, 3),
        "stage_us_per_event": stages_us,
        "rounds_events_per_s": [round(count / t) for t in hot_times],
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "meets_target": count / hot_s >= TARGET_EVENTS_PER_S,
        "checks": checks,
        "parameters": {"events": count, "batch": BATCH, "rounds": rounds, "quotes": quotes,
                       "weather": count - quotes, "seed": 42, "statistic": "median of rounds",
                       "windows": [w.name for w in settings.windows], "departure_chunk": DEPARTURE_CHUNK,
                       "core": "hot path v2 (barometer/core/keystate.py, windows.py)"},
    }
    progress(f"hot path: {result['hot_path_events_per_s']:,} events/s (median; best "
             f"{result['hot_path_best_events_per_s']:,}; target >= {TARGET_EVENTS_PER_S:,}: "
             f"{'met' if result['meets_target'] else 'MISSED'})")
    progress(f"plain JSON loads+dumps: {result['json_events_per_s']:,} events/s; hot path / JSON time per event = "
             f"{result['hot_path_vs_json_ratio']}x")
    progress("  per event (us): " + ", ".join(f"{k} {v}" for k, v in stages_us.items()))
    progress(f"  checked: {checks['keys_checked']} keys' averages and counts exact; {checks['applied_per_pass']:,} "
             f"applied; {checks['alerts_per_pass']} alerts; {checks['item_writes_per_pass']:,} LatestTable items; "
             f"{checks['departure_reads_per_pass']:,} departure reads ({checks['departure_items_read_per_pass']:,} "
             f"items); {checks['lookups_per_pass']:,} lookups")
    if profile or not result["meets_target"]:
        result["profile"] = profile_top(batches, settings, now)
        progress(result["profile"])
    return result

