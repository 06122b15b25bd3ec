"""Hot path: the domain core as the Lambdas use it, per batch of 500 events, on one core.

Per event: `parse_event` (validate, normalise, event id; the validator), `event_local_day`
(enrichment), the MetricsTable write stood in by an in-memory store, `KeyState.apply` (rolling
buckets, previous close; the aggregator) and `rules.evaluate` (the rules engine). Per key touched by
a batch: one `KeyState.snapshot` (what the aggregator writes to LatestTable per invocation), whose
window edges read the in-memory store, so every average is exact. Beside it, in the same run and
interleaved round by round: plain `json.loads` + `json.dumps` of the same events.
"""
from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import time
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench import workload
from barometer.config import Settings
from barometer.core.events import event_local_day, parse_event
from barometer.core.rolling import rolling_series
from barometer.core.rules import evaluate
from barometer.core.state import KeyState

BATCH = 500  # the validator's and the aggregator's batch size (barometer/catalogue.py)
TARGET_EVENTS_PER_S = 50_000
STAGES = ("parse_event", "local_day", "store+apply", "snapshot", "rules")


class MemoryMetrics:
    """MetricsTable in memory: per key, times and values in time order (the boundary fetch reads it)."""

    def __init__(self) -> None:
        self.times: dict[str, list[int]] = {}
        self.values: dict[str, list[float]] = {}

    def add(self, pk: str, epoch_us: int, value: float) -> None:
        times = self.times.get(pk)
        if times is None:
            self.times[pk], self.values[pk] = [epoch_us], [value]
        elif epoch_us >= times[-1]:
            times.append(epoch_us)
            self.values[pk].append(value)
        else:  # a late event: keep time order
            at = bisect_right(times, epoch_us)
            times.insert(at, epoch_us)
            self.values[pk].insert(at, value)

    def fetch_for(self, pk: str) -> Callable[[int, int], list[float]]:
        """Values with lo < t <= hi, as the aggregator's `MetricsHistory.values_between` reads them."""
        times, values = self.times[pk], self.values[pk]
        return lambda lo, hi: values[bisect_right(times, lo):bisect_right(times, hi)]


class Outcome:
    __slots__ = ("alerts", "fetches", "last_snapshot", "seconds", "snapshots", "stages", "states", "store")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.stages = dict.fromkeys(STAGES, 0.0)
        self.alerts: list = []
        self.snapshots = 0
        self.fetches = 0
        self.states: dict[str, KeyState] = {}
        self.store = MemoryMetrics()
        self.last_snapshot: dict[str, dict[str, Any]] = {}


def run_hot_path(batches: list[list[dict]], settings: Settings, now: datetime, count_fetches: bool = False
                 ) -> Outcome:
    """One pass over every batch from empty state; timings per stage."""
    out = Outcome()
    states, store, stages = out.states, out.store, out.stages
    windows, max_window_s = settings.windows, settings.max_window_s
    perf = time.perf_counter
    seq = 0
    started = perf()
    for batch in batches:
        t0 = perf()
        events = [parse_event(obj, settings, now) for obj in batch]
        t1 = perf()
        days = [event_local_day(event, settings) for event in events]
        t2 = perf()
        touched: dict[str, KeyState] = {}
        applied = []
        for event, day in zip(events, days):
            pk = event.pk
            state = states.get(pk)
            if state is None:
                state = states[pk] = KeyState(event.kind, event.key)
            store.add(pk, event.epoch_us, event.value)
            seq += 1
            result = state.apply(event, day, seq=seq)
            if result is not None:
                applied.append(result)
                touched[pk] = state
        t3 = perf()
        for pk, state in touched.items():
            fetch = store.fetch_for(pk)
            if count_fetches:
                fetch = _counting(fetch, out)
            out.last_snapshot[pk] = state.snapshot(windows, max_window_s, fetch)
        out.snapshots += len(touched)
        t4 = perf()
        for a in applied:
            e = a.event
            out.alerts.extend(evaluate(e.kind, e.key, e.ts, e.value, e.fields, e.event_id, a.local_day,
                                       a.previous_close, settings))
        t5 = perf()
        stages["parse_event"] += t1 - t0
        stages["local_day"] += t2 - t1
        stages["store+apply"] += t3 - t2
        stages["snapshot"] += t4 - t3
        stages["rules"] += t5 - t4
    out.seconds = perf() - started
    return out


def _counting(fetch, out: Outcome):
    def wrapped(lo: int, hi: int):
        out.fetches += 1
        return fetch(lo, hi)
    return wrapped


def run_json(texts: list[str]) -> float:
    loads, dumps, perf = json.loads, json.dumps, time.perf_counter
    started = perf()
    for text in texts:
        dumps(loads(text))
    return perf() - started


def verify(outcome: Outcome, settings: Settings) -> dict[str, Any]:
    """The benchmark measured the real work: every key's final averages equal a brute-force recount,
    and the workload's crashes and weather extremes raised alerts."""
    checked = 0
    for pk, snapshot in outcome.last_snapshot.items():
        times, values = outcome.store.times[pk], outcome.store.values[pk]
        expected = rolling_series(times, values, settings.windows, start=len(times) - 1)[0]
        for name, average in snapshot["rolling"].items():
            if average is None or abs(average - expected[name]) > 1e-9 * max(1.0, abs(expected[name])):
                raise AssertionError(f"{pk} rolling {name}: {average} != {expected[name]} (exact recount)")
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

    warm = run_hot_path(batches, settings, now, count_fetches=True)  # warm-up; also the correctness check
    checks = verify(warm, settings)
    checks.update(snapshots_per_pass=warm.snapshots, boundary_fetches_per_pass=warm.fetches,
                  alerts_per_pass=len(warm.alerts), keys=len(warm.states))
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
                       "weather": count - quotes, "seed": 42, "statistic": "median of rounds"},
    }
    progress(f"hot path: {result['hot_path_events_per_s']:,} events/s (median; best "
             f"{result['hot_path_best_events_per_s']:,}; target >= {TARGET_EVENTS_PER_S:,}: "
             f"{'met' if result['meets_target'] else 'MISSED'})")
    progress(f"plain JSON loads+dumps: {result['json_events_per_s']:,} events/s; hot path / JSON time per event = "
             f"{result['hot_path_vs_json_ratio']}x")
    progress("  per event (us): " + ", ".join(f"{k} {v}" for k, v in stages_us.items()))
    progress(f"  checked: {checks['keys_checked']} keys' averages exact; {checks['alerts_per_pass']} alerts; "
             f"{checks['boundary_fetches_per_pass']:,} boundary fetches in {checks['snapshots_per_pass']:,} snapshots")
    if profile or not result["meets_target"]:
        result["profile"] = profile_top(batches, settings, now)
        progress(result["profile"])
    return result
