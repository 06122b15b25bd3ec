"""Barometer's benchmarks (`make bench`): hot path, cold start, end to end, cost. Results in bench/results.json.

Sections (see docs/benchmarks.md for what each figure means):
  hot_path  the domain core per event (validate, enrich, rolling update, rules) vs plain JSON
  imports   each handler module imported in a fresh process (cold start)
  e2e       POST /v1/events -> LatestTable on the local platform, beside the emulator's DynamoDB ceiling
  cost      issue 9's cost model: AWS units and $ per event (first design vs hot path v2), idle month
  import    `barometer import`: rows/s validated and posted to a running platform, beside e2e's rate
"""
from __future__ import annotations

import argparse
import json
import os
import platform as host
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SECTIONS = ("hot_path", "imports", "e2e", "cost", "import")
RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = host.processor()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gb = None
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu_model": model or "unknown",
            "memory_gb": memory_gb, "python": host.python_version(), "implementation": host.python_implementation(),
            "os": f"{host.system()} {host.release()}", "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


# The top-level keys each section writes (the contract) besides its own object.
SECTION_KEYS = {"hot_path": ("hot_path_events_per_s", "hot_path_vs_json_ratio"), "imports": ("import_ms",),
                "e2e": ("e2e_events_per_s", "e2e_p50_ms", "e2e_p99_ms", "emulator_ddb_items_per_s"),
                "cost": ("cost_usd_per_million_events", "idle_monthly_usd"), "import": ("import_rows_per_s",)}


