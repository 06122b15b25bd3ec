"""Invokes handler functions in this process as Lambda would, and does CloudWatch's part.

Powertools Metrics prints EMF lines to stdout; on AWS, CloudWatch Logs turns them into metrics.
Here the invoker captures them and puts the same metrics into the emulator's CloudWatch, along with
the AWS/Lambda metrics (Invocations, Errors, Duration, IteratorAge) the Lambda service would report.
Each invocation's output is captured per thread (sys.stdout is swapped once for a proxy that writes to the
calling invocation's buffer), so invocations may overlap. A function runs one invocation at a time, as in
one Lambda sandbox (its module state is not written for threads), unless its handler module declares
`CONCURRENT_INVOCATIONS = True` (the API does, so a POST never waits behind slow reads). An isolated
invoker runs the handler in an execution environment of its own instead (barometer_local/sandbox.py): a
child process, so several invokers of one function run concurrently as on AWS.
"""
from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from barometer.aws import EMULATOR_ACCOUNT, EMULATOR_REGION
from barometer.catalogue import FunctionSpec


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class MetricSink:
    """Buffers metric data and puts it into CloudWatch in batches."""

    def __init__(self, cloudwatch):
        self.cloudwatch = cloudwatch
        self._pending: dict[str, list[dict]] = {}
        self._lock = threading.Lock()

    def add(self, namespace: str, datum: dict) -> None:
        with self._lock:
            self._pending.setdefault(namespace, []).append(datum)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for namespace, data in pending.items():
            for start in range(0, len(data), 500):
                try:
                    self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 500])
                except Exception as exc:  # noqa: BLE001 - metrics must never take the pipeline down
                    print(f"[invoker] could not put metrics: {exc}", file=sys.stderr)

    def add_emf(self, line: str) -> bool:
        """Turn one EMF document into metric data; False when the line is not EMF."""
        try:
            doc = json.loads(line)
        except ValueError:
            return False
        meta = doc.get("_aws") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            return False
        when = datetime.fromtimestamp(meta.get("Timestamp", time.time() * 1000) / 1000, UTC)
        for directive in meta.get("CloudWatchMetrics", []):
            dimension_sets = directive.get("Dimensions") or [[]]
            for metric in directive.get("Metrics", []):
                values = doc.get(metric["Name"])
                values = values if isinstance(values, list) else [values]
                for dims in dimension_sets:
                    dimensions = [{"Name": d, "Value": str(doc[d])} for d in dims if d in doc]
                    for value in values:
                        if isinstance(value, (int, float)):
                            self.add(directive["Namespace"], {
                                "MetricName": metric["Name"], "Dimensions": dimensions, "Timestamp": when,
                                "Value": float(value), "Unit": metric.get("Unit", "None")})
        return True

    def lambda_metric(self, function: str, name: str, value: float, unit: str) -> None:
        self.add("AWS/Lambda", {"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": function}],
                                "Timestamp": datetime.now(UTC), "Value": float(value), "Unit": unit})


class _ThreadStdout:
    """sys.stdout for every thread: an invocation's writes go to its own buffer, other writes to `fallback`."""

    def __init__(self, fallback: Any):
        self.fallback = fallback
        self.local = threading.local()

    def _target(self) -> Any:
        return getattr(self.local, "buffer", None) or self.fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, ... of the real stream
        return getattr(self.fallback, name)


_INSTALL_LOCK = threading.Lock()


@contextmanager
def capture_stdout(buffer: io.StringIO):
    with _INSTALL_LOCK:
        proxy = sys.stdout
        if not isinstance(proxy, _ThreadStdout):  # first use, or someone (e.g. pytest) swapped stdout since
            proxy = sys.stdout = _ThreadStdout(sys.stdout)
    previous = getattr(proxy.local, "buffer", None)
    proxy.local.buffer = buffer
    try:
        yield
    finally:
        proxy.local.buffer = previous


class Invoker:
    def __init__(self, spec: FunctionSpec, metrics: MetricSink | None, isolated: bool = False):
        self.spec = spec
        self.metrics = metrics
        self.sandbox = None
        if isolated:
            from barometer_local.sandbox import Sandbox

            self.sandbox = Sandbox(spec)  # which runs one invocation at a time itself
            return
        module_name, _, attr = spec.handler.rpartition(".")
        module = importlib.import_module(module_name)
        self._handler: Callable[[dict, Any], Any] = getattr(module, attr)
        concurrent = getattr(module, "CONCURRENT_INVOCATIONS", False)
        self._one_at_a_time = nullcontext() if concurrent else threading.Lock()

    def close(self) -> None:
        """Stop the execution environment of an isolated invoker (nothing to do in process)."""
        if self.sandbox is not None:
            self.sandbox.close()

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler; its exceptions propagate (a function error), after metrics are recorded."""
        result, error, _ = self.invoke_capturing(event)
        if error is not None:
            raise error
        return result

    def invoke_capturing(self, event: Any) -> tuple[Any, Exception | None, str]:
        """Run the handler: (its result, the exception it raised or None, what it printed). A function
        error is returned, not raised, as Lambda's Invoke API reports it; the output is forwarded (EMF
        to metrics, the rest to stdout) and metrics recorded either way."""
        arn = f"arn:aws:lambda:{EMULATOR_REGION}:{EMULATOR_ACCOUNT}:function:{self.spec.local_name}"
        context = LocalContext(self.spec.local_name, self.spec.memory_mb, self.spec.timeout_s,
                               aws_request_id=str(uuid.uuid4()), invoked_function_arn=arn,
                               _deadline=time.monotonic() + self.spec.timeout_s)
        buffer = io.StringIO()
        started = time.perf_counter()
        result: Any = None
        error: Exception | None = None
        if self.sandbox is not None:
            try:
                result, error, output = self.sandbox.invoke(event, context)
            except Exception as exc:  # noqa: BLE001 - the environment failed (timeout, crash): a function error
                error, output = exc, ""
        else:
            with self._one_at_a_time:
                try:
                    with capture_stdout(buffer):
                        result = self._handler(event, context)
                except Exception as exc:  # noqa: BLE001 - any function error, reported as Lambda reports it
                    error = exc
            output = buffer.getvalue()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._forward_output(output)
        if self.metrics:
            self.metrics.lambda_metric(self.spec.local_name, "Invocations", 1, "Count")
            self.metrics.lambda_metric(self.spec.local_name, "Duration", elapsed_ms, "Milliseconds")
            self.metrics.lambda_metric(self.spec.local_name, "Errors", 1 if error else 0, "Count")
        if error is not None:
            print(f"[{self.spec.local_name}] function error: {error!r}\n"
                  + "".join(traceback.format_exception(error)[-3:]), file=sys.stderr)
        return result, error, output

    def _forward_output(self, output: str) -> None:
        for line in output.splitlines():
            if not line.strip():
                continue
            if self.metrics is None or not self.metrics.add_emf(line):
                print(line)
