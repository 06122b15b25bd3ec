"""The local API server against what an attacker sends, over raw sockets: one test per class of finding.

The server runs in front of a recording invoker (the API function's stand-in), so each test can also say
whether a request reached the function. The concurrency test at the end runs the real API handler
through the real Invoker.
"""
from __future__ import annotations

import json
import socket
import threading
import time
import weakref
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from barometer_local import server as server_module
from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, mint
from barometer_local.server import LocalApiServer, printable

KEY = b"s" * 32
WRITE = mint(KEY, scopes=(WRITE_SCOPE, READ_SCOPE))


class RecordingInvoker:
    """Answers every event with its path and body length; GETs wait on `gate` when one is set."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.gate: threading.Event | None = None
        self.fail = False

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if self.fail:
            raise RuntimeError(f"boom on {event['path']}")
        if event["httpMethod"] == "GET" and self.gate is not None:
            self.gate.wait(30)
        body = {"path": event["path"], "body_length": len(event["body"] or ""), "query": event["queryStringParameters"]}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def start(invoker: RecordingInvoker, max_connections: int = 64) -> tuple[LocalApiServer, int]:
    api = LocalApiServer(invoker, KEY, lambda: (True, {}), lambda: {"api_base": "", "token": "dashboard-token"},
                         max_connections=max_connections)
    url = api.start("127.0.0.1", 0)
    return api, int(url.rsplit(":", 1)[1])


@pytest.fixture
def invoker() -> RecordingInvoker:
    return RecordingInvoker()


@pytest.fixture
def port(invoker):
    api, port = start(invoker)
    yield port
    api.stop()


def connect(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    return connection


_leftover: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response (bytes after it are kept for the next call); (0, {}, b"") when the server closed the
    connection without answering."""
    data = _leftover.pop(connection, b"")
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        rest += chunk
    _leftover[connection] = rest[length:]
    return status, headers, rest[:length]


def closed_after(connection: socket.socket, wait_s: float = 10.0) -> bool:
    """True when the server closes the connection within `wait_s` (nothing more is answered on it)."""
    connection.settimeout(wait_s)
    try:
        return not _leftover.get(connection) and connection.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(port: int, raw: bytes, closes: bool = False) -> tuple[int, dict[str, str], bytes, bool | None]:
    """One request on a new connection: status, headers, body and, with `closes`, whether the server then
    closed the connection (None without: a served connection stays open, waiting for it would only cost)."""
    with connect(port) as connection:
        connection.sendall(raw)
        status, headers, body = read_response(connection)
        return status, headers, body, closed_after(connection) if closes else None


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
            host: str = "127.0.0.1") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


AUTH = {"Authorization": f"Bearer {WRITE}"}


# -- bodies: auth and length before reading ------------------------------------------------------
def test_an_unauthenticated_huge_post_is_refused_before_its_body_is_read(port, invoker):
    # Given a POST that declares 300 MB and sends only its headers
    status, _, body, closed = exchange(port, request("POST", "/v1/events", {"Content-Length": str(300 * 2**20)}), closes=True)
    # Then it is answered at once (nothing of the body was awaited), and the connection is not reused
    assert status == 401 and "bearer" in json.loads(body)["error"]
    assert closed and invoker.events == []


def test_an_authenticated_post_over_the_limit_is_413_without_reading_it(port, invoker):
    status, _, body, closed = exchange(port, request("POST", "/v1/events", {**AUTH, "Content-Length": str(2**40)}), closes=True)
    assert status == 413 and json.loads(body)["error"].startswith("body:")
    assert closed and invoker.events == []


@pytest.mark.parametrize("value", ["abc", "-1", "+5", "5,5", " 0x10", "1e3", "99999999999999999999", "\u00b9", "1\u00b2", ""])
def test_a_malformed_content_length_is_400(port, invoker, value):
    status, _, body, closed = exchange(port, request("POST", "/v1/events", {**AUTH, "Content-Length": value}), closes=True)
    assert status == 400 and json.loads(body)["error"].startswith("Content-Length:")
    assert closed and invoker.events == []


@pytest.mark.parametrize("lengths", [("2", "2"), ("2", "3")])
def test_a_duplicate_content_length_is_400(port, invoker, lengths):
    raw = request("POST", "/v1/events", AUTH).replace(b"\r\n\r\n", "".join(
        f"\r\nContent-Length: {n}" for n in lengths).encode() + b"\r\n\r\n") + b"{}x"
    status, _, body, closed = exchange(port, raw, closes=True)
    assert status == 400 and "more than once" in json.loads(body)["error"]
    assert closed and invoker.events == []


