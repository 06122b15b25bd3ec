"""Fixtures of the local runtime's tests."""
from __future__ import annotations

import os

import pytest

from barometer_local.emulator import free_port
from barometer_local.paths import HOME_ENV


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A whole local platform (`barometer up`) with its own state folder, for one test module."""
    from barometer import aws
    from barometer_local.platform import LocalPlatform, PlatformOptions

    home = tmp_path_factory.mktemp("barometer-home")
    saved = dict(os.environ)
    os.environ[HOME_ENV] = str(home)
    local = LocalPlatform(home, PlatformOptions(api_port=free_port(), flush_seconds=0.5))
    try:
        local.start(progress=lambda m: None)
        local.wait_ready()
        yield local
    finally:
        local.stop()
        # The platform points this process's AWS clients at its emulator: undo that for other tests.
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
