"""`dagster dev` as an operator sees it: Debian's Chromium opens the lineage and automation pages
and finds the six asset groups and the alert sensors; the whole server stays under 2 GB."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from barometer_local.emulator import Emulator, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "platform"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-gpu"]
MAX_RSS_MB = 2048


def process_group_rss_mb(pgid: int) -> float:
    out = subprocess.run(["ps", "-o", "rss=", "-g", str(pgid)], capture_output=True, text=True, check=False).stdout
    return sum(int(line) for line in out.split()) / 1024


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    """`dagster dev` on a free port with its own DAGSTER_HOME, against an emulator of its own
    (its sensors must not touch the queues other tests read)."""
    home = tmp_path_factory.mktemp("barometer-home")
    dagster_home = home / "dagster"
    (dagster_home / ".nux").mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    (dagster_home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    log = open(home / "dagster-dev.log", "wb")  # noqa: SIM115 - closed at teardown
    with Emulator.start() as emulator:
        (home / "platform.json").write_text(json.dumps({"aws_endpoint": emulator.url}))
        env = {k: v for k, v in os.environ.items() if k not in ("BAROMETER_AWS_ENDPOINT", "AWS_ENDPOINT_URL")}
        env.update(BAROMETER_HOME=str(home), DAGSTER_HOME=str(dagster_home))
        port = free_port()
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
             "-p", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                        break
                except (urllib.error.URLError, OSError):
                    assert process.poll() is None, (home / "dagster-dev.log").read_text()[-3000:]
                    assert time.monotonic() < deadline, "dagster dev did not answer within 180 s"
                    time.sleep(0.5)
            yield url, process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


@pytest.fixture(scope="module")
def page(dagster_ui):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1600, "height": 1000})
        browser.close()


def test_the_lineage_page_shows_the_six_groups(dagster_ui, page):
    url, _ = dagster_ui
    page.goto(f"{url}/asset-groups")
    for group in ("ingestion", "deployment", "lake", "analytics", "dashboards", "dr"):
        page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "dagster-lineage.png"))


def test_the_automation_page_shows_the_alert_sensors(dagster_ui, page):
    url, _ = dagster_ui
    page.goto(f"{url}/automation")
    for name in ("market_alerts", "weather_alerts", "ops_alerts", "finops_alerts", "run_failures_to_ops_alerts",
                 "poll_every_minute", "check_freshness_every_15_minutes"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "dagster-automation.png"))


def test_dagster_dev_stays_under_2_gb(dagster_ui, page):
    _, process = dagster_ui
    assert process_group_rss_mb(process.pid) < MAX_RSS_MB
