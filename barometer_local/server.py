"""The local HTTP front door: API Gateway's part (auth, proxy event) in front of the same API handler,
plus the web dashboard's static files and the API's OpenAPI document.

It is meant to be safe to leave running on a workstation (docs/api.md, "The local server"): a request is
checked (path, Host, framing, auth, length) before any of its body is read, and never more than MAX_BODY
bytes are read; a request whose body was not read closes its connection, so body bytes are never parsed as
a next request. Idle and slow connections time out (per read, and for the whole head and the whole body);
at most MAX_CONNECTIONS are served at once (more get 503). Only loopback Host names (and those in
BAROMETER_ALLOWED_HOSTS) are answered, which closes DNS rebinding: a page on another site that rebinds its
name to 127.0.0.1 sends its own name as Host.
"""
from __future__ import annotations

import json
import mimetypes
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, AuthError, verify
from barometer_local.invoker import Invoker

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
MAX_BODY = 6 * 1024 * 1024  # API Gateway's payload limit is 10 MB; the handler's own limit is lower
MAX_URL = 4096              # request target, path and query (API Gateway: 8 KB for the whole request line)
MAX_QUERY_FIELDS = 32
IDLE_TIMEOUT_S = 15.0       # one socket read (a header line, a body chunk, keep-alive idleness)
BODY_DEADLINE_S = 30.0      # the whole body, however slowly it trickles
HEADER_DEADLINE_S = 30.0    # the request line and headers (and the wait for them on a kept-alive connection)
MAX_CONNECTIONS = 64
ALLOWED_HOSTS_ENV = "BAROMETER_ALLOWED_HOSTS"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_RAW_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # in the request target as sent: controls and spaces
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")     # in decoded path segments and query values
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DIGITS = re.compile(r"[0-9]{1,15}")
_METHOD = re.compile(r"[A-Z]{1,16}")


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


def printable(text: str, limit: int = 200) -> str:
    """Request text as it may appear in a log line: control and non-ASCII characters escaped, cut at `limit`."""
    escaped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in escaped)
    return escaped + ("..." if len(text) > limit else "")


def allowed_hosts(bind_host: str) -> frozenset[str]:
    """Host names the server answers: loopback, the address it listens on (unless a wildcard), configured ones."""
    configured = {h.strip().lower() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()}
    bound = {bind_host.lower().strip("[]")} - {"", "0.0.0.0", "::"}
    return frozenset(LOOPBACK_HOSTS | bound | configured)


def host_name(header: str) -> str | None:
    """The name in a Host header without its port ('[::1]:8080' -> '::1'); None when it is not one."""
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name
    name, _, port = value.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    return name or None


