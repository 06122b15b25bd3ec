"""Browser-test fixtures: one real local platform and one Chromium for the whole session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .live_platform import REPO, start_platform

ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]


@pytest.fixture(scope="session")
def dashboard_build() -> Path:
    """web/dist as `make web` builds it (a no-op when it is up to date)."""
    subprocess.run(["make", "--no-print-directory", "-s", "web"], cwd=REPO, check=True, timeout=600)
    index = REPO / "web" / "dist" / "index.html"
    assert index.is_file(), "make web did not produce web/dist/index.html"
    return index


@pytest.fixture(scope="session")
def local_platform(dashboard_build, tmp_path_factory):
    """`barometer up` on a free port with its own BAROMETER_HOME, ready (GET /healthz 200), with a token."""
    platform = start_platform(tmp_path_factory.mktemp("barometer-home"))
    yield platform
    platform.stop()


@pytest.fixture(scope="module")  # stopped before other modules start their own sync Playwright
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
