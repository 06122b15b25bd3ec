"""The dashboard in Debian's Chromium against a real local platform (`barometer up`).

Events go in through POST /v1/events while the page stays open; the page must show them without a
reload, talk to no other host and log no console error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from .live_platform import resolve_phase

pytestmark = pytest.mark.browser

SCENARIO = json.loads((Path(__file__).parent / "events" / "market_drop.json").read_text())
EXPECTED = SCENARIO["expected"]
LIVE_TIMEOUT_MS = 60_000  # from POST to the page: stream runner + one refresh of the page
WCAG_AA_TEXT = 4.5


@dataclass
class Dashboard:
    page: Page
    platform: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    posted: set[str] = field(default_factory=set)

    def go(self, route: str) -> None:
        """Client-side navigation only: the page is never reloaded during the tests."""
        self.page.evaluate("(hash) => { location.hash = hash; }", route)

    def ensure_phase(self, name: str) -> None:
        """Post a phase of the scenario once, whichever test needs it first."""
        if name == "drop":
            self.ensure_phase("before_drop")
        if name not in self.posted:
            self.platform.post_events(resolve_phase(SCENARIO["phases"][name]))
            self.posted.add(name)

    def assert_clean(self) -> None:
        host = urlparse(self.platform.url).netloc
        foreign = sorted(
            {url for url in self.requests if urlparse(url).scheme != "data" and urlparse(url).netloc != host}
        )
        assert foreign == [], f"the page reached other hosts: {foreign}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page.evaluate("window.__loadedOnce === true"), "the page was reloaded"


@pytest.fixture(scope="module")
def dashboard(chromium, local_platform):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    board = Dashboard(page=page, platform=local_platform)
    page.on(
        "console",
        lambda message: board.console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: board.console_errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: board.requests.append(request.url))
    page.goto(f"{local_platform.url}/")
    expect(page.get_by_test_id("status")).to_contain_text("Live", timeout=30_000)
    page.evaluate("window.__loadedOnce = true")
    yield board
    context.close()


def row(page: Page, table: str, key: str):
    return page.locator(f'[data-testid="{table}"] tr[data-key="{key}"]')


def fact(page: Page, facts: str, name: str):
    return page.locator(f'[data-testid="{facts}"] [data-fact="{name}"] dd')


def test_new_price_rolling_average_and_drop_alert_appear_without_reload(dashboard, artifacts):
    page = dashboard.page
    # Given the stocks view of AAPL is open
    dashboard.go("#/stocks/AAPL")
    expect(page.locator("#stocks-view")).to_be_visible()

    # When AAPL closed at 200.00 yesterday and trades at 185.00 today
    dashboard.ensure_phase("before_drop")
    before = EXPECTED["AAPL"]["before_drop"]
    aapl = row(page, "stocks-table", "AAPL")
    # Then the table and the chart's text alternative show the new price, its rolling average and the previous close
    expect(aapl.locator('[data-col="value"]')).to_have_text(before["price"], timeout=LIVE_TIMEOUT_MS)
    expect(aapl.locator('[data-col="previous_close"]')).to_have_text(
        before["previous_close"], timeout=LIVE_TIMEOUT_MS
    )
    expect(fact(page, "stocks-latest", "rolling-5m")).to_have_text(
        before["rolling_5m"], timeout=LIVE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("stocks-key-alerts")).to_contain_text("No alerts for AAPL")

    # When it falls to 170.00, 15% below the previous close
    dashboard.ensure_phase("drop")
    after = EXPECTED["AAPL"]["drop"]
    # Then the new price, the new 5m average, the change and the market_drop alert appear
    expect(aapl.locator('[data-col="value"]')).to_have_text(after["price"], timeout=LIVE_TIMEOUT_MS)
    expect(aapl.locator('[data-col="rolling-5m"]')).to_have_text(after["rolling_5m"], timeout=LIVE_TIMEOUT_MS)
    expect(aapl.locator('[data-col="change"]')).to_have_text(after["change"], timeout=LIVE_TIMEOUT_MS)
    expect(fact(page, "stocks-latest", "value")).to_have_text(after["price"], timeout=LIVE_TIMEOUT_MS)
    expect(fact(page, "stocks-latest", "rolling-5m")).to_have_text(
        after["rolling_5m"], timeout=LIVE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("stocks-headline")).to_contain_text(after["change"], timeout=LIVE_TIMEOUT_MS)
    key_alerts = page.get_by_test_id("stocks-key-alerts").locator("tbody tr")
    expect(key_alerts).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(key_alerts.first.locator('[data-col="rule"]')).to_have_text("market_drop")
    expect(key_alerts.first).to_contain_text("previous close 200.00")
    # And the chart has drawn (a canvas wider than the empty placeholder)
    assert page.locator('[data-testid="stocks-chart-0"] canvas').bounding_box()["width"] > 300
    page.screenshot(path=artifacts / "stocks.png", full_page=True)
    dashboard.assert_clean()


def test_weather_view_shows_the_city_and_its_rain_alert(dashboard, artifacts):
    page = dashboard.page
    dashboard.go("#/weather/Seattle")
    dashboard.ensure_phase("drop")
    expected = EXPECTED["Seattle"]["drop"]
    seattle = row(page, "weather-table", "Seattle")
    expect(seattle.locator('[data-col="value"]')).to_have_text(expected["temp_c"], timeout=LIVE_TIMEOUT_MS)
    expect(seattle.locator('[data-col="rolling-5m"]')).to_have_text(
        expected["rolling_5m"], timeout=LIVE_TIMEOUT_MS
    )
    expect(fact(page, "weather-latest", "precip_mm")).to_have_text("35.0", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_test_id("weather-key-alerts")).to_contain_text("heavy_rain", timeout=LIVE_TIMEOUT_MS)
    page.screenshot(path=artifacts / "weather.png", full_page=True)
    dashboard.assert_clean()


def test_alert_feed_lists_alerts_newest_first_with_delivery(dashboard, artifacts):
    page = dashboard.page
    dashboard.go("#/alerts")
    dashboard.ensure_phase("drop")
    market = page.locator('[data-testid="alerts-table"] tr[data-kind="market"][data-key="AAPL"]')
    expect(market).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(market.locator('[data-col="rule"]')).to_have_text("market_drop")
    expect(market.locator('[data-col="reference"]')).to_have_text("200.00")
    expect(
        page.locator('[data-testid="alerts-table"] tr[data-kind="weather"][data-key="Seattle"]')
    ).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    # the local notifier posts to the local Slack-compatible receiver; the feed shows it once delivered
    expect(market.locator('[data-col="delivered"]')).to_contain_text("yes: slack", timeout=LIVE_TIMEOUT_MS)
    times = page.locator('[data-testid="alerts-table"] tbody [data-col="ts"]').all_inner_texts()
    parsed = [datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC") for text in times]
    assert parsed == sorted(parsed, reverse=True), f"alerts are not newest first: {times}"
    page.screenshot(path=artifacts / "alerts.png", full_page=True)
    # And the feed filters by kind
    page.select_option("#alerts-kind", "weather")
    kinds = page.locator('[data-testid="alerts-table"] tbody tr')
    expect(kinds).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(kinds.first).to_have_attribute("data-kind", "weather")
    page.select_option("#alerts-kind", "")
    dashboard.assert_clean()


def test_health_counters_follow_the_pipeline(dashboard, artifacts):
    page = dashboard.page
    dashboard.go("#/health")
    dashboard.ensure_phase("drop")
    injected = sum(len(phase) for phase in SCENARIO["phases"].values())
    events_in = fact(page, "health-flow", "events_in_total")
    processed = fact(page, "health-flow", "processed_total")
    expect(events_in).to_have_text(re.compile(r"^[\d,]+$"), timeout=LIVE_TIMEOUT_MS)
    page.wait_for_function(
        "([selector, n]) => Number(document.querySelector(selector)?.textContent.replaceAll(',', '')) >= n",
        arg=['[data-testid="health-flow"] [data-fact="processed_total"] dd', injected],
        timeout=LIVE_TIMEOUT_MS,
    )
    before = int(events_in.inner_text().replace(",", ""))
    assert int(processed.inner_text().replace(",", "")) >= injected

    # When one more event arrives, the counter moves on the open page
    dashboard.platform.post_events(
        [
            {
                "kind": "quote",
                "symbol": "MSFT",
                "price": 410.0,
                "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
    )
    page.wait_for_function(
        "([selector, n]) => Number(document.querySelector(selector)?.textContent.replaceAll(',', '')) > n",
        arg=['[data-testid="health-flow"] [data-fact="events_in_total"] dd', before],
        timeout=LIVE_TIMEOUT_MS,
    )
    shown = page.locator('[data-testid="health-dlq"] [data-fact], [data-testid="health-errors"] [data-fact]')
    facts = set(shown.evaluate_all("(els) => els.map((el) => el.dataset.fact)"))
    expected_facts = {"dlq-events", "dlq-stream_failures", "dlq-notify"} | {
        f"errors-{handler}" for handler in ("processor", "notifier", "api", "poller")
    }
    assert expected_facts <= facts, f"missing from the health view: {expected_facts - facts}"
    expect(page.get_by_test_id("health-minutes").locator("tbody tr").first).to_contain_text("UTC")
    page.screenshot(path=artifacts / "health.png", full_page=True)
    dashboard.assert_clean()


def test_rollups_view_queries_the_chosen_range(dashboard, artifacts):
    page = dashboard.page
    with page.expect_response(
        lambda r: "/v1/rollups/daily_weather" in r.url, timeout=LIVE_TIMEOUT_MS
    ) as answer:
        dashboard.go("#/rollups")
        page.select_option("#rollups-name", "daily_weather")
        page.fill("#rollups-key", "Seattle")
        page.fill("#rollups-from", "2026-01-01")
        page.get_by_role("button", name="Show").click()
    response = answer.value
    assert response.status == 200
    query = dict(part.split("=", 1) for part in urlparse(response.url).query.split("&"))
    assert query["key"] == "Seattle" and query["from"] == "2026-01-01"
    # Then Seattle's day is summarised from the scenario's two observations (11.5 and 12.5 °C, 2 + 35 mm)
    seattle_today = page.locator('[data-testid="rollups-table"] tbody tr', has_text="Seattle")
    expect(seattle_today).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(seattle_today.locator('[data-col="temp_min_c"]')).to_have_text("11.5", timeout=LIVE_TIMEOUT_MS)
    expect(seattle_today.locator('[data-col="temp_max_c"]')).to_have_text("12.5", timeout=LIVE_TIMEOUT_MS)
    expect(seattle_today.locator('[data-col="precip_mm"]')).to_have_text("37.0", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#rollups-view .message")).to_contain_text("1 row of daily weather")
    page.screenshot(path=artifacts / "rollups.png", full_page=True)
    dashboard.assert_clean()


def test_keyboard_reaches_every_view_and_the_symbol_search(dashboard):
    page = dashboard.page
    dashboard.go("#/stocks")
    page.locator("body").focus()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    def tab_to(predicate_js: str, limit: int = 40, key: str = "Tab") -> None:
        for _ in range(limit):
            page.keyboard.press(key)
            if page.evaluate(predicate_js):
                return
        raise AssertionError(f"Tab never reached: {predicate_js}")

    tab_to(
        "document.activeElement.textContent === 'Alerts' && document.activeElement.closest('nav') !== null"
    )
    page.keyboard.press("Enter")
    expect(page.locator("#alerts-view")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "alerts-title"

    tab_to(  # back up into the navigation
        "document.activeElement.textContent === 'Stocks' && document.activeElement.closest('nav') !== null",
        key="Shift+Tab",
    )
    page.keyboard.press("Enter")
    expect(page.locator("#stocks-view")).to_be_visible()
    tab_to("document.activeElement.id === 'stocks-search'")
    page.keyboard.type("AAP")
    expect(page.locator('[data-testid="stocks-table"] caption')).to_contain_text(
        "AAP", timeout=LIVE_TIMEOUT_MS
    )
    keys = page.locator('[data-testid="stocks-table"] tbody [data-col="key"]').all_inner_texts()
    assert keys and all(key.startswith("AAP") for key in keys), keys
    tab_to("document.activeElement.dataset.focusId === 'key-AAPL'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/stocks/AAPL$"))
    dashboard.assert_clean()


def test_many_symbols_are_searched_and_paged(dashboard):
    page = dashboard.page
    # Given 60 symbols sharing a prefix (the table shows 25 a page)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    symbols = [f"PG{i:02d}" for i in range(60)]
    dashboard.platform.post_events(
        [{"kind": "quote", "symbol": s, "price": 10.0 + i, "ts": now} for i, s in enumerate(symbols)]
    )
    dashboard.go("#/stocks")
    keys = page.locator('[data-testid="stocks-table"] tbody [data-col="key"]')
    # When the table is searched for the prefix
    page.fill("#stocks-search", "PG")
    # Then it pages through them in key order, 25 at a time, forward and back
    expect(keys).to_have_text(symbols[:25], timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("button", name="Next page").click()
    expect(keys).to_have_text(symbols[25:50], timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("button", name="Next page").click()
    expect(keys).to_have_text(symbols[50:], timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("button", name="Previous page").click()
    expect(keys).to_have_text(symbols[25:50], timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#stocks-view .page-label")).to_have_text("Page 2")
    page.fill("#stocks-search", "")
    dashboard.assert_clean()


CONTRAST_JS = """
(selectors) => {
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const [r, g, b, a = 1] = rgba(getComputedStyle(node).backgroundColor);
      if (a > 0.5) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      if (!el.offsetParent || !el.textContent.trim()) continue;
      const fg = luminance(rgba(getComputedStyle(el).color));
      const bg = luminance(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      worst.push([selector, el.textContent.trim().slice(0, 30), Math.round(ratio * 100) / 100]);
    }
  }
  return worst;
}
"""


@pytest.mark.parametrize("route", ["#/stocks/AAPL", "#/weather/Seattle", "#/alerts", "#/health"])
def test_charts_have_text_alternatives_and_text_is_readable(dashboard, route):
    page = dashboard.page
    dashboard.ensure_phase("drop")
    dashboard.go(route)
    view = page.locator("section.view:not([hidden])")
    expect(view.locator("tbody tr").first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    # every chart is hidden from assistive technology and captioned; its values are in a table or list
    for chart in view.locator(".chart").all():
        assert chart.get_attribute("aria-hidden") == "true"
        figure = chart.locator("xpath=ancestor::figure[1]")
        assert figure.locator("figcaption").inner_text().strip()
    assert view.locator("table caption").count() >= 1
    measured = page.evaluate(
        CONTRAST_JS,
        [
            "h1",
            "h2",
            "h3",
            "th",
            "td",
            "dt",
            "dd",
            "nav a",
            "button:not([disabled])",
            "label",
            ".hint",
            ".muted",
            ".status",
            ".change",
        ],
    )
    assert measured, "nothing was measured"
    too_faint = [entry for entry in measured if entry[2] < WCAG_AA_TEXT]
    assert too_faint == [], f"text below {WCAG_AA_TEXT}:1 contrast: {too_faint}"
    dashboard.assert_clean()
