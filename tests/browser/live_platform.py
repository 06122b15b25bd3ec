"""A real local Barometer platform for the browser tests: `barometer up` in its own state folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 240


class PlatformError(RuntimeError):
    """The local platform did not start or refused a request."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalPlatform:
    url: str
    token: str
    process: subprocess.Popen
    log_path: Path

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise PlatformError(f"{method} {path} answered {error.code}: {error.read()[:500]!r}") from error

    def post_events(self, events: list[dict]) -> None:
        answer = self.request("POST", "/v1/events", {"events": events})
        if answer.get("accepted") != len(events) or answer.get("failed"):
            raise PlatformError(f"POST /v1/events did not accept every event: {answer}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C: `barometer up` shuts down cleanly
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_platform(home: Path) -> LocalPlatform:
    port = free_port()
    env = {**os.environ, "BAROMETER_HOME": str(home)}
    log_path = home / "up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "barometer_local.cli", "up", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops it and everything it started
        )
    url = f"http://127.0.0.1:{port}"
    platform = LocalPlatform(url=url, token="", process=process, log_path=log_path)
    try:
        wait_ready(platform)
        token = (
            subprocess.run(
                [sys.executable, "-m", "barometer_local.cli", "token"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
            .strip()
        )
    except BaseException:
        platform.stop()
        raise
    platform.token = token
    return platform


def wait_ready(platform: LocalPlatform) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if platform.process.poll() is not None:
            raise PlatformError(
                f"`barometer up` exited with {platform.process.returncode}:\n{platform.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{platform.url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise PlatformError(f"GET /healthz was not 200 within {READY_TIMEOUT_S} s:\n{platform.log_tail()}")


def resolve_phase(entries: list[dict], now: datetime | None = None) -> list[dict]:
    """Turn the fixture's relative times into RFC 3339 timestamps.

    `local_day`/`local_time` place an event on a calendar day of its timezone (-1 = yesterday);
    `seconds_ago` places it shortly before now; just after local midnight it moves to a few minutes
    into today instead (order kept), so that "today" events stay on today's local day.
    """
    now = now or datetime.now(UTC)
    events = []
    for entry in entries:
        at, zone = entry["at"], ZoneInfo(entry["at"]["timezone"])
        local_now = now.astimezone(zone)
        if "seconds_ago" in at:
            midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
            ago = timedelta(seconds=at["seconds_ago"])
            ts = max(now - ago, (midnight + timedelta(minutes=20) - ago).astimezone(UTC))
        else:
            hour, minute, second = (int(part) for part in at["local_time"].split(":"))
            day = local_now.date() + timedelta(days=at["local_day"])
            ts = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone).astimezone(UTC)
        events.append({**entry["event"], "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return events