def merge_earlier(results: dict[str, Any], path: Path) -> dict[str, Any]:
    """With --only, keep the other sections of the results file, each with the machine it ran on."""
    skipped = [name for name in SECTIONS if name not in results["sections"]]
    try:
        earlier = json.loads(path.read_text()) if skipped else {}
    except (OSError, ValueError):
        earlier = {}
    for name in skipped:
        if name in earlier:
            for key in (name, *SECTION_KEYS[name]):
                results[key] = earlier[key]
            results[name].setdefault("machine", earlier.get("machine"))
    results["machine"] = {**results["machine"]}
    for name in results["sections"]:
        results[name]["machine"] = results["machine"]
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})")
    parser.add_argument("--quick", action="store_true",
                        help="smaller workloads (a smoke run of about two minutes; figures are noisier)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument("--hot-events", type=int, help="hot path: events per round (default 50000; quick 10000)")
    parser.add_argument("--hot-rounds", type=int, help="hot path: timed rounds, median reported (default 5; quick 3)")
    parser.add_argument("--profile", action="store_true",
                        help="hot path: print a cProfile of one round (always done when the target is missed)")
    parser.add_argument("--import-runs", type=int, default=7, help="cold start: runs per handler (median; default 7)")
    parser.add_argument("--e2e-seconds", type=float,
                        help="end to end: seconds of saturated load (default 60; quick 20)")
    parser.add_argument("--e2e-events", type=int, default=40_000,
                        help="end to end: most events per phase (default 40000)")
    parser.add_argument("--e2e-latency-seconds", type=float,
                        help="end to end: seconds of load at half the sustained rate, for latency (default 40; quick 15)")
    parser.add_argument("--e2e-symbols", type=int, default=96,
                        help="end to end: symbols beyond the configured ones (default 96)")
    parser.add_argument("--e2e-backlog", type=int, default=4000,
                        help="end to end: most events posted but not yet in LatestTable (default 4000; 2000 until "
                             "session 7, when it capped the rate: 2,000 events over the ~0.8 s an event spends in the "
                             "pipeline at the least is ~2,500 events/s)")
    parser.add_argument("--e2e-poll", type=float, default=0.2,
                        help="end to end: seconds between reads of the sampled keys in LatestTable while paced "
                             "(default 0.2: shorter than the time between two POSTs, so that a read seldom finds a key "
                             "already updated by the next POST's batch, whose stamp would overstate the latency)")
    parser.add_argument("--emulator-profile", action="store_true",
                        help="end to end: run the emulator with a per-operation timer and print where its time goes")
    parser.add_argument("--emulator-profile-every", type=int, default=0, metavar="N",
                        help="with --emulator-profile: also cProfile every Nth call of each operation and keep the "
                             "profiles (pstats files) in bench/emulator-profiles/ (default 0: none)")
    parser.add_argument("--ceiling-items", type=int,
                        help="emulator DynamoDB ceiling: items written, each time it is measured (default 25000, 7-10 s; quick 8000)")
    parser.add_argument("--cost-days", type=int, default=8,
                        help="cost: days simulated per key, the last one measured (default 8: a week, then the 8th day)")
    parser.add_argument("--import-rows", type=int,
                        help="import: rows of the CSV imported into a running platform (default 5000; quick 2000)")
    parser.add_argument("--cdk-out", type=Path, default=None,
                        help="cost: synthesized templates for the idle month (default: synthesize into a temporary dir)")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    args.hot_events = args.hot_events or (10_000 if args.quick else 50_000)
    args.hot_rounds = args.hot_rounds or (3 if args.quick else 5)
    args.e2e_seconds = args.e2e_seconds or (20 if args.quick else 60)
    args.e2e_latency_seconds = args.e2e_latency_seconds or (15 if args.quick else 40)
    args.ceiling_items = args.ceiling_items or (8_000 if args.quick else 25_000)
    args.import_rows = args.import_rows or (2_000 if args.quick else 5_000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(text: str) -> None:
        print(text, flush=True)

    from barometer.settings import get_settings

    settings = get_settings()
    results: dict[str, Any] = {"machine": machine(), "sections": args.sections, "quick": args.quick}
    progress(f"machine: {results['machine']['cores']} cores, {results['machine']['cpu_model']}, "
             f"Python {results['machine']['python']}, load average {results['machine']['load_average_at_start']}")
    started = time.monotonic()
    if "hot_path" in args.sections:
        from bench import hot_path

        section = hot_path.measure(settings, args.hot_events, args.hot_rounds, progress, profile=args.profile)
        results.update({k: section.pop(k) for k in ("hot_path_events_per_s", "hot_path_vs_json_ratio")})
        results["hot_path"] = section
    if "imports" in args.sections:
        from bench import cold_start

        section = cold_start.measure(args.import_runs, progress)
        results["import_ms"] = section.pop("import_ms")
        results["imports"] = section
    if "e2e" in args.sections:
        from bench import e2e

        section = e2e.measure(settings, seconds=args.e2e_seconds, max_events=args.e2e_events,
                              extra_symbols=args.e2e_symbols, backlog=args.e2e_backlog,
                              latency_seconds=args.e2e_latency_seconds, poll_s=args.e2e_poll,
                              ceiling_items=args.ceiling_items, progress=progress,
                              emulator_profile=args.emulator_profile,
                              profile_every=args.emulator_profile_every if args.emulator_profile else 0)
        results.update({k: section.pop(k) for k in ("e2e_events_per_s", "e2e_p50_ms", "e2e_p99_ms",
                                                    "emulator_ddb_items_per_s")})
        results["e2e"] = section
    if "cost" in args.sections:
        from bench import cost_idle, cost_model

        try:
            idle = cost_idle.idle_from(args.cdk_out, cost_model.load_prices())
        except cost_idle.TemplateError as exc:
            progress(f"cost: idle month skipped: {exc}")
            idle = {"error": str(exc)}
        section = cost_model.measure(settings, days=args.cost_days, idle=idle, progress=progress)
        progress(cost_model.table(section))
        results["cost_usd_per_million_events"] = cost_model.summary(section)
        results["idle_monthly_usd"] = {name: p["total"] for name, p in idle.get("profiles", {}).items()}
        results["cost"] = section
    if "import" in args.sections:
        from bench import import_rate

        e2e_rate = results.get("e2e_events_per_s")
        if e2e_rate is None:
            try:
                e2e_rate = json.loads(args.out.read_text()).get("e2e_events_per_s")
            except (OSError, ValueError):
                e2e_rate = None
        section = import_rate.measure(settings, rows=args.import_rows, e2e_events_per_s=e2e_rate, progress=progress)
        results["import_rows_per_s"] = section.pop("import_rows_per_s")
        results["import"] = section
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["argv"] = sys.argv[1:] if argv is None else argv
    results = merge_earlier(results, args.out)
    results["parameters"] = {name: results.get(name, {}).get("parameters") for name in SECTIONS}
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    progress(f"results written to {args.out} ({results['duration_s']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
