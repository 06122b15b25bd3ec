"""The local HTTP front door: API Gateway's part (auth, proxy event) in front of the same API handler,
plus the web dashboard's static files.
"""
from __future__ import annotations

import json
import mimetypes
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, AuthError, verify
from barometer_local.invoker import Invoker

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
MAX_BODY = 6 * 1024 * 1024  # API Gateway's payload limit is 10 MB; the handler's own limit is lower


def proxy_event(method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str | None,
                claims: dict[str, Any]) -> dict[str, Any]:
    """A REST API (v1) proxy integration event, as API Gateway sends it after the Cognito authorizer."""
    return {
        "resource": path, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "local", "httpMethod": method, "path": path,
                           "requestTimeEpoch": int(time.time() * 1000), "authorizer": {"claims": claims},
                           "identity": {"sourceIp": "127.0.0.1"}},
        "body": body, "isBase64Encoded": False,
    }


class LocalApiServer:
    def __init__(self, invoker: Invoker, signing_key: bytes, readiness: Callable[[], tuple[bool, dict]],
                 dashboard_config: Callable[[], dict[str, Any]]):
        self.invoker, self.signing_key = invoker, signing_key
        self.readiness, self.dashboard_config = readiness, dashboard_config
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str, port: int) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet; the API handler logs what matters
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

            def do_PUT(self) -> None:
                server._handle(self, "PUT")

            def do_DELETE(self) -> None:
                server._handle(self, "DELETE")

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        Thread(target=self._server.serve_forever, name="api-server", daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- requests --------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        path = url.path
        try:
            if path == "/healthz":
                ready, detail = self.readiness()
                return _send_json(request, 200 if ready else 503, {"status": "ready" if ready else "starting", **detail})
            if path == "/dashboard/config.json":
                return _send_json(request, 200, self.dashboard_config())
            if path.startswith("/v1/") or path == "/v1":
                return self._api(request, method, path, dict(parse_qsl(url.query, keep_blank_values=True)))
            if method == "GET":
                return self._static(request, path)
            _send_json(request, 404, {"error": f"no such resource: {path}"})
        except BrokenPipeError:
            pass

    def _api(self, request: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str]) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            request.rfile.read(length)
            return _send_json(request, 413, {"error": f"body: larger than {MAX_BODY // (1024 * 1024)} MiB"})
        body = request.rfile.read(length).decode("utf-8", "replace") if length else None
        scope = WRITE_SCOPE if method == "POST" else READ_SCOPE
        try:
            claims = verify(request.headers.get("Authorization"), self.signing_key, scope)
        except AuthError as exc:
            return _send_json(request, exc.status, {"error": str(exc)},
                              {"WWW-Authenticate": 'Bearer realm="barometer"'} if exc.status == 401 else None)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        try:
            result = self.invoker.invoke(proxy_event(method, path, query, headers, body, claims))
        except Exception:  # a function error: API Gateway answers 502, never the traceback
            return _send_json(request, 502, {"error": "internal error in the API function"})
        _send(request, int(result.get("statusCode", 200)), (result.get("body") or "").encode(),
              result.get("headers") or {"Content-Type": "application/json"})

    def _static(self, request: BaseHTTPRequestHandler, path: str) -> None:
        if not WEB_DIST.is_dir():
            return _send_json(request, 404, {"error": "the dashboard is not built; run `make web`"})
        relative = "index.html" if path in ("/", "") else path.lstrip("/")
        target = (WEB_DIST / relative).resolve()
        if WEB_DIST.resolve() not in target.parents and target != WEB_DIST.resolve() or not target.is_file():
            target = WEB_DIST / "index.html"  # single-page app: unknown paths get the page
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=3600"
        _send(request, 200, target.read_bytes(), {"Content-Type": content_type, "Cache-Control": cache})


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.send_header("X-Content-Type-Options", "nosniff")
    request.end_headers()
    request.wfile.write(body)


def _send_json(request: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    _send(request, status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})
