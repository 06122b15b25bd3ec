"""The dashboard over several days, on a phone, with a URL to share, CSV exports and a token that expires.

Issue 13: gaps are gaps, previous close per local day, daily candlesticks, 24-hour UTC on hover,
loading states, the range and selection in the URL, CSV of what a view shows, phone layouts where the
key columns fit, health as of now; issue 10: the page renews its short-lived token on a 401.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from barometer_local.auth import READ_SCOPE, mint, signing_key

from .live_platform import resolve_phase
from .test_dashboard import LIVE_TIMEOUT_MS, Dashboard, fact, row

pytestmark = pytest.mark.browser

SYMBOL = "MDAY"  # not in barometer.yaml: the default symbol timezone (America/New_York)
OTHER = "MDAZ"
ZONE = "America/New_York"
DAYS_BACK = (-3, -2, -1)
MINUTES_A_DAY = 8
PHONE = {"width": 390, "height": 844}
HOVER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")


def multi_day_events() -> tuple[list[dict], dict]:
    """Eight one-minute quotes on each of the three previous local days (nights between them), then a 15% drop today."""
    entries, close = [], None
    for day in DAYS_BACK:
        for minute in range(MINUTES_A_DAY):
            close = 100.0 + day + minute / 8
            entries.append({"at": {"timezone": ZONE, "local_day": day, "local_time": f"10:{minute:02d}:00"},
                            "event": {"kind": "quote", "symbol": SYMBOL, "price": close, "volume": 100 + minute}})
    today = round(close * 0.85, 2)
    entries += [{"at": {"timezone": ZONE, "seconds_ago": ago},
                 "event": {"kind": "quote", "symbol": SYMBOL, "price": today + (120 - ago) / 100, "volume": 5}}
                for ago in (240, 120)]
    events = resolve_phase(entries)
    return events, {"previous_close": f"{close:.2f}", "count": len(events), "days": len(DAYS_BACK) + 1}


@pytest.fixture(scope="module")
def board(chromium, local_platform):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    dashboard = Dashboard(page=page, platform=local_platform)
    page.on("console", lambda m: dashboard.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: dashboard.console_errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: dashboard.requests.append(request.url))
    events, expected = multi_day_events()
    local_platform.post_events(events)
    local_platform.post_events([{"kind": "quote", "symbol": OTHER, "price": 42.0,
                                 "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}])
    page.goto(f"{local_platform.url}/#/stocks/{SYMBOL}?range=7d")
    expect(page.get_by_test_id("status")).to_contain_text("Live", timeout=30_000)
    page.evaluate("window.__loadedOnce = true")
    dashboard.expected = expected
    yield dashboard
    context.close()


def chart_attr(page, testid: str, name: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute(f"data-{name}") or "0")


def test_several_days_break_at_nights_with_a_previous_close_per_day(board, artifacts):
    page, expected = board.page, board.expected
    # Given a symbol traded on three earlier days and today, shown over 7 days from a shared URL
    expect(page.locator("#stocks-range")).to_have_value("7d")
    expect(fact(page, "stocks-latest", "previous_close")).to_have_text(expected["previous_close"],
                                                                        timeout=LIVE_TIMEOUT_MS)
    chart = page.get_by_test_id("stocks-chart-0")
    expect(chart).to_have_attribute("data-points", str(expected["count"]), timeout=LIVE_TIMEOUT_MS)
    # Then the lines break between the days (one gap per night at least), not drawn across them
    assert chart_attr(page, "stocks-chart-0", "gaps") >= expected["days"] - 1
    # And the previous close is a series of its own, one level per day
    assert "previous close" in chart.locator(".u-legend").inner_text()
    # And hovering shows the time in 24-hour UTC, like the rest of the page
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.98, box["y"] + box["height"] / 2)
    hover = chart.locator(".u-legend .u-series").first.locator(".u-value")
    expect(hover).to_have_text(HOVER_TIME)
    page.screenshot(path=artifacts / "stocks-multi-day.png", full_page=True)
    board.assert_clean()


def test_the_range_is_in_the_url_and_the_back_button_restores_it(board):
    page = board.page
    board.go(f"#/stocks/{SYMBOL}?range=7d")
    expect(page.get_by_test_id("stocks-chart-0")).to_have_attribute(
        "data-points", str(board.expected["count"]), timeout=LIVE_TIMEOUT_MS)
    # When another range is chosen
    page.select_option("#stocks-range", "24h")
    # Then the URL says so (the default range is left out) and only today's points remain
    expect(page).to_have_url(re.compile(rf"#/stocks/{SYMBOL}$"))
    expect(page.get_by_test_id("stocks-chart-0")).to_have_attribute("data-points", re.compile(r"^[1-9]\d?$"),
                                                                     timeout=LIVE_TIMEOUT_MS)
    assert chart_attr(page, "stocks-chart-0", "points") < board.expected["count"]
    # And the back button returns to the 7 days
    page.go_back()
    expect(page).to_have_url(re.compile(rf"#/stocks/{SYMBOL}\?range=7d$"))
    expect(page.locator("#stocks-range")).to_have_value("7d")
    expect(page.get_by_test_id("stocks-chart-0")).to_have_attribute(
        "data-points", str(board.expected["count"]), timeout=LIVE_TIMEOUT_MS)
    board.assert_clean()


def test_a_new_key_shows_a_loading_state_not_the_previous_keys_values(board):
    page = board.page
    board.go(f"#/stocks/{SYMBOL}?range=7d")
    expect(fact(page, "stocks-latest", "previous_close")).to_have_text(board.expected["previous_close"],
                                                                        timeout=LIVE_TIMEOUT_MS)
    # When the other symbol is chosen, right after the route changed (before any answer can arrive)
    seen = page.evaluate(
        """(hash) => new Promise((resolve) => {
            window.addEventListener("hashchange", () => {
              const detail = document.querySelector("#stocks-view .detail");
              resolve({busy: detail.getAttribute("aria-busy"), headline: document.querySelector('[data-testid="stocks-headline"]').textContent,
                       facts: document.querySelectorAll('[data-testid="stocks-latest"]').length, message: detail.querySelector(".message").textContent});
            }, {once: true});
            location.hash = hash;
        })""",
        f"#/stocks/{OTHER}",
    )
    # Then nothing of the previous symbol is shown, and the page says what it is loading
    assert seen == {"busy": "true", "headline": "", "facts": 0, "message": f"Loading {OTHER} (last 24 hours)…"}
    expect(fact(page, "stocks-latest", "value")).to_have_text("42.00", timeout=LIVE_TIMEOUT_MS)
    assert page.locator("#stocks-view .detail").get_attribute("aria-busy") is None
    board.assert_clean()


def test_the_chart_data_downloads_as_csv_with_the_displayed_rounding(board):
    page = board.page
    board.go(f"#/stocks/{SYMBOL}?range=7d")
    expect(page.get_by_test_id("stocks-chart-0")).to_have_attribute(
        "data-points", str(board.expected["count"]), timeout=LIVE_TIMEOUT_MS)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the chart's data (CSV)").click()
    assert download.value.suggested_filename == f"barometer-stocks-{SYMBOL}-7d.csv"
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["time (UTC)", "price", "5m avg"] and rows[0][-2:] == ["volume", "local day"]
    assert len(rows) == board.expected["count"] + 1
    assert all(HOVER_TIME.match(r[0]) and re.fullmatch(r"\d+\.\d\d", r[1]) for r in rows[1:])
    board.assert_clean()


def test_daily_ohlc_is_drawn_as_candlesticks_one_per_day(board, artifacts):
    page = board.page
    today = datetime.now(ZoneInfo(ZONE)).date()
    first = (today + timedelta(days=DAYS_BACK[0] - 1)).isoformat()
    board.go(f"#/rollups?table=daily_ohlc&key={SYMBOL}&from={first}&to={(today + timedelta(days=1)).isoformat()}")
    expect(page.locator("#rollups-name")).to_have_value("daily_ohlc")
    expect(page.locator("#rollups-key")).to_have_value(SYMBOL)
    # Then one candle per day with data, over day gridlines
    rows = page.locator('[data-testid="rollups-table"] tbody tr', has_text=SYMBOL)
    expect(rows).to_have_count(board.expected["days"], timeout=LIVE_TIMEOUT_MS)
    chart = page.locator("#rollups-view .chart")
    expect(chart).to_have_attribute("data-candles", str(board.expected["days"]), timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#rollups-chart-caption")).to_contain_text("candlesticks")
    page.screenshot(path=artifacts / "rollups-candles.png", full_page=True)
    board.assert_clean()


def test_health_reads_now_with_statuses_and_thresholds(board, artifacts):
    page = board.page
    board.go("#/health")
    # When everything posted has been processed, the lag is zero and its status ok, with the thresholds shown
    lag = page.locator('[data-testid="health-flow"] [data-fact="stream_lag_ms"]')
    expect(lag.locator("dd")).to_have_text("0 ms", timeout=LIVE_TIMEOUT_MS)
    expect(lag.locator("[data-status]")).to_have_attribute("data-status", "ok", timeout=LIVE_TIMEOUT_MS)
    expect(lag.locator(".threshold")).to_have_text("warn ≥ 10.0 s · fail ≥ 1.0 min")
    expect(page.get_by_test_id("health-overall")).to_have_attribute("data-status", re.compile(r"^(ok|warn|fail)$"))
    page.screenshot(path=artifacts / "health-statuses.png", full_page=True)
    board.assert_clean()


def test_on_a_phone_the_key_columns_fit(chromium, local_platform, board, artifacts):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{local_platform.url}/#/stocks/{SYMBOL}")
        expect(page.get_by_test_id("status")).to_contain_text("Live", timeout=30_000)

        def fits(table: str, header: str, key_cell) -> None:
            head = page.locator(f'[data-testid="{table}"] thead th', has_text=header).first
            expect(head).to_be_visible()
            expect(key_cell).to_be_visible(timeout=LIVE_TIMEOUT_MS)
            for box in (head.bounding_box(), key_cell.bounding_box()):
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (header, box)
            overflow = page.locator(f'[data-testid="{table}"]').evaluate(
                "(t) => t.parentElement.scrollWidth - t.parentElement.clientWidth")
            assert overflow <= 1, f"{table} scrolls sideways by {overflow}px on a phone"

        fits("stocks-table", "Change", row(page, "stocks-table", SYMBOL).locator('[data-col="change"]'))
        expect(row(page, "stocks-table", SYMBOL).locator('[data-col="change"]')).to_have_text(re.compile(r"^−\d"),
                                                                                           timeout=LIVE_TIMEOUT_MS)
        page.screenshot(path=artifacts / "phone-stocks.png", full_page=True)
        page.evaluate("(hash) => { location.hash = hash; }", "#/alerts")
        market = page.locator(f'[data-testid="alerts-table"] tr[data-key="{SYMBOL}"]')
        expect(market.locator('[data-col="delivered"]')).to_contain_text("yes", timeout=LIVE_TIMEOUT_MS)
        page.screenshot(path=artifacts / "phone-alerts.png", full_page=True)
        fits("alerts-table", "Delivered", market.locator('[data-col="delivered"]'))
        fits("alerts-table", "Change", market.locator('[data-col="change"]'))
    finally:
        context.close()


def test_an_expired_dashboard_token_is_renewed_from_the_configuration(chromium, local_platform):
    # Given a page whose first configuration holds a token that has already expired
    home = local_platform.log_path.parent
    expired = mint(signing_key(home), (READ_SCOPE,), ttl_s=-60)
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    served = []

    def config(route):
        served.append(route.request.url)
        if len(served) == 1:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"api_base": "", "token": expired, "refresh_ms": 3000}))
        else:
            route.continue_()

    page.route("**/dashboard/config.json", config)
    try:
        page.goto(f"{local_platform.url}/#/stocks")
        # Then it reads the configuration again on the 401 and goes on, without asking anybody for a token
        expect(page.get_by_test_id("status")).to_contain_text("Live", timeout=30_000)
        assert len(served) == 2
        assert page.locator("#token").count() == 0
        # The only console error is Chromium's own line for the refused request
        assert all("401" in text for text in errors), errors
    finally:
        context.close()