def test_chunked_transfer_encoding_is_411_and_nothing_is_smuggled_out_of_the_chunks(port, invoker):
    # Given a chunked POST whose chunk data is a second, complete request
    smuggled = request("GET", "/v1/health", AUTH)
    chunk = f"{len(smuggled):x}\r\n".encode() + smuggled + b"\r\n0\r\n\r\n"
    raw = request("POST", "/v1/events", {**AUTH, "Transfer-Encoding": "chunked"}) + chunk
    with connect(port) as connection:
        connection.sendall(raw)
        status, _, body = read_response(connection)
        # Then the one answer is 411 and the connection closes: the chunk data is never read as a request
        assert status == 411 and json.loads(body)["error"].startswith("Transfer-Encoding:")
        assert closed_after(connection)
    assert invoker.events == []


def test_a_compressed_body_is_415(port, invoker):
    status, _, body, closed = exchange(port, request(
        "POST", "/v1/events", {**AUTH, "Content-Encoding": "gzip", "Content-Length": "4"}, b"\x1f\x8b\x08\x00"), closes=True)
    assert status == 415 and json.loads(body)["error"].startswith("Content-Encoding:")
    assert closed and invoker.events == []


def test_a_post_without_content_length_is_411(port, invoker):
    status, *_ = exchange(port, request("POST", "/v1/events", AUTH))
    assert status == 411 and invoker.events == []


def test_a_body_that_is_not_utf8_is_400_naming_the_body(port, invoker):
    status, _, body, _ = exchange(port, request("POST", "/v1/events", {**AUTH, "Content-Length": "3"}, b"\xff\xfe{"))
    assert status == 400 and json.loads(body)["error"].startswith("body:") and invoker.events == []


def test_a_good_post_is_read_exactly_and_the_connection_kept_alive(port, invoker):
    # Given two requests on one connection, the first with a body
    payload = b'{"events": []}'
    with connect(port) as connection:
        connection.sendall(request("POST", "/v1/events", {**AUTH, "Content-Length": str(len(payload))}, payload)
                           + request("GET", "/v1/health", AUTH))
        first, second = read_response(connection), read_response(connection)
    assert first[0] == 200 and json.loads(first[2])["body_length"] == len(payload)
    assert second[0] == 200 and json.loads(second[2])["path"] == "/v1/health"


def test_expect_100_continue_is_answered_only_after_the_checks(port, invoker):
    # Refused: no 100 Continue, straight to 401
    status, _, _, _ = exchange(port, request("POST", "/v1/events", {"Expect": "100-continue", "Content-Length": "2"}))
    assert status == 401
    # Accepted: 100 Continue, then the body is read
    with connect(port) as connection:
        connection.sendall(request("POST", "/v1/events", {**AUTH, "Expect": "100-continue", "Content-Length": "2"}))
        interim = connection.recv(25)
        assert interim.startswith(b"HTTP/1.1 100")
        connection.sendall(b"{}")
        status, _, body = read_response(connection)
    assert status == 200 and json.loads(body)["body_length"] == 2


