"""The whole local platform in one object: emulator, provisioning, webhook receiver, stream runner
(its own process), the HTTP API with the dashboard, and Lambda's Invoke API for the catalogue's
functions (loopback only; Dagster's poll job calls it). `barometer up` and `barometer demo` use it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from barometer import catalogue as r
from barometer.aws import AwsTarget
from barometer.settings import config_path
from barometer_local.auth import issue_token, signing_key
from barometer_local.config_watch import ConfigWatch
from barometer_local.emulator import REGION, Emulator
from barometer_local.invoker import Invoker, MetricSink
from barometer_local.lambda_api import LambdaApiServer
from barometer_local.paths import platform_file, read_json, write_json_atomic
from barometer_local.provision import provision
from barometer_local.rollups import DuckDBRollups
from barometer_local.runner import local_environment
from barometer_local.server import LocalApiServer
from barometer_local.supervise import (
    StateFolderBusyError,
    StateLock,
    child_command,
    forget_child,
    record_child,
    stop_leftovers,
)
from barometer_local.webhook import WebhookReceiver

# Per-run files. The data (emulator snapshot with the runner's positions, mail, webhook posts, Dagster's
# storage) persists from run to run and is emptied together by `barometer reset` (barometer_local.state).
RUN_STATE = ("runner-status.json", "platform.json")
DASHBOARD_TOKEN_TTL_S = 15 * 60  # the page renews it from /dashboard/config.json when the API answers 401
RUNNER_STALE_S = 10.0


class PlatformError(RuntimeError):
    """The local platform cannot start."""


@dataclass
class PlatformOptions:
    api_port: int = 8080
    emulator_port: int | None = None
    poll_interval_s: float | None = None
    flush_seconds: float = 2.0
    host: str = "127.0.0.1"


class LocalPlatform:
    def __init__(self, state_dir: Path, options: PlatformOptions):
        self.state_dir, self.options = state_dir, options
        self.emulator: Emulator | None = None
        self.webhook: WebhookReceiver | None = None
        self.runner: subprocess.Popen | None = None
        self.server: LocalApiServer | None = None
        self.lambda_api: LambdaApiServer | None = None
        self.api_url = ""
        self._metrics: MetricSink | None = None
        self._stop = threading.Event()
        self._lock = StateLock(state_dir)
        self.config_watch: ConfigWatch | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, progress=print) -> LocalPlatform:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except StateFolderBusyError as exc:
            raise PlatformError(str(exc)) from None
        stop_leftovers(self.state_dir, progress)
        self.config_watch = ConfigWatch.start(config_path())
        self._clear_run_state()
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        progress(f"starting the AWS emulator (moto server, log {logs / 'emulator.log'})")
        self.emulator = Emulator.start(self.options.emulator_port, log_path=logs / "emulator.log",
                                       state_dir=self.state_dir)
        os.environ.update(local_environment(self.emulator.url))
        from barometer import aws

        aws.reset_clients()
        self.webhook = WebhookReceiver(self.state_dir)
        webhook_url = self.webhook.start(self.options.host, 0)
        progress(f"provisioning the catalogue's resources in the emulator ({self.emulator.url})")
        provision(self.target(), webhook_url)
        progress("starting the stream runner (Kinesis -> processor, Firehose, SNS delivery)")
        self.start_runner()
        self._metrics = MetricSink(self.target().client("cloudwatch"))
        threading.Thread(target=self._flush_metrics, name="api-metrics", daemon=True).start()
        api = Invoker(r.API_FUNCTION, self._metrics)
        from lambdas.api.handler import use_rollup_source

        use_rollup_source(DuckDBRollups(self.emulator.url, r.PROCESSED_BUCKET.local_name))
        self.server = LocalApiServer(api, signing_key(self.state_dir),
                                     self.readiness, self.dashboard_config)
        self.api_url = self.server.start(self.options.host, self.options.api_port)
        # Lambda's Invoke API (Dagster's poll job): loopback only, whatever host the HTTP API listens on.
        self.lambda_api = LambdaApiServer(self._metrics)
        lambda_endpoint = self.lambda_api.start("127.0.0.1", 0)
        write_json_atomic(platform_file(), {
            "aws_endpoint": self.emulator.url, "api_url": self.api_url, "dashboard_url": f"{self.api_url}/",
            "lambda_endpoint": lambda_endpoint,
            "webhook_url": webhook_url, "region": REGION, "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(), "config_path": str(config_path()),
            "state_dir": str(self.state_dir)})
        return self

    def start_runner(self) -> None:
        command = ["-m", "barometer_local.runner", "--endpoint", self.emulator.url,
                   "--state-dir", str(self.state_dir), "--flush-seconds", str(self.options.flush_seconds)]
        if self.options.poll_interval_s:
            command += ["--poll-interval", str(self.options.poll_interval_s)]
        # A session of its own keeps Ctrl-C away from it (stop() ends it in order); the child wrapper
        # makes it die with this process all the same.
        command = child_command("runner", self.state_dir, command)
        # The child writes to its own copy of the log's descriptor: this one can close once it has started.
        with open(self.state_dir / "logs" / "runner.log", "ab") as log:
            self.runner = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                           env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                           start_new_session=True)
        record_child(self.state_dir, "runner", self.runner.pid, command)

    def stop_runner(self, kill: bool = False) -> None:
        if self.runner and self.runner.poll() is None:
            self.runner.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.runner.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()
        if self.runner:
            forget_child(self.state_dir, "runner", self.runner.pid)

    def stop(self) -> None:
        self._stop.set()
        if self.server:
            self.server.stop()
        if self.lambda_api:
            self.lambda_api.stop()
        self.stop_runner()
        if self._metrics:
            self._metrics.flush()
        if self.webhook:
            self.webhook.stop()
        if self.emulator:
            self.emulator.stop()
            if self.emulator.process:
                forget_child(self.state_dir, "emulator", self.emulator.process.pid)
        info = read_json(platform_file(), {})
        if info.get("pid") == os.getpid():
            platform_file().unlink(missing_ok=True)
        self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------------
    def target(self) -> AwsTarget:
        """The running emulator, for clients of the platform's own resources."""
        return self.emulator.target()

    def token(self) -> str:
        return issue_token(self.state_dir)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        runner_alive = self.runner is not None and self.runner.poll() is None
        status = read_json(self.state_dir / "runner-status.json", {}) or {}
        fresh = False
        if status.get("updated_at"):
            age = time.time() - datetime.fromisoformat(status["updated_at"]).timestamp()
            fresh = age < RUNNER_STALE_S
        emulator_alive = self.emulator is not None and (self.emulator.process is None
                                                         or self.emulator.process.poll() is None)
        ready = runner_alive and fresh and emulator_alive
        detail = {"emulator": emulator_alive, "runner": runner_alive and fresh, "consumers": status.get("consumers", {})}
        if self.config_watch:
            detail["config"] = self.config_watch.status()
        return ready, detail

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _ = self.readiness()
            if ready:
                return
            if self.runner and self.runner.poll() is not None:
                raise RuntimeError(f"the stream runner exited ({self.runner.returncode}); "
                                   f"see {self.state_dir / 'logs' / 'runner.log'}")
            time.sleep(0.2)
        raise RuntimeError(f"the platform was not ready within {timeout_s:.0f}s: {self.readiness()[1]}")

    def dashboard_config(self) -> dict[str, Any]:
        # Local only: the page gets a short-lived read-only token and reads this again on a 401 (web/src/lib/api.js);
        # on AWS it is configured with a Cognito token.
        from barometer_local.auth import READ_SCOPE

        return {"api_base": "", "token": issue_token(self.state_dir, scopes=(READ_SCOPE,), ttl_s=DASHBOARD_TOKEN_TTL_S),
                "refresh_ms": 3000}

    def _flush_metrics(self) -> None:
        while not self._stop.wait(2.0):
            self._metrics.flush()

    def _clear_run_state(self) -> None:
        for name in RUN_STATE:
            path = self.state_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
