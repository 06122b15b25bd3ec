"""The local AWS emulator: moto server in its own process on 127.0.0.1, spoken to over HTTP.

A separate process (not moto's in-process mocks, not a thread) so that the emulator gets its own
core and its own GIL, and so that tests exercise real HTTP requests.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from barometer.aws import EMULATOR_ACCOUNT, EMULATOR_CREDENTIALS, EMULATOR_REGION, AwsTarget

REGION = EMULATOR_REGION
ACCOUNT = EMULATOR_ACCOUNT
# What a process needs to talk to the emulator: dummy credentials (moto accepts any) and its region.
FAKE_CREDENTIALS = {**EMULATOR_CREDENTIALS.environment(), "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


# A durable emulator writes its final snapshot when stopped: seconds per 100,000 events stored, minutes
# for a million on a busy machine (docs/local.md); killing it sooner would lose what came after the last one.
STOP_TIMEOUT_S = 600.0


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not answer."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.1)
    raise EmulatorError(f"the emulator at {url} did not answer within {timeout_s:.0f}s: {last_error}")


@dataclass
class Emulator:
    """A running moto server. Use as a context manager, or call stop()."""

    url: str
    process: subprocess.Popen | None

    @classmethod
    def start(cls, port: int | None = None, log_path: Path | None = None,
              state_dir: Path | None = None) -> Emulator:
        """With a state folder the emulator is the platform's supervised child (it dies with this
        process, a leftover is found by the next owner) and keeps its data there across restarts."""
        port = port or free_port()
        env = {**os.environ, **FAKE_CREDENTIALS}
        command = ["-m", "barometer_local.emulator_server", "-H", "127.0.0.1", "-p", str(port)]
        if state_dir is not None:
            from barometer_local.supervise import child_command, record_child

            command = child_command("emulator", state_dir, command + ["--state-dir", str(state_dir)])
        else:
            command = [sys.executable, *command]
        # The child writes to its own copy of the log's descriptor: this one can close once it has started.
        with open(log_path, "ab") if log_path else contextlib.nullcontext(subprocess.DEVNULL) as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True)
        if state_dir is not None:
            record_child(state_dir, "emulator", process.pid, command)
        emulator = cls(f"http://127.0.0.1:{port}", process)
        try:
            # A durable emulator loads its snapshot before it answers (docs/local.md: restart times).
            wait_until_ready(emulator.url, timeout_s=300 if state_dir is not None else 30)
        except EmulatorError:
            emulator.stop()
            raise
        return emulator

    @classmethod
    def attach(cls, url: str) -> Emulator:
        """An emulator started elsewhere (for example by `barometer up`)."""
        wait_until_ready(url, timeout_s=5)
        return cls(url, None)

    def environment(self) -> dict[str, str]:
        """Environment variables that point boto3 and Barometer's adapters at this emulator."""
        return {**self.target().environment(), "AWS_ENDPOINT_URL": self.url}

    def target(self) -> AwsTarget:
        return AwsTarget.emulator(self.url, REGION)

    def reset(self) -> None:
        """Drop every resource (moto's reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
