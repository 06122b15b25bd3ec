"""A local Slack-compatible incoming-webhook receiver: records every post, answers like Slack.

The notifier posts to it exactly as it posts to hooks.slack.com. Accepted posts are appended to
`<state_dir>/webhook/posts.jsonl` (one JSON object a line, flushed) and kept in memory;
`GET /posts` returns them as a JSON array. Failures can be injected for retry tests.

    receiver = WebhookReceiver(state_dir)
    url = receiver.start()            # http://127.0.0.1:PORT/services/barometer/local/alerts
    ...
    receiver.posts()                  # [{"path", "headers", "body", "received_at"}, ...]
    receiver.fail_next(2, status=500) # the next two posts answer 500 and are not recorded
    receiver.delay_answers(7.0)       # posts are recorded (shown), then answered 7 s later: a slow Slack
    receiver.hold_answers()           # posts are recorded, then answered only at release_answers()
    receiver.release_answers(drop=True)  # ... by closing the connection without an answer
    receiver.stop()

`python -m barometer_local.webhook --state-dir .barometer --port 8099 [--answer-delay 7]` runs it alone.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

WEBHOOK_PATH = "/services/barometer/local/alerts"
MAX_BODY_BYTES = 1_000_000
RECORDED_HEADERS = ("Content-Type", "User-Agent", "Content-Length")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_problem(body: bytes) -> tuple[Any, str | None]:
    """(decoded payload, None) when Slack would accept it, else (None, reason)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "body is not JSON"
    if not isinstance(payload, dict):
        return None, "payload is not a JSON object"
    text, blocks = payload.get("text"), payload.get("blocks")
    has_text = isinstance(text, str) and text.strip() != ""
    has_blocks = isinstance(blocks, list) and len(blocks) > 0
    if not (has_text or has_blocks):
        return None, "payload has neither text nor blocks"
    return payload, None


class WebhookReceiver:
    """Records Slack-style posts under `state_dir/webhook/`. start() returns the webhook URL."""

    def __init__(self, state_dir: str | Path):
        self.directory = Path(state_dir) / "webhook"
        self.log_path = self.directory / "posts.jsonl"
        self._lock = threading.Lock()
        self._posts: list[dict] = self._load()
        self._rejected: list[dict] = []
        self._failures: list[tuple[int, str, float]] = []  # (status, body, delay before answering)
        self._answer_delay_s = 0.0  # after recording an accepted post, before answering it
        self._release = threading.Event()
        self._release.set()  # not holding
        self._drop_held = False
        self._held = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def _load(self) -> list[dict]:
        """Posts recorded by an earlier run (a restarted platform keeps its history)."""
        if not self.log_path.exists():
            return []
        posts = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                posts.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return posts

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("the webhook receiver is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server = _QuietServer((host, port), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="webhook-receiver", daemon=True)
        self._thread.start()
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self.url = self.base_url + WEBHOOK_PATH
        return self.url

    def stop(self) -> None:
        self._release.set()  # held posts are answered: their threads end
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what tests and the demo use ------------------------------------------------------------

    def posts(self) -> list[dict]:
        with self._lock:
            return list(self._posts)

    def rejected(self) -> list[dict]:
        """Posts answered with an error (invalid payloads and injected failures)."""
        with self._lock:
            return list(self._rejected)

    def wait_for_posts(self, count: int, timeout_s: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            posts = self.posts()
            if len(posts) >= count:
                return posts
            time.sleep(0.02)
        raise TimeoutError(f"expected {count} webhook posts within {timeout_s}s, got {len(self.posts())}")

    def fail_next(self, count: int = 1, status: int = 500, body: str = "internal_error",
                  delay_s: float = 0.0) -> None:
        """Answer the next `count` posts with `status` (after `delay_s`, to provoke client timeouts)."""
        with self._lock:
            self._failures.extend([(status, body, delay_s)] * count)

    def delay_answers(self, seconds: float) -> None:
        """Record each accepted post at once (Slack shows it), then answer it `seconds` later (0: at once)."""
        with self._lock:
            self._answer_delay_s = max(0.0, float(seconds))

    def hold_answers(self) -> None:
        """Record each accepted post at once, and answer none until `release_answers` (a Slack that hangs)."""
        with self._lock:
            self._drop_held = False
        self._release.clear()

    def release_answers(self, drop: bool = False) -> None:
        """Answer the held posts (200), or with `drop` close their connections without an answer."""
        with self._lock:
            self._drop_held = drop
        self._release.set()

    def held(self) -> int:
        """How many accepted posts are waiting for their answer now."""
        with self._lock:
            return self._held

    # --- request handling (called from the server's threads) --------------------------------------
    def _answer_delay(self) -> float:
        with self._lock:
            return self._answer_delay_s

    def _wait_for_release(self) -> bool:
        """Hold the answer while asked to; True when the connection is to be dropped unanswered."""
        if self._release.is_set():
            return False
        with self._lock:
            self._held += 1
        try:
            self._release.wait()
        finally:
            with self._lock:
                self._held -= 1
        with self._lock:
            return self._drop_held

    def _next_failure(self) -> tuple[int, str, float] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _record(self, entry: dict) -> None:
        with self._lock:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                log.flush()
            self._posts.append(entry)

    def _reject(self, entry: dict) -> None:
        with self._lock:
            self._rejected.append(entry)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client that gave up is not an error


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "barometer-webhook/1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the posts file is the log

        def _answer(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/posts":
                self._answer(200, json.dumps(receiver.posts(), ensure_ascii=False), "application/json")
            elif self.path == "/healthz":
                self._answer(200, "ok")
            else:
                self._answer(404, "not_found")

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self.close_connection = True
                self._answer(413 if length > 0 else 400, "invalid_payload")
                return
            raw = self.rfile.read(length)
            entry = {"path": self.path,
                     "headers": {h.lower(): self.headers[h] for h in RECORDED_HEADERS if h in self.headers},
                     "received_at": _now()}
            failure = receiver._next_failure()
            if failure:
                status, body, delay_s = failure
                if delay_s:
                    time.sleep(delay_s)
                receiver._reject({**entry, "status": status, "reason": "injected failure"})
                self._answer(status, body)
                return
            payload, problem = payload_problem(raw)
            if problem:
                receiver._reject({**entry, "status": 400, "reason": problem,
                                  "raw": raw[:2000].decode("utf-8", "replace")})
                self._answer(400, "invalid_payload")
                return
            receiver._record({**entry, "body": payload})
            delay_s = receiver._answer_delay()
            if delay_s:
                time.sleep(delay_s)
            if receiver._wait_for_release():
                self.close_connection = True
                return  # no status line at all: the client sees the connection closed
            self._answer(200, "ok")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Slack-compatible webhook receiver")
    parser.add_argument("--state-dir", default=".barometer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--answer-delay", type=float, default=0.0,
                        help="seconds to wait before answering an accepted post (a slow Slack)")
    args = parser.parse_args(argv)
    receiver = WebhookReceiver(args.state_dir)
    receiver.delay_answers(args.answer_delay)
    print(receiver.start(args.host, args.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