class RequestRefused(Exception):
    """A request answered without reaching the API function: its status, message and extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int):
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)
        # Connections whose request line and headers are awaited, with their deadline: the per-read timeout
        # alone lets a client sending a byte every few seconds hold a slot for ever.
        self._heads: dict[socket.socket, float] = {}
        self._heads_lock = threading.Lock()
        self._closed = threading.Event()
        Thread(target=self._expire_heads, name="api-server-heads", daemon=True).start()

    def await_head(self, connection: socket.socket) -> None:
        with self._heads_lock:
            self._heads[connection] = time.monotonic() + HEADER_DEADLINE_S

    def head_received(self, connection: socket.socket) -> None:
        with self._heads_lock:
            self._heads.pop(connection, None)

    def _expire_heads(self) -> None:
        while not self._closed.wait(0.25):
            now = time.monotonic()
            with self._heads_lock:
                late = [c for c, deadline in self._heads.items() if deadline < now]
                for connection in late:
                    del self._heads[connection]
            for connection in late:
                try:
                    connection.shutdown(socket.SHUT_RDWR)  # its handler's read returns; the handler closes it
                except OSError:
                    pass

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _refuse_busy(connection: socket.socket) -> None:
    body = json.dumps({"error": "too many connections; retry shortly"}).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    try:
        connection.settimeout(0.5)
        connection.sendall(head + body)
    except OSError:
        pass


class LocalApiServer:
    def __init__(self, invoker: Invoker, signing_key: bytes, readiness: Callable[[], tuple[bool, dict]],
                 dashboard_config: Callable[[], dict[str, Any]], max_connections: int = MAX_CONNECTIONS):
        self.invoker, self.signing_key = invoker, signing_key
        self.readiness, self.dashboard_config = readiness, dashboard_config
        self.max_connections = max_connections
        self.hosts: frozenset[str] = LOOPBACK_HOSTS
        self._server: _Server | None = None

    def start(self, host: str, port: int) -> str:
        server = self
        self.hosts = allowed_hosts(host)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT_S  # StreamRequestHandler sets it on the socket: every read is bounded

            def log_message(self, *args: Any) -> None:  # quiet; the API handler logs what matters
                pass

            def handle_one_request(self) -> None:
                server._server.await_head(self.connection)
                try:
                    super().handle_one_request()
                finally:
                    server._server.head_received(self.connection)

            def handle_expect_100(self) -> bool:
                return True  # "100 Continue" only once the request passed its checks (_read_body)

            def __getattr__(self, name: str) -> Any:
                # Every method is answered (405/404 from the routes, 400 for an odd token), none with
                # http.server's HTML 501: the base class looks up do_<METHOD>, and gets this.
                if name.startswith("do_"):
                    return lambda: server._handle(self, self.command)
                raise AttributeError(name)

        self._server = _Server((host, port), Handler, self.max_connections)
        Thread(target=self._server.serve_forever, args=(0.1,), name="api-server", daemon=True).start()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- requests --------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        self._server.head_received(request.connection)
        request._unread = 0  # body bytes declared and not read: the connection cannot be reused
        try:
            try:
                if not _METHOD.fullmatch(method):
                    request.close_connection = True
                    raise RequestRefused(400, "method: not an HTTP method name")
                path, query = self._target(request)
                self._check_host(request)
                request._unread = self._body_length(request, method)
                self._route(request, method, path, query)
            except RequestRefused as exc:
                _send_json(request, exc.status, {"error": exc.message}, exc.headers)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            request.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer, not drop the connection
            print(f"[api] {method} {printable(request.path)}: {printable(repr(exc))}", file=sys.stderr)
            request.close_connection = True
            try:
                _send_json(request, 500, {"error": "internal error in the local API server"})
            except OSError:
                pass

    def _route(self, request: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str]) -> None:
        if path == "/healthz":
            ready, detail = self.readiness()
            return _send_json(request, 200 if ready else 503, {"status": "ready" if ready else "starting", **detail})
        if path == "/dashboard/config.json":
            return self._dashboard_config(request, method)
        if path == "/v1/openapi.json":
            return self._openapi(request, method)
        if path.startswith("/v1/") or path == "/v1":
            return self._api(request, method, path, query)
        if method == "GET":
            return self._static(request, path)
        _send_json(request, 404, {"error": f"no such resource: {path}"})

    @staticmethod
    def _target(request: BaseHTTPRequestHandler) -> tuple[str, dict[str, str]]:
        """The path (still percent-encoded, as API Gateway passes it) and the query; RequestRefused when odd."""
        target = request.path
        if len(target) > MAX_URL:
            raise RequestRefused(414, f"path: longer than {MAX_URL} characters")
        if _RAW_UNSAFE.search(target) or not target.isascii():
            raise RequestRefused(400, "path: contains a control character, space or non-ASCII byte; percent-encode it")
        if _BAD_ESCAPE.search(target):
            raise RequestRefused(400, "path: a % not followed by two hex digits")
        url = urlsplit(target)
        try:
            decoded = unquote(url.path, errors="strict")
        except UnicodeDecodeError:
            raise RequestRefused(400, "path: percent-escapes that are not UTF-8") from None
        if _CONTROL.search(decoded):
            raise RequestRefused(400, "path: a percent-escaped control character")
        try:
            pairs = parse_qsl(url.query, keep_blank_values=True, strict_parsing=False, errors="strict",
                              max_num_fields=MAX_QUERY_FIELDS)
        except UnicodeDecodeError:
            raise RequestRefused(400, "query: percent-escapes that are not UTF-8") from None
        except ValueError:
            raise RequestRefused(400, f"query: more than {MAX_QUERY_FIELDS} parameters") from None
        for name, value in pairs:
            if _CONTROL.search(name) or _CONTROL.search(value):
                raise RequestRefused(400, f"{printable(name, 40)}: contains a control character")
        return url.path or "/", dict(pairs)

    def _check_host(self, request: BaseHTTPRequestHandler) -> None:
        values = request.headers.get_all("Host") or []
        if len(values) != 1:
            raise RequestRefused(400, "Host: exactly one Host header is required")
        name = host_name(values[0])
        if name is None or name not in self.hosts:
            raise RequestRefused(400, f"Host: {printable(values[0], 60)!s} is not served here (loopback names only; "
                                      f"add names to {ALLOWED_HOSTS_ENV} to allow them)")

    @staticmethod
    def _body_length(request: BaseHTTPRequestHandler, method: str) -> int:
        """The declared body length, once the framing is one this server reads safely."""
        if request.headers.get_all("Transfer-Encoding"):
            request.close_connection = True
            raise RequestRefused(411, "Transfer-Encoding: not accepted; send the body with a Content-Length")
        encoding = ",".join(request.headers.get_all("Content-Encoding") or []).strip().lower()
        lengths = request.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            request.close_connection = True
            raise RequestRefused(400, "Content-Length: given more than once")
        if not lengths:
            if method in ("POST", "PUT", "PATCH"):
                request.close_connection = True
                raise RequestRefused(411, "Content-Length: required with a body")
            return 0
        text = lengths[0].strip(" \t")
        if not _DIGITS.fullmatch(text):
            request.close_connection = True
            raise RequestRefused(400, "Content-Length: must be a decimal number of bytes")
        length = int(text)
        if encoding not in ("", "identity"):
            request.close_connection = length > 0
            raise RequestRefused(415, "Content-Encoding: not accepted; send the body uncompressed")
        return length

    def _api(self, request: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str]) -> None:
        scope = WRITE_SCOPE if method == "POST" else READ_SCOPE
        try:
            claims = verify(request.headers.get("Authorization"), self.signing_key, scope)
        except AuthError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="barometer"'} if exc.status == 401 else None
            raise RequestRefused(exc.status, str(exc), headers) from None
        if request._unread > MAX_BODY:
            raise RequestRefused(413, f"body: larger than {MAX_BODY // (1024 * 1024)} MiB")
        body = _read_body(request, request._unread) if request._unread else None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        try:
            result = self.invoker.invoke(proxy_event(method, path, query, headers, body, claims))
        except Exception as exc:  # noqa: BLE001 - a function error: API Gateway answers 502, never the traceback
            print(f"[api] {method} {printable(path)}: function error {printable(repr(exc))}", file=sys.stderr)
            return _send_json(request, 502, {"error": "internal error in the API function"})
        _send(request, int(result.get("statusCode", 200)), (result.get("body") or "").encode(),
              result.get("headers") or {"Content-Type": "application/json"})

    def _dashboard_config(self, request: BaseHTTPRequestHandler, method: str) -> None:
        """The page's settings with a read-only token: only to the page itself (same origin, allowed Host)."""
        if method != "GET":
            raise RequestRefused(405, f"method {method} not allowed on /dashboard/config.json", {"Allow": "GET"})
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            raise RequestRefused(403, "Sec-Fetch-Site: the dashboard configuration is for the dashboard's own page")
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin.strip())
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.headers["Host"].strip().lower():
                raise RequestRefused(403, "Origin: the dashboard configuration is for the dashboard's own page")
        _send_json(request, 200, self.dashboard_config(), {"Cache-Control": "no-store"})

    def _openapi(self, request: BaseHTTPRequestHandler, method: str) -> None:
        from barometer.api_spec import openapi_json

        if method != "GET":
            raise RequestRefused(405, f"method {method} not allowed on /v1/openapi.json", {"Allow": "GET"})
        _send(request, 200, openapi_json(), {"Content-Type": "application/json", "Cache-Control": "no-cache"})

    def _static(self, request: BaseHTTPRequestHandler, path: str) -> None:
        if not WEB_DIST.is_dir():
            return _send_json(request, 404, {"error": "the dashboard is not built; run `make web`"})
        relative = "index.html" if path in ("/", "") else unquote(path).lstrip("/")
        target = (WEB_DIST / relative).resolve()
        if WEB_DIST.resolve() not in target.parents and target != WEB_DIST.resolve() or not target.is_file():
            target = WEB_DIST / "index.html"  # single-page app: unknown paths get the page
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=3600"
        _send(request, 200, target.read_bytes(), {"Content-Type": content_type, "Cache-Control": cache})


