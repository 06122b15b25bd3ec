"""moto server with a per-operation timer: where the emulator's time goes during the end-to-end run.

`python -m bench.emulator_probe -H 127.0.0.1 -p PORT --stats FILE` serves exactly what
`python -m moto.server` serves; a WSGI wrapper adds up wall time and calls per AWS operation
(`X-Amz-Target`, or the query `Action`) and writes them to FILE on SIGTERM, and the totals so far
to FILE.snapshot on SIGUSR1 (the benchmark takes one before and one after its saturated phase). The
benchmark starts it in place of the stock server only with `--emulator-profile` (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import signal
import sys
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs


class OperationTimer:
    def __init__(self, app: Any, sample_every: int = 0):
        self.app = app
        # Function-level profiles (CPU time: waits for the GIL or a lock do not count) of every Nth call of
        # each operation (0: none): cProfile doubles a call's cost, so a sample keeps the run's shape while it
        # shows where an operation's own time goes.
        self.sample_every = sample_every
        self.profiles: dict[str, pstats.Stats] = {}
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # this thread's CPU: wall time includes the GIL's waits
        self.calls: dict[str, int] = defaultdict(int)
        self.collections: dict[int, list] = {}  # generation -> [CPU seconds, passes] (count_collections)

    def _operation(self, environ: dict[str, Any]) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.replace("DynamoDB_20120810.", "dynamodb:").replace("DynamoDBStreams_20120810.", "streams:") \
                .replace("Kinesis_20131202.", "kinesis:").replace("Firehose_20150804.", "firehose:")
        action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        if action:
            return action[0]
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("CONTENT_TYPE", "").startswith(
                "application/x-www-form-urlencoded"):
            return "query-protocol POST"  # SQS/SNS/CloudWatch: the Action is in the body
        return f"{environ.get('REQUEST_METHOD')} {environ.get('HTTP_HOST', '').split(':')[0] or 's3'}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        name = self._operation(environ)
        sampled = self.sample_every and self.calls[name] % self.sample_every == 0
        profile = cProfile.Profile(time.thread_time) if sampled else None
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            if profile is None:
                return list(self.app(environ, start_response))
            return list(profile.runcall(self.app, environ, start_response))
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            with self.lock:
                self.seconds[name] += elapsed
                self.cpu[name] += cpu
                self.calls[name] += 1
                if profile is not None:
                    if name in self.profiles:
                        self.profiles[name].add(profile)
                    else:
                        self.profiles[name] = pstats.Stats(profile)

    def count_collections(self) -> None:
        """The cyclic collector's passes, as operations of their own (`gc:gen2`): they run inside whatever
        request allocated last, so their time is also in that request's figure.

        The callback takes no lock: a collection can start inside any allocation, also one made while this
        thread holds `self.lock` (a sampled profile's Stats are built under it), and waiting there on the
        lock would deadlock. Each generation's [seconds, calls] exists before the first pass, so a pass only
        updates numbers in place and never resizes a dict that another thread is reading."""
        started: dict[int, float] = {}
        passes = {generation: [0.0, 0] for generation in range(3)}
        self.collections = passes

        def callback(phase: str, info: dict[str, Any]) -> None:
            generation = info["generation"]
            if phase == "start":
                started[generation] = time.thread_time()
                return
            totals = passes[generation]
            totals[0] += time.thread_time() - started.pop(generation, time.thread_time())
            totals[1] += 1

        gc.callbacks.append(callback)

    def totals(self) -> dict[str, Any]:
        with self.lock:
            totals = {name: {"seconds": round(s, 3), "cpu_seconds": round(self.cpu[name], 3), "calls": self.calls[name]}
                      for name, s in self.seconds.items()}
        for generation, (seconds, calls) in self.collections.items():
            if calls:
                totals[f"gc:gen{generation}"] = {"seconds": round(seconds, 3), "cpu_seconds": round(seconds, 3),
                                                 "calls": calls}
        return totals

    def snapshot(self, path: str) -> None:
        """The totals so far, written whole (a reader never sees half a file): the benchmark subtracts two
        of them to get one phase's share."""
        temporary = f"{path}.tmp"
        with open(temporary, "w") as handle:
            json.dump({"taken": time.time(), "operations": self.totals()}, handle)
        os.replace(temporary, path)

    def dump(self, path: str) -> None:
        data = self.totals()
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        for name, stats in self.profiles.items():
            safe = "".join(c if c.isalnum() else "_" for c in name)
            stats.dump_stats(f"{path}.{safe}.pstats")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_probe", description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--stats", required=True, help="file the per-operation times are written to on SIGTERM")
    parser.add_argument("--profile-every", type=int, default=0, metavar="N",
                        help="also profile every Nth call of each operation with cProfile; the profiles are written "
                             "beside FILE as FILE.<operation>.pstats (default 0: none)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from barometer_local import emulator_server

    handler = emulator_server.prepare()  # profile the emulator the platform runs, with its fixes
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    from barometer_local.emulator_dispatch import direct

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto's own main and the emulator server: errors answered, not raised
    timer = OperationTimer(direct(app), args.profile_every)
    timer.count_collections()

    def stop(*_: Any) -> None:
        timer.dump(args.stats)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda *_: timer.snapshot(args.stats + ".snapshot"))
    run_simple(args.host, args.port, timer, threaded=True, request_handler=handler)


if __name__ == "__main__":
    main()