# -- slow and idle connections, and how many at once ----------------------------------------------
def test_idle_and_slow_connections_are_closed(invoker, monkeypatch):
    monkeypatch.setattr(server_module, "IDLE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(server_module, "BODY_DEADLINE_S", 1.0)
    api, port = start(invoker)
    try:
        # An idle connection: never sends a request line
        with connect(port) as idle:
            assert closed_after(idle)
        # A slow body: one byte every 0.2 s never finishes 100 bytes within the body deadline
        with connect(port) as slow:
            slow.sendall(request("POST", "/v1/events", {**AUTH, "Content-Length": "100"}))
            answer = None
            for _ in range(30):
                try:
                    slow.sendall(b" ")
                except OSError:
                    break
                slow.settimeout(0.2)
                try:
                    answer = read_response(slow)
                    break
                except TimeoutError:
                    continue
            assert answer is not None and answer[0] == 408 and json.loads(answer[2])["error"].startswith("body:")
    finally:
        api.stop()
    assert invoker.events == []


def test_headers_sent_a_byte_at_a_time_cannot_hold_a_connection(invoker, monkeypatch):
    # Given a per-read timeout the client never trips, only the deadline for the whole head ends it
    monkeypatch.setattr(server_module, "IDLE_TIMEOUT_S", 5.0)
    monkeypatch.setattr(server_module, "HEADER_DEADLINE_S", 1.0)
    api, port = start(invoker)
    try:
        with connect(port) as slow:
            slow.sendall(b"GET /v1/health HTTP/1.1\r\nX-Slow: ")
            slow.settimeout(0.3)
            closed = False
            for _ in range(100):
                try:
                    slow.sendall(b"a")
                    closed = slow.recv(100) == b""
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                if closed:
                    break
            assert closed
    finally:
        api.stop()
    assert invoker.events == []


def test_connections_beyond_the_cap_get_503_and_a_freed_slot_is_served(invoker):
    api, port = start(invoker, max_connections=2)
    try:
        holders = [connect(port) for _ in range(2)]
        for holder in holders:  # each holds a slot: a request line is awaited on it
            holder.sendall(b"GET /v1/health HTTP/1.1\r\n")
        time.sleep(0.2)  # let the server accept both before the third arrives (ordering, not a speed check)
        status, headers, _, closed = exchange(port, request("GET", "/v1/health", AUTH), closes=True)
        assert status == 503 and headers.get("retry-after") == "1" and closed
        holders[0].close()
        for _ in range(50):  # the slot is released once the server sees the close
            status, *_ = exchange(port, request("GET", "/v1/health", AUTH))
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200
        holders[1].close()
    finally:
        api.stop()


def test_a_post_is_not_queued_behind_slow_reads(port, invoker):
    # Given four reads held inside the API function
    invoker.gate = threading.Event()
    readers = [threading.Thread(target=exchange, args=(port, request("GET", "/v1/rollups/daily_ohlc", AUTH)))
               for _ in range(4)]
    for reader in readers:
        reader.start()
    while sum(e["httpMethod"] == "GET" for e in invoker.events) < 4:
        time.sleep(0.01)
    # When an event is posted, it is answered while the reads are still held
    status, *_ = exchange(port, request("POST", "/v1/events", {**AUTH, "Content-Length": "2"}, b"{}"))
    assert status == 200 and not invoker.gate.is_set()
    invoker.gate.set()
    for reader in readers:
        reader.join()


# -- Host, DNS rebinding and the dashboard's token ------------------------------------------------
@pytest.mark.parametrize("path", ["/dashboard/config.json", "/v1/health", "/healthz"])
def test_a_foreign_host_name_is_refused_so_dns_rebinding_gets_nothing(port, invoker, path):
    status, _, body, _ = exchange(port, request("GET", path, AUTH, host=f"attacker.example:{port}"))
    assert status == 400 and json.loads(body)["error"].startswith("Host:")
    assert b"dashboard-token" not in body and invoker.events == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST:8080", "127.0.0.1:1"])
def test_loopback_host_names_are_served(port, host):
    status, headers, body, _ = exchange(port, request("GET", "/dashboard/config.json", host=host))
    assert status == 200 and json.loads(body)["token"] == "dashboard-token"
    assert headers["cache-control"] == "no-store"


def test_configured_host_names_are_served(invoker, monkeypatch):
    monkeypatch.setenv(server_module.ALLOWED_HOSTS_ENV, "barometer.lan, Other.Lan")
    api, port = start(invoker)
    try:
        assert exchange(port, request("GET", "/healthz", host="other.lan:80"))[0] == 200
        assert exchange(port, request("GET", "/healthz", host="third.lan"))[0] == 400
    finally:
        api.stop()


def test_a_request_without_exactly_one_host_is_400(port):
    assert exchange(port, b"GET /healthz HTTP/1.1\r\n\r\n")[0] == 400
    assert exchange(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n\r\n")[0] == 400


@pytest.mark.parametrize("headers, status", [
    ({"Sec-Fetch-Site": "cross-site"}, 403), ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "http://attacker.example"}, 403), ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1"}, 200), ({"Sec-Fetch-Site": "none"}, 200),
])
def test_the_dashboard_token_goes_only_to_a_same_origin_request(port, headers, status):
    answer = exchange(port, request("GET", "/dashboard/config.json", headers))
    assert answer[0] == status and (b"dashboard-token" in answer[2]) == (status == 200)


def test_the_dashboard_configuration_is_get_only(port):
    assert exchange(port, request("POST", "/dashboard/config.json", {"Content-Length": "0"}))[0] == 405


# -- odd paths and what reaches the logs ------------------------------------------------------------
@pytest.mark.parametrize("target, status", [
    ("/v1/latest/quote/" + "A" * 5000, 414), ("/v1/latest/quote/A\x00B", 400), ("/v1/latest/quote/A%00B", 400),
    ("/v1/latest/quote/A%zz", 400), ("/v1/latest/quote/A%", 400), ("/v1/latest/quote/%ff%fe", 400),
    ("/v1/latest/quote/A\x7fB", 400), ("/v1/alerts?kind=%00", 400), ("/v1/alerts?kind=%c3", 400),
    ("/v1/alerts?" + "&".join(f"p{i}=1" for i in range(40)), 400), ("/\x01", 400),
])
def test_an_odd_path_is_a_4xx_answer_not_a_dropped_connection(port, invoker, target, status):
    raw = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {WRITE}\r\n\r\n".encode("latin-1")
    answer = exchange(port, raw)
    assert answer[0] == status and json.loads(answer[2])["error"].split(":")[0] in ("path", "query", "kind")
    assert invoker.events == []


