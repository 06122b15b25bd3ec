"""Lambda's Invoke API for the catalogue's functions, served locally, so that a caller reaches a function
the same way here as on AWS (a boto3 `lambda` client; Dagster's `PipesLambdaClient`).

`POST /2015-03-31/functions/{FunctionName}/invocations`, RequestResponse only. FunctionName is the
function's name or ARN. The function runs in this process through the `Invoker` (output captured,
metrics recorded) with this process's environment: in the local platform, the catalogue's resources in
the emulator, as a Lambda runs with the environment its stack gives it whatever the caller's.
Answers as Lambda does: 200 with the result as JSON; a function error is 200 with
`X-Amz-Function-Error: Unhandled` and {errorMessage, errorType, requestId, stackTrace}; with
`X-Amz-Log-Type: Tail`, `X-Amz-Log-Result` is the base64 of the last 4 KB of the function's log;
an unknown function is 404 ResourceNotFoundException. No authentication: bind it to 127.0.0.1.
"""
from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from barometer.catalogue import CATALOGUE, FunctionSpec
from barometer_local.invoker import Invoker, MetricSink

API_VERSION = "2015-03-31"
TAIL_BYTES = 4096
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous request
_INVOKE_PATH = re.compile(rf"^/{API_VERSION}/functions/(?P<name>[^/]+)/invocations/?$")


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str) -> Answer:
    # botocore reads the code from x-amzn-ErrorType and the message from the body, as Lambda sends them.
    return Answer(status, json.dumps({"Type": "User", "Message": message}).encode(),
                  {"x-amzn-ErrorType": code, "Content-Type": "application/json"})


def function_name(identifier: str, qualifier: str | None) -> tuple[str, str | None]:
    """The name and qualifier in a FunctionName: `name`, `name:qualifier`, `account:function:name` or an ARN."""
    text = unquote(identifier)
    if ":function:" in text:
        text = text.split(":function:", 1)[1]
    name, _, inline = text.partition(":")
    return name, qualifier or inline or None


class LambdaApiServer:
    def __init__(self, metrics: MetricSink | None, functions: Iterable[FunctionSpec] | None = None):
        self.metrics = metrics
        self.specs = {spec.local_name: spec for spec in (CATALOGUE.functions if functions is None else functions)}
        self._invokers: dict[str, Invoker] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet; the invoker reports function errors
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server._reply(self, server.handle(self.path, dict(self.headers.items()), body))

            def do_GET(self) -> None:
                server._reply(self, _error(404, "UnknownOperationException", f"no such operation: GET {self.path}"))

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="lambda-api", daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- the Invoke operation -------------------------------------------------------------------
    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        url = urlsplit(path)
        match = _INVOKE_PATH.match(url.path)
        if not match:
            return _error(404, "UnknownOperationException", f"no such operation: POST {url.path}")
        headers = {k.lower(): v for k, v in headers.items()}
        name, qualifier = function_name(match["name"], (parse_qs(url.query).get("Qualifier") or [None])[0])
        spec = self.specs.get(name)
        if spec is None or qualifier not in (None, "$LATEST"):
            return _error(404, "ResourceNotFoundException", f"Function not found: {unquote(match['name'])}")
        invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type != "RequestResponse":
            return _error(400, "InvalidParameterValueException",
                          f"InvocationType {invocation_type}: only RequestResponse is served locally")
        if len(body) > MAX_PAYLOAD_BYTES:
            return _error(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes")
        try:
            event = json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
        return self._invoke(spec, event, tail=headers.get("x-amz-log-type") == "Tail")

    def _invoker(self, spec: FunctionSpec) -> Invoker:
        with self._lock:  # the first call imports the handler module
            if spec.local_name not in self._invokers:
                self._invokers[spec.local_name] = Invoker(spec, self.metrics)
            return self._invokers[spec.local_name]

    def _invoke(self, spec: FunctionSpec, event: Any, tail: bool) -> Answer:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        result, error, output = self._invoker(spec).invoke_capturing(event)
        if output and not output.endswith("\n"):
            output += "\n"
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST",
                   "x-amzn-RequestId": request_id}
        failure: dict[str, Any] | None = None
        if error is None:
            try:
                body = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:  # what Lambda's Python runtime reports
                failure = {"errorMessage": f"Unable to marshal response: {exc}",
                           "errorType": "Runtime.MarshalError", "requestId": request_id, "stackTrace": []}
        else:
            failure = {"errorMessage": str(error), "errorType": type(error).__name__, "requestId": request_id,
                       "stackTrace": traceback.format_list(traceback.extract_tb(error.__traceback__))}
        if failure is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            body = json.dumps(failure).encode()
            output += (f"[ERROR] {failure['errorType']}: {failure['errorMessage']}\n"
                       + ("Traceback (most recent call last):\n" + "".join(failure["stackTrace"])
                          if failure["stackTrace"] else ""))
        if tail:
            headers["X-Amz-Log-Result"] = log_tail(request_id, output, (time.perf_counter() - started) * 1000,
                                                   spec.memory_mb)
        return Answer(200, body, headers)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, answer: Answer) -> None:
        try:
            request.send_response(answer.status)
            for key, value in answer.headers.items():
                request.send_header(key, value)
            request.send_header("Content-Length", str(len(answer.body)))
            request.end_headers()
            request.wfile.write(answer.body)
        except BrokenPipeError:
            pass


def log_tail(request_id: str, output: str, duration_ms: float, memory_mb: int) -> str:
    """The base64 of the last 4 KB of the invocation's log, framed by START/END/REPORT as Lambda frames it."""
    log = (f"START RequestId: {request_id} Version: $LATEST\n{output}END RequestId: {request_id}\n"
           f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
           f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\n")
    tail = log.encode()[-TAIL_BYTES:]
    while tail and tail[0] & 0xC0 == 0x80:  # never start inside a UTF-8 character: readers decode strictly
        tail = tail[1:]
    return base64.b64encode(tail).decode()
