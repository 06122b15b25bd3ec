"""A function's execution environment of its own: a child process that runs one invocation at a time.

On AWS every concurrent invocation of a function runs in an execution environment of its own, so a
handler's module state (Powertools' metric set, its logger's keys, the processor's warm caches) is never
shared between two invocations in flight. The stream runner gives each shard of a Kinesis mapping such
an environment, so shards are processed concurrently as on AWS, without making handler modules safe for
threads. The parent sends a JSON event and reads back the result, the error (type, message, the end of
its traceback) and what the handler printed (EMF lines included: the parent turns them into metrics).

Like Lambda: a handler that runs past the function's timeout is killed ("Task timed out"), a process
that dies mid-invocation ("Runtime exited") is a function error, and the next invocation starts a fresh
environment (a cold start). The child dies with its parent (PR_SET_PDEATHSIG, and EOF on its input);
Linux ties that signal to the parent's thread that started the child, so an environment also ends with
the thread that first invoked it (the runner's shard thread, which lives until the runner stops).

Wire format, both ways: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
"""
from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from typing import Any, BinaryIO

from barometer.catalogue import FunctionSpec

_HEADER = struct.Struct(">I")
START_TIMEOUT_S = 60.0  # a cold start imports the handler (<= 200 ms quiet; far longer on a loaded machine)


class FunctionError(Exception):
    """A handler's exception, as the parent sees it: its type's name, its message and its traceback's end."""

    def __init__(self, error_type: str, message: str, trace: str = ""):
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message, self.trace = error_type, message, trace


class SandboxError(RuntimeError):
    """The execution environment itself failed (could not start, died, timed out)."""


def _write_frame(stream: BinaryIO, payload: Any) -> None:
    data = json.dumps(payload, separators=(",", ":"), default=str).encode()
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return json.loads(_read_exact(fd, size, deadline))


class Sandbox:
    """One execution environment of `spec`, started on first use and again after it died or timed out."""

    def __init__(self, spec: FunctionSpec, timeout_s: float | None = None):
        self.spec = spec
        self.timeout_s = timeout_s or float(spec.timeout_s)
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one invocation at a time, as in one Lambda execution environment
        self.cold_starts = 0

    def _start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "barometer_local.sandbox", "--handler", self.spec.handler,
             "--parent", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, close_fds=True)
        try:
            ready = _read_frame(process.stdout.fileno(), time.monotonic() + START_TIMEOUT_S)
        except (TimeoutError, EOFError, ValueError) as exc:
            self._kill(process)
            raise SandboxError(f"{self.spec.local_name}: the execution environment did not start "
                               f"({type(exc).__name__})") from exc
        if not ready.get("ready"):
            self._kill(process)
            raise SandboxError(f"{self.spec.local_name}: init failed: {ready.get('error', ready)}")
        self.cold_starts += 1
        return process

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream:
                stream.close()

    def invoke(self, event: Any, context: Any) -> tuple[Any, Exception | None, str]:
        """(result, the handler's error or None, what it printed); `context` is the invoker's LocalContext.
        SandboxError when the environment failed: it is stopped, and the next invocation starts afresh."""
        meta = {"function_name": context.function_name, "memory_mb": context.memory_limit_in_mb,
                "timeout_s": context.timeout_s, "request_id": context.aws_request_id,
                "arn": context.invoked_function_arn}
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            try:
                _write_frame(process.stdin, {"event": event, "context": meta})
                reply = _read_frame(process.stdout.fileno(), time.monotonic() + self.timeout_s)
            except TimeoutError:
                self._stop_locked()
                raise SandboxError(f"Task timed out after {self.timeout_s:.2f} seconds") from None
            except (EOFError, BrokenPipeError, ValueError) as exc:
                try:
                    code = process.wait(timeout=5)  # its output closed: it is exiting
                except subprocess.TimeoutExpired:
                    code = None
                self._stop_locked()
                raise SandboxError(f"Runtime exited (exit code {code}) during the invocation") from exc
        error = None
        if reply.get("error"):
            e = reply["error"]
            error = FunctionError(e.get("type", "Exception"), e.get("message", ""), e.get("trace", ""))
        return reply.get("result"), error, reply.get("output", "")

    def _stop_locked(self) -> None:
        if self._process is not None:
            self._kill(self._process)
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._stop_locked()


# -- the child ---------------------------------------------------------------------------------------
def _serve(handler_path: str) -> int:
    import importlib
    import io
    import traceback

    from barometer_local.invoker import LocalContext, capture_stdout

    # The wire is this process's original stdout; anything else printed goes to stderr, never into it.
    wire_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
    module_name, _, attr = handler_path.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # noqa: BLE001 - an init error, reported to the parent as Lambda reports it
        _write_frame(wire_out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _write_frame(wire_out, {"ready": True})
    in_fd = sys.stdin.fileno()
    while True:
        try:
            request = _read_frame(in_fd, None)
        except EOFError:  # the parent is gone or closed us
            return 0
        event, meta = request["event"], request["context"]
        context = LocalContext(meta["function_name"], meta["memory_mb"], meta["timeout_s"],
                               aws_request_id=meta["request_id"], invoked_function_arn=meta["arn"],
                               _deadline=time.monotonic() + meta["timeout_s"])
        buffer = io.StringIO()
        reply: dict[str, Any] = {}
        try:
            with capture_stdout(buffer):
                reply["result"] = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - any function error goes back to the parent
            reply["error"] = {"type": type(exc).__name__, "message": str(exc),
                              "trace": "".join(traceback.format_exception(exc)[-3:])}
        reply["output"] = buffer.getvalue()
        _write_frame(wire_out, reply)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from barometer_local.child import set_parent_death_signal

    parser = argparse.ArgumentParser(prog="barometer-sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--handler", required=True, help="module.function of the handler")
    parser.add_argument("--parent", type=int, required=True, help="pid of the process this one dies with")
    args = parser.parse_args(argv)
    set_parent_death_signal(9)  # SIGKILL: an environment whose runner died has nothing to finish
    if os.getppid() != args.parent:
        return 1
    return _serve(args.handler)


if __name__ == "__main__":
    sys.exit(main())