def _read_body(request: BaseHTTPRequestHandler, length: int) -> str:
    """Exactly `length` bytes (at most MAX_BODY, checked by the caller) within BODY_DEADLINE_S, as UTF-8."""
    if (request.headers.get("Expect") or "").strip().lower() == "100-continue":
        request.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.wfile.flush()
    deadline = time.monotonic() + BODY_DEADLINE_S
    chunks: list[bytes] = []
    remaining = length
    try:
        while remaining:
            if time.monotonic() > deadline:
                raise RequestRefused(408, f"body: not received within {BODY_DEADLINE_S:.0f} s")
            chunk = request.rfile.read1(min(remaining, 65536))
            if not chunk:
                request.close_connection = True
                raise ConnectionResetError("the client closed the connection within the body")
            chunks.append(chunk)
            remaining -= len(chunk)
            request._unread = remaining
    except TimeoutError:
        raise RequestRefused(408, f"body: nothing received for {IDLE_TIMEOUT_S:.0f} s") from None
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefused(400, f"body: not valid UTF-8 (byte {exc.start})") from None


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    if getattr(request, "_unread", 0):
        request.close_connection = True  # the rest of the body must never be read as a request
    request.send_response(status)
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.send_header("X-Content-Type-Options", "nosniff")
    if request.close_connection:
        request.send_header("Connection", "close")
    request.end_headers()
    if request.command != "HEAD":  # a HEAD answer has the headers only, or the next answer would be misread
        request.wfile.write(body)


def _send_json(request: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    _send(request, status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})
