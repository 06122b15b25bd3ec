"""Shared fixtures. Every test runs without AWS credentials: the emulator gets dummy ones."""
from __future__ import annotations

import os

import pytest

from barometer_local.emulator import FAKE_CREDENTIALS, Emulator


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws_credentials():
    """Never reach a real account from a test, whatever the developer's shell holds."""
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_PROFILE")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_CREDENTIALS)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def emulator():
    """One moto server process (over HTTP) for the whole test session."""
    with Emulator.start() as emu:
        yield emu


@pytest.fixture
def emulator_env(emulator, monkeypatch):
    """Point Barometer's adapters (barometer.aws.client) at the session emulator."""
    from barometer import aws

    for key, value in emulator.environment().items():
        monkeypatch.setenv(key, value)
    aws.reset_clients()
    yield emulator
    aws.reset_clients()
