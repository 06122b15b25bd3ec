"""`barometer`: run Barometer on this machine, on the local AWS emulator.

  barometer up        keep the local platform running until Ctrl-C (prints its URLs)
  barometer config check [FILE]   validate a configuration file without starting anything
  barometer reset     empty the state folder's data (asks first; --yes for scripts)
  barometer token     print a bearer token for the local API
  barometer query     run SQL over the lake of the running platform (CSV, or --json)
  barometer health    print the pipeline's health from the running platform
  barometer import    load CSV, JSON Lines or Parquet files of events into the running platform
  barometer poll      run the poller once, or for every minute of a range (backfill), into the running platform
  barometer backfill  the lake and the rollups over a range of days (Dagster, in process)
  barometer demo      start a platform, drive the whole data path through it, verify each step
  barometer cost      the cost model: AWS units and $ per event, first design vs hot path v2, idle month
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from barometer_local.paths import HOME_ENV, PlatformNotRunningError, read_platform, state_dir


def _up(args: argparse.Namespace) -> int:
    from barometer.config import ConfigError
    from barometer.settings import check_configured
    from barometer_local.platform import LocalPlatform, PlatformError, PlatformOptions

    # Before anything starts: a bad file must not give a platform that answers every call with 502.
    try:
        check_configured()
    except ConfigError as exc:
        print(f"barometer up: configuration refused, nothing started: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    options = PlatformOptions(api_port=args.port, emulator_port=args.emulator_port,
                              poll_interval_s=args.poll_interval if args.poll else None,
                              flush_seconds=args.flush_seconds)
    platform = LocalPlatform(state_dir(), options)
    try:
        platform.start(progress=lambda m: print(f"[up] {m}", flush=True))
        platform.wait_ready()
    except (PlatformError, RuntimeError, OSError) as exc:
        print(f"barometer up: {exc}", file=sys.stderr)
        platform.stop()
        return 1
    dagster = None
    if args.dagster:
        from barometer_local import dagster_dev

        dagster = dagster_dev.start(platform.state_dir, args.dagster_port, platform.state_dir / "logs" / "dagster.log")
    print(f"""
Barometer is running (state in {platform.state_dir}).
  API         {platform.api_url}/v1/   (token: `barometer token`)
  Dashboard   {platform.api_url}/
  Health      {platform.api_url}/healthz
  Emulator    {platform.emulator.url}   (AWS_ENDPOINT_URL for the AWS CLI/SDKs; any credentials)
  Webhook     {platform.webhook.url}   (Slack posts recorded in {platform.state_dir / 'webhook'})
  Mail        {platform.state_dir / 'mail'}""" + (f"""
  Dagster     http://127.0.0.1:{args.dagster_port}/   (log {platform.state_dir / 'logs' / 'dagster.log'})"""
                                                  if dagster else "") + "\nPress Ctrl-C to stop.", flush=True)
    reported_config: str | None = None
    try:
        while not stop.wait(1.0):
            if platform.runner and platform.runner.poll() is not None:
                print("the stream runner stopped; restarting it (it resumes from its checkpoints)", file=sys.stderr)
                platform.start_runner()
            note = platform.config_watch.message() if platform.config_watch else None
            if note and note != reported_config:
                print(f"[up] {note}", file=sys.stderr, flush=True)
            reported_config = note
    finally:
        print("\nstopping ...", flush=True)
        if dagster:
            from barometer_local import dagster_dev

            dagster_dev.stop(dagster, platform.state_dir)
        platform.stop()
    return 0


