"""Bad input against the local API, as an attacker would send it: how many tries, what came back.

    python -m bench.attack            # starts a platform in a temporary folder, attacks it, stops it
    python -m bench.attack --json     # the figures as JSON (README "Hardening" quotes them)

Every try goes over a raw socket (so framing, Host and method can be anything) and is counted by class
(framing, paths, hosts, tokens, parameters, bodies, methods, connections): answered 2xx/4xx, 5xx, or the
connection dropped without an answer. The goal is no 5xx and no drop where an answer is due. Beside it,
a one-event POST is timed while four rollup reads run (reads must not block ingestion).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


# -- raw HTTP ---------------------------------------------------------------------------------------
def _read(connection: socket.socket) -> int | None:
    """The status of the first answer on the connection; None when it closed without one."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
    except (ConnectionResetError, TimeoutError):
        return None
    return int(data.split(b" ", 2)[1])


def send(port: int, raw: bytes, timeout_s: float = 20.0) -> int | None:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        try:
            connection.sendall(raw)
        except OSError:
            pass  # the server may answer and close before a large body is sent
        return _read(connection)


def http(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
         host: str = "127.0.0.1", length: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if length and body and not any(k.lower() == "content-length" for k in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- the catalogue of bad input ------------------------------------------------------------------------
def catalogue(token: str, key: bytes) -> dict[str, list[tuple[str, bytes]]]:
    import jwt

    from barometer_local.auth import AUDIENCE, ISSUER, READ_SCOPE, WRITE_SCOPE

    auth = {"Authorization": f"Bearer {token}"}
    now = int(time.time())

    def forged(**changes: Any) -> str:
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "attacker", "iat": now, "exp": now + 600,
                  "scope": f"{WRITE_SCOPE} {READ_SCOPE}", "token_use": "access", **changes}
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")

    def bearer(value: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

    event = {"kind": "quote", "symbol": "AAPL", "price": 1.5, "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    good = json.dumps({"events": [event]}).encode()
    smuggled = http("GET", "/v1/health", auth)
    tries: dict[str, list[tuple[str, bytes]]] = {}
    tries["framing"] = [
        ("chunked with a request in the chunk", http("POST", "/v1/events", {**auth, "Transfer-Encoding": "chunked"},
                                                     f"{len(smuggled):x}\r\n".encode() + smuggled + b"\r\n0\r\n\r\n",
                                                     length=False)),
        ("Transfer-Encoding and Content-Length", http("POST", "/v1/events", {**auth, "Transfer-Encoding": "chunked",
                                                                             "Content-Length": "4"}, b"0\r\n\r\n")),
        ("duplicate Content-Length", http("POST", "/v1/events", {**auth, "Content-Length": "2",
                                                                 "content-length": "3"}, b"{}x", length=False)),
        *[(f"Content-Length {v!r}", http("POST", "/v1/events", {**auth, "Content-Length": v}, b"{}", length=False))
          for v in ("abc", "-1", "+2", "2,2", "0x2", "1e3", "99999999999999999999", "\u00b9", "")],
        ("gzip body", http("POST", "/v1/events", {**auth, "Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00")),
        ("POST without Content-Length", http("POST", "/v1/events", auth, length=False)),
        ("unauthenticated 300 MB", http("POST", "/v1/events", {"Content-Length": str(300 * 2**20)}, length=False)),
        ("authenticated 1 TB", http("POST", "/v1/events", {**auth, "Content-Length": str(2**40)}, length=False)),
        ("body not UTF-8", http("POST", "/v1/events", auth, b"\xff\xfe{}")),
        ("body shorter than declared, then close", http("POST", "/v1/events", {**auth, "Content-Length": "100"},
                                                        b"{}", length=False)),
    ]
    tries["paths"] = [
        ("path of 5,000 characters", http("GET", "/v1/latest/quote/" + "A" * 5000, auth)),
        ("path of 70,000 characters", http("GET", "/v1/latest/quote/" + "A" * 70000, auth)),
        ("raw NUL in path", http("GET", "/v1/latest/quote/A\x00B", auth)),
        ("%00 in path", http("GET", "/v1/latest/quote/A%00B", auth)),
        ("bad escape %zz", http("GET", "/v1/latest/quote/%zz", auth)),
        ("lone %", http("GET", "/v1/latest/quote/A%", auth)),
        ("escapes that are not UTF-8", http("GET", "/v1/latest/quote/%ff%fe", auth)),
        ("escaped newline and ANSI", http("GET", "/v1/latest/quote/%0a%1b[31m", auth)),
        ("right-to-left override", http("GET", "/v1/latest/quote/%E2%80%AEx", auth)),
        ("traversal to /etc/passwd", http("GET", "/../../../../etc/passwd")),
        ("escaped traversal", http("GET", "/%2e%2e/%2e%2e/etc/passwd")),
        ("NUL in query", http("GET", "/v1/alerts?kind=%00", auth)),
        ("40 query parameters", http("GET", "/v1/alerts?" + "&".join(f"p{i}=1" for i in range(40)), auth)),
        ("query not UTF-8", http("GET", "/v1/latest/quote?q=%c3", auth)),
        ("key of 2,000 characters", http("GET", "/v1/series/quote/" + "B" * 2000, auth)),
    ]
    tries["hosts"] = [
        ("DNS rebinding: foreign Host on dashboard/config.json", http("GET", "/dashboard/config.json",
                                                                      host="attacker.example")),
        ("foreign Host with a loopback port", http("GET", "/dashboard/config.json", host="evil.example:8080")),
        ("foreign Host on the API", http("GET", "/v1/health", auth, host="attacker.example")),
        ("no Host", b"GET /dashboard/config.json HTTP/1.1\r\nConnection: close\r\n\r\n"),
        ("two Hosts", b"GET /dashboard/config.json HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n\r\n"),
        ("Host with junk port", http("GET", "/healthz", host="localhost:80x")),
        ("cross-site fetch of the token", http("GET", "/dashboard/config.json", {"Sec-Fetch-Site": "cross-site"})),
        ("foreign Origin", http("GET", "/dashboard/config.json", {"Origin": "http://attacker.example"})),
        ("POST to dashboard/config.json", http("POST", "/dashboard/config.json", {}, b"{}")),
    ]
    tries["tokens"] = [
        ("no token", http("GET", "/v1/health")),
        ("garbage token", http("GET", "/v1/health", bearer("x.y.z"))),
        ("alg none", http("GET", "/v1/health", bearer(jwt.encode({"sub": "x"}, None, algorithm="none")))),
        ("wrong key", http("GET", "/v1/health", bearer(jwt.encode({"exp": now + 60}, b"k" * 32, algorithm="HS256")))),
        ("no exp", http("GET", "/v1/health", bearer(forged(exp=None)))),
        ("string exp", http("GET", "/v1/health", bearer(forged(exp=str(now + 600))))),
        ("boolean exp", http("GET", "/v1/health", bearer(forged(exp=True)))),
        ("exp 274 years ahead", http("GET", "/v1/health", bearer(forged(exp=now + 274 * 365 * 86400)))),
        ("token_use id", http("GET", "/v1/health", bearer(forged(token_use="id")))),
        ("no token_use", http("GET", "/v1/health", bearer(forged(token_use=None)))),
        ("expired", http("GET", "/v1/health", bearer(forged(exp=now - 3600)))),
        ("read token POSTing", http("POST", "/v1/events", bearer(forged(scope=READ_SCOPE)), good)),
        ("write token reading", http("GET", "/v1/health", bearer(forged(scope=WRITE_SCOPE)))),
    ]
    params = []
    for path in ("/v1/series/quote/AAPL", "/v1/alerts", "/v1/rollups/daily_ohlc"):
        for value in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00%2B01:00",
                      "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31", "0000-01-01T00:00:00Z",
                      "%D9%A2%D9%A0%D9%A2%D9%A6-11-24T15:04:05Z", "2026-11-24T15:04:05.%E0%A5%A7Z"):
            for name in ("from", "to"):
                params.append((f"{path} {name}={value[:24]}", http("GET", f"{path}?{name}={value}", auth)))
    for value in ("0", "-1", "5001", "1e3", "%D9%A1", "99999999999999999999"):
        params.append((f"limit={value}", http("GET", f"/v1/latest/quote?limit={value}", auth)))
    for value in ("garbage", "eyJ4IjoxfQ", "W10", "%00"):
        params.append((f"next={value}", http("GET", f"/v1/latest/quote?next={value}", auth)))
    params += [("kind trade", http("GET", "/v1/latest/trade", auth)), ("rollup nope", http("GET", "/v1/rollups/x", auth))]
    tries["parameters"] = params
    bodies = [b"not json", b"[]", b'{"events": 1}', b'{"events": []}', b"[" * 100_000 + b"]" * 100_000,
              b'{"events": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}", b'{"events": [{"price": NaN}]}',
              json.dumps({"events": [{**event, "price": 10**400}]}).encode(),
              json.dumps({"events": [{**event, "price": 5e-324}]}).encode(),
              json.dumps({"events": [event] * 501}).encode(), json.dumps({"events": [{**event, "x": 1}]}).encode(),
              json.dumps({"events": [{**event, "ts": "\u0662\u0660\u0662\u0666-11-24T15:04:05Z"}]}).encode(),
              json.dumps({"events": [{**event, "symbol": "A" * 10_000}]}).encode()]
    tries["bodies"] = [(f"body {b[:30]!r}", http("POST", "/v1/events", auth, b)) for b in bodies]
    tries["methods"] = [(f"{m} /v1/events", http(m, "/v1/events", auth)) for m in
                        ("TRACE", "CONNECT", "BREW", "DELETE", "PATCH", "OPTIONS", "get", "G\x01T")]
    return tries


# -- runs ---------------------------------------------------------------------------------------------
def attack(port: int, token: str, key: bytes, progress=print) -> dict[str, Any]:
    classes: dict[str, dict[str, Any]] = {}
    for name, tries in catalogue(token, key).items():
        statuses: Counter = Counter()
        bad: list[str] = []
        for label, raw in tries:
            status = send(port, raw)
            statuses["dropped" if status is None else f"{status // 100}xx"] += 1
            if status is None or status >= 500:
                bad.append(f"{label}: {status or 'dropped'}")
        classes[name] = {"tried": len(tries), **dict(sorted(statuses.items())), "failures": bad}
        progress(f"  {name:<11} {len(tries):>3} tried  " + "  ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                 + (f"  FAILURES: {bad}" if bad else ""))
    classes["connections"] = connections(port, token, progress)
    tried = sum(c["tried"] for c in classes.values())
    five = sum(c.get("5xx", 0) for c in classes.values())
    dropped = sum(c.get("dropped", 0) for c in classes.values())
    return {"tried": tried, "5xx": five, "dropped": dropped, "classes": classes}


def connections(port: int, token: str, progress=print) -> dict[str, Any]:
    """Idle and slow connections, a flood beyond the cap, and whether the server serves again after."""
    from barometer_local.server import MAX_CONNECTIONS

    auth = {"Authorization": f"Bearer {token}"}
    statuses: Counter = Counter()
    held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(MAX_CONNECTIONS + 16)]
    time.sleep(0.5)
    refused = 0
    for connection in held[MAX_CONNECTIONS:]:
        connection.settimeout(5)
        status = _read(connection)
        refused += status == 503
    for connection in held:
        connection.close()
    statuses["5xx"] += 0  # the 503s beyond the cap are the documented answer, counted apart
    served_after = None
    for _ in range(100):
        served_after = send(port, http("GET", "/v1/health", auth))
        if served_after == 200:
            break
        time.sleep(0.1)
    idle = socket.create_connection(("127.0.0.1", port), timeout=60)
    started = time.monotonic()
    idle_closed = _read(idle) is None
    idle_s = time.monotonic() - started
    idle.close()
    slow = socket.create_connection(("127.0.0.1", port), timeout=60)
    slow.sendall(http("POST", "/v1/events", {**auth, "Content-Length": "1000"}, length=False))
    slow_status = None
    for _ in range(200):
        try:
            slow.sendall(b" ")
        except OSError:
            break
        slow.settimeout(1.0)
        try:
            data = slow.recv(100)
        except TimeoutError:
            continue
        slow_status = int(data.split(b" ", 2)[1]) if data else None
        break
    slow.close()
    result = {"tried": MAX_CONNECTIONS + 16 + 3, "flood_connections": MAX_CONNECTIONS + 16,
              "refused_503_beyond_cap": refused, "served_after_flood": served_after,
              "idle_closed_after_s": round(idle_s, 1) if idle_closed else None,
              "slow_body_answer": slow_status, "5xx": 0, "failures": []}
    if served_after != 200:
        result["failures"].append(f"not served after the flood: {served_after}")
    if not idle_closed:
        result["failures"].append("idle connection not closed")
    if slow_status != 408:
        result["failures"].append(f"slow body answered {slow_status}")
    progress(f"  connections {MAX_CONNECTIONS + 16} at once: {refused} refused 503 beyond the cap of {MAX_CONNECTIONS}, "
             f"served after: {served_after}; idle closed after {result['idle_closed_after_s']} s; "
             f"slow body: {slow_status}")
    return result


def post_beside_reads(port: int, token: str, readers: int = 4, posts: int = 10) -> dict[str, Any]:
    """A one-event POST's time while `readers` rollup reads run in a loop (reads must not block ingestion)."""
    auth = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    reads = Counter()

    def read() -> None:
        while not stop.is_set():
            reads[send(port, http("GET", "/v1/rollups/daily_ohlc", auth), timeout_s=120)] += 1

    def post_times(statuses: Counter) -> list[float]:
        times = []
        for _ in range(posts):
            event = {"kind": "quote", "symbol": "AAPL", "price": 1.5,
                     "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            started = time.perf_counter()
            statuses[send(port, http("POST", "/v1/events", auth, json.dumps({"events": [event]}).encode()))] += 1
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.2)
        return times

    statuses: Counter = Counter()
    alone = post_times(statuses)  # also warms the stream client up
    threads = [threading.Thread(target=read, daemon=True) for _ in range(readers)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    times = post_times(statuses)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return {"readers": readers, "posts": posts, "post_statuses": dict(statuses), "reads": dict(reads),
            "post_ms_median": round(statistics.median(times), 1), "post_ms_max": round(max(times), 1),
            "post_ms": [round(t, 1) for t in times], "post_alone_ms_median": round(statistics.median(alone), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from barometer import aws
    from barometer_local.auth import issue_token, signing_key
    from barometer_local.emulator import free_port
    from barometer_local.paths import HOME_ENV
    from barometer_local.platform import LocalPlatform, PlatformOptions

    progress = (lambda text: print(text, file=sys.stderr)) if args.json else print
    saved = dict(os.environ)
    state = Path(tempfile.mkdtemp(prefix="barometer-attack-"))
    os.environ[HOME_ENV] = str(state)
    platform = LocalPlatform(state, PlatformOptions(api_port=free_port(), flush_seconds=0.5))
    try:
        progress(f"attack: starting a local platform (state in {state})")
        platform.start(progress=lambda text: progress(f"  {text}"))
        platform.wait_ready()
        port = int(platform.api_url.rsplit(":", 1)[1])
        token = issue_token(state)
        progress("attack: bad input by class")
        figures = attack(port, token, signing_key(state), progress)
        progress("attack: a one-event POST while 4 rollup reads run")
        figures["post_beside_reads"] = post_beside_reads(port, token)
        beside = figures["post_beside_reads"]
        progress(f"  POST median {beside['post_ms_median']} ms, max {beside['post_ms_max']} ms (alone: median "
                 f"{beside['post_alone_ms_median']} ms) "
                 f"({beside['post_statuses']}; reads {beside['reads']})")
    finally:
        platform.stop()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
        shutil.rmtree(state, ignore_errors=True)
    progress(f"attack: {figures['tried']} bad inputs tried, {figures['5xx']} answered 5xx, "
             f"{figures['dropped']} dropped without an answer")
    if args.json:
        print(json.dumps(figures, indent=2))
    failures = [f for c in figures["classes"].values() for f in c["failures"]]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
