"""The bounded retry policy of the HTTP port."""
from __future__ import annotations

import pytest
from poller_fakes import ReplayTransport

from lambdas.poller.http_get import HttpResponse, TransportError, get_with_retries


def ok(status=200, **headers):
    return HttpResponse(status, b"{}", headers)


def test_client_errors_are_returned_at_once(sleeps):
    transport = ReplayTransport(ok(404))
    assert get_with_retries(transport, "http://x", sleep=sleeps).status == 404
    assert sleeps == []


def test_backoff_doubles_and_retry_after_is_honoured_but_capped(sleeps):
    transport = ReplayTransport(ok(503), ok(503), ok(429, **{"retry-after": "120"}), ok(503), ok(200))
    assert get_with_retries(transport, "http://x", max_attempts=5, sleep=sleeps).status == 200
    assert sleeps == [0.5, 1.0, 5.0, 4.0]


def test_the_last_answer_is_returned_when_attempts_run_out(sleeps):
    transport = ReplayTransport(ok(503), ok(500))
    assert get_with_retries(transport, "http://x", max_attempts=2, sleep=sleeps).status == 500


def test_transport_errors_propagate_after_the_last_attempt(sleeps):
    transport = ReplayTransport(TransportError("a"), TransportError("b"))
    with pytest.raises(TransportError, match="b"):
        get_with_retries(transport, "http://x", max_attempts=2, sleep=sleeps)


def test_the_timeout_and_headers_reach_the_transport(sleeps):
    transport = ReplayTransport(ok())
    get_with_retries(transport, "http://x", headers={"A": "1"}, timeout_s=2.0, sleep=sleeps)
    assert transport.calls == [("http://x", {"A": "1"}, 2.0)]


def test_the_urllib_transport_reads_answers_and_error_statuses_from_a_local_server():
    import http.server
    import threading

    from lambdas.poller.http_get import urllib_transport

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path == "/ok" else 429
            body = f'{{"ua": "{self.headers["User-Agent"]}", "token": "{self.headers.get("X-T")}"}}'.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        answer = urllib_transport(f"{base}/ok", {"X-T": "k"}, 2.0)
        assert answer.status == 200 and b'"token": "k"' in answer.body and b"barometer-poller" in answer.body
        limited = urllib_transport(f"{base}/limited", {}, 2.0)
        assert limited.status == 429 and limited.headers.get("Retry-After") == "1"
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(TransportError, match="no answer from 127.0.0.1"):
        urllib_transport(f"{base}/ok", {}, 1.0)  # the server is gone: connection refused
