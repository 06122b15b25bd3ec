"""Fixtures of the domain-core tests (helpers live in core_builders.py)."""
from __future__ import annotations

import pytest
from core_builders import load_json, make_settings


@pytest.fixture(scope="session")
def settings():
    return make_settings()


@pytest.fixture
def quote() -> dict:
    return load_json("events/quote_valid.json")


@pytest.fixture
def weather() -> dict:
    return load_json("events/weather_valid.json")