def _config_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from barometer.config import ConfigError
    from barometer.settings import check_config_file, config_path, describe

    path = Path(args.file) if args.file else config_path()
    try:
        settings = check_config_file(path)
    except ConfigError as exc:
        print(f"barometer config check: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: valid ({describe(settings)})")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from barometer_local.state import ResetError, data_entries, describe, reset

    folder = state_dir()
    entries = data_entries(folder, logs=args.logs)
    if not entries:
        print(f"{folder}: no data to remove")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"barometer reset: would remove {describe(entries)} from {folder}; "
                  "not a terminal, so pass --yes to confirm", file=sys.stderr)
            return 2
        answer = input(f"Remove {describe(entries)} from {folder}? This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 1
    try:
        removed = reset(folder, logs=args.logs)
    except ResetError as exc:
        print(f"barometer reset: {exc}", file=sys.stderr)
        return 2
    print(f"removed {describe(removed)} from {folder}; the next `barometer up` starts empty")
    return 0


def _token(args: argparse.Namespace) -> int:
    from barometer.config import ConfigError, parse_duration
    from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, TokenError, check_ttl, issue_token

    scopes = {"all": (WRITE_SCOPE, READ_SCOPE), "read": (READ_SCOPE,), "write": (WRITE_SCOPE,)}[args.scope]
    try:
        ttl = check_ttl(parse_duration(args.ttl, "--ttl"))
    except (ConfigError, TokenError) as exc:
        print(f"barometer token: {exc}", file=sys.stderr)
        return 2
    print(issue_token(state_dir(), scopes=scopes, ttl_s=ttl))
    return 0


def _query(args: argparse.Namespace) -> int:
    from barometer.catalogue import PROCESSED_BUCKET
    from barometer_local.emulator import REGION
    from barometer_sql import LakeQueryError, run_query

    try:
        info = read_platform()
        result = run_query(args.sql, s3_endpoint=info["aws_endpoint"], processed_bucket=PROCESSED_BUCKET.local_name,
                           region=info.get("region", REGION))
    except (PlatformNotRunningError, LakeQueryError) as exc:
        print(f"barometer query: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.to_json() + "\n" if args.json else result.to_csv())
    return 0


def _format_checks(health: dict) -> str:
    """The statuses the dashboard colours, with their thresholds (the same figures as the health view)."""
    def shown(value: float | None, unit: str) -> str:
        return "unknown" if value is None else f"{value / 1000:.1f} s" if unit == "ms" else f"{value:g} {unit}"

    lines = [f"  status             {str(health.get('status', 'unknown')).upper()}"]
    for check in health.get("checks", []):
        lines.append(f"    {check['label']:<24} {shown(check['value'], check['unit']):<14} {check['status']:<8}"
                     f"(warn >= {shown(check['warn_at'], check['unit'])}, fail >= {shown(check['fail_at'], check['unit'])})")
    return "\n".join(lines)


def _health(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    from barometer_local.auth import READ_SCOPE, issue_token

    try:
        info = read_platform()
    except PlatformNotRunningError as exc:
        print(f"barometer health: {exc}", file=sys.stderr)
        return 2
    request = urllib.request.Request(f"{info['api_url']}/v1/health", headers={
        "Authorization": f"Bearer {issue_token(state_dir(), scopes=(READ_SCOPE,))}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            health = json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        print(f"barometer health: the API at {info['api_url']} did not answer: {exc}", file=sys.stderr)
        return 2
    config = _config_status(info["api_url"])
    if args.json:
        print(json.dumps({**health, "config": config} if config else health, indent=2))
    else:
        from barometer_local.demo import format_health

        print(format_health(health))
        print(_format_checks(health))
        if config and config.get("restart_needed"):
            problem = f"; the new file is invalid: {config['problem']}" if config.get("problem") else ""
            print(f"  configuration      {config['path']} changed since start: restart needed{problem}")
    return health_exit_code(health)


def health_exit_code(health: dict) -> int:
    """0 when the pipeline is ok or only warns, 1 when a check fails: scripts and monitors can act on it
    (2 stays "could not ask")."""
    return 1 if health.get("status") == "fail" else 0


def _config_status(api_url: str) -> dict | None:
    """The platform's configuration status from /healthz (None when it cannot tell)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api_url}/healthz", timeout=10) as response:
            return json.loads(response.read()).get("config")
    except urllib.error.HTTPError as exc:  # 503 while starting still carries the detail
        try:
            return json.loads(exc.read()).get("config")
        except ValueError:
            return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from barometer.config import ConfigError
    from barometer.settings import check_config_file, config_path
    from barometer_local.auth import WRITE_SCOPE, issue_token
    from barometer_local.client import ApiClient
    from barometer_local.import_files import ImportFileError
    from barometer_local.importer import Progress, run_import, summary

    try:
        info = None if args.dry_run else read_platform()
        # Validate with the configuration the platform started with (its cities, its future-skew bound).
        settings = check_config_file(Path(info["config_path"]) if info and info.get("config_path") else config_path())
    except (PlatformNotRunningError, ConfigError) as exc:
        print(f"barometer import: {exc}", file=sys.stderr)
        return 2
    post = None
    if info:
        client = ApiClient(info["api_url"], issue_token(state_dir(), scopes=(WRITE_SCOPE,)), timeout_s=60)
        post = client.send_events
    try:
        report = run_import([Path(p) for p in args.paths], settings, post, kind=args.kind, fmt=args.format,
                            rejects=Path(args.rejects) if args.rejects else None, batch_size=args.batch,
                            progress=Progress(sys.stderr, enabled=not args.quiet))
    except (ImportFileError, ValueError, OSError) as exc:
        print(f"barometer import: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbarometer import: interrupted; what was accepted stays, and importing the same files again "
              "sends the rest (the rows already in are duplicates the platform ignores)", file=sys.stderr)
        return 130
    print(summary(report, dry_run=args.dry_run))
    return report.exit_code


def _poll(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from barometer.config import ConfigError
    from barometer_local.backfill import (
        BackfillError,
        minute_range,
        parse_moment,
        poll_range,
        summary_json,
        use_platform,
    )

    try:
        if args.time and (args.first or args.last):
            raise BackfillError("--time: give either --time or --from/--to")
        if bool(args.first) != bool(args.last):
            raise BackfillError("--from and --to go together")
        if args.first:
            times = minute_range(parse_moment(args.first, "--from"), parse_moment(args.last, "--to", end_of_day=True))
        else:
            times = [parse_moment(args.time, "--time") if args.time else datetime.now(UTC)]
        if not args.dry_run:
            use_platform()
    except (BackfillError, PlatformNotRunningError) as exc:
        print(f"barometer poll: {exc}", file=sys.stderr)
        return 2
    from lambdas.poller.poll import request_from_options

    request = request_from_options("barometer.cli", market=args.market, weather=args.weather,
                                   symbols=args.symbols, cities=args.cities)

    def print_events(events) -> dict:
        for event in events:
            print(json.dumps(event, ensure_ascii=False))
        return {}

    from botocore.exceptions import BotoCoreError

    from lambdas.shared.stream import StreamError

    try:
        report = poll_range(times, request, put=print_events if args.dry_run else None,
                            progress=sys.stderr if len(times) > 1 else None)
    except (StreamError, BotoCoreError, ConfigError) as exc:
        print(f"barometer poll: the platform's stream did not take the events: {exc}", file=sys.stderr)
        return 2
    print(summary_json(report), file=sys.stderr)
    return 1 if report.failed else 0


def _backfill(args: argparse.Namespace) -> int:
    from datetime import date

    from barometer_local.backfill import BackfillError, backfill_command, run_backfill

    try:
        command = backfill_command(date.fromisoformat(args.first), date.fromisoformat(args.last), args.assets)
        info = read_platform()  # the assets read the lake in the platform's emulator
    except ValueError as exc:
        print(f"barometer backfill: --from/--to: {exc} (expected YYYY-MM-DD)", file=sys.stderr)
        return 2
    except (BackfillError, PlatformNotRunningError) as exc:
        print(f"barometer backfill: {exc}", file=sys.stderr)
        return 2
    from pathlib import Path

    folder = Path(info.get("state_dir") or state_dir())
    return run_backfill(command, folder, folder / "logs" / "backfill.log", sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from barometer_local.demo import run_demo

    return run_demo(keep_running=args.keep_running)


def _cost(args: argparse.Namespace) -> int:
    from pathlib import Path

    from barometer.config import ConfigError
    from barometer.settings import get_settings
    from bench import cost_idle, cost_model

    try:
        settings = get_settings()
        extra = [w.strip() for w in args.windows.split(",") if w.strip()] if args.windows else []
        variants = [extra] if args.windows else [[], ["7d"]]
        for variant in variants:
            cost_model.windows_for(settings, variant)  # refuses a malformed window before the long run
    except ConfigError as exc:
        print(f"barometer cost: {exc}", file=sys.stderr)
        return 2
    cdk_out = Path(args.cdk_out) if args.cdk_out else cost_idle.REPO / "cdk.out"
    if args.profile:
        return _cost_profile(args, settings, variants[0], cdk_out)
    idle = None
    if not args.no_idle:
        try:
            idle = cost_idle.idle_from(cdk_out, cost_model.load_prices())
        except cost_idle.TemplateError as exc:
            print(f"barometer cost: idle month skipped: {exc}", file=sys.stderr)
    assumptions = cost_model.Assumptions(keys=args.keys or 1000)
    model = cost_model.measure(settings, rates=[args.rate] if args.rate else list(cost_model.RATES),
                               extra_windows=variants, days=args.days, assumptions=assumptions, idle=idle,
                               progress=(lambda m: print(m, file=sys.stderr, flush=True)))
    print(json.dumps(model, indent=1, default=str) if args.json else cost_model.table(model))
    return 0


def _cost_profile(args: argparse.Namespace, settings, windows: list[str], cdk_out) -> int:
    """One profile's bill: its idle month per resource, $ per million events and the default poll's month."""
    from bench import cost_idle, cost_model

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    prices = cost_model.load_prices()
    keys = args.keys or len(settings.symbols) + len(settings.cities)
    try:
        if not (cdk_out / cost_idle.ROOT_TEMPLATE).exists() or not cost_idle.current(cdk_out):
            progress("barometer cost: synthesizing the CDK app (about a minute)...")
        month = cost_idle.idle_from(cdk_out, prices, (args.profile,))["profiles"][args.profile]
    except cost_idle.TemplateError as exc:
        print(f"barometer cost: {exc}", file=sys.stderr)
        return 1
    rate = args.rate or "1/min"
    model = cost_model.measure(settings, rates=[rate], extra_windows=[windows], days=args.days,
                               assumptions=cost_model.Assumptions(keys=keys), progress=progress)
    case = model["cases"][0]
    per_million = cost_idle.per_million_events(case["by_duplicates"]["0%"]["new"]["units"], case["lake"], prices,
                                               month)
    if args.json:
        print(json.dumps({"profile": args.profile, "idle_month": month, "usd_per_million_events": per_million,
                          "basis": {"rate": rate, "windows": case["windows"], "keys": keys},
                          "prices": model["prices"]}, indent=1))
    else:
        print(cost_idle.profile_bill(month, per_million, keys, args.profile))
        print(f"(prices: {model['prices']['region']} list prices as of {model['prices']['as_of']}, "
              f"{'checked' if model['prices']['checked_against_price_list'] else 'NOT checked'} against the AWS "
              f"price list; events at {rate} per key, {keys} keys, windows {case['windows']})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    import textwrap

    from barometer_local.backfill import BACKFILL_ASSETS

    parser = argparse.ArgumentParser(prog="barometer", description=__doc__.splitlines()[0],
                                     epilog=f"State lives in .barometer/ (or ${HOME_ENV}); "
                                            "BAROMETER_CONFIG selects the configuration file.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="keep the local platform running until Ctrl-C",
                        description="Start the emulator, provision it, run the stream runner, serve the API and "
                                    "the dashboard on 127.0.0.1, and print the URLs. GET /healthz answers 200 once "
                                    "everything is ready.")
    up.add_argument("--port", type=int, default=8080, help="API and dashboard port (default 8080)")
    up.add_argument("--emulator-port", type=int, default=None, help="moto server port (default: a free one)")
    up.add_argument("--poll", action="store_true", help="run the poller on a schedule (simulated providers)")
    up.add_argument("--poll-interval", type=float, default=60.0, help="seconds between polls with --poll (60)")
    up.add_argument("--flush-seconds", type=float, default=2.0,
                    help="Firehose buffer interval for the lake, in seconds (default 2)")
    up.add_argument("--dagster", action="store_true", help="also run `dagster dev` (UI and daemon) beside it")
    up.add_argument("--dagster-port", type=int, default=3000, help="Dagster UI port with --dagster (3000)")
    up.set_defaults(func=_up)

    config = sub.add_parser("config", help="check a configuration file",
                            description="Work with barometer.yaml without starting anything.")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser(
        "check", help="validate a configuration file (exit 0 and a summary, or 2 and the key at fault)",
        description="Read, parse and validate a configuration the way `barometer up`, the Lambdas and Dagster do: "
                    "YAML syntax, keys given twice, unknown keys at any level, every value (timezones, windows, "
                    "thresholds). Exit 0 with a one-line summary when valid; exit 2 naming the key and the problem.")
    check.add_argument("file", nargs="?", help="the file (default: $BAROMETER_CONFIG, else barometer.yaml)")
    check.set_defaults(func=_config_check)

    reset = sub.add_parser("reset", help="empty the state folder's data (asks first)",
                           description="Remove the local platform's data from the state folder, all of it together: "
                                       "the emulator's snapshot (tables, streams, queues, the lake) with the stream "
                                       "runner's positions, the mailbox, the webhook's recorded posts and Dagster's "
                                       "storage. Keeps the JWT signing key (and the logs unless --logs). Refused "
                                       "while a platform runs on the folder.")
    reset.add_argument("--yes", action="store_true", help="do not ask (scripts); required when not on a terminal")
    reset.add_argument("--logs", action="store_true", help="remove the logs too")
    reset.set_defaults(func=_reset)

    token = sub.add_parser("token", help="print a bearer token for the local API",
                           description="Print a JWT signed with this state folder's key (the local stand-in for a "
                                       "Cognito client-credentials token).")
    token.add_argument("--scope", choices=("all", "read", "write"), default="all", help="scopes (default all)")
    token.add_argument("--ttl", default="12h", help="lifetime such as 30m or 12h (default 12h, at most 7d)")
    token.set_defaults(func=_token)

    query = sub.add_parser("query", help="run SQL over the lake of the running platform",
                           description="Run SQL over the processed Parquet zone with DuckDB (the same SQL runs on "
                                       "Athena). Tables: quotes, weather, alerts (also as barometer.<table>), and "
                                       "the rollups once materialized.")
    query.add_argument("sql", help='for example "SELECT symbol, count(*) FROM quotes GROUP BY symbol"')
    query.add_argument("--json", action="store_true", help="print a JSON array instead of CSV")
    query.set_defaults(func=_query)

    health = sub.add_parser("health", help="print the pipeline's health from the running platform",
                            description="Events in, processed, quarantined, DLQ depths, stream lag, handler errors, "
                                        "alerts sent (last 24h), read through the API. Exit status: 0 ok or warn, "
                                        "1 when a check fails, 2 when the platform could not be asked.")
    health.add_argument("--json", action="store_true", help="print the raw JSON")
    health.set_defaults(func=_health)

    imp = sub.add_parser(
        "import", help="load CSV, JSON Lines or Parquet files of events into the running platform",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill("Validate every row with the API's own rules (barometer/core/events.py), then POST the valid "
                    "ones to the running platform (`barometer up`) in batches, in file order. Refused rows are "
                    "listed with their line (row, for Parquet) and reasons, and written to a rejects file. Rows "
                    "without an event_id get the contract's content hash, so importing a file again doubles "
                    "nothing. Exit 0 when every row was accepted, 1 when some were refused, 2 when the files or "
                    "the platform could not be used.", 100),
        epilog="""file formats (from the name, or --format):
  .csv               a header naming event fields: kind,symbol,price,volume,currency,ts,source,event_id
                     (quotes) or kind,city,temp_c,humidity_pct,wind_mps,precip_mm,pressure_hpa,ts (weather);
                     empty cells are absent fields; `kind` may be left out with --kind
  .jsonl .ndjson     one event object per line, as POST /v1/events takes them
  .parquet           columns named as the fields; `ts` as RFC 3339 text or a timestamp with a time zone

examples:
  barometer import prices.csv --kind quote
  barometer import history/*.jsonl --rejects refused.jsonl
  barometer import weather.parquet --dry-run      # validate only; no platform needed""")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files to import, in this order")
    imp.add_argument("--kind", choices=("quote", "weather"), help="kind of the rows that name none")
    imp.add_argument("--format", choices=("csv", "jsonl", "parquet"), help="the files' format (default: by name)")
    imp.add_argument("--rejects", metavar="FILE",
                     help="write every refused row here (default: <input>.rejects.jsonl beside each input; "
                          "replaced on each run, removed when nothing was refused)")
    imp.add_argument("--batch", type=int, default=500, metavar="N", help="events per request, 1..500 (default 500)")
    imp.add_argument("--dry-run", action="store_true", help="validate and report only; send nothing")
    imp.add_argument("--quiet", action="store_true", help="no progress line (the summary is still printed)")
    imp.set_defaults(func=_import)

    poll = sub.add_parser(
        "poll", help="run the poller once, or for every minute of a range (backfill), into the running platform",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill("Run the poller (lambdas/poller) in this process against the running platform (`barometer up`): "
                    "its events go on the platform's stream like a scheduled poll's. With --from/--to, once per "
                    "minute of the range (the simulator answers for any past minute; real providers always answer "
                    "with their current observation). Polling a range again puts only duplicates (deterministic "
                    "event ids). The summary goes to stderr; exit 1 when a provider or the stream failed for some.", 100),
        epilog="""examples:
  barometer poll                                          # one poll, now
  barometer poll --time 2026-11-24T15:04:00Z
  barometer poll --from 2026-11-23 --to 2026-11-24        # every minute of two days (UTC)
  barometer poll --dry-run --symbols AAPL --cities London # print the events; no platform needed""")
    poll.add_argument("--time", help="RFC 3339 time of one poll (default: now)")
    poll.add_argument("--from", dest="first", metavar="T", help="first minute of a range (RFC 3339, or a date)")
    poll.add_argument("--to", dest="last", metavar="T", help="last minute of a range (RFC 3339, or a date: its "
                                                             "last minute); at most 31 days")
    poll.add_argument("--market", help="market provider (default: poller.market in barometer.yaml)")
    poll.add_argument("--weather", help="weather provider (default: poller.weather)")
    poll.add_argument("--symbols", help="comma-separated symbols (default: all configured; '' for none)")
    poll.add_argument("--cities", help="comma-separated cities (default: all configured; '' for none)")
    poll.add_argument("--dry-run", action="store_true", help="print the events as JSON lines instead of putting them")
    poll.set_defaults(func=_poll)

    backfill = sub.add_parser(
        "backfill", help="the lake and the rollups over a range of days (Dagster, in process)",
        description=textwrap.fill("Once history is in (barometer import, barometer poll --from/--to), compact the lake and "
                    "compute the rollups for every day of the range in one Dagster run: `dg launch --assets "
                    f"'{BACKFILL_ASSETS}' --partition-range FROM...TO` with the platform's Dagster home (the "
                    "same as `make dagster-backfill FIRST= LAST=`). Needs the running platform (the lake is in its "
                    "emulator); Dagster's steps are shown as they go, its whole log is kept in "
                    "<state>/logs/backfill.log. Exit status: dg's.", 100),
        epilog="example:\n  barometer backfill --from 2026-11-01 --to 2026-11-24",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    backfill.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD", help="first day (partition)")
    backfill.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD", help="last day, included")
    backfill.add_argument("--assets", default=BACKFILL_ASSETS,
                          help=f"asset selection; every asset must be single-run (default {BACKFILL_ASSETS!r})")
    backfill.set_defaults(func=_backfill)

    demo = sub.add_parser("demo", help="run the platform's demo and verify every step",
                          description="Start a platform in a fresh state folder, inject events through the "
                                      "authenticated API, and verify each step of the data path; exits 0 only if "
                                      "every step verified its own result.")
    demo.add_argument("--keep-running", action="store_true", help="leave the platform running after the demo")
    demo.set_defaults(func=_demo)

    cost = sub.add_parser("cost", help="the cost model: AWS units and $ per event, old design vs new",
                          description="Simulate a week per key through the first design and hot path v2, time the "
                                      "pure hot path on this machine, and print DynamoDB write/read units, Lambda "
                                      "invocations and GB-seconds, Kinesis/Firehose/S3 units and $ per million events "
                                      "(prices: bench/prices.json, us-east-1 list prices, date inside), the modelled "
                                      "throughput of one shard's consumer, and the idle month of each CDK cost profile "
                                      "(demo, standard, full). --profile prints one profile's bill. Without --rate/--windows: four cases, about 3 minutes.")
    cost.add_argument("--rate", choices=("1/min", "1/s"), help="events per key (default: both)")
    cost.add_argument("--windows", help="windows added to barometer.yaml's, e.g. 7d (default: none, then 7d)")
    cost.add_argument("--profile", choices=("demo", "standard", "full"),
                      help="print this CDK cost profile's bill instead: idle $/month per resource, $ per million "
                           "events, the default poll's month (infra_cdk/profiles.py; about a minute)")
    cost.add_argument("--keys", type=int, default=None,
                      help="keys on one shard (default 1000; with --profile: barometer.yaml's symbols and cities)")
    cost.add_argument("--days", type=int, default=8, help="days simulated per key, the last measured (default 8)")
    cost.add_argument("--cdk-out", help="synthesized templates for the idle month (default: cdk.out if present, "
                                        "else synthesize into a temporary directory)")
    cost.add_argument("--no-idle", action="store_true", help="skip the idle month (no synthesis)")
    cost.add_argument("--json", action="store_true", help="print the whole model as JSON")
    cost.set_defaults(func=_cost)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