def test_a_function_error_is_502_and_logged_with_request_text_escaped(port, invoker, capfd):
    invoker.fail = True
    status, *_ = exchange(port, request("GET", "/v1/latest/quote/%E2%80%AE%1b", AUTH))
    assert status in (400, 502)
    status, _, body, _ = exchange(port, request("GET", "/v1/latest/quote/caf%C3%A9%E2%80%AEx", AUTH))
    assert status == 502 and json.loads(body) == {"error": "internal error in the API function"}
    logged = capfd.readouterr().err
    assert "function error" in logged and "\u202e" not in logged and logged.isascii()


def test_printable_escapes_controls_and_non_ascii_and_cuts_long_text():
    assert printable("a\x00b\x1b[31m\u202e\n") == "a\\x00b\\x1b[31m\\u202e\\x0a"
    assert printable("x" * 300, limit=10) == "x" * 10 + "..."


def test_the_api_function_takes_a_post_while_rollup_reads_run_inside_it():
    """The real handler through the real Invoker: invocations overlap, each captures its own output."""
    from barometer import catalogue as r
    from barometer_local.invoker import Invoker
    from barometer_local.server import proxy_event
    from lambdas.api import handler
    from tests.lambdas.api.api_fakes import Fakes

    gate, entered = threading.Event(), []

    class HeldRollups:
        def rows(self, name, first, last):
            entered.append(name)
            gate.wait(30)
            return []

    fakes = Fakes()
    handler.configure(replace(fakes.ports, rollups=HeldRollups()))
    api = Invoker(r.API_FUNCTION, None)
    read = proxy_event("GET", "/v1/rollups/daily_ohlc", {}, {}, None, {"scope": READ_SCOPE})
    readers = [threading.Thread(target=api.invoke, args=(read,)) for _ in range(4)]
    try:
        for reader in readers:
            reader.start()
        for _ in range(1000):
            if len(entered) == 4:
                break
            time.sleep(0.01)
        assert len(entered) == 4, "the reads did not run at the same time"
        # When an event is posted while four reads are held inside the function
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps({"events": [{"kind": "quote", "symbol": "AAPL", "price": 1.5, "ts": now}]})
        result, error, output = api.invoke_capturing(
            proxy_event("POST", "/v1/events", {}, {}, body, {"scope": WRITE_SCOPE}))
        # Then it is answered before they finish, and its metrics are in its own output
        assert error is None and result["statusCode"] == 200 and not gate.is_set()
        assert len(fakes.stream.records) == 1 and "EventsAccepted" in output
    finally:
        gate.set()
        for reader in readers:
            reader.join()
        handler.configure(None)


def test_the_openapi_document_is_served_without_a_token(port, invoker):
    from barometer.api_spec import load

    status, headers, body, _ = exchange(port, request("GET", "/v1/openapi.json"))
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == load() and invoker.events == []
    assert exchange(port, request("POST", "/v1/openapi.json", {"Content-Length": "0"}))[0] == 405


@pytest.mark.parametrize("method, path, status", [
    ("TRACE", "/v1/events", 200), ("CONNECT", "/v1/health", 200), ("BREW", "/v1/health", 200),
    ("TRACE", "/nowhere", 404), ("get", "/v1/health", 400), ("G\x01T", "/healthz", 400),
])
def test_any_method_gets_a_json_answer_not_an_html_501(port, invoker, method, path, status):
    # /v1 requests of any method reach the function (its router answers 405); others are answered here
    answer = exchange(port, request(method, path, AUTH))
    assert answer[0] == status and "error" in json.loads(answer[2]) or "path" in json.loads(answer[2])
    assert [e["httpMethod"] for e in invoker.events] == ([method] if status == 200 else [])


def test_a_head_request_gets_headers_only_and_the_connection_stays_usable(port):
    with connect(port) as connection:
        connection.sendall(request("HEAD", "/healthz") + request("GET", "/healthz"))
        head, get = read_response_headers_only(connection), read_response(connection)
    assert head[0] == 200 and get[0] == 200 and json.loads(get[2])["status"] == "ready"


def read_response_headers_only(connection: socket.socket) -> tuple[int, dict[str, str]]:
    data = _leftover.pop(connection, b"")
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    _leftover[connection] = rest
    return int(head.split()[1]), {}
