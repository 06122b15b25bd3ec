"""moto server with a per-operation timer: where the emulator's time goes during the end-to-end run.

`python -m bench.emulator_probe -H 127.0.0.1 -p PORT --stats FILE` serves exactly what
`python -m moto.server` serves; a WSGI wrapper adds up wall time and calls per AWS operation
(`X-Amz-Target`, or the query `Action`) and writes them to FILE on SIGTERM. The benchmark starts
it in place of the stock server only with `--emulator-profile` (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs


class OperationTimer:
    def __init__(self, app: Any):
        self.app = app
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # this thread's CPU: wall time includes the GIL's waits
        self.calls: dict[str, int] = defaultdict(int)

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
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return list(self.app(environ, start_response))
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            with self.lock:
                self.seconds[name] += elapsed
                self.cpu[name] += cpu
                self.calls[name] += 1

    def dump(self, path: str) -> None:
        with self.lock:
            data = {name: {"seconds": round(s, 3), "cpu_seconds": round(self.cpu[name], 3), "calls": self.calls[name]}
                    for name, s in self.seconds.items()}
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_probe", description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--stats", required=True, help="file the per-operation times are written to on SIGTERM")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from barometer_local import emulator_server

    emulator_server.install()  # profile the emulator the platform runs, with its fixes
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    timer = OperationTimer(app)

    def stop(*_: Any) -> None:
        timer.dump(args.stats)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    run_simple(args.host, args.port, timer, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
