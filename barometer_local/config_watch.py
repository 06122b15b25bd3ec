"""Notices that barometer.yaml changed under a running platform.

The platform does not reload its configuration: the processor's windows and rules, the API's
validation and the poller were all built from the file as it was at start, and swapping them under
running state is not safe. So a change is reported instead, once in `barometer up`'s output and for
as long as it lasts in /healthz (`config.restart_needed`), with whether the new file would be accepted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from barometer.config import ConfigError
from barometer.settings import check_config_file


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class ConfigWatch:
    path: Path
    started_digest: str | None = None
    _last_seen: str | None = None
    _last_problem: str | None = None

    @classmethod
    def start(cls, path: Path) -> ConfigWatch:
        digest = _digest(path)
        return cls(path, digest, digest)

    def status(self) -> dict[str, Any]:
        """{path, restart_needed, problem}: problem is the new file's error, if it has one."""
        digest = _digest(self.path)
        changed = digest != self.started_digest
        if changed and digest != self._last_seen:
            try:
                check_config_file(self.path)
                self._last_problem = None
            except ConfigError as exc:
                self._last_problem = str(exc)
        self._last_seen = digest
        return {"path": str(self.path), "restart_needed": changed, "problem": self._last_problem if changed else None}

    def message(self) -> str | None:
        """A line for the operator when a restart is needed, else None."""
        status = self.status()
        if not status["restart_needed"]:
            return None
        if status["problem"]:
            return (f"{self.path} changed since start and the new file is invalid ({status['problem']}); "
                    "fix it before restarting; the platform keeps running with the configuration it started with")
        return (f"{self.path} changed since start; restart `barometer up` to apply it "
                "(the running platform keeps the configuration it started with)")
