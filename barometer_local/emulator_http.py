"""Keep-alive connections for the emulator's HTTP server.

werkzeug's development server, which moto serves with, closes the connection after every answer: its
way of draining an unread request body reads the socket until the client hangs up, so it cannot keep the
connection for a next request. Every AWS call to the emulator therefore opened a TCP connection, and the
server started a thread for it and tore both down after one answer; at 1,000 events/s that is a few
hundred connections and threads a second, paid in the emulator and again in every client
(docs/benchmarks.md, "The emulator's wire").

This handler keeps a connection when the request says how long its body is (Content-Length, no chunked
encoding) and the client did not ask to close: the body is read through a stream limited to that length,
whatever the application left unread is read to its end before the next request, and werkzeug's drain,
which would read into the next request, finds nothing to do. Any other request is answered as werkzeug
answers it, and its connection closed.
"""
from __future__ import annotations

import selectors
import socket
import threading
from types import SimpleNamespace
from typing import Any

_current = threading.local()  # the body stream of the keep-alive request this thread is answering


class _DrainSelector:
    """werkzeug's drain asks a selector whether the client sent more; for a keep-alive request the body
    was read to its end here, and what else is on the socket is the next request: nothing to drain."""

    def __init__(self) -> None:
        self._kept = getattr(_current, "stream", None)
        self._selector = None if self._kept is not None else selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> Any:
        if self._selector is not None:
            return self._selector.register(fileobj, events, data)
        return None

    def select(self, timeout: float | None = None) -> list:
        if self._selector is not None:
            return self._selector.select(timeout)
        self._kept.exhaust()
        return []

    def close(self) -> None:
        if self._selector is not None:
            self._selector.close()


def handler_class() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.wsgi import LimitedStream

    class KeepAliveRequestHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # werkzeug writes the status line, each header and the body in separate sends: on a kept
            # connection Nagle's algorithm held the body until the client's delayed ACK (~40 ms a call).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            _current.stream = None
            length = self.headers.get("Content-Length", "0")
            if self.close_connection or "Transfer-Encoding" in self.headers or not length.isdigit():
                return environ
            stream = LimitedStream(self.rfile, int(length))
            environ["wsgi.input"] = _current.stream = stream
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            if (getattr(_current, "stream", None) is not None and keyword.lower() == "connection"
                    and value.lower() == "close"):
                return  # kept open: the body is read to its end before the next request
            super().send_header(keyword, value)

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            finally:
                stream, _current.stream = getattr(_current, "stream", None), None
                if stream is not None and not self.close_connection:
                    stream.exhaust()

    return KeepAliveRequestHandler


def install() -> None:
    """werkzeug's drain looks its selector up in `werkzeug.serving.selectors`: for a keep-alive request it
    gets one that finds nothing. Idempotent."""
    from werkzeug import serving

    if isinstance(serving.selectors, SimpleNamespace):
        return
    serving.selectors = SimpleNamespace(DefaultSelector=_DrainSelector, EVENT_READ=selectors.EVENT_READ)
