"""In a real browser: a civil-affairs user opens the dashboard, the charts render, drills down
from the city to a district and downloads the figures."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.helpers import new_page, sign_in


def test_the_dashboard_draws_its_charts_drills_down_and_downloads(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    page = new_page(browser, live_server)
    sign_in(page, "ca_guangzhou")
    page.get_by_role("link", name="统计看板").click()
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("广州市")
    expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() == 6
    # Chart.js has drawn: each canvas has a size and the needs chart has pixels set.
    assert canvases.first.bounding_box()["height"] > 100
    painted = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-chart=needs_and_places]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " return d.some((v, i) => i % 4 === 3 && v > 0); }"
    )
    assert painted

    page.get_by_test_id("table-children").get_by_role("link", name="从化区").click()
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("从化区")
    expect(page.get_by_test_id("trail")).to_contain_text("广州市")
    expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    expect(page.get_by_test_id("table-children")).to_contain_text("温泉镇")

    with page.expect_download() as download:
        page.get_by_test_id("xlsx-needs_and_places").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert str(rows[0][0]).startswith("从化区") and rows[1] == [
        "帮扶领域",
        "待对接需求",
        "可用名额",
        "缺口",
    ]
    assert len(rows) == 2 + 12  # a row per domain
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
