"""Poller fixtures (helpers live in poller_fakes.py)."""
from __future__ import annotations

import pytest
from poller_fakes import TEST_CONFIG, Sleeps

from barometer.config import parse_settings


@pytest.fixture
def settings():
    return parse_settings(TEST_CONFIG)


@pytest.fixture
def sleeps():
    return Sleeps()
