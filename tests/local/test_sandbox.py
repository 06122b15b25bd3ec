"""A function's execution environment of its own (barometer_local/sandbox.py), as Lambda runs one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from barometer.catalogue import FunctionSpec
from barometer_local.invoker import Invoker
from barometer_local.sandbox import FunctionError, Sandbox, SandboxError


def spec(name: str, timeout_s: int = 30) -> FunctionSpec:
    return FunctionSpec(f"Test{name}", f"test-{name}", f"tests.local.sandbox_handlers.{name}", 128, timeout_s)


class RecordingMetrics:
    def __init__(self) -> None:
        self.emf: list[str] = []
        self.lambda_metrics: list[tuple[str, str, float]] = []

    def add_emf(self, line: str) -> bool:
        if line.startswith('{"_aws"'):
            self.emf.append(line)
            return True
        return False

    def lambda_metric(self, function: str, name: str, value: float, unit: str) -> None:
        self.lambda_metrics.append((function, name, value))


def test_an_invocation_runs_in_a_child_process_that_stays_warm():
    # Given an isolated invoker of a handler that counts its invocations
    metrics = RecordingMetrics()
    invoker = Invoker(spec("echo"), metrics, isolated=True)
    try:
        # When it is invoked twice
        first = invoker.invoke({"n": 1})
        second = invoker.invoke({"n": 2})
    finally:
        invoker.close()
    # Then the handler ran in another process, kept its module state (one cold start), got the event and a context
    assert first["pid"] != os.getpid() and second["pid"] == first["pid"]
    assert (first["count"], second["count"]) == (1, 2)
    assert second["event"] == {"n": 2} and second["function"] == "test-echo"
    assert 0 < second["remaining_ms"] <= 30_000
    assert invoker.sandbox.cold_starts == 1
    # And its EMF output became metrics in the parent, with Lambda's own invocation metrics
    assert len(metrics.emf) == 2
    assert ("test-echo", "Invocations", 1.0) in metrics.lambda_metrics
    assert [m for m in metrics.lambda_metrics if m[1] == "Errors"] == [("test-echo", "Errors", 0.0)] * 2


def test_a_handler_error_is_a_function_error_and_the_environment_lives_on():
    # Given an isolated invoker whose handler raises
    metrics = RecordingMetrics()
    invoker = Invoker(spec("fail"), metrics, isolated=True)
    try:
        # When it is invoked twice
        for n in (1, 2):
            with pytest.raises(FunctionError) as raised:
                invoker.invoke({"n": n})
            # Then the parent sees the handler's exception type and message
            assert raised.value.error_type == "ValueError" and raised.value.message == f"bad record {n}"
            assert "ValueError" in raised.value.trace
    finally:
        invoker.close()
    # And the environment was not restarted for a handled error
    assert invoker.sandbox.cold_starts == 1
    assert [m for m in metrics.lambda_metrics if m[1] == "Errors"] == [("test-fail", "Errors", 1.0)] * 2


def test_a_process_that_dies_is_a_function_error_and_the_next_invocation_starts_afresh():
    # Given a sandbox whose handler exits the process
    sandbox = Sandbox(spec("crash"))
    invoker = Invoker(spec("echo"), None)  # only for the context it builds
    try:
        context = _context(invoker)
        # When it is invoked
        with pytest.raises(SandboxError, match="Runtime exited \\(exit code 3\\)"):
            sandbox.invoke({}, context)
        # Then a second invocation starts a new environment (a cold start) and fails the same way
        with pytest.raises(SandboxError):
            sandbox.invoke({}, context)
        assert sandbox.cold_starts == 2
    finally:
        sandbox.close()


def test_a_handler_past_its_timeout_is_killed_and_the_environment_replaced():
    # Given a sandbox with a 1-second timeout
    sandbox = Sandbox(spec("sleep"), timeout_s=1.0)
    context = _context(Invoker(spec("echo"), None))
    try:
        # When the handler sleeps past it
        with pytest.raises(SandboxError, match="Task timed out after 1.00 seconds"):
            sandbox.invoke({"seconds": 30}, context)
        old = sandbox._process
        assert old is None
        # Then the next invocation runs in a fresh environment
        assert sandbox.invoke({"seconds": 0}, context) == ({"slept": 0}, None, "")
        assert sandbox.cold_starts == 2
    finally:
        sandbox.close()


def test_an_environment_dies_with_its_parent():
    # Given a parent process holding a warm environment
    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys; from tests.local.test_sandbox import spec; from barometer_local.invoker import Invoker\n"
        "i = Invoker(spec('echo'), None, isolated=True); r = i.invoke({})\n"
        "print('PID', r['pid'], flush=True); sys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child = next(int(line.split()[1]) for line in parent.stdout if line.startswith("PID "))
    assert _alive(child)
    # When the parent is SIGKILLed
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    # Then the environment is gone too
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _context(invoker: Invoker):
    from barometer_local.invoker import LocalContext

    return LocalContext(invoker.spec.local_name, 128, 30, aws_request_id="r", invoked_function_arn="arn")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
