"""Run one poll from a shell: `python -m lambdas.poller [--time T] [--symbols AAPL,MSFT] [--dry-run]`.

Without --dry-run the events go to the stream named by BAROMETER_EVENTS_STREAM (with
BAROMETER_AWS_ENDPOINT pointing at the local emulator); --dry-run prints them as JSON lines.
Against the running local platform, `barometer poll` sets that environment for you.
"""
from __future__ import annotations

import argparse
import json
import sys


class _Stderr:
    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambdas.poller", description=__doc__.splitlines()[0])
    parser.add_argument("--time", help="RFC 3339 time of the poll (default: now)")
    parser.add_argument("--market", help="market provider (default: poller.market)")
    parser.add_argument("--weather", help="weather provider (default: poller.weather)")
    parser.add_argument("--symbols", help="comma-separated symbols (default: all configured; '' for none)")
    parser.add_argument("--cities", help="comma-separated cities (default: all configured; '' for none)")
    parser.add_argument("--dry-run", action="store_true", help="print the events instead of putting them")
    args = parser.parse_args(argv)
    if not args.dry_run:
        import os

        from barometer.catalogue import EVENTS_STREAM

        if not os.environ.get(EVENTS_STREAM.env_var):
            print(f"python -m lambdas.poller: {EVENTS_STREAM.env_var} is not set, so there is no stream to put the "
                  "events on. Use `barometer poll` against the running local platform, or --dry-run to print them.",
                  file=sys.stderr)
            return 2

    from lambdas.poller.poll import request_from_options

    event = request_from_options("barometer.cli", time=args.time, market=args.market, weather=args.weather,
                                 symbols=args.symbols, cities=args.cities)

    from lambdas.poller.handler import handle, logger, put_on_stream

    # stdout carries only the events of --dry-run; logs go to whatever sys.stderr is at write time
    previous = logger.registered_handler.setStream(_Stderr())

    def print_events(events):
        for e in events:
            print(json.dumps(e, ensure_ascii=False))
        return {}

    try:
        summary = handle(event, put=print_events if args.dry_run else put_on_stream)
    finally:
        logger.registered_handler.setStream(previous)
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
